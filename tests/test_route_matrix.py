"""Every route × method × role, from the URL configuration (issue 12; SPEC T3, T4, rule 5).

The routes come from the resolver, not from a list kept by hand: a route added without
a row in ``MATRIX`` fails ``test_every_route_has_a_row``, as does a row whose route is
gone. Each row gives, for every method, the status each role gets, in the order of
``ROLES``: signed out; bob, an agent of acme; alice, acme's admin (both signed in on
acme's host: the pages and the console use the API with their session); and charlie,
globex's admin, on globex's host asking for acme's objects by id. For a route that names
an object by id, charlie must get exactly what a missing id gets, status and body:
nothing tells him acme's object exists.

Writes carry an empty JSON body: past the permission check they answer 400/422 (bad
input) and change nothing, except where a route needs no body (accept, decline, delete,
revoke, regenerate), whose success is the status shown.
"""
from __future__ import annotations

import os
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import scope

from callsim.models import SimulatorCall
from supportcenter import services as core_services
from tests.conftest import host_of, page_client
from tests.isolation import _body, missing_id
from tests.talk.factories import make_greeting
from tests.talk.test_console_support import callback_for, make_line, offered_callback
from tests.tickets.helpers import make_ticket
from tickets import services as ticket_services

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROLES = ("anonymous", "agent", "admin", "other_admin")


def _row(rest: str, methods: dict[str, str]) -> dict[str, str]:
    return {method: methods.get(method, rest) for method in METHODS}


def page(**methods: str) -> dict[str, str]:
    """A page or a form: a method it does not take is 405 for everyone, before signing in."""
    return _row("405 405 405 405", methods)


def api(**methods: str) -> dict[str, str]:
    """An API route: credentials first (401), then the method (405)."""
    return _row("401 405 405 405", methods)


# A provider webhook: unsigned, 403 whoever sends it. On another account's host the token
# names no line of that account: the caller hears the apology (200 TwiML), nothing is written.
HOOK = page(POST="403 403 403 200")

# Route name → {method: "anonymous agent admin other_admin"}. To write a new route's row:
# MATRIX_RECORD=/tmp/rows pytest tests/test_route_matrix.py -k ROUTE, then read every
# status in /tmp/rows before copying it here: the row is a statement of who may do what.
MATRIX: dict[str, dict[str, str]] = {
    "admin_center": page(GET="302 403 200 200"),
    "admin_group": page(GET="302 403 200 404", POST="302 403 400 404"),
    "admin_group_delete": page(POST="302 403 302 404"),
    "admin_group_member_add": page(POST="302 403 400 404"),
    "admin_group_member_remove": page(POST="302 403 302 404"),
    "admin_groups": page(GET="302 403 200 200", POST="302 403 400 400"),
    "admin_members": page(GET="302 403 200 200", POST="302 403 400 400"),  # POST: make or unmake a supervisor
    "api_docs": page(GET="200 200 200 200"),
    "api_group": api(GET="401 200 200 404", POST="401 403 405 405", PUT="401 403 400 404", PATCH="401 403 405 405", DELETE="401 403 204 404"),
    "api_group_membership": api(GET="401 200 200 404", POST="401 403 405 405", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 204 404"),
    "api_group_memberships": api(GET="401 200 200 200", POST="401 403 400 400", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "api_group_memberships_of": api(GET="401 200 200 404", POST="401 403 405 405", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "api_user_group_memberships": api(GET="401 200 200 404", POST="401 403 405 405", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "api_groups": api(GET="401 200 200 200", POST="401 403 400 400", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "api_me": api(GET="401 200 200 200"),
    "api_schema": page(GET="200 200 200 200"),
    "api_token_revoke": page(POST="302 403 302 404"),
    "api_tokens": page(GET="302 403 200 200", POST="302 403 400 400"),
    "api_users_search": api(GET="401 400 400 400"),  # no query: 400 naming it
    "callsim:act": page(POST="302 422 422 404"),
    "callsim:dial": page(POST="302 422 422 422"),
    "callsim:my_status": page(POST="302 302 302 302"),
    "callsim:page": page(GET="302 200 200 200"),
    "callsim:state": page(GET="401 200 200 404"),  # a script's JSON: signed out is 401, not the sign-in page
    "dashboards:api_account_overview": api(GET="401 200 200 200"),
    "dashboards:api_agents_activity": api(GET="401 200 200 200"),
    "dashboards:api_agents_overview": api(GET="401 200 200 200"),
    "dashboards:api_current_queue_activity": api(GET="401 200 200 200"),
    "dashboards:api_incremental_calls": api(GET="401 400 400 400"),
    "dashboards:api_incremental_legs": api(GET="401 400 400 400"),  # no start_time: 400 naming it
    "dashboards:talk": page(GET="302 200 200 200"),
    "favicon": page(GET="200 200 200 200"),
    "home": page(GET="302 200 200 200"),
    "login": page(GET="200 200 200 200", POST="200 200 200 200"),
    "logout": page(POST="302 302 302 302"),
    "talk:api_availability": api(GET="401 200 200 404", PUT="401 400 400 404"),
    "talk:api_callback_request": api(GET="401 403 200 404", POST="401 403 405 405", PUT="401 403 400 404", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "talk:api_callback_request_recording": api(GET="401 404 404 404"),  # the same (C14)
    "talk:api_callback_request_cancel": api(GET="401 403 405 405", POST="401 403 400 404", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "talk:api_callback_requests": api(GET="401 403 200 200", POST="401 400 400 400", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "talk:api_greeting": api(GET="401 200 200 404", POST="401 403 405 405", PUT="401 403 400 404", PATCH="401 403 405 405", DELETE="401 403 204 404"),
    "talk:api_greetings": api(GET="401 200 200 200", POST="401 403 400 400", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "talk:api_offer_accept": api(POST="401 200 404 404"),
    "talk:api_offer_current": api(GET="401 200 200 200"),
    "talk:api_offer_decline": api(POST="401 200 404 404"),
    "talk:api_phone_number": api(GET="401 200 200 404", POST="401 403 405 405", PUT="401 403 400 404", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "talk:api_phone_numbers": api(GET="401 200 200 200", POST="401 403 400 400", PUT="401 403 405 405", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "talk:api_voice_settings": api(GET="401 403 200 200", POST="401 403 405 405", PUT="401 403 400 400", PATCH="401 403 405 405", DELETE="401 403 405 405"),
    "talk:console": page(GET="302 200 200 200"),
    "talk:console_call_later": api(POST="401 400 400 400"),
    "talk:console_device": api(PUT="401 400 400 400"),
    "talk:console_state": api(GET="401 200 200 200"),
    "talk:greeting_delete": page(POST="302 403 302 404"),
    "talk:greeting_detail": page(GET="302 403 200 404", POST="302 403 400 404"),
    "talk:greeting_new": page(GET="302 403 200 200", POST="302 403 400 400"),
    "talk:greetings": page(GET="302 403 200 200"),
    "talk:line_callback": page(GET="302 403 200 404", POST="302 403 400 404"),
    "talk:line_detail": page(GET="302 403 200 404", POST="302 403 400 404"),
    "talk:line_new": page(GET="302 403 200 200", POST="302 403 400 400"),
    "talk:line_regenerate_token": page(POST="302 403 302 404"),
    "talk:lines": page(GET="302 403 200 200"),
    "talk:queue": page(GET="302 403 200 200"),  # supervisors and admins (S1)
    "talk:queue_assign": page(POST="302 403 400 404"),
    "talk:queue_cancel": page(POST="302 403 400 404"),
    "talk:queue_move": page(POST="302 403 400 404"),
    # The cast's request has no recording: 404 for members; played in tests/talk/test_recording_playback.py (C14).
    "talk:recording_audio": page(GET="302 404 404 404"),
    "talk:queue_reschedule": page(POST="302 403 400 404"),
    "talk:queue_rows": page(GET="401 403 200 200"),  # a script's HTML fragment: signed out is 401
    "talk:telephony_settings": page(GET="302 403 200 200", POST="302 403 400 400"),
    "talk:webhook_cb_agent": HOOK,
    "talk:webhook_cb_agent_status": HOOK,
    "talk:webhook_cb_dial_done": HOOK,
    "talk:webhook_confirm": HOOK,
    "talk:webhook_recorded": HOOK,
    "talk:webhook_recording_status": HOOK,
    "talk:webhook_connect_agent": HOOK,
    "talk:webhook_greeting_key": HOOK,
    "talk:webhook_hold_key": HOOK,
    "talk:webhook_menu": HOOK,
    "talk:webhook_number": HOOK,
    "talk:webhook_queue_exit": HOOK,
    "talk:webhook_status": HOOK,
    "talk:webhook_voice": HOOK,
    "talk:webhook_wait": HOOK,
    "tickets:api_audits": api(GET="401 200 200 404"),
    "tickets:api_comments": api(GET="401 200 200 404"),
    "tickets:api_detail": api(GET="401 200 200 404", PUT="401 400 400 404"),
    "tickets:api_list": api(GET="401 200 200 200", POST="401 400 400 400"),
    "tickets:api_job_status": api(GET="401 200 200 404"),
    "tickets:api_search": api(GET="401 400 400 400"),  # no query: 400 naming it
    "tickets:api_show_many": api(GET="401 400 400 400"),  # no ids: 400 naming them
    "tickets:api_update_many": api(PUT="401 400 400 400"),  # no ids: 400 naming them
    "tickets:api_user": api(GET="401 200 200 404"),
    "tickets:api_users": api(GET="401 200 200 200"),
    "tickets:api_users_show_many": api(GET="401 400 400 400"),  # no ids: 400 naming them
    "tickets:detail": page(GET="302 200 200 404", POST="302 400 400 404"),
    "tickets:list": page(GET="302 200 200 200"),
    "tickets:new": page(GET="302 200 200 200", POST="302 400 400 400"),
}


def _routes(patterns=None, prefix: str = "", namespace: str | None = None):
    """(name with its namespace, path pattern) of every route of the site."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (entry.namespace or namespace)
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield (entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)), prefix + str(entry.pattern)


ROUTES = dict((name, pattern) for name, pattern in _routes())
PARAMETER = re.compile(r"<(?:(int|str):)?(\w+)>")


def test_every_route_has_a_name_and_a_row():
    unnamed = [pattern for name, pattern in _routes() if not name]
    assert not unnamed, f"routes without a name cannot be in the matrix: {unnamed}"
    missing = sorted(set(ROUTES) - set(MATRIX))
    assert not missing, f"routes with no row in tests/test_route_matrix.py MATRIX: {missing}"
    gone = sorted(set(MATRIX) - set(ROUTES))
    assert not gone, f"rows of routes that no longer exist: {gone}"
    for name, row in MATRIX.items():
        assert set(row) == set(METHODS), f"{name}: give every method of {METHODS}"


@pytest.fixture
def cast(acme, globex, alice, bob, charlie):
    """One of each object a route can name, all acme's."""
    line = make_line(acme)
    offer = offered_callback(acme, line, bob, number="+14155550123")
    request = callback_for(acme, line, number="+14155550124")
    ticket = make_ticket(acme, actor=alice)
    with scope(account=acme):
        token, _raw = core_services.api_token_create(account=acme, user=alice, description="matrix", actor=alice)
        group = core_services.group_create(account=acme, actor=alice, name="Matrix")
        group_membership = core_services.group_membership_create(
            account=acme, actor=alice, group_id=group.pk, user_id=bob.pk
        )
        call = SimulatorCall.objects.create(account=acme, line=line, placed_by=alice)
        job = ticket_services.ticket_update_many(account=acme, actor=alice, updates=[])
    return {
        "line_id": line.pk, "greeting_id": make_greeting(acme).pk, "offer_id": offer.pk, "request_id": request.pk,
        "number": ticket.number, "token_id": token.pk, "user_id": bob.pk, "call_id": call.pk,
        "token": line.webhook_token,
        "group_id": group.pk, "membership_id": group_membership.pk, "job_id": job.pk,
    }


def _url(pattern: str, values: dict) -> str:
    return "/" + PARAMETER.sub(lambda m: str(values[m.group(2)]), pattern)


def _send(client: Client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    return client.generic(method, url, data="{}", content_type="application/json")


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_route_matrix(route, cast, acme, globex, alice, bob, charlie):  # SPEC T3, T4
    row = MATRIX.get(route)
    record = os.environ.get("MATRIX_RECORD")
    if row is None and not record:
        pytest.fail(f"{route}: no row in MATRIX")
    pattern = ROUTES[route]
    url = _url(pattern, cast)
    clients = {
        "anonymous": Client(HTTP_HOST=host_of(acme)),
        "agent": page_client(acme, bob),
        "admin": page_client(acme, alice),
        "other_admin": page_client(globex, charlie),
    }
    # Globex's admin first (and next to the missing id): the agent's and the admin's writes may succeed.
    order = ("anonymous", "other_admin", "agent", "admin")
    got = {}
    for method in METHODS:
        answers = {role: _send(clients[role], method, url) for role in order}
        got[method] = " ".join(str(answers[role].status_code) for role in ROLES)
        if PARAMETER.search(pattern) and "<str:token>" not in pattern:
            foreign = answers["other_admin"]
            missing = _send(clients["other_admin"], method, _url(pattern, {k: missing_id() for k in cast}))
            assert (foreign.status_code, _body(foreign)) == (missing.status_code, _body(missing)), (
                f"{route} {method}: globex's admin can tell acme's object from a missing one"
            )
    if record:
        with open(record, "a") as out:
            out.write(f"    {route!r}: {got!r},\n".replace("'", '"'))
        return
    assert got == row, f"{route} ({url}): got {got}"
