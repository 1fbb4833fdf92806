"""The callback call and live-call connection (SPEC R5, R10, R11, R12).

Accepting a callback schedules an attempt; a task places it through the
account's gateway: the agent's device first, then, when the agent answers, the
customer from the number the caller-id policy picks. Status webhooks close the
attempt; every outcome is an internal comment on the request's ticket. No retry
unless the line's retry policy says so (seed: none).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportcenter.models import Account, User
from talk.models import AgentPresence, CallbackAttempt, CallbackRequest, Line, Offer
from talk.selectors.lines import callback_caller_id, line_webhook_urls
from talk.telephony import GatewayError, OutboundCall, gateway_for

logger = logging.getLogger(__name__)

GATEWAY_RETRY_SECONDS = 30
AGENT_RING_SECONDS = 30
CUSTOMER_RING_SECONDS = 30

RESULT_WORDS = {
    "completed": "answered",
    "busy": "busy",
    "no-answer": "no answer",
    "failed": "failed",
    "canceled": "cancelled before it was answered",
}
RESULT_OUTCOMES = {
    "busy": CallbackRequest.Outcome.BUSY,
    "no-answer": CallbackRequest.Outcome.NO_ANSWER,
    "failed": CallbackRequest.Outcome.FAILED,
    "canceled": CallbackRequest.Outcome.NO_ANSWER,
}


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _note(account: Account, request: CallbackRequest, text: str) -> None:
    from talk.services.routing import callback_request_note

    callback_request_note(account=account, request=request, note=text)


def _agent_free(account: Account, agent_id: int | None) -> None:
    if agent_id is None:
        return
    AgentPresence.objects.filter(account=account, user_id=agent_id).update(busy=False)
    # No push from here (a webhook's path): the woken routing pass tells the consoles.
    from talk.services.routing import wake_router

    wake_router(account.pk)


@transaction.atomic
def callback_attempt_schedule(*, account: Account, request_id: int, agent: User, when: datetime) -> CallbackAttempt:
    number = CallbackAttempt.objects.filter(account=account, request_id=request_id).count() + 1
    attempt = CallbackAttempt.objects.create(
        account=account, request_id=request_id, number=number, agent=agent, scheduled_for=when
    )
    if when <= timezone.now():
        from talk.tasks import enqueue_callback_attempt

        transaction.on_commit(lambda: enqueue_callback_attempt(attempt.pk))
    return attempt


def due_attempts_start(now: datetime | None = None) -> int:
    """The sweep's part: attempts whose time has come (retries, lost tasks)."""
    from talk.tasks import enqueue_callback_attempt

    now = now or timezone.now()
    with scopes_disabled():  # a cross-account sweep, by design
        due = list(
            CallbackAttempt.objects.filter(status=CallbackAttempt.Status.QUEUED, scheduled_for__lte=now)
            .values_list("pk", flat=True)[:100]
        )
    for attempt_id in due:
        enqueue_callback_attempt(attempt_id)
    return len(due)


def _absolute(line: Line, path: str) -> str:
    base = line_webhook_urls(line=line)["voice_url"]
    return base.split("/talk/webhooks/", 1)[0] + path


def callback_attempt_place(*, attempt_id: int) -> None:
    """Place one attempt (a task; at-least-once, so claiming it is conditional)."""
    from talk.webhooks.views import hook

    with scopes_disabled():  # the task has an id; the account comes from the row
        attempt = CallbackAttempt.objects.select_related("account").filter(pk=attempt_id).first()
    if attempt is None:
        return
    account = attempt.account
    with scope(account=account):
        now = timezone.now()
        if not CallbackAttempt.objects.filter(
            pk=attempt.pk, status=CallbackAttempt.Status.QUEUED, scheduled_for__lte=now
        ).update(status=CallbackAttempt.Status.CALLING_AGENT, started_at=now):
            return
        request = CallbackRequest.objects.select_related("line__account").get(pk=attempt.request_id)
        CallbackRequest.objects.filter(pk=request.pk, first_attempt_at__isnull=True).update(first_attempt_at=now)
        CallbackRequest.objects.filter(pk=request.pk).update(attempts=attempt.number)
        line = request.line
        presence = AgentPresence.objects.filter(account=account, user_id=attempt.agent_id).first()
        device = (presence.device if presence else "") or f"client:agent-{attempt.agent_id}"
        outbound = OutboundCall(
            to=device,
            from_=callback_caller_id(line),
            url=_absolute(line, hook(line, "cb_agent", a=attempt.pk)),
            status_callback=_absolute(line, hook(line, "cb_agent_status", a=attempt.pk)),
            timeout_seconds=AGENT_RING_SECONDS,
        )
        try:
            sid = gateway_for(account).place_call(outbound)
        except GatewayError as error:
            _gateway_failed(account, attempt, request, error)
            return
        CallbackAttempt.objects.filter(pk=attempt.pk, provider_call_sid="").update(provider_call_sid=sid)


@transaction.atomic
def _gateway_failed(account: Account, attempt: CallbackAttempt, request: CallbackRequest, error: GatewayError) -> None:
    if error.retryable:
        CallbackAttempt.objects.filter(pk=attempt.pk).update(
            status=CallbackAttempt.Status.QUEUED, scheduled_for=timezone.now() + timedelta(seconds=GATEWAY_RETRY_SECONDS)
        )
        logger.warning("callback attempt %s: %s; trying again", attempt.pk, error)
        return
    CallbackAttempt.objects.filter(pk=attempt.pk).update(status=CallbackAttempt.Status.FAILED, ended_at=timezone.now())
    _finish(account, request, CallbackRequest.State.FAILED, CallbackRequest.Outcome.FAILED)
    _note(account, request, f"Callback attempt {attempt.number} to {request.number} could not be placed: {error}")
    _agent_free(account, attempt.agent_id)


def _finish(account: Account, request: CallbackRequest, state: str, outcome: str, duration: int | None = None) -> None:
    CallbackRequest.objects.filter(pk=request.pk, state=CallbackRequest.State.IN_PROGRESS).update(
        state=state, outcome=outcome, ended_at=timezone.now(), duration_seconds=duration
    )


def attempt_for(*, account: Account, attempt_id: int) -> CallbackAttempt | None:
    """The attempt ``attempt_id`` of ``account`` (webhooks), or None: another account's id too."""
    return (
        CallbackAttempt.objects.filter(account=account, pk=attempt_id)
        .select_related("request__line", "agent")
        .first()
    )


@transaction.atomic
def callback_agent_answered(*, account: Account, attempt: CallbackAttempt) -> None:
    CallbackAttempt.objects.filter(pk=attempt.pk, status=CallbackAttempt.Status.CALLING_AGENT).update(
        status=CallbackAttempt.Status.CALLING_CUSTOMER, answered_at=timezone.now()
    )


@transaction.atomic
def callback_customer_result(*, account: Account, attempt: CallbackAttempt, result: str, seconds: int | None) -> None:
    """The Dial to the customer ended (R10, R11): record it; retry if the line says so."""
    request = attempt.request
    finished = CallbackAttempt.objects.filter(
        pk=attempt.pk, status__in=[CallbackAttempt.Status.CALLING_CUSTOMER, CallbackAttempt.Status.CALLING_AGENT]
    )
    if result == "completed":
        if not finished.update(status=CallbackAttempt.Status.COMPLETED, ended_at=timezone.now(), duration_seconds=seconds):
            return  # a replay
        agent = attempt.agent.name if attempt.agent else "An agent"
        _finish(account, request, CallbackRequest.State.COMPLETED, CallbackRequest.Outcome.ANSWERED, seconds)
        _note(account, request, f"{agent} called {request.number} back: answered, talked {_duration(seconds or 0)}.")
        return
    status = {"busy": CallbackAttempt.Status.BUSY, "no-answer": CallbackAttempt.Status.NO_ANSWER}.get(
        result, CallbackAttempt.Status.FAILED
    )
    if not finished.update(status=status, ended_at=timezone.now()):
        return
    words = RESULT_WORDS.get(result, result or "failed")
    line = request.line
    if attempt.number <= line.callback_retry_attempts:
        when = timezone.now() + timedelta(minutes=line.callback_retry_interval_minutes)
        _note(account, request, f"Callback attempt {attempt.number} to {request.number}: {words}. "
                                f"Trying again at {timezone.localtime(when).strftime('%H:%M')} (retry policy).")
        callback_attempt_schedule(account=account, request_id=request.pk, agent=attempt.agent, when=when)
        return
    _finish(account, request, CallbackRequest.State.FAILED, RESULT_OUTCOMES.get(result, CallbackRequest.Outcome.FAILED))
    retry = " No retry (the line's policy)." if line.callback_retry_attempts == 0 else " No retries left."
    _note(account, request, f"Callback attempt {attempt.number} to {request.number}: {words}.{retry}")


@transaction.atomic
def callback_agent_leg_ended(*, account: Account, attempt: CallbackAttempt, status: str) -> None:
    """The agent's leg is over. An agent who never answered gives the request back (R6)."""
    now = timezone.now()
    if CallbackAttempt.objects.filter(pk=attempt.pk, status=CallbackAttempt.Status.CALLING_AGENT).update(
        status=CallbackAttempt.Status.AGENT_UNREACHED, ended_at=now
    ):
        request = attempt.request
        from talk.models import QueueEntry

        # Back to its original place in the queue: the entry keeps entered_at.
        if CallbackRequest.objects.filter(pk=request.pk, state=CallbackRequest.State.IN_PROGRESS).update(
            state=CallbackRequest.State.PENDING, accepted_by=None, started_at=None
        ):
            QueueEntry.objects.filter(pk=request.queue_entry_id).update(state=QueueEntry.State.WAITING, left_at=None)
        _note(account, request, f"{attempt.agent.name if attempt.agent else 'The agent'} did not answer their "
                                f"device ({status}); the request went back to its place in the queue.")
    _agent_free(account, attempt.agent_id)


def live_call_connect(*, offer_id: int) -> None:
    """Connect a queued live caller to the agent who accepted (R5): a redirect of the call."""
    from talk.webhooks.views import hook

    with scopes_disabled():
        offer = Offer.objects.select_related("account", "entry__call", "entry__line").filter(pk=offer_id).first()
    if offer is None or offer.entry.call is None:
        return
    account = offer.account
    with scope(account=account):
        line = offer.entry.line
        try:
            gateway_for(account).redirect_call(
                call_sid=offer.entry.call.provider_call_sid,
                url=_absolute(line, hook(line, "connect_agent", a=offer.agent_id)),
            )
        except GatewayError as error:
            logger.warning("connecting call %s failed: %s", offer.entry.call_id, error)
