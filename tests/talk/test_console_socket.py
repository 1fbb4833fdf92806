"""The agent console's socket /ws/agent/: who may connect, and who hears what (SPEC R13, T3).

Runs on the configured channel layer: Redis when REDIS_URL is set (CI), else in memory.
"""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from supportcenter.consumers import ACTIONS_OVER_HTTP_MESSAGE
from talk.models import Offer
from tests.conftest import api_client
from tests.sockets import session_cookie, socket
from tests.talk.calls_support import make_line
from tests.talk.test_console_support import inline_tasks, offer_state, offered_callback, set_presence  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("inline_tasks")]

PATH = "/ws/agent/"


def _session(user, host: str) -> str:
    return session_cookie(user, host)


def _socket(host: str, origin: str | None, session: str | None) -> WebsocketCommunicator:
    return socket(PATH, host, origin, session)


async def _connected(user, subdomain: str) -> WebsocketCommunicator:
    host = f"{subdomain}.localhost"
    session = await database_sync_to_async(_session)(user, host)
    socket = _socket(host, f"http://{host}", session)
    connected, _ = await socket.connect()
    assert connected
    hello = await socket.receive_json_from(timeout=5)
    assert hello["type"] == "hello" and hello["account"] == subdomain
    return socket


async def _next_of(socket: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict:
    """The next message of ``kind``, skipping other hints (their order across groups is not fixed)."""
    while True:
        message = await socket.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


async def _drain(socket: WebsocketCommunicator) -> list[dict]:
    messages = []
    while not await socket.receive_nothing(timeout=0.3):
        messages.append(await socket.receive_json_from())
    return messages


async def test_an_agent_is_pushed_their_offer_and_the_queue_change(acme, bob):  # SPEC R13
    line = await database_sync_to_async(make_line)(acme)
    socket = await _connected(bob, "acme")
    offer = await database_sync_to_async(offered_callback)(acme, line, bob)
    new = await _next_of(socket, "offer.new")
    assert new["payload"]["id"] == offer.pk and new["payload"]["kind"] == "callback"
    assert new["payload"]["number"] == "+14155550111"
    await socket.disconnect()


async def test_accept_and_decline_are_pushed_to_the_agent(acme, bob):  # SPEC R5, R6
    line = await database_sync_to_async(make_line)(acme)
    first = await database_sync_to_async(offered_callback)(acme, line, bob)
    socket = await _connected(bob, "acme")
    bob_api = await database_sync_to_async(api_client)(acme, bob)
    declined = await database_sync_to_async(bob_api.post)(f"/api/v2/channels/voice/offers/{first.pk}/decline.json")
    assert declined.status_code == 200
    withdrawn = await _next_of(socket, "offer.withdrawn")
    assert withdrawn["payload"] == {"id": first.pk, "reason": "declined"}
    second = await database_sync_to_async(offered_callback)(acme, line, bob, "+14155550122")
    await _next_of(socket, "offer.new")
    accepted = await database_sync_to_async(bob_api.post)(f"/api/v2/channels/voice/offers/{second.pk}/accept.json")
    assert accepted.status_code == 200
    assert (await _next_of(socket, "offer.accepted"))["payload"] == {"id": second.pk}
    assert (await _next_of(socket, "queue.changed"))["type"] == "queue.changed"
    await socket.disconnect()


async def test_status_changes_are_pushed(acme, bob):  # SPEC R1
    socket = await _connected(bob, "acme")
    bob_api = await database_sync_to_async(api_client)(acme, bob)
    response = await database_sync_to_async(bob_api.put)(
        f"/api/v2/channels/voice/availabilities/{bob.pk}.json",
        data=json.dumps({"availability": {"agent_state": "away"}}), content_type="application/json",
    )
    assert response.status_code == 200
    assert (await _next_of(socket, "agent.status"))["payload"] == {"user": bob.pk, "status": "away"}
    await socket.disconnect()


async def test_another_agent_does_not_hear_my_offer(acme, bob, dave):  # SPEC R2
    line = await database_sync_to_async(make_line)(acme)
    socket = await _connected(dave, "acme")
    await database_sync_to_async(offered_callback)(acme, line, bob)
    kinds = {message["type"] for message in await _drain(socket)}
    assert "offer.new" not in kinds and "queue.changed" in kinds  # the account's queue, not bob's offer
    await socket.disconnect()


async def test_a_globex_agent_never_receives_acme_offers_nor_accepts_them(acme, bob, globex, charlie):  # SPEC T3
    line = await database_sync_to_async(make_line)(acme)
    await database_sync_to_async(set_presence)(globex, charlie, "online")
    socket = await _connected(charlie, "globex")
    offer = await database_sync_to_async(offered_callback)(acme, line, bob)
    assert await _drain(socket) == []
    charlie_api = await database_sync_to_async(api_client)(globex, charlie)
    refused = await database_sync_to_async(charlie_api.post)(f"/api/v2/channels/voice/offers/{offer.pk}/accept.json")
    assert refused.status_code == 404
    # Nor through the socket: it takes no actions at all.
    await socket.send_json_to({"type": "offer.accept", "id": offer.pk})
    assert await socket.receive_json_from(timeout=5) == {"type": "error", "payload": {"description": ACTIONS_OVER_HTTP_MESSAGE}}
    assert await database_sync_to_async(offer_state)(acme, offer) == Offer.State.OFFERED
    await socket.disconnect()


async def test_the_socket_answers_pings_and_takes_no_actions(acme, bob):  # SPEC R13
    line = await database_sync_to_async(make_line)(acme)
    offer = await database_sync_to_async(offered_callback)(acme, line, bob)
    socket = await _connected(bob, "acme")
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=5) == {"type": "pong"}
    await socket.send_json_to({"type": "offer.accept", "id": offer.pk})
    assert (await socket.receive_json_from(timeout=5))["type"] == "error"
    assert await database_sync_to_async(offer_state)(acme, offer) == Offer.State.OFFERED
    await socket.disconnect()


@pytest.mark.parametrize(
    "host, origin, who",
    [
        ("acme.localhost", "http://acme.localhost", None),  # anonymous
        ("acme.localhost", "http://globex.localhost", "bob"),  # a page of another account
        ("acme.localhost", "http://evil.example", "bob"),  # another site
        ("acme.localhost", None, "bob"),  # no Origin
        ("acme.localhost", "http://acme.localhost", "charlie"),  # not a member of acme
        ("globex.localhost", "http://globex.localhost", "bob"),  # acme's agent on globex
    ],
)
async def test_the_socket_is_refused(acme, bob, globex, charlie, host, origin, who):  # SPEC T3, T4
    user = {"bob": bob, "charlie": charlie}.get(who)
    session = await database_sync_to_async(_session)(user, host) if user else None
    connected, _ = await _socket(host, origin, session).connect()
    assert not connected


async def test_a_socket_opened_while_redis_is_down_is_refused_cleanly(acme, bob, settings):  # issue 11, item 6
    # The real Redis channel layer, pointed at a port nothing listens on: Redis is down.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:9"]}}}
    channel_layers.backends.clear()
    try:
        host = "acme.localhost"
        session = await database_sync_to_async(_session)(bob, host)
        refused = _socket(host, f"http://{host}", session)
        connected, code = await refused.connect(timeout=10)
        assert (connected, code) == (False, 4503)  # a refusal the page retries, not a crash
    finally:
        channel_layers.backends.clear()
