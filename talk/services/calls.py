"""Writes of the caller's side of a call (SPEC C1-C8, C15): arrival, queue, menu, exit.

These run on the webhooks' path, which must answer in milliseconds even when Redis
is down: they push nothing themselves. A change to the queue wakes the router,
whose pass tells the consoles ("queue.changed").

The webhook runs each request in one transaction with the call row locked first
(``talk.webhooks.views``), so these services use ``atomic(savepoint=False)``: alone
they are a transaction of their own; inside a webhook they join its transaction
without the two extra SAVEPOINT statements each.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from talk.enqueue import wake_router
from talk.models import Call, Line, QueueEntry
from talk.phone import is_sip_uri, parse_caller_id
from talk.selectors.lines import line_callback_supported
from talk.services.agents import agent_busy_end
from talk.services.callback_requests import callback_request_capture, pending_for_number
from talk.services.provider_values import provider_seconds
from talk.services.queue import offers_withdraw, queue_entry_close
from talk.services.recordings import recording_call_ended

atomic = transaction.atomic(savepoint=False)

# Stages in which a caller who hangs up is called back (C8), and at which number.
CAPTURE_STAGES = (Call.Stage.MENU, Call.Stage.CONFIRMING)


@atomic
def call_incoming(*, line: Line, call_sid: str, from_raw: str, to_raw: str, agents_available: bool) -> Call:
    """A call arrives on ``line``. Decides once whether callback is offered (C2)."""
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


def _entry(call: Call) -> QueueEntry | None:
    try:
        return call.queue_entry
    except QueueEntry.DoesNotExist:
        return None


def _entry_for(call: Call, *, entered_at: datetime) -> QueueEntry:
    """The caller's place in line, made the first time they reach the queue or the menu."""
    entry = _entry(call)
    if entry is None:
        entry = QueueEntry.objects.create(account_id=call.account_id, line_id=call.line_id, call=call, entered_at=entered_at)
        call.queue_entry = entry
        wake_router(call.account_id)
    return entry


def _set_stage(call: Call, stage: str, **fields) -> None:
    if call.stage == Call.Stage.ENDED:
        return  # a late webhook of a call that is over changes nothing
    changed = [name for name, value in {"stage": stage, **fields}.items() if getattr(call, name) != value]
    for name in changed:
        setattr(call, name, {"stage": stage, **fields}[name])
    if changed:
        call.save(update_fields=changed)


@atomic
def call_enqueued(*, call: Call, queue_seconds: int) -> QueueEntry | None:
    """The wait URL was requested: the caller holds in the queue since ``queue_seconds`` ago."""
    if call.ended_at is not None:
        return None  # a late or replayed request of a call that is over (C15)
    entry = _entry_for(call, entered_at=timezone.now() - timedelta(seconds=provider_seconds(queue_seconds) or 0))
    if call.stage != Call.Stage.QUEUED and call.stage != Call.Stage.ENDED:
        _set_stage(call, Call.Stage.QUEUED)
        wake_router(call.account_id)  # listening for an agent again (R2)
    return entry


@atomic
def callback_key_pressed(*, call: Call) -> None:
    """The caller pressed the callback key (C3).

    Pressed during the greeting, the caller joins the line now: asking for a callback
    is a place in the queue. In the menu they are not offered as a live call, so an
    open live offer is withdrawn (R2); the router is woken to tell its agent.
    """
    if call.ended_at is not None:
        return
    now = timezone.now()
    entry = _entry_for(call, entered_at=now)
    fields = {} if call.callback_key_pressed_at else {"callback_key_pressed_at": now}
    _set_stage(call, Call.Stage.MENU, **fields)
    if entry.kind == QueueEntry.Kind.LIVE and offers_withdraw(
        account=call.line.account, entry_id=entry.pk, reason="caller_in_menu", now=now
    ):
        wake_router(call.account_id)


@atomic
def callback_number_entry(*, call: Call) -> None:
    """The caller chose to type another number (C4); until it is valid, nothing is captured (C8)."""
    _set_stage(call, Call.Stage.NUMBER_ENTRY, pending_number="", pending_number_source="")


@atomic
def callback_number_choose(*, call: Call, number: str, source: str) -> None:
    """A number to call back was chosen (the caller id, or a typed one read back): confirm it."""
    _set_stage(call, Call.Stage.CONFIRMING, pending_number=number, pending_number_source=source)


@atomic
def call_back_to_queue(*, call: Call) -> None:
    """The caller declined (3) or the menu timed out: a live caller again, nothing to capture (C8)."""
    _set_stage(call, Call.Stage.QUEUED, pending_number="", pending_number_source="")
    wake_router(call.account_id)


@atomic
def call_join_queue_at(*, call: Call, entered_at: datetime) -> QueueEntry | None:
    """The caller holds in line from ``entered_at``: the place their cancelled callback had
    (C13, "wait on the line now"). Nothing for a call that is over (C15)."""
    if call.ended_at is not None:
        return None
    entry = _entry_for(call, entered_at=entered_at)
    call_back_to_queue(call=call)
    return entry


def _capture_number(call: Call) -> tuple[str, str]:
    """C8: the number the caller last chose; ("", "") when nothing is to be captured."""
    if call.stage == Call.Stage.CONFIRMING:
        return call.pending_number, call.pending_number_source
    if call.stage == Call.Stage.MENU and call.caller_number:
        return call.caller_number, call.caller_number_source
    return "", ""


def _settle(call: Call) -> None:
    """The caller is gone (C15): their own waiting entry closes, captured (C8) or abandoned.

    Runs before the call's stage becomes ``ended``: the stage says what they last chose.
    """
    entry = _entry(call)
    waiting_live = entry is not None and entry.state == QueueEntry.State.WAITING and entry.kind == QueueEntry.Kind.LIVE
    if not call.outcome:
        outcome = Call.Outcome.ENDED_BEFORE_QUEUE if entry is None else Call.Outcome.ABANDONED
        number, source = _capture_number(call)
        if waiting_live and number and call.line.callback_capture_on_first_key:
            if callback_request_capture(call=call, entry=entry, number=number, source=source) is not None:
                outcome, waiting_live = Call.Outcome.CALLBACK_CAPTURED, False
            else:
                outcome = Call.Outcome.ALREADY_WAITING  # C7: changes nothing
        elif waiting_live and number and pending_for_number(call.line, number) is not None:
            outcome = Call.Outcome.ALREADY_WAITING
        call.outcome = outcome
        call.save(update_fields=["outcome"])
    if waiting_live:
        queue_entry_close(account=call.line.account, entry_id=entry.pk, state=QueueEntry.State.ABANDONED,
                          reason="caller_left")


@atomic
def call_left_queue(*, call: Call, result: str) -> None:
    """The Enqueue action: why the caller left the provider's queue (QueueResult)."""
    if result == "bridged":
        if not call.outcome:
            call.outcome = Call.Outcome.ANSWERED
            call.save(update_fields=["outcome"])
        return
    if result in ("hangup", "leave", "error", "queue-full", "system-shutdown"):
        _settle(call)


@atomic
def call_ended(*, call: Call, status: str, duration_seconds: int | None) -> None:
    """The status callback: the call is over (any stage, in the queue or not).

    Settles the caller's place, and frees the agent who took the call (R1).
    """
    if call.ended_at is not None:
        return  # a replay: the first one did it all
    _settle(call)
    call.ended_at = timezone.now()
    call.duration_seconds = provider_seconds(duration_seconds)
    call.provider_status = status[:16]
    call.stage = Call.Stage.ENDED
    call.save(update_fields=["ended_at", "duration_seconds", "provider_status", "stage"])
    if call.outcome == Call.Outcome.CALLBACK_REQUESTED:  # only a confirmed request asks for a recording (C14)
        recording_call_ended(call=call)
    if call.answered_by_id is not None:  # only an answered call has an agent busy with it
        agent_busy_end(account=call.line.account, call_id=call.pk)
