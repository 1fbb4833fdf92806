"""A model of the call and callback lifecycle, driven in every order of events (issue 10).

A hypothesis ``RuleBasedStateMachine`` plays callers (the call simulator against the real
webhooks), the provider (retries, hang-up callbacks swapped or doubled), agents (status,
accept, decline, two accepts at once), the clock (offer time-outs, expiry), API
integrators and admins (groups, R14: the line routes to no group, some groups, or a group
without members, and changes; agents join and leave groups; API requests name their own
groups), against the real services, with tasks run inline after each commit. After every
step it checks the lifecycle's invariants; each one cites the SPEC.

The default (75 examples of up to 20 steps, about 1,500 steps) keeps it near two minutes on
PostgreSQL; a longer hunt:
``SC_MODEL_EXAMPLES=500 SC_MODEL_STEPS=40 .venv/bin/python -m pytest tests/talk/test_lifecycle_model.py``.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule, run_state_machine_as_test

from django_scopes import scope

from callsim import gateway
from supportcenter.errors import ServiceError
from supportcenter.models import GroupMembership, User
from supportcenter.services import group_create, group_membership_create, group_membership_delete
from talk import routing
from talk.enqueue import wake_router
from talk.models import CallbackRequest, Line, Offer, QueueEntry
from talk.services.agents import agent_status_set
from talk.services.callback_requests import callback_request_create
from talk.services import supervision
from talk.services.offers import offer_accept, offer_decline
from tests.talk import lifecycle_support as support
from tests.talk.calls_support import make_line
from tests.talk.lifecycle_model_invariants import LifecycleInvariants
from tests.talk.lifecycle_model_support import (
    API_NUMBERS,
    CALLER_IDS,
    GROUPS,
    KEYS,
    LATER,
    MAX_CALLERS,
    MEMBERSHIPS,
    OUTCOME_BY_ENDING,
    REQUEST_GROUPS,
    ROUTES,
    SCHEDULES,
    STATUSES,
    TYPED,
    Caller,
    LifecycleModel,
    World,
)

# The cast, the plumbing (savepoints, steps, what callers heard) and the base of the machine
# are in lifecycle_model_support.py, the invariants in lifecycle_model_invariants.py.

EXAMPLES = int(os.environ.get("SC_MODEL_EXAMPLES", "75"))
STEPS = int(os.environ.get("SC_MODEL_STEPS", "20"))


class LifecycleMachine(LifecycleInvariants, LifecycleModel):
    """The rules: callers, the provider, agents, the clock and the API, in any order."""

    @initialize(bob=st.sampled_from(STATUSES), dave=st.sampled_from(STATUSES))
    def agents_arrive(self, bob: str, dave: str) -> None:
        # Most examples start with someone online (shrinks towards it): the interesting part
        # of the lifecycle needs an agent; offline-only examples still come up.
        for name, status in (("bob", bob), ("dave", dave)):
            if status != "offline":
                self.agent_status(name, status)

    @initialize(routes=st.sampled_from(ROUTES), members=st.sets(st.sampled_from(MEMBERSHIPS)))
    def groups_arrive(self, routes: tuple, members: set[tuple[str, str]]) -> None:
        for agent, group in sorted(members):
            self.membership(agent, group, True)
        self.line_routes_to(routes)

    # --- groups (R14) ---------------------------------------------------------------
    @rule(routes=st.sampled_from(ROUTES))
    def line_routes_to(self, routes: tuple) -> None:
        """An admin changes the line's groups and default group (the line's service wakes the router)."""
        names, default = routes
        with self.step():
            self.line.groups.set([self.groups[name] for name in names])
            Line.objects.filter(pk=self.line.pk).update(default_group=self.groups[default] if default else None)
            wake_router(self.account.pk)

    @rule(pair=st.sampled_from(MEMBERSHIPS), join=st.booleans())
    def membership_change(self, pair: tuple[str, str], join: bool) -> None:
        self.membership(*pair, join)

    def membership(self, agent: str, group: str, join: bool) -> None:
        """An agent joins or leaves a group (through the core's services, which wake the router)."""
        user, target = self.agents[agent], self.groups[group]
        held = GroupMembership.objects.filter(account=self.account, group=target, user=user).first()
        with self.step():
            if join and held is None:
                group_membership_create(account=self.account, actor=None, group_id=target.pk, user_id=user.pk)
            elif not join and held is not None:
                group_membership_delete(account=self.account, membership=held, actor=None)

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
    @rule(number=st.sampled_from(API_NUMBERS), groups=st.sampled_from(REQUEST_GROUPS),
          assignee=st.sampled_from((None, "bob", "dave")), minutes=st.sampled_from(SCHEDULES))
    def api_callback_request(self, number: str, groups: tuple[str, ...], assignee: str | None,
                             minutes: int | None) -> None:
        """An integration asks for a callback, maybe for a time and an agent (A1, R15, R16)."""
        self.api_requests += 1
        try:
            with self.step():
                request = callback_request_create(line=self.line, number=number, actor=None,
                                                  groups=[self.groups[name] for name in groups])
                if minutes is not None:
                    supervision.callback_reschedule(account=self.account, request_id=request.pk, actor=None,
                                                    scheduled_for=timezone.now() + timedelta(minutes=minutes))
                if assignee is not None:
                    supervision.callback_assign(account=self.account, request_id=request.pk, actor=None,
                                                assignee_id=self.agents[assignee].pk)
        except ServiceError:
            return  # already waiting (C7), or callback unavailable: a legal answer
        self.acknowledged_ids.add(request.pk)


    # --- supervisors and "Call later" (S2, R15, R16, C13) ------------------------------
    def _pending_request(self, pick: int) -> CallbackRequest | None:
        # In the order they were made (ids are random: the same example must pick the same request).
        pending = list(CallbackRequest.objects.filter(account=self.account, state="pending").order_by("requested_at"))
        return pending[pick % len(pending)] if pending else None

    def _supervise(self, service, pick: int, **kwargs) -> None:
        """A supervisor's action on a pending request (possibly one an agent is accepting
        meanwhile): it applies, or answers a refusal, and changes nothing then."""
        request = self._pending_request(pick)
        if request is None:
            return
        try:
            with self.step():
                service(account=self.account, request_id=request.pk, actor=None, **kwargs)
        except ServiceError as refusal:
            assert refusal.code in ("conflict", "invalid"), refusal.message  # moved on, or C7 on a move

    @precondition(lambda self: CallbackRequest.objects.filter(account=self.account, state="pending").exists())
    @rule(pick=st.integers(0, 5), by_caller=st.booleans())
    def cancel(self, pick: int, by_caller: bool) -> None:
        by = CallbackRequest.CancelledBy.CALLER if by_caller else CallbackRequest.CancelledBy.SUPERVISOR
        self._supervise(supervision.callback_cancel, pick, reason="" if by_caller else "Asked to cancel.", by=by)

    @precondition(lambda self: CallbackRequest.objects.filter(account=self.account, state="pending").exists())
    @rule(pick=st.integers(0, 5), agent=st.sampled_from((None, "bob", "dave")))
    def assign(self, pick: int, agent: str | None) -> None:
        self._supervise(supervision.callback_assign, pick,
                        assignee_id=self.agents[agent].pk if agent else None)

    @precondition(lambda self: CallbackRequest.objects.filter(account=self.account, state="pending").exists())
    @rule(pick=st.integers(0, 5), minutes=st.sampled_from(SCHEDULES))
    def schedule(self, pick: int, minutes: int | None) -> None:
        when = None if minutes is None else timezone.now() + timedelta(minutes=minutes)
        self._supervise(supervision.callback_reschedule, pick, scheduled_for=when)

    @precondition(lambda self: CallbackRequest.objects.filter(account=self.account, state="pending").exists())
    @rule(pick=st.integers(0, 5), groups=st.sampled_from(REQUEST_GROUPS))
    def move(self, pick: int, groups: tuple[str, ...]) -> None:
        self._supervise(supervision.callback_move, pick, group_ids=[self.groups[name].pk for name in groups])

    @precondition(lambda self: any(offer.kind == "callback" for offer in self.open_offers))
    @rule(pick=st.integers(0, 1), minutes=st.sampled_from([m for m in SCHEDULES if m]))
    def call_later(self, pick: int, minutes: int) -> None:
        """The agent holding a callback offer says "Call later" (R16): assigned to them."""
        offers = [offer for offer in self.open_offers if offer.kind == "callback"]
        offer = offers[pick % len(offers)]
        request = CallbackRequest.objects.get(queue_entry_id=offer.entry_id)
        try:
            with self.step():
                supervision.callback_reschedule(account=self.account, request_id=request.pk, actor=offer.agent,
                                                scheduled_for=timezone.now() + timedelta(minutes=minutes))
        except ServiceError as refusal:
            assert refusal.code in ("conflict", "read_only"), refusal.message  # the offer went meanwhile
            return
        request.refresh_from_db()
        assert (request.assignee_id, request.state) == (offer.agent_id, "pending")


@pytest.fixture
def world(acme, bob, dave, settings, monkeypatch) -> World:
    settings.TASKS_SYNC = True  # tasks (routing, callback calls, live connections) run inline after commit
    settings.ROUTE_INLINE = True  # route in this process after each commit, as with the in-memory layer
    # The provider's network: the simulator posts through Django's test client, recorded.
    monkeypatch.setattr(gateway, "transport_factory", lambda: LifecycleMachine.current_transport)
    line = make_line(acme)
    with scope(account=acme):
        groups = {name: group_create(account=acme, actor=None, name=name) for name in GROUPS}
    return World(account=acme, line=line, agents={"bob": bob, "dave": dave}, prompts=support.Prompts.of(line),
                 groups=groups)


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
