"""Writes of agents' Talk presence (SPEC R1, C2): status, device, and busy.

Busy starts when the agent accepts an offer and names what it is for (a live call
or a callback attempt); it ends when *that* call ends, so a late or replayed event
of an earlier call never frees an agent from the next one
(``talk.services.reconcile`` frees one whose call's end was never heard).
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from supportcenter.audit import audit_record
from supportcenter.db import atomic_with_retry
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from supportcenter.realtime import account_group, push_on_commit
from supportcenter.selectors import is_member
from talk.enqueue import wake_router
from talk.models import AgentPresence, Call, CallbackAttempt
from talk.phone import is_sip_uri, parse_caller_id

STATUS_INVALID_MESSAGE = "Choose online, away, transfers only or offline."
NOT_A_MEMBER_MESSAGE = "That user is not a member of this account."


@atomic_with_retry
def agent_status_set(*, account: Account, user: User, status: str, actor: User) -> AgentPresence:
    if status not in AgentPresence.Status.values:
        raise ServiceError(STATUS_INVALID_MESSAGE, field="status")
    if not is_member(account=account, user=user):
        raise ServiceError(NOT_A_MEMBER_MESSAGE, field="user")
    presence, _created = AgentPresence.objects.select_for_update().get_or_create(account=account, user=user)
    if presence.status != status:
        previous = presence.status
        presence.status = status
        presence.save(update_fields=["status", "updated_at"])
        audit_record(account=account, actor=actor, action="agent_presence.set_status", target=presence,
                     previous=previous, status=status)
        event = {"user": user.pk, "status": status}
        # Every console of the account (the agent's own included) is in the account group.
        push_on_commit(account_group(account.pk), "agent.status", event)
        wake_router(account.pk)  # who may be offered what has changed (R7)
    return presence


DEVICE_INVALID_MESSAGE = (
    "Enter a phone number in international form (e.g. +14155550123) or a SIP address (e.g. sip:bob@pbx.example.com)."
)


@transaction.atomic
def agent_device_set(*, account: Account, user: User, device: str, actor: User) -> AgentPresence:
    """Where a callback rings the agent first (R5): an E.164 number or a SIP URI; blank clears it."""
    value = (device or "").strip()
    if value:
        if is_sip_uri(value):
            if len(value) > 255 or any(ch.isspace() for ch in value):
                raise ServiceError(DEVICE_INVALID_MESSAGE, field="device")
        else:
            # Not through parse_caller_id's SIP branch: a SIP URI is kept whole, a number becomes E.164.
            parsed = parse_caller_id(value, account.region)
            if parsed is None:
                raise ServiceError(DEVICE_INVALID_MESSAGE, field="device")
            value = parsed
    if not is_member(account=account, user=user):
        raise ServiceError(NOT_A_MEMBER_MESSAGE, field="user")
    presence, _created = AgentPresence.objects.select_for_update().get_or_create(account=account, user=user)
    if presence.device != value:
        previous = presence.device
        presence.device = value
        presence.save(update_fields=["device", "updated_at"])
        audit_record(account=account, actor=actor, action="agent_presence.set_device", target=presence,
                     previous=previous, device=value)
    return presence


def agent_busy_start(*, account: Account, user_id: int, call: Call | None = None,
                     attempt: CallbackAttempt | None = None, now: datetime | None = None) -> bool:
    """The agent is busy with ``call`` or ``attempt`` from now (R1).

    Conditional: only a free agent becomes busy (or one already busy with this very
    attempt, a retry's second placing). False when the agent is busy with something else.
    """
    presence = AgentPresence.objects.filter(account=account, user_id=user_id)
    fields = {"busy": True, "busy_since": now or timezone.now(),
              "busy_call": call, "busy_attempt": attempt}
    if presence.filter(busy=False).update(**fields):
        return True
    return attempt is not None and presence.filter(busy=True, busy_attempt=attempt).exists()


def agent_busy_end(*, account: Account, call_id: int | None = None, attempt_id: int | None = None) -> int:
    """The call or attempt is over: free the agent busy with it, if any (R1).

    No push from here (a webhook's path): the routing pass it wakes tells the consoles.
    """
    if call_id is None and attempt_id is None:
        return 0
    match = Q(busy_call_id=call_id) if call_id is not None else Q(busy_attempt_id=attempt_id)
    freed = AgentPresence.objects.filter(match, account=account, busy=True).update(
        busy=False, busy_since=None, busy_call=None, busy_attempt=None
    )
    if freed:
        wake_router(account.pk)
    return freed
