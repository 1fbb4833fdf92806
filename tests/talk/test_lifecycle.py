"""The call and callback lifecycle, one defect of issue 10 at a time (SPEC R1, R2, C7, C8, C15).

Calls are placed with the real call simulator against the real webhooks; routing runs
real passes; the only thing not real is Twilio's cloud (a fake HTTP transport under
the real ``twilio`` client) where a provider must refuse.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scope

from dashboards.selectors import current_queue_activity
from supportcenter.errors import ServiceError
from supportcenter.models import AuditEntry
from talk import greetings_catalog as catalog
from talk import lifecycle
from talk.models import AgentPresence, Call, CallbackAttempt, CallbackRequest, Offer, QueueEntry
from talk.services.callback_requests import callback_agent_answered, callback_request_confirm, callback_request_create
from talk.services.offers import offer_accept
from talk.services.reconcile import agents_reconcile
from talk.services.telephony import telephony_settings_update
from talk.telephony import twilio_gateway
from tickets.models import Comment
from tests.talk.calls_support import CALLER, Phone, calls_of, requests_of
from tests.talk.test_console_support import inline_tasks, route  # noqa: F401
from tests.talk.test_telephony_twilio import SID, TOKEN, FakeTwilioCloud

pytestmark = pytest.mark.usefixtures("bob_online", "inline_tasks")

OTHER = "+14155550122"


def presence(account, user) -> AgentPresence:
    with scope(account=account):
        return AgentPresence.objects.get(account=account, user=user)


def accept(account, offer: Offer, agent, capture) -> Offer:
    with scope(account=account), capture(execute=True):
        return offer_accept(account=account, offer_id=offer.pk, agent=agent)


def entry_of(account, record: Call) -> QueueEntry:
    with scope(account=account):
        return QueueEntry.objects.get(call=record)


def waiting_figures(account) -> tuple[int, int]:
    with scope(account=account):
        figures = current_queue_activity(account=account)
    return figures["calls_waiting"], figures["callbacks_waiting"]


def said(category: str) -> str:
    return catalog.TEXTS[category]["en"].replace("{key}", "2")


def use_twilio(account, cloud: FakeTwilioCloud, monkeypatch) -> None:
    monkeypatch.setattr(twilio_gateway, "http_client_factory", lambda: cloud)
    with scope(account=account):
        telephony_settings_update(account=account, actor=None, provider="twilio", twilio_account_sid=SID,
                                  twilio_auth_token=TOKEN)


# --- defect 1: busy ends when the agent's call ends, whatever its kind (R1) ---------------
def test_it_frees_the_agent_when_the_live_call_they_took_ends(phone, acme, bob, django_capture_on_commit_callbacks):  # SPEC R1
    call = phone.queued()
    [offer] = route(acme)
    assert offer.kind == QueueEntry.Kind.LIVE
    accept(acme, offer, bob, django_capture_on_commit_callbacks)
    [record] = calls_of(acme)
    busy = presence(acme, bob)
    assert (busy.busy, busy.busy_call_id) == (True, record.pk)
    phone.hangup(call)  # the caller and the agent talked; the call ends
    assert presence(acme, bob).busy is False
    phone.queued(from_=OTHER)
    [second] = route(acme)
    assert second.agent_id == bob.pk  # routing goes on: the agent takes the next caller


def test_it_frees_the_agent_at_once_when_connecting_fails(acme, main_line, bob, monkeypatch,
                                                           django_capture_on_commit_callbacks):  # SPEC R1, R5
    cloud = FakeTwilioCloud(status=404, body={"code": 20404, "message": "The requested resource was not found",
                                              "status": 404})
    use_twilio(acme, cloud, monkeypatch)
    phone = Phone(main_line)  # signs with the Twilio token now
    call = phone.queued()
    [offer] = route(acme)
    accept(acme, offer, bob, django_capture_on_commit_callbacks)
    assert [r["method"] for r in cloud.requests] == ["POST"]  # the redirect, refused
    assert presence(acme, bob).busy is False
    [record] = calls_of(acme)
    assert entry_of(acme, record).state == QueueEntry.State.WAITING  # still holding: back at their place
    assert (record.answered_by_id, record.outcome) == (None, "")
    route(acme)  # (the failure's own wake-up may have routed already)
    with scope(account=acme):
        again = Offer.objects.get(state=Offer.State.OFFERED)
    assert again.entry_id == offer.entry_id and again.kind == QueueEntry.Kind.LIVE
    assert call.in_queue


def test_a_late_status_of_an_earlier_call_does_not_free_the_agent_from_the_next(
        phone, acme, bob, django_capture_on_commit_callbacks):  # SPEC R1, C10
    from talk.services.calls import call_ended

    first = phone.queued()
    accept(acme, route(acme)[0], bob, django_capture_on_commit_callbacks)
    phone.hangup(first)
    phone.queued(from_=OTHER)
    accept(acme, route(acme)[0], bob, django_capture_on_commit_callbacks)
    with scope(account=acme):
        earlier = Call.objects.get(from_raw=CALLER)
        call_ended(call=earlier, status="completed", duration_seconds=5)  # the provider's retry
    assert presence(acme, bob).busy is True


# --- defect 2: an offer's kind matches its entry (R2) ----------------------------------
def test_a_caller_in_the_callback_menu_is_not_offered_as_a_live_call(phone, acme, main_line):  # SPEC R2, C1
    call = phone.queued()
    phone.press(call, "2")
    assert route(acme) == []
    phone.press(call, "1")
    assert route(acme) == []  # confirming: still not listening for an agent
    phone.press(call, "1")
    [offer] = route(acme)
    assert offer.kind == QueueEntry.Kind.CALLBACK
    # (pytest.approx compares timedeltas exactly: the two instants come from two clock reads.)
    offered_for = offer.expires_at - offer.created_at
    assert abs(offered_for - timedelta(seconds=main_line.callback_offer_seconds)) <= timedelta(seconds=1)


def test_an_open_live_offer_is_withdrawn_when_its_caller_asks_for_a_callback(phone, acme, bob):  # SPEC R2
    call = phone.queued()
    [offer] = route(acme)
    phone.press(call, "2")
    with scope(account=acme):
        assert Offer.objects.get(pk=offer.pk).state == Offer.State.WITHDRAWN
        with pytest.raises(ServiceError):
            offer_accept(account=acme, offer_id=offer.pk, agent=bob)
    phone.press(call, "3")  # back to the queue: a live caller again
    [again] = route(acme)
    assert again.kind == QueueEntry.Kind.LIVE
    phone.press(call, "2")
    phone.press(call, "11")
    [callback] = route(acme)
    assert callback.kind == QueueEntry.Kind.CALLBACK and callback.entry_id == offer.entry_id


# --- defect 3: nobody who left is counted as waiting (C15) ------------------------------
def _confirmed_callback(phone, from_: str = CALLER) -> None:
    call = phone.queued(from_)
    phone.press(call, "2")
    phone.press(call, "11")
    assert call.said()[-1] == said(catalog.REQUEST_CONFIRMED)


def test_a_caller_told_already_waiting_leaves_no_waiting_entry(phone, acme):  # SPEC C7, C15
    # In line before the same number asked for a callback on another call (calling in after
    # it, the caller is asked to keep or cancel it first: C13, tests/talk/test_caller_cancel.py).
    again = phone.queued()
    _confirmed_callback(phone)
    assert waiting_figures(acme) == (1, 1)
    phone.press(again, "2")
    phone.press(again, "11")
    assert again.said()[-1] == said(catalog.ALREADY_WAITING)
    assert waiting_figures(acme) == (0, 1)
    second = calls_of(acme)[0]
    assert second.outcome == Call.Outcome.ALREADY_WAITING
    assert entry_of(acme, second).state == QueueEntry.State.CANCELLED
    assert len(requests_of(acme)) == 1


def test_a_caller_with_a_pending_callback_who_presses_2_and_hangs_up_leaves_no_waiting_entry(phone, acme):  # SPEC C7, C8, C15
    again = phone.queued()  # in line before the other call's request (C13 asks those who call after)
    _confirmed_callback(phone)
    phone.press(again, "2")
    phone.hangup(again)
    assert waiting_figures(acme) == (0, 1)
    assert len(requests_of(acme)) == 1
    assert calls_of(acme)[0].outcome == Call.Outcome.ALREADY_WAITING


# --- defect 4: capture follows the caller's last choice (C8) ----------------------------
@pytest.mark.parametrize("steps, captured", [
    (["2"], CALLER),  # in the menu: the caller id
    (["2", "1"], CALLER),  # confirming the caller id
    (["2", "2", "0014155550123#"], "+14155550123"),  # a valid number, read back
    (["2", "3"], None),  # declined: back to the queue
    (["2", "w", "w", "w"], None),  # the menu timed out back to the queue
    (["2", "2", "0014"], None),  # typing a number not yet valid
    (["2", "2", "12#"], None),  # an invalid number, asked again
], ids=["menu", "confirming", "entered", "declined", "timed-out", "typing", "invalid"])
def test_a_hang_up_is_captured_at_the_callers_last_choice(phone, acme, steps, captured):  # SPEC C8
    call = phone.queued()
    for step in steps:
        phone.silence(call) if step == "w" else phone.press(call, step)
    phone.hangup(call)
    requests = requests_of(acme)
    assert [r.number for r in requests] == ([captured] if captured else [])
    assert all(r.confirmed is False for r in requests)
    assert waiting_figures(acme) == (0, 1 if captured else 0)


def test_a_hang_up_after_choosing_a_number_already_queued_changes_nothing(phone, acme, main_line):  # SPEC C7, C8
    with scope(account=acme):
        callback_request_create(line=main_line, number="+14155550123")
    call = phone.queued()
    phone.press(call, "2")
    phone.press(call, "2")
    phone.press(call, "0014155550123#")
    phone.hangup(call)
    assert [r.number for r in requests_of(acme)] == ["+14155550123"]
    assert waiting_figures(acme) == (0, 1)


# --- defect 7: a confirm after the call's end ------------------------------------------
def test_a_confirm_that_arrives_after_the_hang_up_confirms_the_captured_request(phone, acme):  # SPEC C6, C8, C10
    call = phone.queued()
    phone.press(call, "2")
    phone.press(call, "1")
    phone.hangup(call)  # the status callback came first: captured, unconfirmed
    with scope(account=acme):
        record = Call.objects.get()
        request, already = callback_request_confirm(call=record)
    assert (request.confirmed, already) == (True, False)
    assert requests_of(acme)[0].confirmed is True


def test_a_confirm_after_the_hang_up_makes_nothing_when_nothing_was_captured(phone, acme, main_line):  # SPEC C6, C8
    main_line.callback_capture_on_first_key = False
    main_line.save(update_fields=["callback_capture_on_first_key"])
    call = phone.queued()
    phone.press(call, "2")
    phone.press(call, "1")
    phone.hangup(call)
    with scope(account=acme):
        assert callback_request_confirm(call=Call.objects.get()) == (None, False)
    assert requests_of(acme) == []


# --- R1: the reconciliation frees what a lost provider event left busy ------------------
def bob_calls_back(acme, line, bob, monkeypatch, capture) -> tuple[CallbackRequest, CallbackAttempt]:
    """Bob accepted a callback through Twilio (faked): its first attempt rings his device."""
    use_twilio(acme, FakeTwilioCloud(), monkeypatch)
    with scope(account=acme):
        request = callback_request_create(line=line, number=OTHER)
    [offer] = route(acme)
    accept(acme, offer, bob, capture)
    with scope(account=acme):
        return request, CallbackAttempt.objects.get()


def test_the_reconciliation_gives_back_a_callback_whose_agent_leg_status_was_lost(
        acme, main_line, bob, monkeypatch, django_capture_on_commit_callbacks):  # SPEC R1, R6
    request, attempt = bob_calls_back(acme, main_line, bob, monkeypatch, django_capture_on_commit_callbacks)
    assert attempt.status == CallbackAttempt.Status.CALLING_AGENT and presence(acme, bob).busy_attempt_id == attempt.pk
    assert agents_reconcile(timezone.now() + timedelta(minutes=1)) == 0  # still ringing: busy
    assert agents_reconcile(timezone.now() + timedelta(minutes=3)) == 1  # no word for too long
    assert presence(acme, bob).busy is False
    with scope(account=acme):
        request.refresh_from_db()
        attempt.refresh_from_db()
        audit = AuditEntry.objects.get(action="agent_presence.reconcile")
    assert attempt.status == CallbackAttempt.Status.AGENT_UNREACHED and attempt.agent_leg_ended_at is not None
    assert request.state == CallbackRequest.State.PENDING  # back at its place (R6)
    assert audit.data == {"reason": "the agent's device never reported an answer"}


def test_the_reconciliation_closes_a_callback_whose_customer_result_never_came(
        acme, main_line, bob, monkeypatch, django_capture_on_commit_callbacks):  # SPEC R1, R10
    request, attempt = bob_calls_back(acme, main_line, bob, monkeypatch, django_capture_on_commit_callbacks)
    with scope(account=acme):
        callback_agent_answered(account=acme, attempt=attempt)  # then neither the dial's result nor the leg's end
    assert agents_reconcile(timezone.now() + timedelta(hours=3)) == 0  # a long call: still busy
    assert agents_reconcile(timezone.now() + timedelta(hours=5)) == 1
    assert presence(acme, bob).busy is False
    with scope(account=acme):
        request.refresh_from_db()
        attempt.refresh_from_db()
        notes = list(Comment.objects.filter(ticket_id=request.ticket_id).values_list("body", flat=True))
    assert (attempt.status, request.state, request.outcome) == ("failed", "failed", "failed")
    assert request.ended_at is not None  # not "calling back" for ever: in the agent's could-not-reach list
    assert any("was never heard from the provider" in note for note in notes), notes


def test_the_reconciliation_frees_an_agent_whose_call_ended_without_freeing_them(phone, acme, bob):  # SPEC R1
    call = phone.queued()
    phone.hangup(call)
    [record] = calls_of(acme)
    with scope(account=acme):
        AgentPresence.objects.filter(user=bob).update(busy=True, busy_call=record,
                                                      busy_since=timezone.now() - timedelta(minutes=5))
    assert agents_reconcile() == 1
    assert presence(acme, bob).busy is False
    assert agents_reconcile() == 0


# --- the lifecycle, written once ---------------------------------------------------------
def test_an_illegal_transition_is_refused():
    with pytest.raises(lifecycle.IllegalTransition):
        lifecycle.REQUEST.sources("bogus")
    with pytest.raises(lifecycle.IllegalTransition):
        lifecycle.OFFER.move(Offer.objects.none(), Offer.State.ACCEPTED, only_from=(Offer.State.DECLINED,))


def test_docs_lifecycle_lists_exactly_the_transitions_of_the_code():
    text = (Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md").read_text()
    for machine in lifecycle.LIFECYCLES:
        written = {
            tuple(part.strip(" `") for part in line.split("|")[2:4])
            for line in text.splitlines()
            if line.startswith(f"| {machine.name} |")
        }
        coded = {(source, target) for source, targets in machine.transitions.items() for target in targets}
        assert written == coded, machine.name
