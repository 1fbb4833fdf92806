"""Callback is offered to a caller only while an agent who may take it can (SPEC C2 with R14).

A line that routes to groups offers the callback menu only while an agent of those groups
is online or away: an agent of another group being online does not help that caller.
"""
from __future__ import annotations

import pytest
from django_scopes import scope

from talk import greetings_catalog as catalog
from talk.models import AgentPresence, Line
from tests.talk.calls_support import Phone, make_line, set_presence
from tests.talk.factories import make_group

pytestmark = pytest.mark.django_db


def _callback_prompt() -> str:
    return catalog.TEXTS[catalog.CALLBACK]["en"].replace("{key}", "2")


def _routes_to_group_of(line: Line, *members, default: bool = False):
    group = make_group(line.account, "Phones", *members)
    with scope(account=line.account):
        if default:
            Line.objects.filter(pk=line.pk).update(default_group=group)
        else:
            line.groups.set([group])


@pytest.mark.parametrize("default", [False, True], ids=["groups", "default group"])
def test_only_the_lines_groups_agents_make_callback_available(acme, bob, dave, default):  # SPEC C2, R14
    line = make_line(acme)
    _routes_to_group_of(line, dave, default=default)
    set_presence(acme, bob, AgentPresence.Status.ONLINE)  # online, but in none of the line's groups
    set_presence(acme, dave, AgentPresence.Status.OFFLINE)
    phone = Phone(line)
    assert _callback_prompt() not in phone.queued("+14155550101").said()

    set_presence(acme, dave, AgentPresence.Status.AWAY)
    assert _callback_prompt() in phone.queued("+14155550102").said()


def test_a_line_without_groups_takes_any_agent(acme, bob):  # SPEC C2
    line = make_line(acme)
    set_presence(acme, bob, AgentPresence.Status.AWAY)
    assert _callback_prompt() in Phone(line).queued().said()
