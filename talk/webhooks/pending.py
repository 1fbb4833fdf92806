"""A caller whose number already has a callback waiting on the line calls again (SPEC C13).

On entry, instead of the welcome, they hear "You already have a callback waiting. Press 1
to keep it, 2 to cancel it, 3 to wait on the line now." in the line's callback language:

- 1 keeps it (goodbye, the call ends);
- 2 cancels it through the supervision service (``by=caller``, no actor): the reason is an
  internal comment on its ticket; goodbye;
- 3 cancels it too, and the caller joins the queue at the place the callback had (its
  queue entry's original ``entered_at``), so choosing to wait costs them nothing;
- no key or another key asks once more, then keeps it (doing nothing is the safe default).

Its digits come back to the ``menu`` webhook with ``ctx=pending`` (talk.webhooks.views),
in the webhook's transaction with the call row locked; the answer is stored, so a
provider retry gets the same one and cancels nothing twice (C10).
"""
from __future__ import annotations

from django.http import HttpRequest

from supportcenter.errors import ServiceError
from talk import greetings_catalog as catalog
from talk import twiml
from talk.models import Call, CallbackRequest, Line
from talk.selectors.lines import effective_callback_language
from talk.selectors.lines import line_hook as hook
from talk.services import calls as call_services
from talk.services.callback_requests import pending_for_number
from talk.services.supervision import callback_cancel

CONTEXT = "pending"
KEEP, CANCEL, WAIT = "1", "2", "3"
MAX_TRIES = 2  # the menu, then once more; then the callback is kept
CALLER_CANCEL_REASON = "Cancelled by the caller by phone"
CALLER_WAITS_REASON = "Cancelled by the caller by phone, to wait on the line now"


def pending_request(line: Line, call: Call | None) -> CallbackRequest | None:
    """The pending callback of this call's number on this line (of the line's account only), or None."""
    if call is None or not call.caller_number:
        return None  # a withheld caller id has no callback to find
    return pending_for_number(line, call.caller_number)


def _being_called_back(line: Line, call: Call) -> bool:
    return CallbackRequest.objects.filter(
        account_id=line.account_id, line=line, number=call.caller_number, state=CallbackRequest.State.IN_PROGRESS
    ).exists()


def _speak(line: Line, kind: str) -> tuple[str, str]:
    return catalog.pending_text(kind, effective_callback_language(line))


def pending_menu(line: Line, attempt: int = 1) -> str:
    text, language = _speak(line, catalog.PENDING_MENU)
    return twiml.pending_menu(text=text, language=language, action_url=hook(line, "menu", ctx=CONTEXT, n=attempt))


def _goodbye(line: Line, kind: str) -> str:
    text, language = _speak(line, kind)
    return twiml.pending_goodbye(text=text, language=language)


def _cancel(line: Line, request: CallbackRequest, reason: str) -> bool:
    """The caller's own cancel; False when an agent took the request just before (409 in the API)."""
    try:
        callback_cancel(account=line.account, request_id=request.pk, actor=None, reason=reason,
                        by=CallbackRequest.CancelledBy.CALLER)
    except ServiceError as error:
        if error.code != "conflict":
            raise
        return False
    return True


def pending_choice(request: HttpRequest, line: Line, call: Call | None, attempt: int, join_queue: str) -> str:
    """The caller's key in the C13 menu. ``join_queue``: the TwiML that enqueues them."""
    if call is None:
        return join_queue  # not a call of ours: the plain queue, as elsewhere
    digits = request.POST.get("Digits", "")
    if call.ended_at is not None:
        # The key reached us after the hang-up (C10): a cancel the caller asked for still
        # counts; a caller who has left cannot wait on the line, so their callback stays.
        callback = pending_request(line, call) if digits == CANCEL else None
        if callback is not None:
            _cancel(line, callback, CALLER_CANCEL_REASON)
        return twiml.empty()
    if digits not in (KEEP, CANCEL, WAIT):
        if attempt < MAX_TRIES:
            return pending_menu(line, attempt + 1)
        digits = KEEP  # no answer twice: nothing changes
    if digits == KEEP:
        return _goodbye(line, catalog.PENDING_KEPT)
    callback = pending_request(line, call)
    if callback is None:
        # It moved on while the caller listened: an agent is calling them back now, or it ended.
        if _being_called_back(line, call):
            return _goodbye(line, catalog.PENDING_TOO_LATE)
        return _goodbye(line, catalog.PENDING_CANCELLED) if digits == CANCEL else join_queue
    if digits == CANCEL:
        if not _cancel(line, callback, CALLER_CANCEL_REASON):
            return _goodbye(line, catalog.PENDING_TOO_LATE)
        return _goodbye(line, catalog.PENDING_CANCELLED)
    entered_at = callback.queue_entry.entered_at
    if not _cancel(line, callback, CALLER_WAITS_REASON):
        return _goodbye(line, catalog.PENDING_TOO_LATE)
    # The callback's place in line becomes this call's (R2): its original entry time.
    call_services.call_join_queue_at(call=call, entered_at=entered_at)
    return join_queue
