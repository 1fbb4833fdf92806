"""'Call later' from the agent console (issue 16 item 4; SPEC R16, R15): on a callback offered
to the agent, or one they just could not reach, the agent picks a time in the account's zone;
the callback leaves the queue until then, assigned to them. Through the console's endpoint."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_scopes import scope

from supportcenter.models import AuditEntry
from talk.console.views import CALL_LATER_GONE_MESSAGE, TIME_FORMAT_MESSAGE
from talk.models import CallbackRequest, Offer, QueueEntry
from talk.selectors.queue import routable_q
from talk.services.offers import offer_accept, offer_decline
from talk.services.supervision import PAST_TIME_MESSAGE, TOO_FAR_MESSAGE
from tests.conftest import page_client
from tests.isolation import missing_id
from tests.talk.test_console_support import inline_tasks, offered_callback  # noqa: F401
from tickets.models import Comment

pytestmark = pytest.mark.usefixtures("inline_tasks")

PAGE = "/talk/console/"
CALL_LATER = "/talk/console/call-later.json"
STATE = "/talk/console/state.json"
PARIS = ZoneInfo("Europe/Paris")
NO_ANSWER_NUMBER = "+14155550404"  # the simulated customer does not answer (callsim.engine.dial_policy)


@pytest.fixture
def paris(acme):
    acme.time_zone = "Europe/Paris"
    acme.save(update_fields=["time_zone"])
    return acme


def call_later(client, request_id, when: str, **extra):
    client.get(PAGE)  # the CSRF cookie, as the page's script has it
    return client.post(CALL_LATER, data=json.dumps({"callback_request_id": request_id, "scheduled_for": when, **extra}),
                       content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def wall(moment: datetime, zone: ZoneInfo = PARIS) -> str:
    """What the page's datetime-local field sends: the wall time in the account's zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def fresh(account, request_id: int) -> CallbackRequest:
    with scope(account=account):
        return CallbackRequest.objects.select_related("queue_entry").get(pk=request_id)


def offer_state(account, offer: Offer) -> str:
    with scope(account=account):
        return Offer.objects.get(pk=offer.pk).state


def test_it_schedules_the_offered_callback_in_the_accounts_zone_for_the_agent(
        bob_client, paris, main_line, bob):  # SPEC R16, R15
    offer = offered_callback(paris, main_line, bob)
    request_id = offer.entry.callback_request.pk
    tomorrow_ten = (timezone.now().astimezone(PARIS) + timedelta(days=1)).replace(hour=10, minute=0, second=0,
                                                                                 microsecond=0)
    response = call_later(bob_client, request_id, wall(tomorrow_ten))
    assert response.status_code == 200, response.content
    assert response.json()["callback_request"] == {
        "id": request_id, "number": "+14155550111", "state": "pending",
        "scheduled_for": tomorrow_ten.isoformat(), "assignee_id": bob.pk,
    }
    request = fresh(paris, request_id)
    assert (request.state, request.scheduled_for, request.assignee_id) == ("pending", tomorrow_ten, bob.pk)
    assert offer_state(paris, offer) == Offer.State.WITHDRAWN  # the offer goes away
    state = bob_client.get(STATE).json()
    assert state["offer"] is None
    assert state["scheduled"] == [{"callback_request_id": request_id, "number": "+14155550111",
                                   "line": {"id": main_line.pk, "name": "Main line"},
                                   "scheduled_for": tomorrow_ten.isoformat()}]
    with scope(account=paris):
        assert not QueueEntry.objects.filter(routable_q(), pk=request.queue_entry_id).exclude(
            callback_request__scheduled_for__gt=timezone.now()).exists()  # out of the queue until its time
        [audit] = AuditEntry.objects.filter(action="callback_request.reschedule")
        assert audit.actor_id == bob.pk and audit.data["call_later"] is True
        note = Comment.objects.filter(ticket_id=request.ticket_id).order_by("created_at", "pk").last().body
    assert f"scheduled the callback to +14155550111 for {tomorrow_ten:%Y-%m-%d} 10:00 Europe/Paris time" in note


def test_an_offset_is_honoured_and_the_assignment_can_be_declined(bob_client, acme, main_line, bob):  # SPEC R16
    offer = offered_callback(acme, main_line, bob)
    request_id = offer.entry.callback_request.pk
    when = (timezone.now() + timedelta(hours=1)).replace(microsecond=0).astimezone(ZoneInfo("Asia/Tokyo"))
    response = call_later(bob_client, request_id, when.isoformat(), assign_to_me=False)
    assert response.status_code == 200, response.content
    request = fresh(acme, request_id)
    assert request.scheduled_for == when and request.assignee_id is None


@pytest.mark.parametrize("when, status, field, message", [
    (lambda now: wall(now - timedelta(minutes=5)), 422, "scheduled_for", PAST_TIME_MESSAGE),
    (lambda now: wall(now + timedelta(days=31)), 422, "scheduled_for", TOO_FAR_MESSAGE),
    (lambda now: "tomorrow at ten", 422, "scheduled_for", TIME_FORMAT_MESSAGE),
    (lambda now: "2026-02-30T10:00", 422, "scheduled_for", TIME_FORMAT_MESSAGE),
])
def test_a_refused_time_says_why_and_changes_nothing(bob_client, paris, main_line, bob, when, status, field,
                                                     message):  # SPEC R16
    offer = offered_callback(paris, main_line, bob)
    request_id = offer.entry.callback_request.pk
    response = call_later(bob_client, request_id, when(timezone.now()))
    assert response.status_code == status, response.content
    assert response.json()["details"][field][0]["description"] == message
    request = fresh(paris, request_id)
    assert request.scheduled_for is None and request.assignee_id is None
    assert offer_state(paris, offer) == Offer.State.OFFERED


@pytest.mark.parametrize("body, field", [
    ({"scheduled_for": "2030-01-01T10:00"}, "callback_request_id"),
    ({"callback_request_id": 1}, "scheduled_for"),
    ({"callback_request_id": "1", "scheduled_for": "2030-01-01T10:00"}, "callback_request_id"),
    ({"callback_request_id": 1, "scheduled_for": 1893456000}, "scheduled_for"),
])
def test_a_malformed_body_is_400_naming_the_field(bob_client, acme, bob, body, field):
    bob_client.get(PAGE)
    response = bob_client.post(CALL_LATER, data=json.dumps(body), content_type="application/json",
                               HTTP_X_CSRFTOKEN=bob_client.cookies["csrftoken"].value)
    assert response.status_code == 400 and field in response.json()["details"]


def test_a_callback_no_longer_offered_to_the_agent_is_409_and_unchanged(bob_client, acme, main_line, bob):  # SPEC R16
    offer = offered_callback(acme, main_line, bob)
    request_id = offer.entry.callback_request.pk
    with scope(account=acme):
        offer_decline(account=acme, offer_id=offer.pk, agent=bob)
    response = call_later(bob_client, request_id, wall(timezone.now() + timedelta(hours=1)))
    assert response.status_code == 409
    assert response.json()["description"] == CALL_LATER_GONE_MESSAGE
    assert fresh(acme, request_id).scheduled_for is None


def test_another_agents_or_accounts_callback_is_not_found(acme, globex, main_line, bob, dave, charlie):  # SPEC T3
    offer = offered_callback(acme, main_line, bob)
    request_id = offer.entry.callback_request.pk
    when = wall(timezone.now() + timedelta(hours=1))
    for client in (page_client(globex, charlie), page_client(acme, dave)):
        client.get(PAGE)
        token = client.cookies["csrftoken"].value
        foreign = client.post(CALL_LATER, data=json.dumps({"callback_request_id": request_id, "scheduled_for": when}),
                              content_type="application/json", HTTP_X_CSRFTOKEN=token)
        missing = client.post(CALL_LATER, data=json.dumps({"callback_request_id": missing_id(), "scheduled_for": when}),
                              content_type="application/json", HTTP_X_CSRFTOKEN=token)
        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content
    assert fresh(acme, request_id).scheduled_for is None
    assert offer_state(acme, offer) == Offer.State.OFFERED


def test_it_needs_a_signed_in_member_and_the_csrf_header(acme, bob):
    from django.test import Client

    from tests.conftest import host_of

    anonymous = Client(HTTP_HOST=host_of(acme))
    body = json.dumps({"callback_request_id": 1, "scheduled_for": "2030-01-01T10:00"})
    assert anonymous.post(CALL_LATER, data=body, content_type="application/json").status_code == 401
    browser = Client(HTTP_HOST=host_of(acme), enforce_csrf_checks=True)
    browser.force_login(bob)
    assert browser.post(CALL_LATER, data=body, content_type="application/json").status_code == 403


# --- After a callback the agent could not reach ---------------------------------------------
def _not_reached(account, line, agent, capture) -> int:
    """bob accepts a callback whose customer does not answer (the simulated carrier, end to end)."""
    offer = offered_callback(account, line, agent, number=NO_ANSWER_NUMBER)
    with scope(account=account), capture(execute=True):  # the dialer's job runs on commit
        offer_accept(account=account, offer_id=offer.pk, agent=agent)
    request_id = offer.entry.callback_request.pk
    request = fresh(account, request_id)
    assert (request.state, request.outcome) == ("failed", "no_answer"), (request.state, request.outcome)
    return request_id


def test_a_callback_the_agent_could_not_reach_can_be_called_later(
        bob_client, paris, globex, main_line, bob, charlie, django_capture_on_commit_callbacks):  # SPEC R16
    request_id = _not_reached(paris, main_line, bob, django_capture_on_commit_callbacks)
    assert page_client(globex, charlie).get(STATE).json()["not_reached"] == []  # T3
    [item] = bob_client.get(STATE).json()["not_reached"]
    assert (item["callback_request_id"], item["number"], item["result"], item["result_label"]) == (
        request_id, NO_ANSWER_NUMBER, "no_answer", "No answer")
    in_an_hour = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    response = call_later(bob_client, request_id, wall(in_an_hour))
    assert response.status_code == 200, response.content
    request = fresh(paris, request_id)
    assert (request.state, request.outcome, request.scheduled_for, request.assignee_id) == (
        "pending", "", in_an_hour, bob.pk)
    assert request.queue_entry.state == QueueEntry.State.WAITING
    assert bob_client.get(STATE).json()["not_reached"] == []


def test_only_the_agent_who_tried_may_call_it_later(paris, main_line, bob, dave,
                                                   django_capture_on_commit_callbacks):  # SPEC R16, T3
    request_id = _not_reached(paris, main_line, bob, django_capture_on_commit_callbacks)
    dave_client = page_client(paris, dave)
    assert dave_client.get(STATE).json()["not_reached"] == []
    response = call_later(dave_client, request_id, wall(timezone.now() + timedelta(hours=1)))
    assert response.status_code == 404
    assert fresh(paris, request_id).state == "failed"


def test_the_window_to_call_later_closes(bob_client, paris, main_line, bob,
                                         django_capture_on_commit_callbacks):  # SPEC R16
    from talk.models import CallbackAttempt
    from talk.services.supervision import CALL_LATER_WINDOW

    request_id = _not_reached(paris, main_line, bob, django_capture_on_commit_callbacks)
    with scope(account=paris):
        CallbackAttempt.objects.filter(request_id=request_id).update(
            ended_at=timezone.now() - CALL_LATER_WINDOW - timedelta(seconds=1))
    assert bob_client.get(STATE).json()["not_reached"] == []
    response = call_later(bob_client, request_id, wall(timezone.now() + timedelta(hours=1)))
    assert response.status_code == 409 and fresh(paris, request_id).state == "failed"
