"""The lifecycle's invariants, checked by the model after every step (test_lifecycle_model.py);
each one cites the SPEC. A mixin of ``LifecycleMachine``: it reads the machine's state
(account, line, callers, request states, acknowledged requests, errors logged)."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import Now
from hypothesis.stateful import invariant

from dashboards.selectors import current_queue_activity
from supportcenter.models import GroupMembership, Membership
from talk.models import AgentPresence, CallbackRequest, Line, Offer, QueueEntry
from tests.talk.lifecycle_model_support import MENU_STAGES, TERMINAL, TICKETED
from tickets.models import Ticket


class LifecycleInvariants:
    """The invariants, as ``@invariant`` methods (hypothesis collects them from the machine's bases)."""

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
        # Pending and due: one scheduled for later is not waiting yet (R16).
        pending = CallbackRequest.objects.filter(account=self.account, state="pending").exclude(
            scheduled_for__gt=Now()).count()
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

    # --- groups (R14), read here from the rows, not through the routing code ---------------
    def may_take(self, entry_id: int, line_id: int) -> set[int] | None:
        """Who may take the entry: its request's own groups' members, else its line's groups'
        and default group's; None when nobody is named (any agent)."""
        groups = set(CallbackRequest.groups.through.objects.filter(
            callbackrequest__queue_entry_id=entry_id).values_list("group_id", flat=True))
        if not groups:
            groups = set(Line.groups.through.objects.filter(line_id=line_id).values_list("group_id", flat=True))
            groups |= set(Line.objects.filter(pk=line_id, default_group__isnull=False)
                          .values_list("default_group_id", flat=True))
        if not groups:
            return None
        return set(GroupMembership.objects.filter(group_id__in=groups).values_list("user_id", flat=True))

    @invariant()
    def offers_go_only_to_agents_who_may_take_them(self) -> None:  # SPEC R14
        # Checked in the step that made the offer: memberships and a line's groups change in
        # steps of their own, and the pass a change wakes runs within that step.
        new = Offer.objects.filter(account=self.account).exclude(pk__in=self.offers_checked).values_list(
            "pk", "agent_id", "entry_id", "entry__line_id"
        )
        for pk, agent_id, entry_id, line_id in new:
            allowed = self.may_take(entry_id, line_id)
            assignee = CallbackRequest.objects.filter(queue_entry_id=entry_id).values_list("assignee_id", flat=True).first()
            assert allowed is None or agent_id in allowed or agent_id == assignee, (  # R15: the assignee, by name
                f"offer {pk} went to agent {agent_id}, not of {allowed}"
            )
            self.offers_checked.add(pk)

    @invariant()
    def declined_only_when_everyone_who_may_take_it_declined(self) -> None:  # SPEC R7, R8, R14
        members = set(Membership.objects.filter(account=self.account, is_active=True).values_list("user_id", flat=True))
        status = dict(AgentPresence.objects.filter(account=self.account).values_list("user_id", "status"))
        for pk, entry_id, line_id in CallbackRequest.objects.filter(account=self.account, state="declined").exclude(
            pk__in=self.declines_checked
        ).values_list("pk", "queue_entry_id", "line_id"):
            allowed = self.may_take(entry_id, line_id)
            eligible = members if allowed is None else members & allowed
            assert eligible, f"request {pk}: its groups have no member, yet it was declined by all"
            declined = set(Offer.objects.filter(entry_id=entry_id, state="declined").values_list("agent_id", flat=True))
            waiting_for = {u for u in eligible - declined if status.get(u, "offline") not in ("offline", "transfers_only")}
            assert not waiting_for, f"request {pk} declined by all while {waiting_for} could still take it"
            self.declines_checked.add(pk)

    # --- supervision (S2, R15, R16) -----------------------------------------------------
    @invariant()
    def a_cancelled_request_is_never_offered_or_called(self) -> None:  # SPEC S2, C13
        for pk, entry_id, ended_at in CallbackRequest.objects.filter(
            account=self.account, state="cancelled"
        ).values_list("pk", "queue_entry_id", "ended_at"):
            assert ended_at is not None, f"cancelled request {pk} has no end"
            late = Offer.objects.filter(entry_id=entry_id).filter(Q(created_at__gt=ended_at) | Q(state="offered"))
            assert not late.exists(), f"cancelled request {pk} was offered after its cancel"
            assert not CallbackRequest.objects.get(pk=pk).attempts_made.filter(scheduled_for__gt=ended_at).exists(), (
                f"cancelled request {pk} was called after its cancel"
            )

    @invariant()
    def scheduled_and_assigned_offers_keep_their_rules(self) -> None:  # SPEC R15, R16
        # Checked for the offers made in this step, against the request as the pass saw it
        # (an action in a later step changes it; the pass it wakes runs within that step).
        new = Offer.objects.filter(account=self.account, kind="callback").exclude(
            pk__in=self.supervision_checked).select_related("entry__line")
        for offer in new:
            self.supervision_checked.add(offer.pk)
            request = CallbackRequest.objects.get(queue_entry_id=offer.entry_id)
            seconds = offer.entry.line.callback_offer_seconds
            made_at = offer.expires_at - timedelta(seconds=seconds)  # the pass's "now"
            assert request.scheduled_for is None or request.scheduled_for <= made_at, (
                f"offer {offer.pk} made at {made_at} for a callback scheduled for {request.scheduled_for}"
            )
            if request.assignee_id is None or request.assigned_at is None:
                continue
            window_end = max(request.assigned_at, request.scheduled_for or request.assigned_at) + timedelta(seconds=seconds)
            if made_at < window_end and offer.agent_id != request.assignee_id:
                declined = Offer.objects.filter(entry_id=offer.entry_id, agent_id=request.assignee_id, state="declined",
                                                responded_at__gte=request.assigned_at).exists()
                assert declined, (f"offer {offer.pk} went to {offer.agent_id} during assignee "
                                  f"{request.assignee_id}'s turn (until {window_end})")
