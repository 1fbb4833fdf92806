"""Fixtures for call-flow tests: a line with callback on, agents' presence, and the
call simulator talking to the real webhooks through Django's test client."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from django_scopes import scope
from twilio.request_validator import RequestValidator

from callsim.engine import IDEMPOTENCY_HEADER, SimulatedCall
from talk import services as talk_services
from talk.models import AgentPresence, CallbackRequest, Call, Line
from talk.selectors import line_webhook_urls, telephony_auth_token
from talk.selectors.lines import line_hook

CALLER = "+14155550111"
LINE_NUMBER = "+14155550100"


class ClientTransport:
    """Form-encoded POSTs through the whole Django stack, as Twilio would send them."""

    def __init__(self) -> None:
        self.client = Client()
        self.responses: list[tuple[str, int, str]] = []

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        response = self.client.post(
            parts.path + (f"?{parts.query}" if parts.query else ""),
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_HOST=parts.netloc,
            HTTP_X_TWILIO_SIGNATURE=headers["X-Twilio-Signature"],
            **({"HTTP_I_TWILIO_IDEMPOTENCY_TOKEN": headers[IDEMPOTENCY_HEADER]} if IDEMPOTENCY_HEADER in headers else {}),
            secure=parts.scheme == "https",
        )
        body = response.content.decode()
        self.responses.append((parts.path, response.status_code, body))
        return response.status_code, body


def make_line(account, name: str = "Main line", kind: str = Line.Kind.PHONE, **fields) -> Line:
    defaults = {"number": LINE_NUMBER, "callback_enabled": True} if kind == Line.Kind.PHONE else {}
    defaults.update(fields)
    with scope(account=account):
        talk_services.telephony_settings_ensure(account=account)
        return talk_services.line_create(account=account, actor=None, name=name, kind=kind, **defaults)


def set_presence(account, user, status: str) -> None:
    with scope(account=account):
        AgentPresence.objects.update_or_create(account=account, user=user, defaults={"status": status})


class Phone:
    """Places simulated calls into a line."""

    def __init__(self, line: Line):
        self.line = line
        self.transport = ClientTransport()
        with scope(account=line.account):
            self.token = telephony_auth_token(account=line.account)
        self.urls = line_webhook_urls(line=line)

    def dial(self, from_: str = CALLER) -> SimulatedCall:
        call = SimulatedCall(
            account_sid="AC" + "1" * 32, auth_token=self.token, voice_url=self.urls["voice_url"],
            status_callback_url=self.urls["status_callback_url"], from_=from_, to=LINE_NUMBER,
        )
        call.dial(self.transport)
        return call

    def press(self, call: SimulatedCall, keys: str) -> None:
        call.press(self.transport, keys)

    def silence(self, call: SimulatedCall) -> None:
        call.silence(self.transport)

    def hangup(self, call: SimulatedCall) -> None:
        call.hangup(self.transport)

    def webhook(self, call_sid: str, name: str, params: dict[str, str], **query) -> tuple[int, str]:
        """One signed provider request to the line's webhook ``name``, as Twilio sends it: for
        tests that play the provider's side by hand (events in another order, a retry)."""
        url = "http://localhost" + line_hook(self.line, name, **query)
        params = {"AccountSid": "AC" + "1" * 32, "CallSid": call_sid, **params}
        signature = RequestValidator(self.token).compute_signature(url, params)
        return self.transport.post(url, params, {"X-Twilio-Signature": signature})

    def queued(self, from_: str = CALLER) -> SimulatedCall:
        """A caller who let the greeting pass and now holds in the queue."""
        call = self.dial(from_)
        if call.pending is not None and not call.in_queue:
            self.silence(call)
        assert call.in_queue
        return call


@pytest.fixture
def main_line(acme) -> Line:
    return make_line(acme)


@pytest.fixture
def bob_online(acme, bob) -> None:
    set_presence(acme, bob, AgentPresence.Status.ONLINE)


@pytest.fixture
def phone(main_line) -> Phone:
    return Phone(main_line)


def requests_of(account) -> list[CallbackRequest]:
    with scope(account=account):
        return list(CallbackRequest.objects.select_related("queue_entry").order_by("requested_at"))


def calls_of(account) -> list[Call]:
    with scope(account=account):
        return list(Call.objects.order_by("started_at"))
