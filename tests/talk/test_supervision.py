"""Supervisors steer callbacks (SPEC S2, R15, R16, C13; issue 16 item 3): the services and routing.

Cancel, assign, reschedule and move, each re-checked against the request's state (409 when
it moved on), audited, and honoured by the routing pass: a future-scheduled callback is not
offered; a due one is offered ahead of the queue; an assignee has the offer to themselves
for the line's callback offer time.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope

from callsim import gateway
from supportcenter import services as core
from supportcenter.errors import ServiceError
from supportcenter.models import AuditEntry, Membership
from talk.models import AgentPresence, CallbackAttempt, CallbackRequest, Offer, QueueEntry
from talk.services import offers as offer_services
from talk.services import supervision
from tests.conftest import make_account, make_member
from tests.postgres import needs_postgresql
from tests.talk.calls_support import ClientTransport, make_line, set_presence
from tests.talk.factories import route_now, waiting_callback
from tickets.models import Comment

ONLINE, OFFLINE = AgentPresence.Status.ONLINE, AgentPresence.Status.OFFLINE
Request = CallbackRequest.State


@pytest.fixture(autouse=True)
def inline_tasks(settings, monkeypatch):
    settings.TASKS_SYNC = True
    monkeypatch.setattr(gateway, "transport_factory", ClientTransport)


def _fresh(request):
    with scope(account=request.account):
        return CallbackRequest.objects.select_related("queue_entry").get(pk=request.pk)


def _offers(account, **filters):
    with scope(account=account):
        return list(Offer.objects.filter(account=account, **filters).order_by("created_at", "pk"))


def _open_offers(account):
    """The open offers, after a pass (creating a request already woke one, after commit)."""
    route_now(account)
    return _offers(account, state=Offer.State.OFFERED)


def _act(service, account, **kwargs):
    with scope(account=account):
        return service(account=account, **kwargs)


def _supervisor(account, user):
    with scope(account=account):
        Membership.objects.filter(account=account, user=user).update(supervisor=True)


# --- cancel -----------------------------------------------------------------------------
def test_cancel_closes_the_entry_withdraws_the_offer_and_comments_the_reason(acme, alice, bob, main_line):
    # SPEC S2: cancel with a reason → cancelled, the reason an internal comment on its (new) ticket.
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550121")
    [offer] = _open_offers(acme)
    cancelled = _act(supervision.callback_cancel, acme, request_id=request.pk, actor=alice,
                     reason="The customer called back by email.")
    assert cancelled.state == Request.CANCELLED
    assert cancelled.outcome == CallbackRequest.Outcome.CANCELLED
    assert cancelled.cancelled_by == CallbackRequest.CancelledBy.SUPERVISOR
    assert cancelled.cancel_reason == "The customer called back by email."
    fresh = _fresh(request)
    assert fresh.queue_entry.state == QueueEntry.State.CANCELLED
    assert fresh.ended_at is not None
    with scope(account=acme):
        assert Offer.objects.get(pk=offer.pk).state == Offer.State.WITHDRAWN
        comments = list(Comment.objects.filter(ticket_id=fresh.ticket_id).values_list("body", "public"))
        assert any("The customer called back by email." in body and not public for body, public in comments)
        entry = AuditEntry.objects.get(action="callback_request.cancel", target_id=str(request.pk))
        assert entry.actor == alice
    assert _open_offers(acme) == []  # never offered again


def test_cancel_by_the_caller_needs_no_reason(acme, main_line):
    # SPEC C13: the caller's own cancel (actor None, by caller).
    request = waiting_callback(main_line, "+14155550122")
    done = _act(supervision.callback_cancel, acme, request_id=request.pk, actor=None, reason="",
                by=CallbackRequest.CancelledBy.CALLER)
    assert done.cancelled_by == CallbackRequest.CancelledBy.CALLER
    assert done.state == Request.CANCELLED


def test_cancel_refusals_change_nothing(acme, alice, bob, main_line):
    request = waiting_callback(main_line, "+14155550123")
    with pytest.raises(ServiceError) as refused:  # an agent is not a supervisor
        _act(supervision.callback_cancel, acme, request_id=request.pk, actor=bob, reason="no")
    assert refused.value.code == "read_only"
    with pytest.raises(ServiceError) as refused:
        _act(supervision.callback_cancel, acme, request_id=request.pk, actor=alice, reason="  ")
    assert refused.value.field == "reason"
    assert _fresh(request).state == Request.PENDING
    _supervisor(acme, bob)  # an agent made supervisor may (SPEC S1)
    assert _act(supervision.callback_cancel, acme, request_id=request.pk, actor=bob, reason="dup").state == Request.CANCELLED
    with pytest.raises(ServiceError) as refused:  # no longer pending: 409
        _act(supervision.callback_cancel, acme, request_id=request.pk, actor=alice, reason="again")
    assert refused.value.code == "conflict"
    with scope(account=acme):
        assert AuditEntry.objects.filter(action="callback_request.cancel").count() == 1


def test_an_accepted_request_cannot_be_cancelled_or_changed(acme, alice, bob, main_line):
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550124")
    [offer] = _open_offers(acme)
    with scope(account=acme):
        offer_services.offer_accept(account=acme, offer_id=offer.pk, agent=bob)
    later = timezone.now() + timedelta(hours=1)
    for service, kwargs in (
        (supervision.callback_cancel, {"reason": "late"}),
        (supervision.callback_assign, {"assignee_id": alice.pk}),
        (supervision.callback_reschedule, {"scheduled_for": later}),
        (supervision.callback_move, {"group_ids": []}),
    ):
        with pytest.raises(ServiceError) as refused:
            _act(service, acme, request_id=request.pk, actor=alice, **kwargs)
        assert refused.value.code == "conflict", service
    fresh = _fresh(request)
    assert fresh.state == Request.IN_PROGRESS
    assert fresh.assignee_id is None and fresh.scheduled_for is None


# --- schedule (R16) ------------------------------------------------------------------------
def test_a_scheduled_callback_leaves_the_queue_until_its_time_then_goes_first(acme, alice, bob, main_line):
    # SPEC R16: out of the queue until its time, then offered ahead of earlier callers.
    older = waiting_callback(main_line, "+14155550131", minutes_ago=30)
    scheduled = waiting_callback(main_line, "+14155550132", minutes_ago=5)
    when = timezone.now() + timedelta(minutes=10)
    done = _act(supervision.callback_reschedule, acme, request_id=scheduled.pk, actor=alice, scheduled_for=when)
    assert done.scheduled_for == when
    assert done.expires_at == when + timedelta(minutes=main_line.callback_expiry_minutes)  # expiry from its time
    set_presence(acme, bob, ONLINE)
    [first] = _open_offers(acme)
    assert first.entry_id == older.queue_entry_id  # the scheduled one is not routable yet
    with scope(account=acme):
        offer_services.offer_decline(account=acme, offer_id=first.pk, agent=bob)
    dave = make_member(acme, "dave@acme.test", "Dave", "agent")
    set_presence(acme, dave, ONLINE)
    # At its time it goes ahead of the older one (R16), though that one waited longer.
    offers = route_now(acme, now=when + timedelta(seconds=1))
    assert [o.entry_id for o in offers] == [scheduled.queue_entry_id]


def test_reschedule_refuses_past_and_far_times(acme, alice, main_line):
    request = waiting_callback(main_line, "+14155550133")
    for when, message in ((timezone.now() - timedelta(minutes=1), supervision.PAST_TIME_MESSAGE),
                          (timezone.now() + timedelta(days=31), supervision.TOO_FAR_MESSAGE)):
        with pytest.raises(ServiceError) as refused:
            _act(supervision.callback_reschedule, acme, request_id=request.pk, actor=alice, scheduled_for=when)
        assert (refused.value.field, refused.value.message) == ("scheduled_for", message)
    assert _fresh(request).scheduled_for is None


def test_an_agent_calls_later_from_an_offer_and_gets_it_assigned(acme, bob, main_line):
    # Issue 16 item 4: "Call later" on an offer → scheduled, assigned to that agent.
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550134")
    [offer] = _open_offers(acme)
    when = timezone.now() + timedelta(minutes=5)
    done = _act(supervision.callback_reschedule, acme, request_id=request.pk, actor=bob, scheduled_for=when)
    assert (done.scheduled_for, done.assignee_id) == (when, bob.pk)
    with scope(account=acme):
        assert Offer.objects.get(pk=offer.pk).state == Offer.State.WITHDRAWN
    assert _open_offers(acme) == []
    [again] = route_now(acme, now=when + timedelta(seconds=2))
    assert again.agent_id == bob.pk


def test_an_agent_may_not_reschedule_what_is_not_theirs(acme, bob, main_line):
    request = waiting_callback(main_line, "+14155550135")
    with pytest.raises(ServiceError) as refused:
        _act(supervision.callback_reschedule, acme, request_id=request.pk, actor=bob,
             scheduled_for=timezone.now() + timedelta(minutes=5))
    assert refused.value.code == "read_only"
    assert _fresh(request).scheduled_for is None


def test_an_agent_calls_later_after_no_answer(acme, bob, main_line):
    # Issue 16 item 4: after a no-answer the failed request becomes a scheduled one for that agent.
    request = waiting_callback(main_line, "+14155550136")
    now = timezone.now()
    with scope(account=acme):
        QueueEntry.objects.filter(pk=request.queue_entry_id).update(state=QueueEntry.State.SERVED, left_at=now)
        CallbackRequest.objects.filter(pk=request.pk).update(
            state=Request.FAILED, outcome=CallbackRequest.Outcome.NO_ANSWER, ended_at=now, accepted_by=bob)
        CallbackAttempt.objects.create(account=acme, request=request, number=1, agent=bob, scheduled_for=now,
                                       status=CallbackAttempt.Status.NO_ANSWER, ended_at=now)
    when = now + timedelta(hours=1)
    done = _act(supervision.callback_reschedule, acme, request_id=request.pk, actor=bob, scheduled_for=when)
    fresh = _fresh(request)
    assert (done.state, fresh.queue_entry.state) == (Request.PENDING, QueueEntry.State.WAITING)
    assert (fresh.assignee_id, fresh.scheduled_for, fresh.outcome, fresh.ended_at) == (bob.pk, when, "", None)


# --- assign (R15) --------------------------------------------------------------------------
def test_the_assignee_is_offered_it_alone_for_the_offer_time_then_anyone(acme, alice, bob, main_line):
    dave = make_member(acme, "dave@acme.test", "Dave", "agent")
    request = waiting_callback(main_line, "+14155550141")
    done = _act(supervision.callback_assign, acme, request_id=request.pk, actor=alice, assignee_id=dave.pk)
    assert done.assignee_id == dave.pk and done.assigned_at is not None
    set_presence(acme, bob, ONLINE)
    assert _open_offers(acme) == []  # only dave, who is offline, during the window
    window_end = done.assigned_at + timedelta(seconds=main_line.callback_offer_seconds)
    [offer] = route_now(acme, now=window_end + timedelta(seconds=1))
    assert offer.agent_id == bob.pk


def test_assigning_withdraws_another_agents_offer_and_offers_the_assignee(acme, alice, bob, main_line):
    dave = make_member(acme, "dave@acme.test", "Dave", "agent")
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550142")
    [offer] = _open_offers(acme)
    assert offer.agent_id == bob.pk
    set_presence(acme, dave, ONLINE)
    _act(supervision.callback_assign, acme, request_id=request.pk, actor=alice, assignee_id=dave.pk)
    with scope(account=acme):
        assert Offer.objects.get(pk=offer.pk).state == Offer.State.WITHDRAWN
    [again] = _open_offers(acme)
    assert again.agent_id == dave.pk


def test_assign_refuses_an_agent_of_another_account_like_a_missing_one(acme, globex, alice, charlie, main_line):
    request = waiting_callback(main_line, "+14155550143")
    messages = []
    for assignee_id in (charlie.pk, 2**53 + 17):
        with pytest.raises(ServiceError) as refused:
            _act(supervision.callback_assign, acme, request_id=request.pk, actor=alice, assignee_id=assignee_id)
        messages.append((refused.value.field, refused.value.message, refused.value.code))
    assert messages[0] == messages[1] == ("assignee_id", supervision.ASSIGNEE_UNKNOWN_MESSAGE, "invalid")
    assert _fresh(request).assignee_id is None


# --- move ----------------------------------------------------------------------------------
def test_move_to_another_line_and_groups_reroutes(acme, alice, bob, main_line):
    dave = make_member(acme, "dave@acme.test", "Dave", "agent")
    other = make_line(acme, name="Sales", number="+14155550177")
    with scope(account=acme):
        sales = core.group_create(account=acme, actor=None, name="Sales")
        core.group_membership_create(account=acme, actor=None, group_id=sales.pk, user_id=dave.pk)
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550151")
    [offer] = _open_offers(acme)
    assert offer.agent_id == bob.pk
    set_presence(acme, dave, ONLINE)
    moved = _act(supervision.callback_move, acme, request_id=request.pk, actor=alice, line_id=other.pk,
                 group_ids=[sales.pk])
    fresh = _fresh(request)
    assert (moved.line_id, fresh.queue_entry.line_id) == (other.pk, other.pk)
    assert fresh.queue_entered_at == request.queue_entered_at  # keeps its place
    [again] = _open_offers(acme)
    assert again.agent_id == dave.pk  # only the Sales group now


def test_move_refuses_another_accounts_line_or_group_like_a_missing_one(acme, globex, alice, main_line):
    foreign_line = make_line(globex, name="Globex line", number="+14155550188")
    with scope(account=globex):
        foreign_group = core.group_create(account=globex, actor=None, name="Theirs")
    request = waiting_callback(main_line, "+14155550152")
    for kwargs, field in (({"line_id": foreign_line.pk}, "phone_number_id"), ({"line_id": 2**53 + 5}, "phone_number_id"),
                          ({"group_ids": [foreign_group.pk]}, "group_ids"), ({"group_ids": [2**53 + 5]}, "group_ids")):
        with pytest.raises(ServiceError) as refused:
            _act(supervision.callback_move, acme, request_id=request.pk, actor=alice, **kwargs)
        assert (refused.value.field, refused.value.code) == (field, "invalid")
    fresh = _fresh(request)
    assert fresh.line_id == main_line.pk


# --- races (PostgreSQL) --------------------------------------------------------------------
RACING_ACTIONS = {
    "cancel": (supervision.callback_cancel, lambda: {"reason": "race"}, Request.CANCELLED),
    "reschedule": (supervision.callback_reschedule,
                   lambda: {"scheduled_for": timezone.now() + timedelta(hours=1)}, Request.PENDING),
}


@needs_postgresql()
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", sorted(RACING_ACTIONS))
def test_an_action_racing_an_accept_has_one_winner(action):  # SPEC S2: re-checked, raced against routing
    service, arguments, after = RACING_ACTIONS[action]
    account = make_account("race16")
    admin = make_member(account, "admin@race16.test", "Admin", "admin")
    agent = make_member(account, "agent@race16.test", "Agent", "agent")
    line = make_line(account)
    set_presence(account, agent, ONLINE)
    for round_ in range(6):
        request = waiting_callback(line, f"+1415555{round_:04d}")
        offers = _open_offers(account)
        assert len(offers) == 1
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def cancel():
            barrier.wait()
            try:
                _act(service, account, request_id=request.pk, actor=admin, **arguments())
                results["cancel"] = "ok"
            except ServiceError as error:
                results["cancel"] = error.code
            finally:
                connection.close()

        def accept():
            barrier.wait()
            try:
                with scope(account=account):
                    offer_services.offer_accept(account=account, offer_id=offers[0].pk, agent=agent)
                results["accept"] = "ok"
            except ServiceError as error:
                results["accept"] = error.code
            finally:
                connection.close()

        threads = [threading.Thread(target=cancel), threading.Thread(target=accept)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        fresh = _fresh(request)
        if results["cancel"] == "ok":
            assert results["accept"] == "offer_gone"
            assert fresh.state == after
            with scope(account=account):
                assert not Offer.objects.filter(entry_id=request.queue_entry_id, state=Offer.State.ACCEPTED).exists()
            if after == Request.PENDING:  # out of the queue until its time: next round's number is free
                with scope(account=account):
                    CallbackRequest.objects.filter(pk=request.pk).update(state=Request.EXPIRED)
                    QueueEntry.objects.filter(pk=request.queue_entry_id).update(state=QueueEntry.State.CANCELLED)
        else:
            assert (results["cancel"], results["accept"]) == ("conflict", "ok")
            assert fresh.state not in (Request.PENDING, Request.CANCELLED)  # accepted (and maybe called already)
            assert fresh.queue_entry.state == QueueEntry.State.SERVED
            with scope(account=account):  # free the agent for the next round
                AgentPresence.objects.filter(user=agent).update(busy=False, busy_attempt=None, busy_call=None)
                CallbackRequest.objects.filter(pk=request.pk, state=Request.IN_PROGRESS).update(state=Request.COMPLETED)


# --- the router's wake-up times (R15, R16) ---------------------------------------------------
def test_the_router_learns_when_a_callback_becomes_due_or_a_turn_ends(acme, alice, bob, main_line):
    from talk.selectors.routing import supervision_due_accounts, supervision_next_time

    now = timezone.now()
    request = waiting_callback(main_line, "+14155550191")
    assert supervision_next_time(now) is None
    when = now + timedelta(minutes=10)
    _act(supervision.callback_reschedule, acme, request_id=request.pk, actor=alice, scheduled_for=when)
    assert supervision_next_time(now) == when
    assert supervision_due_accounts(now, when - timedelta(seconds=1)) == set()
    assert supervision_due_accounts(now, when) == {acme.pk}
    done = _act(supervision.callback_assign, acme, request_id=request.pk, actor=alice, assignee_id=bob.pk)
    turn_ends = when + timedelta(seconds=main_line.callback_offer_seconds)  # from its time, later than the assignment
    assert done.assigned_at < when
    assert supervision_next_time(when) == turn_ends
    assert supervision_due_accounts(when, turn_ends) == {acme.pk}
    assert supervision_due_accounts(turn_ends, turn_ends + timedelta(minutes=1)) == set()


def test_due_scheduled_callbacks_go_by_their_time(acme, alice, bob, main_line):  # SPEC R16
    first = waiting_callback(main_line, "+14155550192", minutes_ago=20)
    second = waiting_callback(main_line, "+14155550193", minutes_ago=10)
    live_order = waiting_callback(main_line, "+14155550194", minutes_ago=30)
    now = timezone.now()
    _act(supervision.callback_reschedule, acme, request_id=first.pk, actor=alice, scheduled_for=now + timedelta(minutes=6))
    _act(supervision.callback_reschedule, acme, request_id=second.pk, actor=alice, scheduled_for=now + timedelta(minutes=5))
    set_presence(acme, bob, ONLINE)
    later = now + timedelta(minutes=7)
    order = []
    for _ in range(3):
        [offer] = route_now(acme, now=later)
        order.append(offer.entry_id)
        with scope(account=acme):
            offer_services.offer_decline(account=acme, offer_id=offer.pk, agent=bob)
    # Due ones by their time (second was promised earlier), then the queue by its place.
    assert order == [second.queue_entry_id, first.queue_entry_id, live_order.queue_entry_id]


def test_a_supervisor_holding_the_offer_calls_later_for_themselves(acme, bob, main_line):
    _supervisor(acme, bob)
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550195")
    _open_offers(acme)
    done = _act(supervision.callback_reschedule, acme, request_id=request.pk, actor=bob,
                scheduled_for=timezone.now() + timedelta(minutes=5))
    assert done.assignee_id == bob.pk
