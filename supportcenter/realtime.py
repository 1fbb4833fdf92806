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


def account_group(account_id: int) -> str:
    return f"account.{account_id}"


def user_group(account_id: int, user_id: int) -> str:
    return f"account.{account_id}.user.{user_id}"


def push_now(group: str, event: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "push", "event": event, "payload": payload})
    except Exception:  # a push is a hint; Redis being down must not fail the write
        logger.exception("push to %s failed", group)


def push_on_commit(group: str, event: str, payload: dict) -> None:
    transaction.on_commit(lambda: push_now(group, event, payload))
