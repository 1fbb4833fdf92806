"""A published Zendesk API client reads our stats unchanged (SPEC A1).

Zenpy (the Python Zendesk client) builds ``https://<subdomain>.zendesk.com``; its
documented environment overrides ZENPY_FORCE_NETLOC / ZENPY_FORCE_SCHEME change
only the base address. It talks to the bare domain, where the API token names
the account, so the subdomain it is given plays no part.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from talk.models import Call, QueueEntry
from tests.dashboards.history import History
from tests.talk.calls_support import make_line

zenpy = pytest.importorskip("zenpy")


@pytest.mark.django_db(transaction=True)
def test_zenpy_reads_queue_activity_and_account_overview(zendesk, acme, bob):  # SPEC A1, D1-D4
    line = make_line(acme)
    h = History(acme, line)
    h.presence(bob, "online")
    now = timezone.now()
    start = max(now - timedelta(minutes=20), timezone.localtime(now).replace(hour=0, minute=0, second=1))
    h.call(start, outcome=Call.Outcome.ABANDONED, queued=start, left=start + timedelta(seconds=30),
           entry_state=QueueEntry.State.ABANDONED)
    waiting = h.call(start, outcome=Call.Outcome.CALLBACK_REQUESTED, queued=start)
    h.callback(waiting, requested=start + timedelta(seconds=10), state="pending")

    queue = zendesk.talk.current_queue_activity()
    assert type(queue).__name__ == "CurrentQueueActivity"
    assert (queue.callbacks_waiting, queue.calls_waiting, queue.agents_online) == (1, 0, 1)
    assert queue.longest_wait_time >= 1

    overview = zendesk.talk.account_overview()
    assert type(overview).__name__ == "AccountOverview"
    assert overview.total_calls_abandoned_in_queue == 1
    assert overview.total_callback_calls == 1
    assert overview.average_queue_wait_time == 30


@pytest.mark.django_db(transaction=True)
def test_zenpy_reads_agents_activity_agents_overview_and_legs(zendesk, acme, alice, bob):  # SPEC A1, D4; issue 15
    line = make_line(acme)
    h = History(acme, line)
    now = timezone.now()
    start = max(now - timedelta(minutes=20), timezone.localtime(now).replace(hour=0, minute=0, second=1))
    h.status(bob, "online", at=start)
    h.call(start, outcome=Call.Outcome.ANSWERED, duration=42, answered_by=bob, answer_after=3)

    rows = {row.agent_id: row for row in zendesk.talk.agents_activity()}
    assert type(rows[bob.pk]).__name__ == "AgentsActivity"
    assert rows[bob.pk].total_talk_time == 42 and rows[bob.pk].online_time >= 1
    assert rows[bob.pk].available_time == rows[bob.pk].online_time and rows[bob.pk].away_time == 0
    assert set(rows) == {alice.pk, bob.pk}

    overview = zendesk.talk.agents_overview()
    assert type(overview).__name__ == "AgentsOverview"
    assert overview.total_talk_time == 42 and overview.average_talk_time == 21  # two members

    legs = list(zendesk.talk.legs.incremental(start_time=now - timedelta(hours=1)))
    assert {type(leg).__name__ for leg in legs} == {"Leg"}
    assert sorted(leg.type for leg in legs) == ["agent", "customer"]
    assert next(leg for leg in legs if leg.type == "agent").agent_id == bob.pk
