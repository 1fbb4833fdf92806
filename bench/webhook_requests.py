"""The webhook bench's requests (bench/webhooks.py): signed as Twilio signs them, over the
public URL the server reconstructs; the checks of their answers; and the capture's calls
brought to the confirming stage (one through the real webhooks, then cloned row for row).

The product is imported inside the functions, after ``webhook_setup.django_ready()``.
"""
from __future__ import annotations

import html
import re
import urllib.request
import uuid
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.webhook_setup import AUTH_TOKEN, BASE_DOMAIN, PUBLIC_BASE_URL, TWILIO_SID, Scratch

REQUEST_TIMEOUT = 10.0  # seconds; a request that takes longer counts as an error


# --- requests ---------------------------------------------------------------------
_validator = None


def sign(path: str, params: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
    """A request as Twilio sends it: form body, signature over the public URL."""
    global _validator
    if _validator is None:
        _validator = RequestValidator(AUTH_TOKEN)
    headers = {
        "Host": BASE_DOMAIN,
        "X-Forwarded-Proto": "https",  # the TLS proxy in front (SC_BEHIND_PROXY)
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": _validator.compute_signature(PUBLIC_BASE_URL + path, params),
    }
    return path, urlencode(params).encode(), headers


def call_params(call_sid: str, caller: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": TWILIO_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Called": "+14155550142",
        "Caller": caller,
        "Direction": "inbound",
        "From": caller,
        "FromCountry": "US",
        "To": "+14155550142",
        "ToCountry": "US",
        **extra,
    }


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def hook(s: Scratch, name: str) -> str:
    return f"/talk/webhooks/{s.token}/{name}/"


BARE_PATH = "/bench/bare-twiml/"


def incoming_request(s: Scratch, bare: bool) -> tuple[str, bytes, dict[str, str]]:
    params = call_params(new_sid(), "+14155551234", CallStatus="ringing")
    return sign(BARE_PATH if bare else hook(s, "voice"), params)


# Answer checks: a bench that measures 403s or apologies is worthless.
def ok_bare(status: int, text: str) -> bool:
    return status == 200 and "<Say>Hi</Say>" in text


def ok_incoming(status: int, text: str) -> bool:
    return status == 200 and "<Enqueue" in text


def ok_capture(status: int, text: str) -> bool:
    return status == 200 and "<Hangup" in text and "cannot take your call" not in text  # not the apology (C11)


# --- capture: calls brought to the confirming stage --------------------------------
def confirming_template(base: str, s: Scratch) -> str:
    """One call through the real webhooks up to the confirmation; the confirm URL its TwiML names."""
    from django_scopes import scopes_disabled

    from talk.models import Call

    sid, caller = new_sid(), "+14155557000"

    def post(path: str, check_text: str, **extra: str) -> str:
        request_path, body, headers = sign(path, call_params(sid, caller, **extra))
        request = urllib.request.Request(base + request_path, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            text = response.read().decode()
            if response.status != 200 or check_text not in text:
                raise RuntimeError(f"{path}: {response.status} {text[:300]}")
        return text

    post(hook(s, "voice"), "<Enqueue", CallStatus="ringing")
    post(hook(s, "wait"), "<Gather", QueueTime="0")  # hold loop, the callback message offered (C3)
    menu = post(hook(s, "hold-key"), "<Gather", Digits=s.key)
    action = html.unescape(re.search(r'action="([^"]+)"', menu).group(1))
    confirm = post(action, "<Gather", Digits="1")  # 1: call me back at this number (C5)
    confirm_url = html.unescape(re.search(r'action="([^"]+)"', confirm).group(1))
    with scopes_disabled():
        call = Call.objects.select_related("queue_entry").get(account=s.account, provider_call_sid=sid)
    if call.stage != Call.Stage.CONFIRMING or call.pending_number != caller or call.queue_entry.state != "waiting":
        raise RuntimeError(f"template call not confirming: {call.stage} {call.pending_number!r}")
    if "/confirm/" not in confirm_url:
        raise RuntimeError(f"unexpected confirm URL {confirm_url}")
    return confirm_url


_caller_counter = [0]


def confirming_calls(s: Scratch, n: int) -> list[tuple[str, str]]:
    """``n`` calls in the confirming stage, each with its own caller number: (CallSid, number)."""
    from django.db import transaction
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from talk.models import Call, QueueEntry

    with scopes_disabled():
        template = Call.objects.filter(account=s.account, stage=Call.Stage.CONFIRMING).select_related("queue_entry").first()
    now = timezone.now()
    calls, entries, out = [], [], []
    for _ in range(n):
        _caller_counter[0] += 1
        number = f"+1415{3000000 + _caller_counter[0] % 6000000}"
        sid = new_sid()
        call = Call(account_id=s.account.pk, line_id=s.line.pk, provider_call_sid=sid, from_raw=number,
                    to_raw=template.to_raw, caller_number=number, caller_number_source=template.caller_number_source,
                    stage=Call.Stage.CONFIRMING, callback_offered=template.callback_offered,
                    callback_key_pressed_at=now, pending_number=number,
                    pending_number_source=template.pending_number_source)
        calls.append(call)
        entries.append(QueueEntry(account_id=s.account.pk, line_id=s.line.pk, call=call,
                                  kind=template.queue_entry.kind, state=template.queue_entry.state, entered_at=now))
        out.append((sid, number))
    with scopes_disabled(), transaction.atomic():
        Call.objects.bulk_create(calls, batch_size=500)
        QueueEntry.objects.bulk_create(entries, batch_size=500)
    return out


def captured(s: Scratch) -> int:
    from django_scopes import scopes_disabled

    from talk.models import CallbackRequest

    with scopes_disabled():
        return CallbackRequest.objects.filter(account=s.account, confirmed=True, call__outcome="callback_requested").count()
