"""The provider's side of the calls Talk places (SPEC R5, R10): a callback attempt and a
live caller's connection to the agent who accepted. The dialer (talk.dialer) runs
these from its jobs, never a request.

An attempt rings the agent's device first, then, when the agent answers, the customer
from the number the caller-id policy picks (the webhooks in talk/webhooks/callback_views
record what happened, through talk.services.callback_requests).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from talk.lifecycle import ATTEMPT
from talk.models import AgentPresence, Call, CallbackAttempt, CallbackRequest, Offer
from talk.selectors.lines import callback_caller_id, line_hook_url
from talk.services.agents import agent_busy_end, agent_busy_start
from talk.services.callback_requests import callback_attempt_unplaceable
from talk.services.queue import queue_entry_reopen
from talk.telephony import GatewayError, OutboundCall, gateway_for

logger = logging.getLogger(__name__)

GATEWAY_RETRY_SECONDS = 30
AGENT_RING_SECONDS = 30
CUSTOMER_RING_SECONDS = 30
AGENT_BUSY_RETRY_SECONDS = 30  # a retry whose agent is on another call waits for them


def _claim(attempt: CallbackAttempt, now: datetime) -> bool | datetime:
    """QUEUED → CALLING_AGENT, with the agent busy with it: True. At-least-once jobs claim
    once: False when it is no longer queued. A retry whose agent is on another call waits
    for them (R10): the time to try again."""
    with transaction.atomic():
        if not ATTEMPT.move(CallbackAttempt.objects.filter(pk=attempt.pk, scheduled_for__lte=now),
                            CallbackAttempt.Status.CALLING_AGENT, only_from=(CallbackAttempt.Status.QUEUED,),
                            started_at=now):
            return False
        if attempt.agent_id is not None and not agent_busy_start(
            account=attempt.account, user_id=attempt.agent_id, attempt=attempt, now=now
        ):
            again = now + timedelta(seconds=AGENT_BUSY_RETRY_SECONDS)
            ATTEMPT.move(CallbackAttempt.objects.filter(pk=attempt.pk), CallbackAttempt.Status.QUEUED,
                         only_from=(CallbackAttempt.Status.CALLING_AGENT,), started_at=None, scheduled_for=again)
            return again
        return True


def callback_attempt_place(*, attempt_id: int, now: datetime | None = None, retaken: bool = False) -> datetime | None:
    """Place one attempt (the dialer's job; at-least-once, so claiming it is conditional).

    ``retaken``: the job's last dialer stopped mid-job (its lease ended); an attempt it
    claimed and never placed is placed now, by this one (its agent is still busy with it).
    Returns when to try again (the attempt's time has not come, its agent is on another
    call, the provider could not be reached), or None: nothing more to do.
    """
    with scopes_disabled():  # the job has an id; the account comes from the row
        attempt = CallbackAttempt.objects.select_related("account", "request__line__account").filter(pk=attempt_id).first()
    if attempt is None:
        return None
    account = attempt.account
    with scope(account=account):
        now = now or timezone.now()
        if attempt.status == CallbackAttempt.Status.QUEUED and attempt.scheduled_for > now:
            return attempt.scheduled_for
        orphaned = retaken and attempt.status == CallbackAttempt.Status.CALLING_AGENT and not attempt.provider_call_sid
        if orphaned:
            logger.warning("callback attempt %s: its dialer stopped before placing it; placing it now", attempt.pk)
        else:
            claimed = _claim(attempt, now)
            if claimed is not True:
                return claimed or None
        request = attempt.request
        CallbackRequest.objects.filter(pk=request.pk, first_attempt_at__isnull=True).update(first_attempt_at=now)
        CallbackRequest.objects.filter(pk=request.pk).update(attempts=attempt.number)
        line = request.line
        presence = AgentPresence.objects.filter(account=account, user_id=attempt.agent_id).first()
        device = (presence.device if presence else "") or f"client:agent-{attempt.agent_id}"
        outbound = OutboundCall(
            to=device,
            from_=callback_caller_id(line),
            url=line_hook_url(line, "cb_agent", a=attempt.pk),
            status_callback=line_hook_url(line, "cb_agent_status", a=attempt.pk),
            timeout_seconds=AGENT_RING_SECONDS,
        )
        try:
            sid = gateway_for(account).place_call(outbound)
        except GatewayError as error:
            if error.retryable:
                # Still the agent's: they stay busy with it until it is placed or fails.
                again = timezone.now() + timedelta(seconds=GATEWAY_RETRY_SECONDS)
                ATTEMPT.move(CallbackAttempt.objects.filter(pk=attempt.pk), CallbackAttempt.Status.QUEUED,
                             only_from=(CallbackAttempt.Status.CALLING_AGENT,), scheduled_for=again)
                logger.warning("callback attempt %s: %s; trying again", attempt.pk, error)
                return again
            callback_attempt_unplaceable(account=account, attempt=attempt, error=str(error))
            return None
        CallbackAttempt.objects.filter(pk=attempt.pk, provider_call_sid="").update(provider_call_sid=sid)
        return None


def live_call_connect(*, offer_id: int) -> None:
    """Connect a queued live caller to the agent who accepted (R5): a redirect of the call.

    If the provider refuses, the agent is free at once and the caller, still holding,
    is back at their place in the queue (R1).
    """
    with scopes_disabled():
        offer = Offer.objects.select_related("account", "entry__call", "entry__line").filter(pk=offer_id).first()
    if offer is None or offer.entry.call is None:
        return
    account = offer.account
    call = offer.entry.call
    with scope(account=account):
        line = offer.entry.line
        try:
            gateway_for(account).redirect_call(
                call_sid=call.provider_call_sid, url=line_hook_url(line, "connect_agent", a=offer.agent_id)
            )
        except GatewayError as error:
            logger.warning("connecting call %s failed: %s", call.pk, error)
            live_call_connect_failed(account=account, call_id=call.pk, entry_id=offer.entry_id)


@transaction.atomic
def live_call_connect_failed(*, account, call_id: int, entry_id: int) -> None:
    # The lock order of every call's events: the call, its entry, then the agent.
    call = Call.objects.select_for_update(no_key=True).filter(account=account, pk=call_id).first()
    if call is not None and call.ended_at is None and queue_entry_reopen(account=account, entry_id=entry_id):
        Call.objects.filter(pk=call_id).update(answered_by=None, answered_at=None, outcome=Call.Outcome.NONE)
    agent_busy_end(account=account, call_id=call_id)
