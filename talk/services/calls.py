"""Writes of the caller's side of a call (SPEC C1-C8): arrival, queue, callback requests.

These run on the webhooks' path, which must answer in milliseconds even when Redis
is down: they push nothing themselves. A change to the queue wakes the router
(a database task), whose pass tells the consoles ("queue.changed").

The webhook runs each request in one transaction (``talk.webhooks.security``),
so these services use ``atomic(savepoint=False)``: alone they are a transaction
of their own; inside a webhook they join its transaction without the two extra
SAVEPOINT statements each, which the webhook's query budget cannot afford.
"""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from talk.models import Call, CallbackRequest, Line, QueueEntry
from talk.phone import is_sip_uri, parse_caller_id
from talk.selectors.lines import effective_callback_language

atomic = transaction.atomic(savepoint=False)


@atomic
def call_incoming(*, line: Line, call_sid: str, from_raw: str, to_raw: str, agents_available: bool) -> Call:
    """A call arrives on ``line``. Decides once whether callback is offered (C2)."""
    from talk.selectors.lines import line_callback_supported

    caller_number = parse_caller_id(from_raw, line.account.region) or ""
    source = ""
    if caller_number:
        source = Call.NumberSource.SIP_FROM if is_sip_uri(from_raw) else Call.NumberSource.CALLER_ID
    return Call.objects.create(
        account=line.account,
        line=line,
        provider_call_sid=call_sid,
        from_raw=from_raw[:255],
        to_raw=to_raw[:255],
        caller_number=caller_number,
        caller_number_source=source,
        callback_offered=line_callback_supported(line)[0] and agents_available,
    )


def _entry_for(call: Call, *, entered_at) -> QueueEntry:
    """The caller's place in line, made the first time they reach the queue or the menu."""
    try:
        return call.queue_entry
    except QueueEntry.DoesNotExist:
        entry = QueueEntry.objects.create(account_id=call.account_id, line_id=call.line_id, call=call, entered_at=entered_at)
        call.queue_entry = entry
        _wake_router(call.account_id)
        return entry


@atomic
def call_enqueued(*, call: Call, queue_seconds: int) -> QueueEntry:
    """The wait URL was requested: the caller is in the queue since ``queue_seconds`` ago."""
    entry = _entry_for(call, entered_at=timezone.now() - timedelta(seconds=max(0, queue_seconds)))
    if call.stage != Call.Stage.QUEUED:
        call.stage = Call.Stage.QUEUED
        call.save(update_fields=["stage"])
    return entry


@atomic
def callback_key_pressed(*, call: Call) -> None:
    """The caller pressed the callback key (C3); remembered for capture on first key (C8).

    Pressed during the greeting, the caller joins the line now: asking for a
    callback is a place in the queue.
    """
    _entry_for(call, entered_at=timezone.now())
    fields = ["stage"]
    if call.callback_key_pressed_at is None:
        call.callback_key_pressed_at = timezone.now()
        fields.append("callback_key_pressed_at")
    call.stage = Call.Stage.MENU
    call.save(update_fields=fields)


@atomic
def callback_number_choose(*, call: Call, number: str, source: str) -> None:
    call.pending_number = number
    call.pending_number_source = source
    call.stage = Call.Stage.CONFIRMING
    call.save(update_fields=["pending_number", "pending_number_source", "stage"])


@atomic
def call_back_to_queue(*, call: Call) -> None:
    call.stage = Call.Stage.QUEUED
    call.save(update_fields=["stage"])


def _pending_for_number(line: Line, number: str) -> CallbackRequest | None:
    return CallbackRequest.objects.filter(
        account_id=line.account_id, line=line, number=number, state=CallbackRequest.State.PENDING
    ).first()


def _create_request(
    *, call: Call | None, number: str, source: str, confirmed: bool, line: Line | None = None,
    entry: QueueEntry | None = None, actor=None,
) -> CallbackRequest:
    line = line or call.line
    entry = entry or call.queue_entry
    now = timezone.now()
    request = CallbackRequest.objects.create(
        account_id=line.account_id,
        line=line,
        queue_entry=entry,
        call=call,
        number=number,
        number_source=source,
        language=effective_callback_language(line),
        confirmed=confirmed,
        requested_at=now,
        queue_entered_at=entry.entered_at,
        expires_at=now + timedelta(minutes=line.callback_expiry_minutes),
    )
    # The same entry, now a callback: it keeps its original entered_at (C6, R2).
    QueueEntry.objects.filter(pk=entry.pk).update(kind=QueueEntry.Kind.CALLBACK)
    audit_record(
        account=line.account, actor=actor, action="callback_request.create", target=request,
        confirmed=confirmed, source=source,
    )
    _wake_router(line.account_id)
    return request


def _wake_router(account_id: int) -> None:
    from talk.services.routing import wake_router

    wake_router(account_id)


ALREADY_WAITING_MESSAGE = "A callback to this number is already waiting on this line."
CALLBACK_UNAVAILABLE_MESSAGE = "Callback is not available on this line: {reason}"
NUMBER_INVALID_MESSAGE = "Enter a valid phone number in E.164 form, e.g. +14155550100."


@transaction.atomic
def callback_request_create(*, line: Line, number: str, actor=None) -> CallbackRequest:
    """A callback request made without a call (the API, SPEC A1): it joins the line's
    queue now, behind everyone already waiting (R2)."""
    from talk.selectors.lines import line_callback_supported

    supported, reason = line_callback_supported(line)
    if not supported:
        raise ServiceError(CALLBACK_UNAVAILABLE_MESSAGE.format(reason=reason), field="phone_number_id")
    e164 = parse_caller_id(str(number), line.account.region)
    if e164 is None:
        raise ServiceError(NUMBER_INVALID_MESSAGE, field="requester_phone_number")
    if _pending_for_number(line, e164) is not None:
        raise ServiceError(ALREADY_WAITING_MESSAGE, field="requester_phone_number")
    entry = QueueEntry.objects.create(
        account_id=line.account_id, line=line, kind=QueueEntry.Kind.CALLBACK, entered_at=timezone.now()
    )
    return _create_request(call=None, line=line, entry=entry, number=e164, source=Call.NumberSource.ENTERED,
                           confirmed=True, actor=actor)


@atomic
def callback_request_confirm(*, call: Call) -> tuple[CallbackRequest, bool]:
    """The caller pressed 1 (C6). Returns (request, already_waiting).

    One request per call: a replay returns the same. A number that already has a
    pending request on this line changes nothing (C7).
    """
    try:
        return call.callback_request, False
    except CallbackRequest.DoesNotExist:
        pass
    existing = _pending_for_number(call.line, call.pending_number)
    if existing is not None:
        return existing, True
    request = _create_request(call=call, number=call.pending_number, source=call.pending_number_source, confirmed=True)
    call.outcome = Call.Outcome.CALLBACK_REQUESTED
    call.save(update_fields=["outcome"])
    return request, False


def _settle(call: Call) -> None:
    """The caller is gone: abandoned, captured (C8), or already left with a request."""
    if call.outcome:
        return
    entry = call.queue_entry if _has_entry(call) else None
    outcome = Call.Outcome.ENDED_BEFORE_QUEUE if entry is None else Call.Outcome.ABANDONED
    if (
        call.callback_key_pressed_at is not None
        and call.line.callback_capture_on_first_key
        and call.caller_number
        and entry is not None
    ):
        # C8: the caller asked for a callback and hung up before confirming; the seed's
        # comments say those callers were lost. Call them back at their caller id.
        if _pending_for_number(call.line, call.caller_number) is None:
            _create_request(call=call, number=call.caller_number, source=call.caller_number_source, confirmed=False)
        outcome = Call.Outcome.CALLBACK_CAPTURED
    elif entry is not None and entry.state == QueueEntry.State.WAITING and entry.kind == QueueEntry.Kind.LIVE:
        QueueEntry.objects.filter(pk=entry.pk).update(state=QueueEntry.State.ABANDONED, left_at=timezone.now())
        _wake_router(call.account_id)
    call.outcome = outcome
    call.save(update_fields=["outcome"])


def _has_entry(call: Call) -> bool:
    try:
        call.queue_entry
    except QueueEntry.DoesNotExist:
        return False
    return True


@atomic
def call_left_queue(*, call: Call, result: str) -> None:
    """The Enqueue action: why the caller left Twilio's queue (QueueResult)."""
    if result == "bridged":
        if not call.outcome:
            call.outcome = Call.Outcome.ANSWERED
            call.save(update_fields=["outcome"])
        return
    if result in ("hangup", "leave", "error", "queue-full", "system-shutdown"):
        _settle(call)


@atomic
def call_ended(*, call: Call, status: str, duration_seconds: int | None) -> None:
    """The status callback: the call is over (any stage, in the queue or not)."""
    if call.ended_at is None:
        call.ended_at = timezone.now()
        call.duration_seconds = duration_seconds
        call.provider_status = status[:16]
        call.stage = Call.Stage.ENDED
        call.save(update_fields=["ended_at", "duration_seconds", "provider_status", "stage"])
    _settle(call)
