"""The life of a callback request, in one module (SPEC C6-C8, R2-R12; docs/lifecycle.md).

created (confirmed by the caller, captured on first key, or by the API) → pending in the
queue at the caller's original place → offered (talk.routing) → in progress when an agent
accepts (ticket, attempt) → completed or failed by the attempts' results; or declined by
every agent / expired while pending. An attempt whose agent never answered puts the
request back to pending, at its place.

Every state change is a ``talk.lifecycle`` move (a conditional UPDATE): the first event
wins, a late or replayed one changes nothing.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from supportcenter import services as core_services
from supportcenter.audit import audit_record
from supportcenter.db import advisory_xact_lock, atomic_with_retry
from supportcenter.errors import ServiceError
from supportcenter.models import Account, Group, User
from supportcenter.realtime import account_group, push_on_commit
from supportcenter.tenancy import account_zone
from talk.enqueue import provider_job_add, wake_router
from talk.lifecycle import ATTEMPT, REQUEST
from talk.models import (
    Call,
    CallbackAttempt,
    CallbackRequest,
    Line,
    ProviderJob,
    QueueEntry,
)
from talk.phone import parse_caller_id
from talk.selectors.lines import (
    access_line,
    effective_callback_language,
    line_callback_supported,
)
from talk.selectors.queue import waiting_q
from talk.services.agents import agent_busy_end
from talk.services.provider_values import provider_seconds
from talk.services.queue import offers_withdraw, queue_entry_close, queue_entry_reopen
from talk.services.recordings import ticket_recording_note
from tickets import services as tickets
from tickets.models import Ticket, Via

ALREADY_WAITING_MESSAGE = "A callback to this number is already waiting on this line."
UNKNOWN_LINE_MESSAGE = "There is no such phone number (line) in this account."
UNKNOWN_GROUP_MESSAGE = "Each of group_ids must be a group of this account; one is not."
RATE_LIMITED_MESSAGE = "Too many callback requests: at most 30 per 10 minutes per account."
# SPEC A3: the reference allows 30 callback requests per 10 minutes per account.
API_CALLBACK_LIMIT = 30
API_CALLBACK_WINDOW = timedelta(minutes=10)
CALLBACK_UNAVAILABLE_MESSAGE = "Callback is not available on this line: {reason}"
NUMBER_INVALID_MESSAGE = "Enter a valid phone number in E.164 form, e.g. +14155550100."
TICKET_SUBJECT = "Callback request"  # the seed's subject (R8)

CLOSE_NOTES = {
    CallbackRequest.State.DECLINED: "Every agent declined the callback request (or was offline or on transfers only); it was cancelled.",
    CallbackRequest.State.EXPIRED: "No agent accepted the callback request within {minutes} minutes; it expired and was cancelled.",
}
CLOSE_ACTIONS = {  # audit actions: <entity>.<verb>
    CallbackRequest.State.DECLINED: "callback_request.decline",
    CallbackRequest.State.EXPIRED: "callback_request.expire",
}
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

# Joins the webhook's transaction without the two SAVEPOINT statements each.
atomic = transaction.atomic(savepoint=False)

Request = CallbackRequest.State


def pending_for_number(line: Line, number: str) -> CallbackRequest | None:
    return CallbackRequest.objects.filter(
        account_id=line.account_id, line=line, number=number, state=Request.PENDING
    ).first()


# --- created -------------------------------------------------------------------
def _create(*, line: Line, entry: QueueEntry, call: Call | None, number: str, source: str, confirmed: bool,
            actor: User | None = None) -> CallbackRequest | None:
    """``entry`` becomes a callback request at its original place (C6, R2).

    None when the number already has a pending request on the line (C7): the partial
    unique constraint decides, so a race between a call and the API has one winner.
    """
    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: losing the constraint must not end the caller's transaction
            request = CallbackRequest.objects.create(
                account_id=line.account_id, line=line, queue_entry=entry, call=call, number=number,
                number_source=source, language=effective_callback_language(line), confirmed=confirmed,
                requested_at=now, queue_entered_at=entry.entered_at,
                expires_at=now + timedelta(minutes=line.callback_expiry_minutes),
            )
    except IntegrityError:
        return None
    QueueEntry.objects.filter(pk=entry.pk).update(kind=QueueEntry.Kind.CALLBACK)
    entry.kind = QueueEntry.Kind.CALLBACK
    if call is not None:  # R2: a live-call offer still open for this caller is withdrawn
        offers_withdraw(account=line.account, entry_id=entry.pk, reason="became_callback", now=now)
    audit_record(account=line.account, actor=actor, action="callback_request.create", target=request,
                 confirmed=confirmed, source=source)
    wake_router(line.account_id)
    return request


@atomic_with_retry
def callback_request_create(*, line: Line, number: str, actor: User | None = None,
                            groups: Sequence[Group] = ()) -> CallbackRequest:
    """A callback request made without a call (the API, SPEC A1): it joins the line's
    queue now, behind everyone already waiting (R2). ``groups`` (of the line's account):
    offered only to their members instead of the line's groups (R14)."""
    supported, reason = line_callback_supported(line)
    if not supported:
        raise ServiceError(CALLBACK_UNAVAILABLE_MESSAGE.format(reason=reason), field="phone_number_id")
    e164 = parse_caller_id(str(number), line.account.region)
    if e164 is None:
        raise ServiceError(NUMBER_INVALID_MESSAGE, field="requester_phone_number")
    entry = QueueEntry.objects.create(
        account_id=line.account_id, line=line, kind=QueueEntry.Kind.CALLBACK, entered_at=timezone.now()
    )
    request = _create(line=line, entry=entry, call=None, number=e164, source=Call.NumberSource.ENTERED,
                      confirmed=True, actor=actor)
    if request is None:  # C7; the transaction rolls the entry back
        raise ServiceError(ALREADY_WAITING_MESSAGE, field="requester_phone_number")
    if groups:
        if any(group.account_id != line.account_id for group in groups):  # pragma: no cover - a programming error
            raise ValueError("a callback request's groups are of its line's account")
        request.groups.set(groups)  # committed with the request: the pass it wakes sees them
    return request


class CallbackRateLimited(ServiceError):
    def __init__(self, retry_after: int):
        super().__init__(RATE_LIMITED_MESSAGE, code="rate_limited")
        self.retry_after = retry_after


def groups_named(account: Account, group_ids: Sequence[int]) -> list[Group]:
    """The account's groups a request names (its own ``group_ids``, R14), locked against their
    deletion until this transaction ends; another account's id is refused as a missing one."""
    return core_services.groups_for_use(account=account, group_ids=group_ids, field="group_ids",
                                        message=UNKNOWN_GROUP_MESSAGE)


@atomic_with_retry
def callback_request_create_by_api(*, account: Account, line_id: int, number: str, actor: User,
                                   group_ids: Sequence[int] | None = None) -> CallbackRequest:
    """An API client asks for a callback (SPEC A1, A3): at most 30 per 10 minutes per account.
    ``group_ids``: offered only to these groups' members (R14); none, the line's groups.

    The count is of the API-made requests in the database (the only ones without a
    call), so every web process agrees on it; an advisory lock per account makes
    concurrent requests take turns, so two cannot both see 29 and both create. It
    blocks nothing else: a caller's capture of the same number races on the
    one-pending-per-number constraint alone (C7). Refusals create nothing and do not count.
    """
    advisory_xact_lock("talk.callback_api", account.pk)
    recent = CallbackRequest.objects.filter(account=account, call__isnull=True,
                                            requested_at__gte=timezone.now() - API_CALLBACK_WINDOW)
    if recent.count() >= API_CALLBACK_LIMIT:
        oldest = recent.order_by("requested_at").values_list("requested_at", flat=True).first()
        raise CallbackRateLimited(max(1, math.ceil((oldest + API_CALLBACK_WINDOW - timezone.now()).total_seconds())))
    line = access_line(account=account, line_id=line_id)
    if line is None:  # another account's line answers exactly like a missing one (T3)
        raise ServiceError(UNKNOWN_LINE_MESSAGE, field="phone_number_id")
    groups = groups_named(account, group_ids or ())
    return callback_request_create(line=line, number=number, actor=actor, groups=groups)


@atomic
def callback_request_confirm(*, call: Call) -> tuple[CallbackRequest | None, bool]:
    """The caller pressed 1 (C6), the call row locked. Returns (request, already_waiting).

    One request per call: a replay returns the same; a request captured when the
    events arrived out of order becomes confirmed. A number that already has a pending
    request on this line changes nothing and the caller's own place is given up (C7,
    C15). A call that has already ended gets nothing: the caller cannot hear it.
    """
    own = CallbackRequest.objects.filter(account_id=call.account_id, call=call).first()
    if own is not None:
        if not own.confirmed and own.number == call.pending_number:
            CallbackRequest.objects.filter(pk=own.pk).update(confirmed=True)
            own.confirmed = True
        return own, False
    if call.ended_at is not None:
        return None, False
    request = _create(line=call.line, entry=call.queue_entry, call=call, number=call.pending_number,
                      source=call.pending_number_source, confirmed=True)
    if request is None:
        _leave_already_waiting(call)
        return pending_for_number(call.line, call.pending_number), True
    call.outcome = Call.Outcome.CALLBACK_REQUESTED
    call.save(update_fields=["outcome"])
    return request, False


def callback_request_capture(*, call: Call, entry: QueueEntry, number: str, source: str) -> CallbackRequest | None:
    """C8: the caller asked for a callback and hung up before confirming; the seed's
    comments say such callers were lost. None when the number is already pending (C7)."""
    return _create(line=call.line, entry=entry, call=call, number=number, source=source, confirmed=False)


def _leave_already_waiting(call: Call) -> None:
    queue_entry_close(account=call.line.account, entry_id=call.queue_entry.pk,
                      state=QueueEntry.State.CANCELLED, reason="already_waiting")
    call.outcome = Call.Outcome.ALREADY_WAITING
    call.save(update_fields=["outcome"])


# --- declined by all, expired (in the routing pass) -------------------------------
def callback_request_close(*, account: Account, request: CallbackRequest, state: str, now: datetime) -> bool:
    """Cancel a pending request (declined by all, R8; expired, R9) with its ticket.

    The entry first (the lock order): only a waiting entry of a pending request closes, once.
    """
    if not queue_entry_close(account=account, entry_id=request.queue_entry_id, state=QueueEntry.State.CANCELLED,
                             reason=state, now=now, push=True):
        return False
    if not REQUEST.move(CallbackRequest.objects.filter(pk=request.pk), state, only_from=(Request.PENDING,),
                        outcome=state, ended_at=now):
        raise AssertionError(f"callback request {request.pk}: waiting entry but not pending")
    note = CLOSE_NOTES[state].format(minutes=request.line.callback_expiry_minutes)
    _ticket_for(account, request, None, note)
    audit_record(account=account, actor=None, action=CLOSE_ACTIONS[state], target=request)
    push_on_commit(account_group(account.pk), "queue.changed", {"line": request.line_id})
    return True


# --- accepted: the ticket and the first attempt ------------------------------------
def callback_request_start(*, account: Account, request: CallbackRequest, agent: User, now: datetime) -> CallbackAttempt:
    """An agent accepted (R5, R12): in progress, its ticket, and an attempt placed after commit.

    The caller (``offer_accept``) has moved the entry from waiting to served, so the
    request is pending here; the move re-checks it.
    """
    if request.scheduled_for is not None:
        # A due scheduled callback goes ahead of the queue (R16): in order when no callback
        # due earlier still waits.
        older_waiting = QueueEntry.objects.filter(
            waiting_q(now=now), account=account, line_id=request.line_id,
            callback_request__scheduled_for__lt=request.scheduled_for,
        ).exists()
    else:
        older_waiting = QueueEntry.objects.filter(
            waiting_q(now=now), account=account, line_id=request.line_id, entered_at__lt=request.queue_entered_at
        ).exists()
    if not REQUEST.move(CallbackRequest.objects.filter(pk=request.pk), Request.IN_PROGRESS,
                        only_from=(Request.PENDING,), accepted_by=agent, started_at=now,
                        served_in_order=not older_waiting):
        raise AssertionError(f"callback request {request.pk}: served entry but not pending")
    _ticket_for(account, request, agent, f"{agent.name} accepted the callback request and is calling {request.number}.")
    return callback_attempt_schedule(account=account, request_id=request.pk, agent=agent, when=now)


def _ticket_for(account: Account, request: CallbackRequest, actor: User | None, note: str) -> Ticket:
    """One ticket per request (R12): made on first need, then every event is a comment on it."""
    if request.ticket_id:
        ticket = Ticket.objects.get(account=account, pk=request.ticket_id)
        tickets.comment_add(account=account, ticket=ticket, body=note, public=False, author=None)
        return ticket
    requester = tickets.end_user_get_or_create_by_phone(account=account, phone=request.number)
    ticket = tickets.ticket_create(
        account=account, subject=TICKET_SUBJECT, requester=requester, via=Via.VOICE, actor=actor, assignee=actor,
    )
    # Every line the system writes is internal (the requester never sees it) and the system's, not the agent's.
    how = "confirmed by the caller" if request.confirmed else "captured when the caller hung up after the key"
    tickets.comment_add(account=account, ticket=ticket, public=False, author=None,
                        body=f"Callback requested on {request.line.name} for {request.number} ({how}).")
    ticket_recording_note(account=account, request=request, ticket=ticket)  # C14
    if note:
        tickets.comment_add(account=account, ticket=ticket, body=note, public=False, author=None)
    CallbackRequest.objects.filter(pk=request.pk).update(ticket=ticket)
    request.ticket = ticket
    return ticket


def callback_request_note(*, account: Account, request: CallbackRequest, note: str) -> None:
    """An internal comment on the request's ticket, making the ticket if it has none yet (R10, R12)."""
    _ticket_for(account, request, None, note)


# --- attempts --------------------------------------------------------------------
def callback_attempt_schedule(*, account: Account, request_id: int, agent: User | None, when: datetime) -> CallbackAttempt:
    number = CallbackAttempt.objects.filter(account=account, request_id=request_id).count() + 1
    attempt = CallbackAttempt.objects.create(
        account=account, request_id=request_id, number=number, agent=agent, scheduled_for=when
    )
    provider_job_add(account_id=account.pk, kind=ProviderJob.Kind.PLACE_ATTEMPT, object_id=attempt.pk, run_at=when)
    return attempt


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _finish(request: CallbackRequest, state: str, outcome: str, duration: int | None = None) -> bool:
    return bool(REQUEST.move(CallbackRequest.objects.filter(pk=request.pk), state, only_from=(Request.IN_PROGRESS,),
                             outcome=outcome, ended_at=timezone.now(), duration_seconds=duration))


@atomic
def callback_attempt_unplaceable(*, account: Account, attempt: CallbackAttempt, error: str) -> None:
    """The provider refused the call for good: the attempt and the request fail, the agent is free."""
    now = timezone.now()
    if not ATTEMPT.move(CallbackAttempt.objects.filter(pk=attempt.pk), CallbackAttempt.Status.FAILED,
                        only_from=(CallbackAttempt.Status.CALLING_AGENT,), ended_at=now, agent_leg_ended_at=now):
        return
    request = attempt.request
    _finish(request, Request.FAILED, CallbackRequest.Outcome.FAILED)
    callback_request_note(account=account, request=request,
                          note=f"Callback attempt {attempt.number} to {request.number} could not be placed: {error}")
    agent_busy_end(account=account, attempt_id=attempt.pk)


@atomic
def callback_agent_answered(*, account: Account, attempt: CallbackAttempt) -> bool:
    return bool(ATTEMPT.move(CallbackAttempt.objects.filter(pk=attempt.pk), CallbackAttempt.Status.CALLING_CUSTOMER,
                             only_from=(CallbackAttempt.Status.CALLING_AGENT,), answered_at=timezone.now()))


@atomic
def callback_customer_result(*, account: Account, attempt: CallbackAttempt, result: str, seconds: int | None) -> None:
    """The Dial to the customer ended (R10, R11): record it; retry if the line says so."""
    request = attempt.request
    attempt_rows = CallbackAttempt.objects.filter(pk=attempt.pk)
    Status = CallbackAttempt.Status
    dialling = (Status.CALLING_AGENT, Status.CALLING_CUSTOMER)
    seconds = provider_seconds(seconds)
    if result == "completed":
        if not ATTEMPT.move(attempt_rows, Status.COMPLETED, only_from=dialling, ended_at=timezone.now(),
                            duration_seconds=seconds):
            return  # a replay
        agent = attempt.agent.name if attempt.agent else "An agent"
        _finish(request, Request.COMPLETED, CallbackRequest.Outcome.ANSWERED, seconds)
        callback_request_note(account=account, request=request,
                              note=f"{agent} called {request.number} back: answered, talked {_duration(seconds or 0)}.")
        return
    status = {"busy": Status.BUSY, "no-answer": Status.NO_ANSWER}.get(result, Status.FAILED)
    if not ATTEMPT.move(attempt_rows, status, only_from=dialling, ended_at=timezone.now()):
        return
    words = RESULT_WORDS.get(result, result or "failed")
    line = request.line
    if attempt.number <= line.callback_retry_attempts:
        when = timezone.now() + timedelta(minutes=line.callback_retry_interval_minutes)
        callback_request_note(account=account, request=request, note=(
            f"Callback attempt {attempt.number} to {request.number}: {words}. "
            f"Trying again at {timezone.localtime(when, account_zone(account)).strftime('%H:%M')} "
            f"{account_zone(account).key} time (retry policy)."))
        callback_attempt_schedule(account=account, request_id=request.pk, agent=attempt.agent, when=when)
        return
    _finish(request, Request.FAILED, RESULT_OUTCOMES.get(result, CallbackRequest.Outcome.FAILED))
    retry = " No retry (the line's policy)." if line.callback_retry_attempts == 0 else " No retries left."
    callback_request_note(account=account, request=request,
                          note=f"Callback attempt {attempt.number} to {request.number}: {words}.{retry}")


LOST = "lost"  # the status the reconciliation gives a leg whose end was never heard (R1)


@atomic
def callback_agent_leg_ended(*, account: Account, attempt_id: int, status: str) -> bool:
    """The agent's leg is over: the agent is free (R1). An agent who never answered gives
    the request back to its original place in the queue (R6). A leg the reconciliation
    ends as ``LOST`` while its customer's dial never reported a result closes the request
    as not reached, so it is not left "calling back" for ever. Once per attempt."""
    now = timezone.now()
    if not CallbackAttempt.objects.filter(account=account, pk=attempt_id, agent_leg_ended_at__isnull=True).update(
        agent_leg_ended_at=now
    ):
        return False  # a replay, or the reconciliation got there first
    attempt = CallbackAttempt.objects.select_related("request__line", "agent").get(pk=attempt_id)
    if ATTEMPT.move(CallbackAttempt.objects.filter(pk=attempt_id), CallbackAttempt.Status.AGENT_UNREACHED,
                    only_from=(CallbackAttempt.Status.CALLING_AGENT,), ended_at=now):
        _give_back(account, attempt, status)
    elif status == LOST and ATTEMPT.move(CallbackAttempt.objects.filter(pk=attempt_id), CallbackAttempt.Status.FAILED,
                                         only_from=(CallbackAttempt.Status.CALLING_CUSTOMER,), ended_at=now):
        request = attempt.request
        _finish(request, Request.FAILED, CallbackRequest.Outcome.FAILED)
        callback_request_note(account=account, request=request, note=(
            f"The result of the callback to {request.number} was never heard from the provider; it is listed as "
            "not reached. Call again if the customer was not spoken to."))
    agent_busy_end(account=account, attempt_id=attempt_id)
    return True


def _give_back(account: Account, attempt: CallbackAttempt, status: str) -> None:
    request = attempt.request
    agent = attempt.agent.name if attempt.agent else "The agent"
    try:
        with transaction.atomic():  # the number may have a newer pending request meanwhile (C7)
            back = REQUEST.move(CallbackRequest.objects.filter(pk=request.pk), Request.PENDING,
                                only_from=(Request.IN_PROGRESS,), accepted_by=None, started_at=None)
    except IntegrityError:
        _finish(request, Request.FAILED, CallbackRequest.Outcome.FAILED)
        callback_request_note(account=account, request=request, note=(
            f"{agent} did not answer their device ({status}); a newer request for {request.number} is waiting, "
            "so this one was closed."))
        return
    if back:
        queue_entry_reopen(account=account, entry_id=request.queue_entry_id)
        callback_request_note(account=account, request=request, note=(
            f"{agent} did not answer their device ({status}); the request went back to its place in the queue."))
