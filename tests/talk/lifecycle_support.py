"""What the lifecycle model (test_lifecycle_model.py) drives and reads: callers played by the
call simulator, a provider that retries and reorders its requests, and what a caller heard.

Callers are placed through the simulator's runner (``callsim.runner``), the same
engine ``tests.talk.calls_support.Phone`` drives, but with its state kept in a
``SimulatorCall`` row: when an agent accepts a live call, the product's connect task
redirects the call through the simulator gateway, which only finds calls kept that way.
Everything else is the real stack: signed webhooks through Django's test client.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from django_scopes import scope
from twilio.request_validator import RequestValidator

from callsim import runner
from callsim.engine import SimulatedCall
from callsim.models import SimulatorCall
from supportcenter.models import Account
from talk.models import Line
from talk.selectors import line_webhook_urls, telephony_auth_token
from talk.selectors.lines import line_greeting
from tests.talk.calls_support import ClientTransport

# --- The provider's side of HTTP ----------------------------------------------------
@dataclass
class Sent:
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int
    body: str

    @property
    def is_hangup_callback(self) -> bool:
        """A queue exit or a status callback: nothing the provider does next depends on its answer."""
        return "QueueResult" in self.params or "CallbackSource" in self.params

    @property
    def is_wait(self) -> bool:
        return "QueuePosition" in self.params


class RecordingTransport(ClientTransport):
    """The provider: keeps every request it sent (to retry one later, C10) and can deliver a
    hang-up's queue exit after its status callback, or both twice (O2: they race)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.swap_hangup = False
        self.twice = False
        self._held: list[tuple[str, dict[str, str], dict[str, str]]] = []

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        hangup_exit = params.get("QueueResult") == "hangup"
        status_callback = "CallbackSource" in params
        if self.swap_hangup and hangup_exit:
            # Held back: the engine ignores this answer (it hung up); delivered after the status.
            self._held.append((url, dict(params), dict(headers)))
            return 200, "<Response/>"
        answer = self.deliver(url, params, headers)
        if self.twice and (hangup_exit or status_callback):
            self.deliver(url, params, headers)
        if status_callback and self._held:
            held, self._held = self._held, []
            for args in held:
                self.deliver(*args)
                if self.twice:
                    self.deliver(*args)
        return answer

    def deliver(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        status, body = super().post(url, params, headers)
        self.sent.append(Sent(url, dict(params), dict(headers), status, body))
        return status, body

    def flush(self) -> None:
        """A queue exit held for a status callback that never came (a call ended without one)."""
        held, self._held = self._held, []
        for args in held:
            self.deliver(*args)


def auth_token(account: Account) -> str:
    with scope(account=account):
        return telephony_auth_token(account=account)


def signed(token: str, url: str, params: dict[str, str]) -> dict[str, str]:
    """The headers of a request the provider signs itself (C9)."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


# --- Callers ----------------------------------------------------------------------------
class SimulatorFailed(AssertionError):
    """The product answered something the provider refuses (non-200, invalid TwiML)."""


def caller_place(*, account: Account, line: Line, from_: str, transport: RecordingTransport) -> int:
    with scope(account=account):
        row = runner.simulator_call_place(
            account=account, line=line, from_=from_, user=None, urls=line_webhook_urls(line=line), transport=transport
        )
    _raise_on_error(account, row.pk)
    return row.pk


def caller_act(*, account: Account, row_id: int, action: str, transport: RecordingTransport, keys: str = "") -> None:
    with scope(account=account):
        row = SimulatorCall.objects.get(account=account, pk=row_id)
        runner.simulator_call_act(account=account, row=row, action=action, keys=keys, transport=transport)
    _raise_on_error(account, row_id)


def caller_states(account: Account, row_ids: list[int]) -> dict[int, SimulatedCall]:
    """The simulator's view of these calls, in one query."""
    if not row_ids:
        return {}
    with scope(account=account):
        rows = SimulatorCall.objects.filter(account=account, pk__in=row_ids).values_list("pk", "state")
        return {pk: SimulatedCall.from_state({**state, "auth_token": ""}) for pk, state in rows}


def _raise_on_error(account: Account, row_id: int) -> None:
    with scope(account=account):
        error = SimulatorCall.objects.filter(account=account, pk=row_id).values_list("error", flat=True).first()
    if error:
        raise SimulatorFailed(f"simulated call {row_id}: {error}")


# --- What a caller heard ------------------------------------------------------------
MENU, ENTRY, INVALID, READBACK, CONFIRMATION, CONFIRMED, ALREADY, HOLD, CALLBACK = (
    "callback_menu", "number_entry", "number_invalid", "number_readback", "callback_confirmation",
    "request_confirmed", "already_waiting", "hold", "callback",
)


@dataclass
class Prompts:
    """The line's prompts as the caller hears them (its own greetings, else the system's)."""

    texts: dict[str, str] = field(default_factory=dict)
    readback: re.Pattern | None = None

    @classmethod
    def of(cls, line: Line) -> Prompts:
        prompts = cls()
        with scope(account=line.account):
            for category in (MENU, ENTRY, INVALID, CONFIRMATION, CONFIRMED, ALREADY, HOLD, CALLBACK, READBACK):
                greeting = line_greeting(line=line, category=category)
                text = (greeting.text if greeting is not None else "").replace("{key}", line.callback_key)
                if category == READBACK:
                    prompts.readback = re.compile(re.escape(text).replace(re.escape("{number}"), "(?P<digits>[0-9, ]+)"))
                elif text:
                    prompts.texts[text] = category
        return prompts

    def category(self, text: str) -> str | None:
        if self.readback is not None and self.readback.fullmatch(text):
            return READBACK
        return self.texts.get(text)

    def readback_number(self, text: str) -> str | None:
        match = self.readback.fullmatch(text) if self.readback is not None else None
        return "+" + re.sub(r"\D", "", match["digits"]) if match else None
