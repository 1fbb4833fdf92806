"""The cast and the plumbing of the lifecycle model (test_lifecycle_model.py): what the model
draws from (caller ids, numbers, keys, statuses, clock jumps), what it knows of each caller,
and the state machine's base: one savepoint per example, one event per step with its
after-commit work, and what the callers heard and the consoles show after it. No tests here.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.test import TestCase
from django_scopes import scope
from hypothesis.stateful import RuleBasedStateMachine

from supportcenter.models import Account, Group, User
from talk.models import CallbackRequest, Line, Offer
from tests.talk import lifecycle_support as support

# Caller ids by how the simulated customer answers a callback (engine.dial_policy):
# ...0111 answers and talks 42 s, ...0486 is busy, ...0404 does not answer, ...0500 fails.
CALLER_IDS = ("+14155550111", "+14155550486", "+14155550404", "+14155550500", "anonymous")
API_NUMBERS = ("+14155550111", "+14155550123", "+14155550486", "+14155550500")
# Typed at the number entry (C4): valid ones (one is a caller id above, for C7), an invalid one.
TYPED = ("0014155550123#", "0014155550111#", "0014155550404#", "12#")
KEYS = ("1", "2", "3", "9")
STATUSES = ("online", "away", "transfers_only", "offline")
# A routing pass now, past a live offer (30 s), past a callback offer (40 s), past a callback
# scheduled a minute ahead (R16), past the expiry (60 min).
LATER = (0, 31, 41, 90, 61 * 60)
MAX_CALLERS = 5

# Groups (R14): who a line routes to, as (groups, default group) by name; the first is no
# groups at all (any agent: examples shrink towards it). Night starts without members.
GROUPS = ("Sales", "Support", "Night")
ROUTES = (((), None), (("Sales",), None), ((), "Support"), (("Sales", "Support"), "Support"), (("Night",), None))
MEMBERSHIPS = (("bob", "Sales"), ("dave", "Sales"), ("dave", "Support"), ("bob", "Night"))
REQUEST_GROUPS = ((), ("Support",), ("Night",), ("Sales", "Night"))  # an API request's own group_ids

# A supervisor's reschedule (R16): due now (None), soon, later than a callback offer, past the expiry.
SCHEDULES = (None, 1, 30, 90)

MENU_STAGES = ("menu", "number_entry", "confirming")
TERMINAL = {"completed", "failed", "declined", "expired", "cancelled"}
TICKETED = {"declined", "expired", "cancelled"}  # R8, R9, R12: cancelled in any way
OUTCOME_BY_ENDING = {"0486": "busy", "0404": "no_answer", "0500": "failed"}  # else answered


@dataclass
class World:
    """The cast, made once per test; each example runs in a savepoint rolled back after it."""

    account: Account
    line: Line
    agents: dict[str, User]
    prompts: support.Prompts
    groups: dict[str, Group] = field(default_factory=dict)  # GROUPS, without members


@dataclass
class Caller:
    """One simulated caller, and what the model knows from what they heard and did."""

    row_id: int
    from_: str
    caller_id: str | None  # usable for a callback (C5): None when withheld
    sid: str = ""
    status: str = "in-progress"
    seen: int = 0  # transcript entries already read
    joined: bool = False  # has a place in line: reached the queue or pressed the key (C1, C3)
    stage: str = "greeting"
    readback: str | None = None
    choice: str | None = None  # the number a capture would call back (C8)
    confirming: str | None = None
    acknowledged: str | None = None  # heard "request confirmed" for this number (C6, O3)
    expected_capture: str | None = None  # decided when they hung up (C8)
    late_key: str = ""  # a key whose request reached us after the hang-up (C10)
    said: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.status == "in-progress"


class LifecycleModel(RuleBasedStateMachine):
    """The machine without its rules and invariants (test_lifecycle_model.py, lifecycle_model_invariants.py)."""


    world: World  # set by the test
    # The simulator gateway's transport (callback calls, live connections): this example's provider.
    current_transport: support.RecordingTransport | None = None

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.account, self.line, self.agents, self.prompts = w.account, w.line, w.agents, w.prompts
        self.groups = w.groups
        self.stack = ExitStack()
        # One savepoint per example: every example starts from the same cast (rolled back in teardown).
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.stack.enter_context(scope(account=self.account))
        self.transport = support.RecordingTransport()
        self.token = support.auth_token(self.account)
        LifecycleModel.current_transport = self.transport
        self.errors: list[logging.LogRecord] = []
        self.handler = _Collector(self.errors)
        logging.getLogger().addHandler(self.handler)
        self.callers: list[Caller] = []
        self.last: list[support.Sent] = []
        self.request_states: dict[int, str] = {}
        self.acknowledged_ids: set[int] = set()  # requests someone was told exist (callers, API)
        self.open_offers: list[Offer] = []
        self.seen_offers: list[Offer] = []
        self.api_requests = 0
        self.offers_checked: set[int] = set()  # offers whose agent was checked eligible (R14)
        self.declines_checked: set[int] = set()  # requests whose "declined by all" was checked (R8)
        self.supervision_checked: set[int] = set()  # callback offers checked against R15, R16

    def teardown(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        self.stack.close()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- plumbing ------------------------------------------------------------------
    @contextmanager
    def step(self, *, keep_last: bool = False) -> Iterator[None]:
        """One event: its after-commit work (routing, tasks, callback calls) runs before the checks."""
        start = len(self.transport.sent)
        with TestCase.captureOnCommitCallbacks(execute=True):
            yield
        self.transport.flush()
        if not keep_last:
            self.last = self.transport.sent[start:]
        self.observe_all()
        self.read_offers()

    def live_callers(self) -> list[Caller]:
        return [c for c in self.callers if c.live]

    def observe_all(self) -> None:
        """Read what every caller on the line heard (an accept may have redirected any of them)."""
        live = {c.row_id: c for c in self.callers if c.live}
        for row_id, state in support.caller_states(self.account, list(live)).items():
            self.observe(live[row_id], state)

    def observe(self, caller: Caller, state) -> None:
        """Read what the caller heard since last time, as the caller would understand it."""
        caller.sid, caller.status = state.call_sid, state.status
        for entry in state.transcript[caller.seen:]:
            kind, text = entry["kind"], entry["text"]
            if kind == "enqueue":
                caller.joined = True
                caller.stage = "queued"
            elif kind == "redirected":  # connected to the agent who accepted (R5)
                caller.stage, caller.choice = "connected", None
            elif kind == "say":
                caller.said.append(text)
                self._heard(caller, text)
        caller.seen = len(state.transcript)

    def _heard(self, caller: Caller, text: str) -> None:
        category = self.prompts.category(text)
        if category == support.MENU:
            caller.joined = True
            caller.stage, caller.choice, caller.readback = "menu", caller.caller_id, None
        elif category in (support.ENTRY, support.INVALID):
            caller.stage, caller.choice, caller.readback = "number_entry", None, None
        elif category == support.READBACK:
            caller.readback = self.prompts.readback_number(text)
        elif category == support.CONFIRMATION:
            caller.stage = "confirming"
            caller.confirming = caller.choice = caller.readback or caller.caller_id
        elif category == support.CONFIRMED:
            caller.acknowledged, caller.choice, caller.stage = caller.confirming, None, "done"
        elif category == support.ALREADY:
            caller.choice, caller.stage = None, "done"  # C7: changes nothing
        elif category in (support.HOLD, support.CALLBACK) and caller.stage in MENU_STAGES:
            caller.choice, caller.stage = None, "queued"  # back to the queue: declined (C8)

    def pick(self, pick: int) -> Caller:
        live = self.live_callers()
        return live[pick % len(live)]

    def pending_for(self, number: str) -> bool:
        return CallbackRequest.objects.filter(line=self.line, number=number, state="pending").exists()

    def read_offers(self) -> None:
        """The open offers after a step (what the consoles show), and every offer seen so far."""
        self.open_offers = list(
            Offer.objects.filter(account=self.account, state="offered").select_related("agent").order_by("created_at")
        )
        known = {offer.pk for offer in self.seen_offers}
        self.seen_offers += [offer for offer in self.open_offers if offer.pk not in known]


class _Collector(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(level=logging.ERROR)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
