"""Webhooks of the calls Talk places: the callback's agent leg and customer dial (R5, R10, R11),
and a live caller's connection to the agent who accepted."""
from __future__ import annotations

from django.http import HttpRequest

from talk import twiml
from talk.models import AgentPresence, CallbackAttempt, Line
from talk.selectors.lines import callback_caller_id
from talk.selectors.lines import line_hook as hook
from talk.services import callback_requests as services
from talk.services.callback_calls import CUSTOMER_RING_SECONDS
from talk.webhooks.security import twilio_webhook


def _attempt(request: HttpRequest, line: Line) -> CallbackAttempt | None:
    try:
        attempt_id = int(request.GET.get("a", ""))
    except ValueError:
        return None
    # The attempt's row locked first: its webhooks run one after the other.
    attempt = (
        CallbackAttempt.objects.filter(account=line.account, pk=attempt_id)
        .select_related("request__line", "agent")
        .select_for_update(no_key=True, of=("self",))
        .first()
    )
    if attempt is None or attempt.request.line_id != line.pk:
        return None
    return attempt


@twilio_webhook(idempotent=True)
def cb_agent(request: HttpRequest, line: Line) -> str:
    """The agent answered their device: dial the customer from the policy's number."""
    attempt = _attempt(request, line)
    if attempt is None or attempt.status != CallbackAttempt.Status.CALLING_AGENT:
        return twiml.callback_result(words="This callback is no longer active. Goodbye.")
    services.callback_agent_answered(account=line.account, attempt=attempt)
    return twiml.callback_agent_leg(
        number=attempt.request.number,
        caller_id=callback_caller_id(line),
        action_url=hook(line, "cb_dial_done", a=attempt.pk),
        ring_seconds=CUSTOMER_RING_SECONDS,
    )


@twilio_webhook(idempotent=True)
def cb_dial_done(request: HttpRequest, line: Line) -> str:
    """The Dial to the customer ended: answered (with its duration), busy, no answer, failed."""
    attempt = _attempt(request, line)
    result = request.POST.get("DialCallStatus", "failed")
    if attempt is not None:
        try:
            seconds = int(request.POST.get("DialCallDuration", "0"))
        except ValueError:
            seconds = 0
        services.callback_customer_result(account=line.account, attempt=attempt, result=result, seconds=seconds)
    words = {"completed": "The callback has ended."}.get(result, f"The customer could not be reached: {services.RESULT_WORDS.get(result, result)}.")
    return twiml.callback_result(words=words)


@twilio_webhook(idempotent=False)
def cb_agent_status(request: HttpRequest, line: Line) -> str:
    """The agent leg's status callback: the agent is free again (and maybe never answered)."""
    attempt = _attempt(request, line)
    status = request.POST.get("CallStatus", "")
    if attempt is not None and status in ("completed", "busy", "failed", "no-answer", "canceled"):
        services.callback_agent_leg_ended(account=line.account, attempt_id=attempt.pk, status=status)
    return twiml.empty()


@twilio_webhook(idempotent=True)
def connect_agent(request: HttpRequest, line: Line) -> str:
    """A redirected live caller: ring the agent who accepted the call."""
    try:
        agent_id = int(request.GET.get("a", ""))
    except ValueError:
        agent_id = 0
    presence = AgentPresence.objects.filter(account=line.account, user_id=agent_id).first()
    device = (presence.device if presence else "") or f"client:agent-{agent_id}"
    return twiml.connect_to_agent(device=device, ring_seconds=line.call_offer_seconds)
