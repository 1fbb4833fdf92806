"""A model of the call and callback lifecycle, driven in every order of events (issue 10).

A hypothesis ``RuleBasedStateMachine`` plays callers (the call simulator against the real
webhooks), the provider (retries, hang-up callbacks swapped or doubled), agents (status,
accept, decline, two accepts at once), the clock (offer time-outs, expiry) and API
integrators, against the real services, with tasks run inline after each commit. After
every step it checks the lifecycle's invariants; each one cites the SPEC.

The default (75 examples of up to 20 steps, about 1,500 steps) keeps it near two minutes on
PostgreSQL; a longer hunt:
``SC_MODEL_EXAMPLES=500 SC_MODEL_STEPS=40 .venv/bin/python -m pytest tests/talk/test_lifecycle_model.py``.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from callsim import gateway
from dashboards.selectors import current_queue_activity
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from talk import routing
from talk.models import AgentPresence, CallbackRequest, Line, Offer, QueueEntry
from talk.services.agents import agent_status_set
from talk.services.callback_requests import callback_request_create
from talk.services.offers import offer_accept, offer_decline
from tests.talk import lifecycle_support as support
from tests.talk.calls_support import make_line
from tickets.models import Ticket

EXAMPLES = int(os.environ.get("SC_MODEL_EXAMPLES", "75"))
STEPS = int(os.environ.get("SC_MODEL_STEPS", "20"))

# Caller ids by how the simulated customer answers a callback (engine.dial_policy):
# ...0111 answers and talks 42 s, ...0486 is busy, ...0404 does not answer, ...0500 fails.
CALLER_IDS = ("+14155550111", "+14155550486", "+14155550404", "+14155550500", "anonymous")
API_NUMBERS = ("+14155550111", "+14155550123", "+14155550486", "+14155550500")
# Typed at the number entry (C4): valid ones (one is a caller id above, for C7), an invalid one.
TYPED = ("0014155550123#", "0014155550111#", "0014155550404#", "12#")
KEYS = ("1", "2", "3", "9")
STATUSES = ("online", "away", "transfers_only", "offline")
# A routing pass now, past a live offer (30 s), past a callback offer (40 s), past the expiry (60 min).
LATER = (0, 31, 41, 61 * 60)
MAX_CALLERS = 5

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


class LifecycleMachine(RuleBasedStateMachine):
    world: World  # set by the test
    # The simulator gateway's transport (callback calls, live connections): this example's provider.
    current_transport: support.RecordingTransport | None = None

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.account, self.line, self.agents, self.prompts = w.account, w.line, w.agents, w.prompts
        self.stack = ExitStack()
        # One savepoint per example: every example starts from the same cast (rolled back in teardown).
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.stack.enter_context(scope(account=self.account))
        self.transport = support.RecordingTransport()
        self.token = support.auth_token(self.account)
        LifecycleMachine.current_transport = self.transport
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

    @initialize(bob=st.sampled_from(STATUSES), dave=st.sampled_from(STATUSES))
    def agents_arrive(self, bob: str, dave: str) -> None:
        # Most examples start with someone online (shrinks towards it): the interesting part
        # of the lifecycle needs an agent; offline-only examples still come up.
        for name, status in (("bob", bob), ("dave", dave)):
            if status != "offline":
                self.agent_status(name, status)

    # --- callers (C1-C8, C15) -------------------------------------------------------
    @precondition(lambda self: len(self.callers) < MAX_CALLERS)
    @rule(from_=st.sampled_from(CALLER_IDS))
    def dial(self, from_: str) -> None:
        with self.step():
            row_id = support.caller_place(account=self.account, line=self.line, from_=from_, transport=self.transport)
        caller = Caller(row_id=row_id, from_=from_, caller_id=None if from_ == "anonymous" else from_)
        self.callers.append(caller)
        self.observe(caller, support.caller_states(self.account, [row_id])[row_id])

    @precondition(lambda self: self.live_callers())
    @rule(pick=st.integers(0, MAX_CALLERS - 1), key=st.sampled_from(KEYS))
    def press(self, pick: int, key: str) -> None:
        caller = self.pick(pick)
        with self.step():
            support.caller_act(account=self.account, row_id=caller.row_id, action="press", keys=key, transport=self.transport)

    @precondition(lambda self: self.live_callers())
    @rule(pick=st.integers(0, MAX_CALLERS - 1), typed=st.sampled_from(TYPED))
    def type_number(self, pick: int, typed: str) -> None:
        caller = self.pick(pick)
        with self.step():
            support.caller_act(account=self.account, row_id=caller.row_id, action="press", keys=typed, transport=self.transport)

    @precondition(lambda self: self.live_callers())
    @rule(pick=st.integers(0, MAX_CALLERS - 1))
    def silence(self, pick: int) -> None:
        """The caller says nothing: the prompt times out, or one more turn of the hold loop."""
        caller = self.pick(pick)
        with self.step():
            support.caller_act(account=self.account, row_id=caller.row_id, action="silence", transport=self.transport)

    @precondition(lambda self: self.live_callers())
    @rule(pick=st.integers(0, MAX_CALLERS - 1), swap=st.booleans(), twice=st.booleans())
    def hang_up(self, pick: int, swap: bool, twice: bool) -> None:
        """In any stage; the provider may deliver the status before the queue exit, and each twice."""
        caller = self.pick(pick)
        # C8 as written: capture the caller's last choice, unless declined, typing, or already pending (C7).
        if caller.choice and self.line.callback_capture_on_first_key and not self.pending_for(caller.choice):
            caller.expected_capture = caller.choice
        self.transport.swap_hangup, self.transport.twice = swap, twice
        try:
            with self.step():
                support.caller_act(account=self.account, row_id=caller.row_id, action="hangup", transport=self.transport)
        finally:
            self.transport.swap_hangup = self.transport.twice = False

    @precondition(lambda self: self.live_callers())
    @rule(pick=st.integers(0, MAX_CALLERS - 1), key=st.sampled_from(KEYS))
    def press_and_hang_up(self, pick: int, key: str) -> None:
        """A key and the hang-up at once: the key's request reaches us after the status callback."""
        caller = self.pick(pick)
        state = support.caller_states(self.account, [caller.row_id])[caller.row_id]
        if state.pending is None:
            return
        late = (state.pending.action, {**state.base_params(), "Digits": state.pending.typed + key})
        self.hang_up(pick, swap=False, twice=False)
        caller.late_key = key
        with self.step():
            status, _body = self.transport.deliver(*late, support.signed(self.token, *late))
        assert status == 200, f"a late key request answered {status}"  # SPEC C9, C11

    # --- the provider retries (C10) -------------------------------------------------
    @precondition(lambda self: self.last)
    @rule(pick=st.integers(0, 30), times=st.integers(1, 2))
    def provider_retries(self, pick: int, times: int) -> None:
        """The same request again, exactly: the last of the last event's requests, or any of its
        hang-up callbacks (a retried wait or key request that led further would not be retried)."""
        last = self.last
        candidates = [s for i, s in enumerate(last) if i == len(last) - 1 or s.is_hangup_callback]
        original = candidates[pick % len(candidates)]
        for _ in range(times):
            with self.step(keep_last=True):
                status, body = self.transport.deliver(original.url, original.params, original.headers)
            assert status == 200, f"a retry of {original.url} answered {status}"  # SPEC C10
            assert body == original.body, f"a retry of {original.url} got another answer"  # SPEC C10

    # --- agents (R1-R7) ---------------------------------------------------------------
    @rule(agent=st.sampled_from(("bob", "dave")), status=st.sampled_from(STATUSES))
    def agent_status(self, agent: str, status: str) -> None:
        user = self.agents[agent]
        with self.step():
            agent_status_set(account=self.account, user=user, status=status, actor=user)

    @rule(later=st.sampled_from(LATER))
    def routing_pass(self, later: int) -> None:
        """The router (or the sweep) at a time: offers time out, requests expire (R3, R4, R9)."""
        with self.step():
            routing.route_account(self.account, now=timezone.now() + timedelta(seconds=later))

    @precondition(lambda self: self.open_offers)
    @rule(pick=st.integers(0, 1))
    def accept(self, pick: int) -> None:
        offer = self.open_offers[pick % len(self.open_offers)]
        self._accept(offer, offer.agent)

    @precondition(lambda self: self.open_offers)
    @rule(pick=st.integers(0, 1), same=st.booleans())
    def accept_twice(self, pick: int, same: bool) -> None:
        """Two clicks "at once" on one offer: by its agent and again (the same, or the other agent)."""
        offer = self.open_offers[pick % len(self.open_offers)]
        other = offer.agent if same else next(u for u in self.agents.values() if u.pk != offer.agent_id)
        wins = self._accept(offer, offer.agent) + self._accept(offer, other)
        assert wins <= 1, "two accepts of one offer both won"  # SPEC R5

    @precondition(lambda self: self.seen_offers)
    @rule(pick=st.integers(0, 30))
    def accept_late(self, pick: int) -> None:
        """A click on an offer seen earlier (timed out, withdrawn, taken meanwhile): the console was stale."""
        offer = self.seen_offers[pick % len(self.seen_offers)]
        self._accept(offer, offer.agent)

    def _accept(self, offer: Offer, user: User) -> int:
        entry = QueueEntry.objects.select_related("call").get(pk=offer.entry_id)
        try:
            with self.step():
                offer_accept(account=self.account, offer_id=offer.pk, agent=user)
        except ServiceError:
            return 0  # the offer is gone (withdrawn, timed out, answered): a legal answer (R5, R13)
        if entry.kind == "live":
            # The connection ran inline: the caller left the queue for the agent (R5).
            connected = [c for c in self.callers if c.sid and c.sid == entry.call.provider_call_sid]
            assert connected and connected[0].stage == "connected", "an accepted live caller was not connected"
        if entry.kind == "callback":
            # The attempt ran inline: its outcome follows the number's script (R10, R11).
            request = CallbackRequest.objects.get(queue_entry_id=entry.pk)
            expected = OUTCOME_BY_ENDING.get(request.number[-4:], "answered")
            assert (request.state, request.outcome) == (
                "completed" if expected == "answered" else "failed", expected
            ), f"callback to {request.number} ended {request.state}/{request.outcome}"  # SPEC R10, R11
        return 1

    @precondition(lambda self: self.open_offers)
    @rule(pick=st.integers(0, 1))
    def decline(self, pick: int) -> None:
        offer = self.open_offers[pick % len(self.open_offers)]
        try:
            with self.step():
                offer_decline(account=self.account, offer_id=offer.pk, agent=offer.agent)
        except ServiceError:
            pass  # gone meanwhile: legal

    # --- the API (A1, C7) -------------------------------------------------------------
    @precondition(lambda self: self.api_requests < 3)
    @rule(number=st.sampled_from(API_NUMBERS))
    def api_callback_request(self, number: str) -> None:
        self.api_requests += 1
        try:
            with self.step():
                request = callback_request_create(line=self.line, number=number, actor=None)
        except ServiceError:
            return  # already waiting (C7), or callback unavailable: a legal answer
        self.acknowledged_ids.add(request.pk)

    # --- invariants, after every step -------------------------------------------------
    @invariant()
    def nothing_failed_inside(self) -> None:
        # A webhook or task that failed answers an apology or is swallowed by its caller;
        # either way an event was lost (C11 is the caller's courtesy, not a success).
        messages = [f"{r.name}: {r.getMessage()}" for r in self.errors]
        self.errors.clear()
        assert not messages, messages

    @invariant()
    def one_winner_per_entry(self) -> None:  # SPEC R2, R5
        offers = list(Offer.objects.filter(account=self.account).values_list("entry_id", "agent_id", "state"))
        accepted = [entry for entry, _agent, state in offers if state == "accepted"]
        assert len(accepted) == len(set(accepted)), "an entry was accepted twice"
        open_entries = [entry for entry, _agent, state in offers if state == "offered"]
        assert len(open_entries) == len(set(open_entries)), "an entry is open to two agents"
        open_agents = [agent for _entry, agent, state in offers if state == "offered"]
        assert len(open_agents) == len(set(open_agents)), "an agent holds two open offers"

    @invariant()
    def offers_match_their_entries(self) -> None:  # SPEC R2, C1
        for kind, entry_kind, stage in Offer.objects.filter(account=self.account, state="offered").values_list(
            "kind", "entry__kind", "entry__call__stage"
        ):
            assert kind == entry_kind, f"an open {kind} offer of a {entry_kind} entry"
            assert not (kind == "live" and stage in MENU_STAGES), f"a live offer for a caller in the {stage} stage"

    @invariant()
    def no_agent_busy_without_a_call(self) -> None:  # SPEC R1
        for user_id, call_ended, call_id, leg_ended, attempt_id in AgentPresence.objects.filter(
            account=self.account, busy=True
        ).values_list("user_id", "busy_call__ended_at", "busy_call_id", "busy_attempt__agent_leg_ended_at", "busy_attempt_id"):
            on_call = call_id is not None and call_ended is None
            on_attempt = attempt_id is not None and leg_ended is None
            assert on_call or on_attempt, f"agent {user_id} is busy with no active call or attempt"

    @invariant()
    def nobody_who_left_is_waiting(self) -> None:  # SPEC C15
        for kind, call_id, call_ended, request_state in QueueEntry.objects.filter(
            account=self.account, state="waiting"
        ).values_list("kind", "call_id", "call__ended_at", "callback_request__state"):
            if kind == "live":
                assert call_id is not None and call_ended is None, "a live entry waits for a caller who left"
            else:
                assert request_state == "pending", f"a callback entry waits with its request {request_state}"

    @invariant()
    def requests_move_once_into_one_end(self) -> None:  # SPEC R8-R12
        states = set(CallbackRequest.State.values)
        tickets: list[int] = []
        for pk, state, ticket_id, attempts in CallbackRequest.objects.filter(account=self.account).annotate(
            made=Count("attempts_made")
        ).values_list("pk", "state", "ticket_id", "made"):
            assert state in states, f"a request in an unknown state {state!r}"
            before = self.request_states.get(pk)
            assert before not in TERMINAL or state == before, f"a {before} request became {state}"
            self.request_states[pk] = state
            if state in TICKETED or attempts:
                assert ticket_id is not None, f"a {state} request (attempts: {attempts}) has no ticket"  # R12
            if ticket_id is not None:
                tickets.append(ticket_id)
        assert len(tickets) == len(set(tickets)), "two requests share a ticket"
        callback_tickets = Ticket.objects.filter(account=self.account, subject="Callback request").count()
        assert callback_tickets == len(tickets), f"{callback_tickets} callback tickets for {len(tickets)} requests"

    @invariant()
    def queue_figures_match_the_model(self) -> None:  # SPEC D1, D4, C15
        figures = current_queue_activity(account=self.account)
        holding = [c.from_ for c in self.callers if c.live and c.joined and c.stage != "connected"]
        assert figures["calls_waiting"] == len(holding), (
            f"calls_waiting {figures['calls_waiting']}, callers holding {holding}"
        )
        pending = CallbackRequest.objects.filter(account=self.account, state="pending").count()
        assert figures["callbacks_waiting"] == pending, f"callbacks_waiting {figures['callbacks_waiting']}, pending {pending}"

    @invariant()
    def nothing_acknowledged_is_lost(self) -> None:  # SPEC C6, C7, C8, O3
        made: dict[str, list[tuple[int, str, int, bool]]] = {}
        for row in CallbackRequest.objects.filter(
            account=self.account, call__provider_call_sid__in=[c.sid for c in self.callers if c.sid]
        ).values_list("call__provider_call_sid", "pk", "number", "line_id", "confirmed"):
            made.setdefault(row[0], []).append(row[1:])
        for caller in self.callers:
            mine = made.get(caller.sid, [])
            if caller.acknowledged:
                assert [(number, line) for _pk, number, line, _c in mine] == [(caller.acknowledged, self.line.pk)], (
                    f"{caller.from_} heard 'confirmed' for {caller.acknowledged}; requests {mine}"
                )
                self.acknowledged_ids.add(mine[0][0])
            elif caller.live:
                assert mine == [], f"{caller.from_} is still on the line but has a request {mine}"
            elif caller.expected_capture:
                # A key that arrived after the hang-up may confirm the captured request, nothing more.
                confirmed_ok = (False, True) if caller.late_key else (False,)
                assert [number for _pk, number, _l, _c in mine] == [caller.expected_capture] and mine[0][3] in confirmed_ok, (
                    f"{caller.from_} hung up choosing {caller.expected_capture}; requests {mine}"  # C8
                )
            else:
                assert mine == [], f"{caller.from_} got an unwanted callback {mine} (C8: declined, typing, or C7)"
        kept = set(CallbackRequest.objects.filter(pk__in=self.acknowledged_ids).values_list("pk", flat=True))
        assert kept == self.acknowledged_ids, "an acknowledged callback request was deleted"  # O3


class _Collector(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(level=logging.ERROR)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def world(acme, bob, dave, settings, monkeypatch) -> World:
    settings.TASKS_SYNC = True  # tasks (routing, callback calls, live connections) run inline after commit
    settings.ROUTE_INLINE = True  # route in this process after each commit, as with the in-memory layer
    # The provider's network: the simulator posts through Django's test client, recorded.
    monkeypatch.setattr(gateway, "transport_factory", lambda: LifecycleMachine.current_transport)
    line = make_line(acme)
    return World(account=acme, line=line, agents={"bob": bob, "dave": dave}, prompts=support.Prompts.of(line))


def test_it_keeps_the_call_and_callback_lifecycle_in_every_order_of_events(world):  # SPEC C1-C15, R1-R12, O3
    machine = type("Lifecycle", (LifecycleMachine,), {"world": world})
    run_state_machine_as_test(
        machine,
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
