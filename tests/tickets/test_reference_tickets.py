"""Tickets as the reference documents them (issue 15, item 1; SPEC A1, A4, K1, T3): the
audit of each write, the reference's fields, any member as requester, show_many,
update_many and its job, and a ticket's audits."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from supportcenter import services as core_services
from supportcenter.models import AuditEntry
from tickets import api, services
from tickets.models import Comment, EndUser, JobStatus, Ticket, TicketAudit, Via
from tests.isolation import assert_isolated, missing_id
from tests.tickets.helpers import add_comment, make_ticket, tickets_of

LIST = "/api/v2/tickets.json"
METADATA = {"system": {}, "custom": {}}


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def put(client, url, data):
    return client.put(url, data=json.dumps(data), content_type="application/json")


def without_ids(events: list[dict]) -> list[dict]:
    return [{key: value for key, value in event.items() if key != "id"} for event in events]


def _rows(account) -> tuple:
    """Everything a ticket write may add or change, to prove a refusal wrote nothing."""
    with scope(account=account):
        return (
            [(t.number, t.status, t.priority, t.tags, t.group_id, t.updated_at) for t in tickets_of(account)],
            Comment.objects.filter(account=account).count(),
            TicketAudit.objects.filter(account=account).count(),
            EndUser.objects.filter(account=account).count(),
            JobStatus.objects.filter(account=account).count(),
            AuditEntry.objects.filter(account=account, action__startswith="ticket").count(),
        )


@pytest.fixture
def phones(acme, alice):
    with scope(account=acme):
        return core_services.group_create(account=acme, name="Phones", actor=alice)


@pytest.fixture
def globex_group(globex, charlie):
    with scope(account=globex):
        return core_services.group_create(account=globex, name="Globex team", actor=charlie)


# --- Create: the ticket and its audit ---------------------------------------------------
def test_a_description_alone_makes_the_first_public_comment_and_the_audit_comes_back(bob_api, acme, bob):  # SPEC A1
    response = post(bob_api, LIST, {"ticket": {"subject": "Important", "description": "Thing"}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"ticket", "audit"}
    ticket, audit = body["ticket"], body["audit"]
    assert (ticket["subject"], ticket["description"], ticket["status"], ticket["is_public"]) == (
        "Important", "Thing", "new", True)
    assert set(audit) == {"id", "ticket_id", "created_at", "author_id", "metadata", "via", "events"}
    assert (audit["ticket_id"], audit["author_id"], audit["metadata"], audit["via"]["channel"]) == (
        1, bob.pk, METADATA, "api")
    [comment] = bob_api.get("/api/v2/tickets/1/comments.json").json()["comments"]
    assert without_ids(audit["events"]) == [
        {"type": "Create", "field_name": "subject", "value": "Important"},
        {"type": "Create", "field_name": "status", "value": "new"},
        {"type": "Comment", "author_id": bob.pk, "body": "Thing", "html_body": "<p>Thing</p>", "plain_body": "Thing",
         "public": True, "attachments": [], "audit_id": audit["id"]},
    ]
    assert audit["events"][-1]["id"] == comment["id"]
    assert (comment["audit_id"], comment["metadata"], comment["public"]) == (audit["id"], METADATA, True)


def test_every_reference_field_round_trips_with_its_create_events(bob_api, acme, bob, dave, alice, phones):  # SPEC A1
    response = post(bob_api, LIST, {"ticket": {
        "subject": "Fields", "comment": {"body": "All of them", "public": False},
        "priority": "high", "type": "incident", "tags": "Billing vip  billing", "group_id": phones.pk,
        "external_id": "crm-42", "due_at": "2026-12-24T09:30:00Z",
        "custom_fields": [{"id": 43528467, "value": 1337}, {"id": 43528468, "value": {"nested": ["as", "given"]}}],
        "collaborator_ids": [dave.pk, alice.pk, dave.pk], "is_public": False, "assignee_id": bob.pk,
        "metadata": {"source": "crm"}, "brand_id": 7,  # unknown to the product: ignored, as the reference does
    }})
    assert response.status_code == 201, response.content
    created = response.json()
    expected = {
        "priority": "high", "type": "incident", "tags": ["billing", "vip"], "group_id": phones.pk,
        "external_id": "crm-42", "due_at": "2026-12-24T09:30:00Z",
        "custom_fields": [{"id": 43528467, "value": 1337}, {"id": 43528468, "value": {"nested": ["as", "given"]}}],
        "collaborator_ids": sorted([dave.pk, alice.pk]), "is_public": False, "assignee_id": bob.pk, "status": "open",
    }
    shown = bob_api.get("/api/v2/tickets/1.json").json()["ticket"]
    listed = bob_api.get(LIST).json()["tickets"][0]
    for ticket in (created["ticket"], shown, listed):
        assert {key: ticket[key] for key in expected} == expected
    assert "brand_id" not in shown
    audit = created["audit"]
    assert audit["metadata"] == {"system": {}, "custom": {"source": "crm"}}
    assert without_ids(audit["events"])[:-1] == [
        {"type": "Create", "field_name": "subject", "value": "Fields"},
        {"type": "Create", "field_name": "status", "value": "open"},
        {"type": "Create", "field_name": "priority", "value": "high"},
        {"type": "Create", "field_name": "type", "value": "incident"},
        {"type": "Create", "field_name": "assignee_id", "value": bob.pk},
        {"type": "Create", "field_name": "group_id", "value": phones.pk},
        {"type": "Create", "field_name": "tags", "value": ["billing", "vip"]},
        {"type": "Create", "field_name": "external_id", "value": "crm-42"},
        {"type": "Create", "field_name": "due_at", "value": "2026-12-24T09:30:00Z"},
        {"type": "Create", "field_name": "collaborator_ids", "value": sorted([dave.pk, alice.pk])},
        {"type": "Create", "field_name": "is_public", "value": False},
        {"type": "Create", "field_name": "43528467", "value": 1337},
        {"type": "Create", "field_name": "43528468", "value": {"nested": ["as", "given"]}},
    ]
    assert (audit["events"][-1]["type"], audit["events"][-1]["public"]) == ("Comment", False)
    [comment] = bob_api.get("/api/v2/tickets/1/comments.json").json()["comments"]
    assert comment["metadata"] == {"system": {}, "custom": {"source": "crm"}}


def test_a_ticket_without_the_new_fields_shows_them_empty(bob_api, acme):  # SPEC A1
    make_ticket(acme)
    ticket = bob_api.get("/api/v2/tickets/1.json").json()["ticket"]
    assert {key: ticket[key] for key in ("priority", "type", "tags", "group_id", "external_id", "due_at",
                                         "custom_fields", "collaborator_ids", "is_public")} == {
        "priority": None, "type": None, "tags": [], "group_id": None, "external_id": None, "due_at": None,
        "custom_fields": [], "collaborator_ids": [], "is_public": True}


def test_comment_wins_over_description_when_both_are_given(bob_api, acme):  # SPEC A1
    created = post(bob_api, LIST, {"ticket": {"description": "ignored", "comment": {"body": "kept"}}}).json()
    assert created["ticket"]["description"] == "kept"


# --- Update: Change events ---------------------------------------------------------------
def test_an_update_records_change_events_and_its_comment(bob_api, acme, bob, dave, phones):  # SPEC A1
    post(bob_api, LIST, {"ticket": {"subject": "S", "description": "D", "tags": ["one", "two"], "priority": "low",
                                    "custom_fields": [{"id": 1, "value": "a"}, {"id": 2, "value": "b"}]}})
    response = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {
        "priority": "urgent", "type": None, "tags": "two three", "group_id": phones.pk, "status": "pending",
        "custom_fields": [{"id": 2, "value": "B"}, {"id": 3, "value": None}], "collaborator_ids": [dave.pk],
        "comment": {"body": "Looking into it", "public": False},
    }})
    assert response.status_code == 200, response.content
    ticket, audit = response.json()["ticket"], response.json()["audit"]
    assert ticket["custom_fields"] == [{"id": 1, "value": "a"}, {"id": 2, "value": "B"}, {"id": 3, "value": None}]
    assert (ticket["tags"], ticket["priority"], ticket["type"]) == (["three", "two"], "urgent", None)
    assert without_ids(audit["events"])[:-1] == [
        {"type": "Change", "field_name": "status", "value": "pending", "previous_value": "new"},
        {"type": "Change", "field_name": "priority", "value": "urgent", "previous_value": "low"},
        {"type": "Change", "field_name": "group_id", "value": phones.pk, "previous_value": None},
        {"type": "Change", "field_name": "tags", "value": ["three", "two"], "previous_value": ["one", "two"]},
        {"type": "Change", "field_name": "collaborator_ids", "value": [dave.pk], "previous_value": []},
        {"type": "Change", "field_name": "2", "value": "B", "previous_value": "b"},
    ]  # field 3 is new but null: no change to record
    assert (audit["events"][-1]["type"], audit["events"][-1]["body"]) == ("Comment", "Looking into it")
    comments = bob_api.get("/api/v2/tickets/1/comments.json").json()["comments"]
    assert comments[-1]["audit_id"] == audit["id"] != comments[0]["audit_id"]
    with scope(account=acme):
        assert TicketAudit.objects.filter(account=acme).count() == 2  # one per write


def test_tags_can_be_added_and_removed_without_sending_them_all(bob_api, acme):  # SPEC A1
    post(bob_api, LIST, {"ticket": {"description": "x", "tags": ["a", "b"]}})
    ticket = put(bob_api, "/api/v2/tickets/1.json",
                 {"ticket": {"additional_tags": "C d", "remove_tags": ["a"]}}).json()["ticket"]
    assert ticket["tags"] == ["b", "c", "d"]


def test_an_update_that_changes_nothing_answers_a_null_audit_and_records_none(bob_api, acme):  # SPEC A1
    post(bob_api, LIST, {"ticket": {"description": "x", "priority": "low"}})
    response = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"priority": "low", "tags": []}})
    assert response.status_code == 200 and response.json()["audit"] is None
    with scope(account=acme):
        assert TicketAudit.objects.filter(account=acme).count() == 1


def test_fields_clear_with_null(bob_api, acme, phones):  # SPEC A1
    post(bob_api, LIST, {"ticket": {"description": "x", "priority": "low", "group_id": phones.pk,
                                    "external_id": "e", "due_at": "2026-12-24T09:30:00Z"}})
    ticket = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {
        "priority": None, "group_id": None, "external_id": None, "due_at": None}}).json()["ticket"]
    assert [ticket[k] for k in ("priority", "group_id", "external_id", "due_at")] == [None, None, None, None]


def test_a_system_comment_from_talk_has_its_own_audit_via_voice(acme, bob):  # SPEC R12
    ticket = make_ticket(acme, via=Via.VOICE, description="", phone="+14155550123")
    comment = add_comment(acme, ticket, "Callback: no answer", public=False)
    with scope(account=acme):
        audit = TicketAudit.objects.get(account=acme, pk=comment.audit_id)
    assert (audit.author_id, audit.via, audit.metadata) == (None, "voice", METADATA)
    assert without_ids(audit.events) == [{
        "type": "Comment", "author_id": None, "body": "Callback: no answer", "html_body": "<p>Callback: no answer</p>",
        "plain_body": "Callback: no answer", "public": False, "attachments": [], "audit_id": audit.pk}]


# --- Refusals -------------------------------------------------------------------------
MALFORMED, REFUSED = (400, "InvalidRequest"), (422, "RecordInvalid")


@pytest.mark.parametrize("body, field, answer, message", [
    ({"subject": "nothing to say"}, "comment", MALFORMED, api.COMMENT_REQUIRED_MESSAGE),
    ({"description": ""}, "description", REFUSED, None),
    ({"description": 5}, "description", MALFORMED, None),
    ({"description": "x", "priority": "asap"}, "priority", REFUSED, services.PRIORITY_INVALID_MESSAGE),
    ({"description": "x", "type": "bug"}, "type", REFUSED, services.TYPE_INVALID_MESSAGE),
    ({"description": "x", "tags": 5}, "tags", MALFORMED, api.TAGS_MESSAGE),
    ({"description": "x", "tags": ["ok", 5]}, "tags", MALFORMED, api.TAGS_MESSAGE),
    ({"description": "x", "tags": ["x" * 256]}, "tags", REFUSED, None),
    ({"description": "x", "due_at": "next tuesday"}, "due_at", REFUSED, None),
    ({"description": "x", "due_at": 5}, "due_at", MALFORMED, None),
    ({"description": "x", "custom_fields": {"id": 1}}, "custom_fields", MALFORMED, None),
    ({"description": "x", "custom_fields": [{"value": 1}]}, "custom_fields.0.id", MALFORMED, None),
    ({"description": "x", "collaborator_ids": "1,2"}, "collaborator_ids", MALFORMED, None),
    ({"description": "x", "group_id": "one"}, "group_id", MALFORMED, None),
    ({"description": "x", "group_id": 12345}, "group_id", REFUSED, services.GROUP_NOT_FOUND_MESSAGE),
    ({"description": "x", "external_id": "e" * 256}, "external_id", REFUSED, None),
    ({"description": "x", "is_public": "yes"}, "is_public", MALFORMED, None),
    ({"description": "x", "metadata": "m"}, "metadata", MALFORMED, None),
])
def test_bad_values_are_refused_naming_the_field_and_nothing_is_written(bob_api, acme, body, field, answer, message):
    make_ticket(acme)
    before = _rows(acme)
    for method, url in ((post, LIST), (put, "/api/v2/tickets/1.json")):
        if method is put and field in ("comment", "description"):
            continue  # an update needs neither; description is the server's there
        response = method(bob_api, url, {"ticket": body})
        data = response.json()
        assert (response.status_code, data["error"]) == answer, response.content
        assert field in data["details"], data
        if message:
            assert data["details"][field][0]["description"] == message
        assert _rows(acme) == before


def test_a_refused_collaborator_refuses_the_whole_update(bob_api, acme, bob, charlie):  # SPEC T3
    make_ticket(acme)
    before = _rows(acme)
    response = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {
        "collaborator_ids": [bob.pk, charlie.pk], "priority": "high", "comment": {"body": "hi"}}})
    assert response.status_code == 422
    assert response.json()["details"]["collaborator_ids"][0]["description"] == services.COLLABORATOR_NOT_MEMBER_MESSAGE
    assert _rows(acme) == before


@pytest.mark.parametrize("field", ["group_id", "collaborator_ids", "requester_id", "assignee_id"])
def test_another_accounts_ids_are_refused_exactly_like_missing_ones(bob_api, acme, globex, charlie, globex_group,
                                                                    field):  # SPEC T3
    make_ticket(acme)
    foreign_id = globex_group.pk if field == "group_id" else charlie.pk
    before = _rows(acme)

    def value(an_id):
        return [an_id] if field == "collaborator_ids" else an_id

    for method, url in ((post, LIST), (put, "/api/v2/tickets/1.json")):
        foreign = method(bob_api, url, {"ticket": {"description": "x", field: value(foreign_id)}})
        missing = method(bob_api, url, {"ticket": {"description": "x", field: value(missing_id())}})
        assert foreign.status_code == missing.status_code == 422
        assert foreign.json() == missing.json() and field in foreign.json()["details"]
    assert _rows(acme) == before


# --- Any member may be the requester ---------------------------------------------------
def test_a_member_may_be_the_requester_and_is_shown_by_user_id(bob_api, acme, bob, dave):  # SPEC A1, K1
    first = post(bob_api, LIST, {"ticket": {"description": "x", "requester_id": dave.pk}}).json()
    assert first["ticket"]["requester_id"] == dave.pk
    assert without_ids(first["audit"]["events"])[2] == {"type": "Create", "field_name": "requester_id", "value": dave.pk}
    second = post(bob_api, LIST, {"ticket": {"description": "y", "requester_id": dave.pk}}).json()
    assert second["ticket"]["requester_id"] == dave.pk
    with scope(account=acme):
        [linked] = EndUser.objects.filter(account=acme, user=dave)
    assert (linked.name, linked.email) == ("Dave Agent", "dave@acme.test")
    assert [t["requester_id"] for t in bob_api.get(LIST).json()["tickets"]] == [dave.pk, dave.pk]
    changed = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"requester_id": bob.pk}}).json()
    assert changed["ticket"]["requester_id"] == bob.pk
    assert without_ids(changed["audit"]["events"]) == [
        {"type": "Change", "field_name": "requester_id", "value": bob.pk, "previous_value": dave.pk}]


def test_an_end_users_id_still_names_the_requester(bob_api, acme):  # SPEC K1
    with scope(account=acme):
        caller = services.end_user_get_or_create_by_phone(account=acme, phone="+14155550123")
    ticket = post(bob_api, LIST, {"ticket": {"description": "x", "requester_id": caller.pk}}).json()["ticket"]
    assert ticket["requester_id"] == caller.pk


# --- External ids -------------------------------------------------------------------------
def test_tickets_filter_by_external_id(bob_api, acme):  # SPEC A1
    post(bob_api, LIST, {"ticket": {"description": "x", "external_id": "crm-1"}})
    post(bob_api, LIST, {"ticket": {"description": "y", "external_id": "crm-2"}})
    assert [t["id"] for t in bob_api.get(LIST + "?external_id=crm-2").json()["tickets"]] == [2]
    assert bob_api.get(LIST + "?external_id=nope").json()["tickets"] == []


# --- Audits -----------------------------------------------------------------------------
def test_a_tickets_audits_are_listed_oldest_first_with_both_paginations(bob_api, acme, bob):  # SPEC A1
    post(bob_api, LIST, {"ticket": {"description": "x"}})
    for status in ("open", "pending", "solved"):
        put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"status": status}})
    listed = bob_api.get("/api/v2/tickets/1/audits.json").json()
    assert listed["count"] == 4
    assert [a["events"][0]["type"] for a in listed["audits"]] == ["Create", "Change", "Change", "Change"]
    assert [a["events"][0].get("value") for a in listed["audits"][1:]] == ["open", "pending", "solved"]
    assert {a["ticket_id"] for a in listed["audits"]} == {1}
    first = bob_api.get("/api/v2/tickets/1/audits.json?page[size]=3").json()
    assert [a["id"] for a in first["audits"]] == [a["id"] for a in listed["audits"][:3]]
    assert first["meta"]["has_more"] is True
    rest = bob_api.get(first["links"]["next"]).json()
    assert [a["id"] for a in rest["audits"]] == [listed["audits"][3]["id"]] and rest["meta"]["has_more"] is False
    newest = bob_api.get("/api/v2/tickets/1/audits.json?sort_order=desc&per_page=1").json()
    assert newest["audits"][0]["id"] == listed["audits"][-1]["id"]


def test_globex_cannot_read_acme_audits(charlie_api, acme, bob, globex):  # SPEC T3
    make_ticket(acme, actor=bob)
    make_ticket(acme, actor=bob)
    make_ticket(globex)
    assert_isolated(charlie_api, "/api/v2/tickets/2/audits.json", f"/api/v2/tickets/{missing_id()}/audits.json")
    assert charlie_api.get("/api/v2/tickets/1/audits.json").json()["count"] == 1  # globex's own #1


# --- show_many ----------------------------------------------------------------------------
def test_show_many_answers_the_tickets_it_finds(bob_api, acme, globex):  # SPEC A1, T3
    for subject in ("One", "Two", "Three"):
        make_ticket(acme, subject=subject)
    make_ticket(globex, subject="Globex four")
    make_ticket(globex, subject="Globex five")
    response = bob_api.get("/api/v2/tickets/show_many.json?ids=3,1,5,999,1")
    assert response.status_code == 200
    assert [t["subject"] for t in response.json()["tickets"]] == ["One", "Three"]
    cursor = bob_api.get("/api/v2/tickets/show_many.json?ids=1,2,3&page[size]=2").json()
    assert [t["id"] for t in cursor["tickets"]] == [1, 2] and cursor["meta"]["has_more"] is True


def test_globex_show_many_never_sees_acme_tickets(charlie_api, acme, globex):  # SPEC T3
    for _ in range(3):
        make_ticket(acme)
    make_ticket(globex, subject="Mine")
    assert [t["subject"] for t in charlie_api.get("/api/v2/tickets/show_many.json?ids=1,2,3").json()["tickets"]] == [
        "Mine"]


@pytest.mark.parametrize("query", ["", "ids=", "ids=a", "ids=1,,2", "ids=1;2", "ids=-1",
                                   "ids=" + ",".join(str(n) for n in range(1, 102))])
def test_show_many_refuses_bad_ids_naming_them(bob_api, acme, query):
    response = bob_api.get(f"/api/v2/tickets/show_many.json?{query}")
    assert response.status_code == 400 and "ids" in response.json()["details"], response.content


# --- update_many and its job -------------------------------------------------------------
def test_update_many_changes_every_ticket_and_answers_a_completed_job(bob_api, acme, bob, dave):  # SPEC A1
    for tags in (["a"], ["b"], ["c"]):
        post(bob_api, LIST, {"ticket": {"description": "x", "tags": tags}})
    response = put(bob_api, "/api/v2/tickets/update_many.json?ids=1,3", {"ticket": {
        "status": "pending", "assignee_id": dave.pk, "additional_tags": "urgent", "remove_tags": "a"}})
    assert response.status_code == 200, response.content
    job = response.json()["job_status"]
    assert (job["status"], job["total"], job["progress"]) == ("completed", 2, 2)
    assert job["results"] == [{"id": 1, "action": "update", "success": True, "status": "Updated"},
                              {"id": 3, "action": "update", "success": True, "status": "Updated"}]
    assert job["url"] == f"http://acme.localhost/api/v2/job_statuses/{job['id']}.json"
    tickets = {t["id"]: t for t in bob_api.get(LIST).json()["tickets"]}
    assert [(tickets[n]["status"], tickets[n]["assignee_id"], tickets[n]["tags"]) for n in (1, 2, 3)] == [
        ("pending", dave.pk, ["urgent"]), ("new", None, ["b"]), ("pending", dave.pk, ["c", "urgent"])]
    audits = bob_api.get("/api/v2/tickets/3/audits.json").json()["audits"]
    assert {e["field_name"] for e in audits[-1]["events"]} == {"status", "assignee_id", "tags"}
    polled = bob_api.get(f"/api/v2/job_statuses/{job['id']}.json")
    assert polled.status_code == 200 and polled.json()["job_status"] == job


def test_update_many_takes_zenpys_list_of_tickets(bob_api, acme):  # SPEC A1
    make_ticket(acme)
    make_ticket(acme)
    response = put(bob_api, "/api/v2/tickets/update_many.json", {"tickets": [
        {"id": 1, "status": "pending", "subject": "ignored"}, {"id": 2, "status": "solved", "tags": ["done"]}]})
    assert response.status_code == 200, response.content
    assert response.json()["job_status"]["total"] == 2
    assert [(t.status, t.tags) for t in tickets_of(acme)] == [("pending", []), ("solved", ["done"])]


@pytest.mark.parametrize("url, body, field", [
    ("/api/v2/tickets/update_many.json?ids=1,2,77", {"ticket": {"status": "open"}}, "ids"),
    ("/api/v2/tickets/update_many.json", {"tickets": [{"id": 1, "status": "open"}, {"id": 77}]}, "tickets"),
    ("/api/v2/tickets/update_many.json?ids=1,2", {"ticket": {"status": "open", "assignee_id": 12345}}, "assignee_id"),
    ("/api/v2/tickets/update_many.json?ids=1,2,3", {"ticket": {"status": "open"}}, "status"),  # #3 is closed
    ("/api/v2/tickets/update_many.json?ids=1,2", {"ticket": {"status": "bogus"}}, "status"),
    ("/api/v2/tickets/update_many.json", {"tickets": []}, "tickets"),
])
def test_update_many_is_all_or_nothing(bob_api, acme, bob, url, body, field):  # SPEC A1
    make_ticket(acme)
    make_ticket(acme)
    closed = make_ticket(acme)
    with scope(account=acme):
        services.ticket_update(account=acme, ticket=closed, actor=bob, status="closed")
    before = _rows(acme)
    response = put(bob_api, url, body)
    assert response.status_code == 422, response.content
    assert field in response.json()["details"]
    assert _rows(acme) == before


@pytest.mark.parametrize("url, body", [
    ("/api/v2/tickets/update_many.json", {"ticket": {"status": "open"}}),
    ("/api/v2/tickets/update_many.json?ids=1", {"tickets": [{"id": 1}]}),
    ("/api/v2/tickets/update_many.json?ids=x", {"ticket": {}}),
])
def test_update_many_refuses_a_malformed_request(bob_api, acme, url, body):
    make_ticket(acme)
    before = _rows(acme)
    assert put(bob_api, url, body).status_code == 400
    assert _rows(acme) == before


def test_globex_cannot_update_acme_tickets_in_bulk_nor_read_their_jobs(bob_api, charlie_api, acme, globex):  # SPEC T3
    make_ticket(acme)
    make_ticket(acme)
    make_ticket(globex)
    before = _rows(acme)
    foreign = put(charlie_api, "/api/v2/tickets/update_many.json?ids=2", {"ticket": {"status": "solved"}})
    missing = put(charlie_api, f"/api/v2/tickets/update_many.json?ids={missing_id()}", {"ticket": {"status": "solved"}})
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json()["details"]["ids"][0]["description"] == "There is no ticket 2 in this account."
    assert _rows(acme) == before
    job = put(bob_api, "/api/v2/tickets/update_many.json?ids=1", {"ticket": {"status": "open"}}).json()["job_status"]
    assert_isolated(charlie_api, f"/api/v2/job_statuses/{job['id']}.json", f"/api/v2/job_statuses/{missing_id()}.json")
    assert charlie_api.get("/api/v2/job_statuses/not-a-job.json").status_code == 404


# --- Cost and schema --------------------------------------------------------------------
def test_the_list_costs_the_same_queries_with_members_and_collaborators(bob_api, acme, bob, dave,
                                                                       django_assert_max_num_queries):  # SPEC A1
    post(bob_api, LIST, {"ticket": {"description": "x", "requester_id": dave.pk, "collaborator_ids": [bob.pk]}})
    with CaptureQueriesContext(connection) as one:
        bob_api.get(LIST)
    budget = len(one)  # now: each request empties the connection's query log
    for _ in range(10):
        post(bob_api, LIST, {"ticket": {"description": "x", "requester_id": dave.pk,
                                        "collaborator_ids": [bob.pk, dave.pk]}})
    with django_assert_max_num_queries(budget):
        tickets = bob_api.get(LIST).json()["tickets"]
    assert len(tickets) == 11 and tickets[-1]["collaborator_ids"] == sorted([bob.pk, dave.pk])
    assert {t["requester_id"] for t in tickets} == {dave.pk}
    with django_assert_max_num_queries(budget):
        assert len(bob_api.get("/api/v2/tickets/show_many.json?ids=1,2,3,4,5").json()["tickets"]) == 5


def test_the_schema_documents_the_reference_tickets(client, db):  # SPEC A2
    schema = json.loads(client.get("/api/schema/?format=json", HTTP_HOST="localhost").content)
    for path in ("/api/v2/tickets/{number}/audits.json", "/api/v2/tickets/show_many.json",
                 "/api/v2/tickets/update_many.json", "/api/v2/job_statuses/{job_id}.json"):
        assert path in schema["paths"]
    components = schema["components"]["schemas"]
    assert {"audit", "ticket"} <= set(components["TicketAuditEnvelope"]["properties"])
    assert components["TicketCreateInput"]["anyOf"] == [{"required": ["comment"]}, {"required": ["description"]}]
    for field in ("priority", "type", "tags", "group_id", "external_id", "due_at", "custom_fields",
                  "collaborator_ids", "is_public"):
        assert field in components["TicketCreateInput"]["properties"]
        assert field in components["TicketUpdateInput"]["properties"]
        assert field in components["TicketOutput"]["properties"]
    assert {"audit_id", "metadata"} <= set(components["CommentOutput"]["properties"])


def test_a_ticket_is_stored_as_the_api_showed_it(acme, bob_api):  # SPEC A1
    post(bob_api, LIST, {"ticket": {"description": "x", "tags": ["Two Words"], "custom_fields": [{"id": 9, "value": [1]}]}})
    with scope(account=acme):
        ticket = Ticket.objects.get(account=acme)
    assert (ticket.tags, ticket.custom_fields) == (["two", "words"], [{"id": 9, "value": [1]}])


def test_the_ticket_page_shows_the_reference_fields(bob_client, bob_api, acme, phones):  # SPEC K2
    post(bob_api, LIST, {"ticket": {"description": "x", "priority": "urgent", "type": "task", "group_id": phones.pk,
                                    "tags": "vip billing", "external_id": "crm-7"}})
    page = bob_client.get("/tickets/1/").content.decode()
    for shown in ("Urgent", "Task", "Phones", "billing, vip", "crm-7"):
        assert shown in page


def test_nul_characters_in_free_json_are_dropped_not_a_server_error(bob_api, acme):  # SPEC A1 (PostgreSQL holds no NUL)
    response = post(bob_api, LIST, {"ticket": {
        "description": "x", "metadata": {"\u0000k": ["v\u0000"]}, "custom_fields": [{"id": 1, "value": "a\u0000b"}],
        "tags": ["x\u0000y"]}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["audit"]["metadata"]["custom"] == {"k": ["v"]}
    assert (body["ticket"]["custom_fields"], body["ticket"]["tags"]) == ([{"id": 1, "value": "ab"}], ["xy"])
