"""Agents left busy by a lost provider event are freed within a bounded time (SPEC R1).

The sweep runs ``agents_reconcile`` every few seconds; each agent it frees gets an
audit entry saying why. Busy itself starts and ends in talk.services.agents.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportcenter.audit import audit_record
from talk.enqueue import wake_router
from talk.models import AgentPresence, CallbackAttempt
from talk.services.callback_calls import AGENT_RING_SECONDS
from talk.services.callback_requests import LOST, callback_agent_leg_ended

# R1: a lost provider event is reconciled within a bounded time.
LONGEST_CALL = timedelta(hours=4)  # no call's end heard for this long: it is not going on
LEG_GRACE = timedelta(minutes=2)  # an agent leg ends seconds after its customer's dial


def _stale_reason(presence: AgentPresence, now: datetime) -> str | None:
    """Why the agent is no longer busy with anything, or None while they may still be."""
    call, attempt = presence.busy_call, presence.busy_attempt
    if call is not None:
        if call.ended_at is not None:
            return "the call had ended"
        if (call.answered_at or call.started_at) < now - LONGEST_CALL:
            return "no end of the call was heard for 4 hours"
        return None
    if attempt is not None:
        return _attempt_stale_reason(attempt, now)
    if presence.busy_since is None or presence.busy_since < now - LEG_GRACE:
        return "busy with no call or callback"
    return None


def _attempt_stale_reason(attempt: CallbackAttempt, now: datetime) -> str | None:
    Status = CallbackAttempt.Status
    if attempt.agent_leg_ended_at is not None:
        return "the callback had ended"
    if attempt.status == Status.CALLING_AGENT and attempt.started_at < now - timedelta(seconds=AGENT_RING_SECONDS) - LEG_GRACE:
        return "the agent's device never reported an answer"
    if attempt.status == Status.CALLING_CUSTOMER and attempt.answered_at < now - LONGEST_CALL:
        return "no end of the callback was heard for 4 hours"
    if attempt.ended_at is not None and attempt.ended_at < now - LEG_GRACE:
        return "the end of the agent's leg was never heard"
    return None


def agents_reconcile(now: datetime | None = None) -> int:
    """Free agents left busy by a lost provider event, and record why (R1). The sweep runs it."""
    now = now or timezone.now()
    with scopes_disabled():  # a cross-account sweep, by design; each fix runs in its account below
        busy = list(
            AgentPresence.objects.filter(busy=True, busy_since__lt=now - LEG_GRACE)
            .select_related("account", "busy_call", "busy_attempt")
        )
    freed = 0
    for presence in busy:
        reason = _stale_reason(presence, now)
        if reason is None:
            continue
        with transaction.atomic(), scope(account=presence.account):
            attempt = presence.busy_attempt
            # The leg's end, as its status callback would have said: it frees the agent; a
            # request whose agent never answered goes back to its place (R6), one whose
            # customer's result never came is closed as not reached (never left in progress).
            freed_by_leg = attempt is not None and callback_agent_leg_ended(
                account=presence.account, attempt_id=attempt.pk, status=LOST
            )
            if freed_by_leg or AgentPresence.objects.filter(
                pk=presence.pk, busy=True, busy_call=presence.busy_call, busy_attempt=presence.busy_attempt
            ).update(busy=False, busy_since=None, busy_call=None, busy_attempt=None):
                freed += 1
                audit_record(account=presence.account, actor=None, action="agent_presence.reconcile",
                             target=presence, reason=reason)
                wake_router(presence.account_id)
    return freed
