"""The supervisors' callback actions over the API (SPEC S2, R15, R16; issue 16 item 3).

``POST callback_requests/{id}/cancel.json``, ``PUT callback_requests/{id}.json`` (assign,
reschedule, move), ``POST callback_requests.json`` with ``scheduled_for``/``assignee_id``, and
``GET callback_requests.json?state=&line_id=&scheduled=``. Admins and supervisors only;
another account's ids answer like missing ones; a request that moved on answers 409.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from supportcenter import services as core
from supportcenter.models import AuditEntry, Membership
from talk import routing
from talk.models import AgentPresence, CallbackRequest, Offer
from talk.services import offers as offer_services
from talk.services.callback_requests import callback_request_create
from tests.conftest import api_client, make_member
from tests.isolation import assert_isolated, missing_id
from tests.talk.calls_support import make_line, set_presence

BASE = "/api/v2/channels/voice/callback_requests"
LIST = f"{BASE}.json"


def _one(pk):
    return f"{BASE}/{pk}.json"


def _cancel(pk):
    return f"{BASE}/{pk}/cancel.json"


def _put(client, pk, fields):
    return client.put(_one(pk), data=json.dumps({"callback_request": fields}), content_type="application/json")


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def waiting(acme, main_line):
    with scope(account=acme):
        return callback_request_create(line=main_line, number="+14155550161")


def _fresh(request):
    with scope(account=request.account):
        return CallbackRequest.objects.get(pk=request.pk)


def _audits(account, action):
    with scope(account=account):
        return AuditEntry.objects.filter(account=account, action=action).count()


# --- cancel -----------------------------------------------------------------------------
def test_cancel_with_a_reason(alice_api, acme, waiting):  # SPEC S2
    response = _post(alice_api, _cancel(waiting.pk), {"reason": "Duplicate of an email ticket."})
    assert response.status_code == 200, response.content
    body = response.json()["callback_request"]
    assert (body["state"], body["outcome"], body["cancelled_by"]) == ("cancelled", "cancelled", "supervisor")
    assert body["cancel_reason"] == "Duplicate of an email ticket."
    again = _post(alice_api, _cancel(waiting.pk), {"reason": "Twice."})
    assert again.status_code == 409
    assert again.json()["error"] == "Conflict"
    assert _audits(acme, "callback_request.cancel") == 1


def test_cancel_input_errors_write_nothing(alice_api, acme, waiting):
    malformed = _post(alice_api, _cancel(waiting.pk), {"reason": 5})
    assert malformed.status_code == 400 and "reason" in malformed.json()["details"]
    assert _post(alice_api, _cancel(waiting.pk), {}).status_code == 400
    blank = _post(alice_api, _cancel(waiting.pk), {"reason": "   "})
    assert blank.status_code == 422 and "reason" in blank.json()["details"]
    too_long = _post(alice_api, _cancel(waiting.pk), {"reason": "x" * 1001})
    assert too_long.status_code == 422 and "reason" in too_long.json()["details"]
    assert _fresh(waiting).state == "pending"


def test_agents_may_not_act_but_supervisors_may(bob_api, acme, bob, waiting):  # SPEC S1: the supervisor role
    assert _post(bob_api, _cancel(waiting.pk), {"reason": "no"}).status_code == 403
    assert _put(bob_api, waiting.pk, {"scheduled_for": None}).status_code == 403
    assert bob_api.get(LIST).status_code == 403
    with scope(account=acme):
        Membership.objects.filter(account=acme, user=bob).update(supervisor=True)
    assert bob_api.get(LIST).status_code == 200
    assert _post(bob_api, _cancel(waiting.pk), {"reason": "Asked by phone."}).status_code == 200


def test_another_accounts_request_answers_like_a_missing_one(charlie_api, waiting):  # SPEC T3
    assert_isolated(charlie_api, _cancel(waiting.pk), _cancel(missing_id()), method="post", data={"reason": "x"})
    assert_isolated(charlie_api, _one(waiting.pk), _one(missing_id()), method="put",
                    data={"callback_request": {"assignee_id": None}})
    assert_isolated(charlie_api, _one(waiting.pk), _one(missing_id()))
    assert _fresh(waiting).state == "pending"


def test_an_accepted_request_answers_409(alice_api, acme, bob, waiting):  # SPEC S2: raced against routing
    set_presence(acme, bob, AgentPresence.Status.ONLINE)
    with scope(account=acme):
        routing.route_account(acme)
        offer = Offer.objects.get(entry_id=waiting.queue_entry_id, state=Offer.State.OFFERED)
        offer_services.offer_accept(account=acme, offer_id=offer.pk, agent=bob)
    for response in (_post(alice_api, _cancel(waiting.pk), {"reason": "late"}),
                     _put(alice_api, waiting.pk, {"scheduled_for": _iso(timezone.now() + timedelta(hours=1))})):
        assert response.status_code == 409
        assert response.json()["details"]["base"][0]["description"].startswith("This callback request is no longer")
    assert _fresh(waiting).scheduled_for is None


# --- PUT: assign, reschedule, move --------------------------------------------------------
def test_reschedule_and_assign(alice_api, acme, bob, waiting):  # SPEC R15, R16
    when = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = _put(alice_api, waiting.pk, {"scheduled_for": _iso(when), "assignee_id": bob.pk})
    assert response.status_code == 200, response.content
    body = response.json()["callback_request"]
    assert (body["scheduled_for"], body["assignee_id"], body["late_seconds"]) == (_iso(when), bob.pk, None)
    fresh = _fresh(waiting)
    assert fresh.expires_at == when + timedelta(minutes=60)
    unassigned = _put(alice_api, waiting.pk, {"assignee_id": None}).json()["callback_request"]
    assert unassigned["assignee_id"] is None and unassigned["scheduled_for"] == _iso(when)
    due_now = _put(alice_api, waiting.pk, {"scheduled_for": None}).json()["callback_request"]
    assert due_now["scheduled_for"] is None
    assert _audits(acme, "callback_request.reschedule") == 2 and _audits(acme, "callback_request.assign") == 1


def test_reschedule_refuses_past_far_and_malformed_times(alice_api, waiting):  # SPEC R16
    for value, status in ((_iso(timezone.now() - timedelta(minutes=5)), 422),
                          (_iso(timezone.now() + timedelta(days=31)), 422),
                          ("tomorrow at ten", 422), (12, 400)):
        response = _put(alice_api, waiting.pk, {"scheduled_for": value})
        assert response.status_code == status, (value, response.content)
        assert any(key.endswith("scheduled_for") for key in response.json()["details"])  # 400s say callback_request.…
    assert _put(alice_api, waiting.pk, {}).status_code == 422  # nothing to change
    assert _put(alice_api, waiting.pk, {"assignee_id": "7"}).status_code == 400
    assert _fresh(waiting).scheduled_for is None


def test_assign_and_move_refuse_another_accounts_ids_like_missing_ones(alice_api, acme, globex, charlie, waiting):
    foreign_line = make_line(globex, name="Globex", number="+14155550199")
    with scope(account=globex):
        foreign_group = core.group_create(account=globex, actor=None, name="Theirs")
    for field, foreign, missing in (("assignee_id", charlie.pk, missing_id()),
                                    ("phone_number_id", foreign_line.pk, missing_id()),
                                    ("group_ids", [foreign_group.pk], [missing_id()])):
        one = _put(alice_api, waiting.pk, {field: foreign})
        other = _put(alice_api, waiting.pk, {field: missing})
        assert one.status_code == other.status_code == 422
        assert one.json() == other.json() and field in one.json()["details"]
    fresh = _fresh(waiting)
    assert (fresh.assignee_id, fresh.line_id) == (None, waiting.line_id)


def test_move_to_another_line_and_groups(alice_api, acme, waiting):
    other = make_line(acme, name="Sales", number="+14155550178")
    with scope(account=acme):
        group = core.group_create(account=acme, actor=None, name="Sales")
    body = _put(alice_api, waiting.pk, {"phone_number_id": other.pk, "group_ids": [group.pk]}).json()
    assert (body["callback_request"]["phone_number_id"], body["callback_request"]["group_ids"]) == (other.pk, [group.pk])
    cleared = _put(alice_api, waiting.pk, {"group_ids": []}).json()["callback_request"]
    assert cleared["group_ids"] == []
    assert _audits(acme, "callback_request.move") == 2


# --- create with a time and an assignee; list filters --------------------------------------
def test_create_scheduled_and_assigned(alice_api, acme, bob, main_line):  # SPEC R15, R16, A1
    when = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    response = _post(alice_api, LIST, {"callback_request": {
        "phone_number_id": main_line.pk, "requester_phone_number": "+14155550171",
        "scheduled_for": _iso(when), "assignee_id": bob.pk}})
    assert response.status_code == 201, response.content
    body = response.json()["callback_request"]
    assert (body["scheduled_for"], body["assignee_id"], body["state"]) == (_iso(when), bob.pk, "pending")
    past = _post(alice_api, LIST, {"callback_request": {
        "phone_number_id": main_line.pk, "requester_phone_number": "+14155550172",
        "scheduled_for": _iso(timezone.now() - timedelta(hours=1))}})
    assert past.status_code == 422 and "scheduled_for" in past.json()["details"]
    with scope(account=acme):
        assert not CallbackRequest.objects.filter(number="+14155550172").exists()


def test_an_agent_may_assign_a_new_request_only_to_themselves(bob_api, acme, bob, alice, main_line):
    fields = {"phone_number_id": main_line.pk, "requester_phone_number": "+14155550173"}
    refused = _post(bob_api, LIST, {"callback_request": {**fields, "assignee_id": alice.pk}})
    assert refused.status_code == 403
    mine = _post(bob_api, LIST, {"callback_request": {**fields, "assignee_id": bob.pk}})
    assert mine.status_code == 201 and mine.json()["callback_request"]["assignee_id"] == bob.pk


def test_list_filters_by_state_line_and_scheduled(alice_api, acme, main_line, waiting):
    other = make_line(acme, name="Sales", number="+14155550179")
    with scope(account=acme):
        second = callback_request_create(line=other, number="+14155550162")
    when = timezone.now() + timedelta(hours=3)
    assert _put(alice_api, second.pk, {"scheduled_for": _iso(when)}).status_code == 200
    ids = lambda query: [r["id"] for r in alice_api.get(LIST + query).json()["callback_requests"]]  # noqa: E731
    assert ids(f"?line_id={main_line.pk}") == [waiting.pk]
    assert ids("?scheduled=true") == [second.pk]
    assert ids("?scheduled=false") == [waiting.pk]
    assert ids("?state=pending&scheduled=true") == [second.pk]
    assert ids(f"?line_id={missing_id()}") == []
    assert alice_api.get(LIST + "?scheduled=maybe").status_code == 400
    assert alice_api.get(LIST + "?line_id=x").status_code == 400


def test_late_seconds_measures_the_first_offer_after_the_time(alice_api, acme, bob, waiting):  # SPEC R16
    when = timezone.now() + timedelta(minutes=10)
    _put(alice_api, waiting.pk, {"scheduled_for": _iso(when)})
    set_presence(acme, bob, AgentPresence.Status.ONLINE)
    with scope(account=acme):
        assert routing.route_account(acme) == []
        [offer] = routing.route_account(acme, now=when + timedelta(seconds=90))
        Offer.objects.filter(pk=offer.pk).update(created_at=when + timedelta(seconds=90))
    body = alice_api.get(_one(waiting.pk)).json()["callback_request"]
    assert body["late_seconds"] == 90


def test_a_supervisor_of_another_account_cannot_list(acme, globex, waiting):
    dora = make_member(globex, "dora@globex.test", "Dora", "agent")
    with scope(account=globex):
        Membership.objects.filter(account=globex, user=dora).update(supervisor=True)
    client = api_client(globex, dora)
    assert client.get(LIST).json()["count"] == 0
