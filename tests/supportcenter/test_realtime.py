"""The WebSocket edge and the push helper, on the configured channel layer
(Redis in CI, the in-memory layer on a bare machine)."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from supportcenter.realtime import account_group, push_now, push_on_commit, user_group
from tests.sockets import session_cookie, socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


_session_cookie = session_cookie


def _socket(host: str, origin: str | None, session: str | None) -> WebsocketCommunicator:
    return socket("/ws/events/", host, origin, session)


@pytest.fixture
def alice_session(acme, alice) -> str:
    return _session_cookie(alice, "acme.localhost")


async def test_a_member_connects_and_receives_account_and_user_pushes(acme, alice, alice_session):  # SPEC R13
    socket = _socket("acme.localhost", "http://acme.localhost", alice_session)
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_json_from() == {"type": "hello", "account": "acme", "role": "admin"}
    await database_sync_to_async(push_now)(account_group(acme.pk), "queue.changed", {"waiting": 3})
    assert await socket.receive_json_from(timeout=5) == {"type": "queue.changed", "payload": {"waiting": 3}}
    await database_sync_to_async(push_now)(user_group(acme.pk, alice.pk), "offer.new", {"id": 7})
    assert await socket.receive_json_from(timeout=5) == {"type": "offer.new", "payload": {"id": 7}}
    await socket.disconnect()


async def test_a_push_is_sent_only_after_commit(acme, alice, alice_session):
    socket = _socket("acme.localhost", "http://acme.localhost", alice_session)
    await socket.connect()
    await socket.receive_json_from()

    def rolled_back() -> None:
        try:
            with transaction.atomic():
                push_on_commit(account_group(acme.pk), "ticket.updated", {"change": "ghost"})
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        with transaction.atomic():
            push_on_commit(account_group(acme.pk), "ticket.updated", {"change": "committed"})

    await database_sync_to_async(rolled_back)()
    assert (await socket.receive_json_from(timeout=5))["payload"] == {"change": "committed"}
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_globex_never_receives_acme_pushes(acme, alice, globex, charlie):  # SPEC T3
    session = await database_sync_to_async(_session_cookie)(charlie, "globex.localhost")
    socket = _socket("globex.localhost", "http://globex.localhost", session)
    assert (await socket.connect())[0]
    await socket.receive_json_from()
    await database_sync_to_async(push_now)(account_group(acme.pk), "queue.changed", {"waiting": 1})
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


@pytest.mark.parametrize(
    "host, origin, with_session",
    [
        ("acme.localhost", "http://acme.localhost", False),  # not logged in
        ("acme.localhost", "http://globex.localhost", True),  # page of another account
        ("acme.localhost", "http://evil.example", True),  # another site
        ("acme.localhost", None, True),  # no Origin at all
        ("localhost", "http://localhost", True),  # no account
    ],
)
async def test_a_socket_is_refused(acme, alice, alice_session, host, origin, with_session):
    socket = _socket(host, origin, alice_session if with_session else None)
    connected, _ = await socket.connect()
    assert not connected


async def test_a_user_of_another_account_is_refused(acme, globex, charlie):
    session = await database_sync_to_async(_session_cookie)(charlie, "acme.localhost")
    socket = _socket("acme.localhost", "http://acme.localhost", session)
    connected, _ = await socket.connect()
    assert not connected
