"""The call flow, one thin view per provider request (SPEC C1-C8).

Each view reads the provider's parameters, calls a service, and answers with a
TwiML builder. The menu flows run in two contexts: ``ctx=call`` when the key was
pressed during the greeting (before the queue), ``ctx=wait`` when it was pressed
in the hold loop (the caller stays in Twilio's queue all along, so only the
wait-document verbs are used there, C11).
"""
from __future__ import annotations

from django.http import HttpRequest

from talk import twiml
from talk.models import Call, Greeting, Line
from talk.phone import parse_keypad_number, spoken_digits
from talk.selectors.calls import queue_position, recording_awaited
from talk.selectors.lines import effective_callback_language, line_callback_supported, line_greeting
from talk.selectors.lines import line_hook as hook
from talk.services import calls as services
from talk.services.callback_requests import callback_request_confirm
from talk.services.provider_values import provider_seconds
from talk.services.recordings import recording_expect, recording_received
from talk.webhooks import pending
from talk.webhooks.security import twilio_webhook

MAX_TRIES = 3  # menu, number entry and confirmation are asked at most this often (C3)
CONTEXTS = ("call", "wait")
Category = Greeting.Category


def queue_name(line: Line) -> str:
    return f"line-{line.pk}"


def _call(request: HttpRequest, line: Line) -> Call | None:
    """The call of this request, its row locked for the webhook's transaction.

    Every webhook of a call takes this lock first, so two of them arriving together
    (the queue's exit and the status callback of a hang-up) run one after the other,
    never each holding a row the other needs (talk.lifecycle's lock order).
    """
    call = (
        Call.objects.filter(account=line.account, provider_call_sid=request.POST["CallSid"])
        .select_related("queue_entry")
        .select_for_update(no_key=True, of=("self",))
        .first()
    )
    if call is not None:
        call.line = line  # already loaded, with its account and greetings
    return call


def _context(request: HttpRequest) -> str:
    context = request.GET.get("ctx", "wait")
    return context if context in CONTEXTS else "wait"


def _try(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("n", "1")), MAX_TRIES))
    except ValueError:
        return 1


def _callback_available(line: Line) -> bool:
    """C2, now: the line supports it and an agent is online or away."""
    return line_callback_supported(line)[0] and bool(line.agents_available)


def _join_queue(line: Line) -> str:
    return twiml.join_queue(queue=queue_name(line), wait_url=hook(line, "wait"), exit_url=hook(line, "queue_exit"))


def _back_to_queue(line: Line, call: Call | None, context: str) -> str:
    if call is not None:
        services.call_back_to_queue(call=call)
    if context == "call":
        return _join_queue(line)
    return twiml.back_to_hold(wait_url=hook(line, "wait"))


def _menu(line: Line, context: str, attempt: int) -> str:
    return twiml.menu(prompt=line_greeting(line=line, category=Category.CALLBACK_MENU),
                      action_url=hook(line, "menu", ctx=context, n=attempt))


def _number_entry(line: Line, context: str, attempt: int, *, invalid: bool) -> str:
    return twiml.number_entry(
        prompt=line_greeting(line=line, category=Category.NUMBER_ENTRY),
        invalid=line_greeting(line=line, category=Category.NUMBER_INVALID) if invalid else None,
        action_url=hook(line, "number", ctx=context, n=attempt),
    )


def _confirm(line: Line, call: Call, context: str, attempt: int) -> str:
    entered = call.pending_number_source == Call.NumberSource.ENTERED
    return twiml.confirm(
        readback=line_greeting(line=line, category=Category.NUMBER_READBACK) if entered else None,
        number_words=", ".join(d for d in spoken_digits(call.pending_number) if d != "+"),
        confirmation=line_greeting(line=line, category=Category.CALLBACK_CONFIRMATION),
        action_url=hook(line, "confirm", ctx=context, n=attempt),
    )


def _record_name(line: Line) -> str:
    """C14: the caller's name and reason, recorded; then the confirmation's goodbye."""
    return twiml.record_name(
        language=effective_callback_language(line),
        action_url=hook(line, "recorded"),
        status_url=hook(line, "recording_status"),
        goodbye=line_greeting(line=line, category=Category.REQUEST_CONFIRMED),
    )


@twilio_webhook(idempotent=True)
def voice(request: HttpRequest, line: Line) -> str:
    """A call arrives (C1): welcome, the callback message if available (C2), the queue.

    A caller whose number has a callback waiting on the line chooses first (C13).
    """
    call = services.call_incoming(
        line=line,
        call_sid=request.POST["CallSid"],
        from_raw=request.POST.get("From", ""),
        to_raw=request.POST.get("To", ""),
        agents_available=bool(line.agents_available),
    )
    if pending.pending_request(line, call) is not None:
        return pending.pending_menu(line)
    offer = call.callback_offered and line.callback_offer_in_greeting
    return twiml.incoming(
        welcome=line_greeting(line=line, category=Category.WELCOME),
        callback_message=line_greeting(line=line, category=Category.CALLBACK) if offer else None,
        key=line.callback_key,
        key_url=hook(line, "greeting_key"),
        queue=queue_name(line),
        wait_url=hook(line, "wait"),
        exit_url=hook(line, "queue_exit"),
    )


@twilio_webhook(idempotent=True)
def greeting_key(request: HttpRequest, line: Line) -> str:
    """A key pressed during the callback message, before the queue."""
    call = _call(request, line)
    if call is None or not call.callback_offered or request.POST.get("Digits") != line.callback_key:
        return _join_queue(line)
    services.callback_key_pressed(call=call)
    return _menu(line, "call", 1)


@twilio_webhook(idempotent=False)
def wait(request: HttpRequest, line: Line) -> str:
    """The queue's wait document: the hold loop, offering the callback while available (C3)."""
    call = _call(request, line)
    offer = _callback_available(line) and line.callback_offer_while_queued
    position = wait_minutes = None
    if call is not None:
        try:
            queue_seconds = int(request.POST.get("QueueTime", "0"))
        except ValueError:
            queue_seconds = 0
        entry = services.call_enqueued(call=call, queue_seconds=queue_seconds)
        if entry is not None and line.announce_queue_position:
            position, wait_minutes = queue_position(entry=entry)
    return twiml.hold_loop(
        language=line.account.default_language,
        position=position,
        wait_minutes=wait_minutes,
        hold=line_greeting(line=line, category=Category.HOLD),
        callback_message=line_greeting(line=line, category=Category.CALLBACK) if offer else None,
        key=line.callback_key,
        key_url=hook(line, "hold_key"),
    )


@twilio_webhook(idempotent=True)
def hold_key(request: HttpRequest, line: Line) -> str:
    """A key pressed in the hold loop; only the callback key does something (C2, C3)."""
    call = _call(request, line)
    if call is None or request.POST.get("Digits") != line.callback_key or not _callback_available(line):
        return twiml.back_to_hold(wait_url=hook(line, "wait"))
    services.callback_key_pressed(call=call)
    return _menu(line, "wait", 1)


@twilio_webhook(idempotent=True)
def menu(request: HttpRequest, line: Line) -> str:
    """1 this number, 2 another number, 3 back to the queue; else ask again (C3, C5).

    With ``ctx=pending``: the menu of a caller whose callback is waiting (C13, talk.webhooks.pending).
    """
    if request.GET.get("ctx") == pending.CONTEXT:
        return pending.pending_choice(request, line, _call(request, line), _try(request), _join_queue(line))
    call, context, attempt = _call(request, line), _context(request), _try(request)
    digits = request.POST.get("Digits")
    if call is None or digits == "3":
        return _back_to_queue(line, call, context)
    if digits == "1" and call.caller_number:
        services.callback_number_choose(call=call, number=call.caller_number, source=call.caller_number_source)
        return _confirm(line, call, context, 1)
    if digits in ("1", "2"):  # "1" with a withheld caller id goes to entry (C5)
        services.callback_number_entry(call=call)
        return _number_entry(line, context, 1, invalid=False)
    if attempt >= MAX_TRIES:
        return _back_to_queue(line, call, context)
    return _menu(line, context, attempt + 1)


@twilio_webhook(idempotent=True)
def number(request: HttpRequest, line: Line) -> str:
    """The different number, typed and ended with # (C4)."""
    call, context, attempt = _call(request, line), _context(request), _try(request)
    if call is None:
        return _back_to_queue(line, call, context)
    parsed = parse_keypad_number(request.POST.get("Digits", ""), line.account.region)
    if parsed is not None:
        services.callback_number_choose(call=call, number=parsed, source=Call.NumberSource.ENTERED)
        return _confirm(line, call, context, 1)
    if attempt >= MAX_TRIES:
        return _back_to_queue(line, call, context)
    return _number_entry(line, context, attempt + 1, invalid=True)


@twilio_webhook(idempotent=True)
def confirm(request: HttpRequest, line: Line) -> str:
    """1 confirms (C6): the request keeps the caller's place; the call ends.

    A line that asks for the caller's name and reason (C14) records it first: at once before
    the queue; from the hold loop, whose document may not record, after leaving the queue
    (``queue_exit`` answers with the recording).
    """
    call, context, attempt = _call(request, line), _context(request), _try(request)
    if call is None or not call.pending_number:
        return _back_to_queue(line, call, context)
    if request.POST.get("Digits") == "1":
        callback, already_waiting = callback_request_confirm(call=call)
        if callback is None:  # the call had ended: nobody to tell, nothing to keep (C6)
            return twiml.empty()
        if not already_waiting and recording_expect(call=call, request=callback):
            return _record_name(line) if context == "call" else twiml.leave_queue()
        category = Category.ALREADY_WAITING if already_waiting else Category.REQUEST_CONFIRMED
        return twiml.goodbye(message=line_greeting(line=line, category=category))
    if attempt >= MAX_TRIES:
        return _back_to_queue(line, call, context)
    return _confirm(line, call, context, attempt + 1)


@twilio_webhook(idempotent=False)
def queue_exit(request: HttpRequest, line: Line) -> str:
    """The Enqueue action: the caller left Twilio's queue, and why (QueueResult)."""
    call = _call(request, line)
    result = request.POST.get("QueueResult", "")
    if call is not None:
        services.call_left_queue(call=call, result=result)
        if result == "leave" and call.ended_at is None and recording_awaited(call=call):
            return _record_name(line)  # C14: left the queue to be recorded
    if result in ("hangup", "bridged", "redirected", "leave"):
        return twiml.empty()
    return twiml.apology(line.account.default_language)  # queue-full, error, system-shutdown


@twilio_webhook(idempotent=False)
def status(request: HttpRequest, line: Line) -> str:
    """The status callback. Unknown or stale calls answer 200 too, so the provider stops."""
    call = _call(request, line)
    status_value = request.POST.get("CallStatus", "")
    if call is not None and status_value in ("completed", "busy", "failed", "no-answer", "canceled"):
        duration = _seconds(request.POST.get("CallDuration"))
        services.call_ended(call=call, status=status_value, duration_seconds=duration)
    return twiml.empty()


@twilio_webhook(idempotent=True)
def recorded(request: HttpRequest, line: Line) -> str:
    """The Record action (C14): the caller finished their name and reason; the goodbye.

    The provider requests it only when something was recorded (else it goes on to the
    goodbye that follows the Record), and also when the caller hung up while recording.
    """
    call = _call(request, line)
    if call is not None:
        recording_received(call=call, recording_sid=request.POST.get("RecordingSid", ""),
                           duration=_seconds(request.POST.get("RecordingDuration")))
    return twiml.goodbye(message=line_greeting(line=line, category=Category.REQUEST_CONFIRMED))


@twilio_webhook(idempotent=True)
def recording_status(request: HttpRequest, line: Line) -> str:
    """The recording status callback (C14): the provider's copy is ready, or absent."""
    call = _call(request, line)
    status_value = request.POST.get("RecordingStatus", "")
    if call is not None and status_value in ("completed", "absent", "failed"):
        recording_received(call=call, recording_sid=request.POST.get("RecordingSid", ""),
                           duration=_seconds(request.POST.get("RecordingDuration")), status=status_value)
    return twiml.empty()


def _seconds(value: str | None) -> int | None:
    try:
        return provider_seconds(int(value or ""))
    except ValueError:
        return None
