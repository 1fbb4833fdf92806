"""Every WebSocket route × role, every event × who hears it, every client message (issue 12;
SPEC R13, T3). Built from supportcenter.ws_urls, supportcenter.realtime.EVENTS and
supportcenter.consumers.CLIENT_MESSAGES: a socket route, an event or a client message added
without a row here fails ``test_every_socket_event_and_message_has_a_row``.

Runs on the configured channel layer: Redis when REDIS_URL is set (CI), else in memory.
"""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from supportcenter.consumers import ACTIONS_OVER_HTTP_MESSAGE, CLIENT_MESSAGES
from supportcenter.realtime import EVENTS, MEMBER, account_group, push_now, user_group
from supportcenter.ws_urls import websocket_urlpatterns
from tests.sockets import session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = ("anonymous", "agent", "admin", "other_admin")  # other_admin: globex's admin on acme's host

# Socket path → what each role gets: "open", or the close code that refused it.
SOCKETS = {
    "/ws/events/": "4401 open open 4401",
    "/ws/agent/": "4401 open open 4401",
}
# Event → who hears it when acme's code pushes it (a member's event goes to bob):
# bob (agent), alice (admin), charlie (globex's admin, on his own host's socket).
EVENTS_HEARD = {
    "queue.changed": "yes yes no",
    "agent.status": "yes yes no",
    "ticket.updated": "yes yes no",
    "offer.new": "yes no no",
    "offer.withdrawn": "yes no no",
    "offer.accepted": "yes no no",
}
# What a client sends → the type of the answer; anything else is refused with an error.
MESSAGES = {"ping": "pong"}


def test_every_socket_event_and_message_has_a_row():
    paths = {"/" + str(route.pattern) for route in websocket_urlpatterns}
    assert paths == set(SOCKETS), f"socket routes and SOCKETS differ: {sorted(paths ^ set(SOCKETS))}"
    assert set(EVENTS) == set(EVENTS_HEARD), f"events and EVENTS_HEARD differ: {sorted(set(EVENTS) ^ set(EVENTS_HEARD))}"
    assert CLIENT_MESSAGES == MESSAGES


async def _open(path: str, user, host: str):
    session = await database_sync_to_async(session_cookie)(user, host) if user is not None else None
    communicator = socket(path, host, f"http://{host}", session)
    connected, code = await communicator.connect()
    if connected:
        assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator, ("open" if connected else str(code))


@pytest.mark.asyncio
@pytest.mark.parametrize("path", sorted(SOCKETS))
async def test_who_may_open_each_socket(path, acme, globex, alice, bob, charlie):  # SPEC T3, R13
    outcomes = []
    for user in (None, bob, alice, charlie):
        communicator, outcome = await _open(path, user, "acme.localhost")
        outcomes.append(outcome)
        await communicator.disconnect()
    assert " ".join(outcomes) == SOCKETS[path]


@pytest.mark.asyncio
@pytest.mark.parametrize("path", sorted(SOCKETS))
@pytest.mark.parametrize("event", sorted(EVENTS))
async def test_who_hears_each_event(path, event, acme, globex, alice, bob, charlie):  # SPEC T3, R13
    listeners = [
        (await _open(path, bob, "acme.localhost"))[0],
        (await _open(path, alice, "acme.localhost"))[0],
        (await _open(path, charlie, "globex.localhost"))[0],
    ]
    group = user_group(acme.pk, bob.pk) if EVENTS[event] == MEMBER else account_group(acme.pk)
    await database_sync_to_async(push_now)(group, event, {"matrix": event})
    heard = []
    for communicator in listeners:
        got = None if await communicator.receive_nothing(timeout=0.5) else await communicator.receive_json_from()
        heard.append("yes" if got == {"type": event, "payload": {"matrix": event}} else "no")
        await communicator.disconnect()
    assert " ".join(heard) == EVENTS_HEARD[event]


@pytest.mark.asyncio
@pytest.mark.parametrize("path", sorted(SOCKETS))
async def test_what_a_client_may_send(path, acme, bob):  # SPEC R13
    communicator, _ = await _open(path, bob, "acme.localhost")
    for kind, answer in MESSAGES.items():
        await communicator.send_json_to({"type": kind})
        assert await communicator.receive_json_from(timeout=5) == {"type": answer}
    for other in ({"type": "offer.accept", "id": 1}, ["not", "an", "object"], {"no": "type"}):
        await communicator.send_json_to(other)
        assert await communicator.receive_json_from(timeout=5) == {
            "type": "error", "payload": {"description": ACTIONS_OVER_HTTP_MESSAGE}}
    await communicator.disconnect()


def test_a_push_to_the_wrong_audience_is_refused(acme, bob):  # SPEC T3: an offer never goes to the whole account
    with pytest.raises(ValueError):
        push_now(account_group(acme.pk), "offer.new", {"id": 1})
    with pytest.raises(ValueError):
        push_now(user_group(acme.pk, bob.pk), "no.such.event", {})
