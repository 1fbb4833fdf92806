"""The one push helper: live events go to WebSocket groups after commit.

Pushes are hints (SPEC R13): a client that misses one reloads the state over
HTTP, so a push is never the only record of anything.
"""
from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Every event a socket may carry, and who hears it: the whole account, or one member (the
# pages' contract; tests/test_socket_matrix.py holds each one to it).
ACCOUNT, MEMBER = "account", "member"
EVENTS = {
    "queue.changed": ACCOUNT,  # the queue or who is free changed: consoles and dashboards reload
    "agent.status": ACCOUNT,  # an agent's availability changed
    "ticket.updated": ACCOUNT,  # ids only, never bodies
    "offer.new": MEMBER,  # to the agent offered
    "offer.withdrawn": MEMBER,  # timed out, declined, taken back
    "offer.accepted": MEMBER,  # the agent's own accept, for their other tabs
}


def account_group(account_id: int) -> str:
    return f"account.{account_id}"


def user_group(account_id: int, user_id: int) -> str:
    return f"account.{account_id}.user.{user_id}"


def push_now(group: str, event: str, payload: dict) -> None:
    audience = MEMBER if ".user." in group else ACCOUNT
    if EVENTS.get(event) != audience:  # a programming error, not an outage: fail loudly
        raise ValueError(f"push of {event!r} to {group!r}: not an event for that audience (supportcenter.realtime.EVENTS)")
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "push", "event": event, "payload": payload})
    except Exception:  # a push is a hint; Redis being down must not fail the write
        logger.exception("push to %s failed", group)


def push_on_commit(group: str, event: str, payload: dict) -> None:
    transaction.on_commit(lambda: push_now(group, event, payload))
