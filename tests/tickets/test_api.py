"""The tickets API in the reference's shapes (SPEC A1, A4), with its refusals."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from supportcenter.models import AuditEntry
from tickets import services
from tickets.api import ENVELOPE_MESSAGE, REQUESTER_NEEDS_CONTACT_MESSAGE
from tickets.models import EndUser
from tests.conftest import api_client
from tests.isolation import assert_isolated, missing_id
from tests.tickets.helpers import add_comment, comments_of, make_ticket, tickets_of

LIST = "/api/v2/tickets.json"


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def put(client, url, data):
    return client.put(url, data=json.dumps(data), content_type="application/json")


def _writes(account) -> tuple[int, int, int, int]:
    with scope(account=account):
        return (
            len(tickets_of(account)),
            len(comments_of(account)),
            EndUser.objects.filter(account=account).count(),
            AuditEntry.objects.filter(account=account).exclude(action__startswith="api_token").exclude(
                action__startswith="membership").count(),
        )


def test_a_script_creates_a_ticket_adds_an_internal_comment_and_lists_both(bob_api, acme, bob):  # SPEC A1, K1
    created = post(bob_api, LIST, {"ticket": {
        "subject": "Callback failed",
        "comment": {"body": "Customer could not be reached."},
        "requester": {"name": "Ann Caller", "phone": "+1 415 555 0123"},
        "priority": "urgent",
    }})
    assert created.status_code == 201, created.content
    ticket = created.json()["ticket"]
    assert created["Location"] == ticket["url"]
    assert ticket["id"] == 1 and ticket["url"] == "http://acme.localhost/api/v2/tickets/1.json"
    assert ticket["via"]["channel"] == "api"
    assert (ticket["status"], ticket["description"], ticket["submitter_id"]) == (
        "new", "Customer could not be reached.", bob.pk)
    with scope(account=acme):
        requester = EndUser.objects.get(account=acme)
    assert ticket["requester_id"] == requester.pk and requester.phone.as_e164 == "+14155550123"

    updated = put(bob_api, f"/api/v2/tickets/{ticket['id']}.json",
                  {"ticket": {"comment": {"body": "Tried twice, no answer.", "public": False}}})
    assert updated.status_code == 200, updated.content
    assert updated.json()["ticket"]["description"] == "Customer could not be reached."

    comments = bob_api.get(f"/api/v2/tickets/{ticket['id']}/comments.json").json()
    assert comments["count"] == 2 and comments["next_page"] is None and comments["previous_page"] is None
    assert [(c["type"], c["body"], c["public"], c["author_id"]) for c in comments["comments"]] == [
        ("Comment", "Customer could not be reached.", True, bob.pk),
        ("Comment", "Tried twice, no answer.", False, bob.pk),
    ]
    assert set(comments["comments"][0]) >= {"id", "type", "author_id", "body", "html_body", "public", "created_at"}
    tickets = bob_api.get(LIST).json()
    assert tickets["count"] == 1 and [t["id"] for t in tickets["tickets"]] == [1]
    assert set(tickets) == {"tickets", "next_page", "previous_page", "count"}


def test_the_ticket_has_the_zendesk_fields(bob_api, acme, bob):  # SPEC A1
    make_ticket(acme, actor=bob, assignee=bob, phone="+14155550123")
    ticket = bob_api.get("/api/v2/tickets/1.json").json()["ticket"]
    assert set(ticket) >= {"id", "url", "subject", "description", "status", "via", "requester_id",
                           "assignee_id", "created_at", "updated_at"}
    assert ticket["assignee_id"] == bob.pk and ticket["via"] == {
        "channel": "web", "source": {"from": {}, "to": {}, "rel": None}}


def test_a_ticket_by_token_on_the_bare_domain_works(acme, bob):  # SPEC T4
    client = api_client(acme, bob, host=None)
    response = post(client, LIST, {"ticket": {"comment": {"body": "Hello\nsecond line"}}})
    assert response.status_code == 201
    assert response.json()["ticket"]["subject"] == "Hello"


def test_pages_follow_the_reference_offset_pagination(bob_api, acme):  # SPEC A1
    for i in range(5):
        make_ticket(acme, subject=f"T{i}")
    first = bob_api.get(LIST + "?per_page=2").json()
    assert [t["id"] for t in first["tickets"]] == [1, 2]
    assert first["count"] == 5 and first["previous_page"] is None
    assert first["next_page"] == "http://acme.localhost/api/v2/tickets.json?page=2&per_page=2"
    second = bob_api.get(first["next_page"]).json()
    assert [t["id"] for t in second["tickets"]] == [3, 4]
    assert second["previous_page"] == "http://acme.localhost/api/v2/tickets.json?page=1&per_page=2"
    last = bob_api.get(second["next_page"]).json()
    assert [t["id"] for t in last["tickets"]] == [5] and last["next_page"] is None
    assert bob_api.get(LIST + "?page=9").json()["tickets"] == []
    newest = bob_api.get(LIST + "?sort_order=desc&per_page=1").json()
    assert newest["tickets"][0]["id"] == 5 and "sort_order=desc" in newest["next_page"]
    assert len(bob_api.get(LIST + "?per_page=1000").json()["tickets"]) == 5  # served as at most 100


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=0", "sort_order=sideways"])
def test_bad_paging_answers_400(bob_api, acme, query):
    response = bob_api.get(f"{LIST}?{query}")
    assert response.status_code == 400 and response.json()["error"] == "InvalidRequest"


def test_the_list_costs_the_same_queries_whatever_the_page_size(bob_api, acme, bob, django_assert_max_num_queries):
    # SPEC A1: no query per ticket. Authentication is a few queries; the list two (count, page).
    make_ticket(acme, phone="+14155550100", assignee=bob, actor=bob)
    with CaptureQueriesContext(connection) as one:
        assert len(bob_api.get(LIST).json()["tickets"]) == 1
    for i in range(30):
        make_ticket(acme, phone=f"+1415555{i:04d}", assignee=bob, actor=bob)
    with django_assert_max_num_queries(len(one)):
        assert len(bob_api.get(LIST).json()["tickets"]) == 31
    with django_assert_max_num_queries(6):
        bob_api.get(LIST + "?per_page=100")


def test_the_comment_list_costs_the_same_queries_whatever_its_length(bob_api, acme, bob, dave,
                                                                     django_assert_max_num_queries):
    ticket = make_ticket(acme, actor=bob)
    with CaptureQueriesContext(connection) as one:
        bob_api.get("/api/v2/tickets/1/comments.json")
    for i in range(20):
        add_comment(acme, ticket, f"c{i}", public=i % 2 == 0, author=dave if i % 3 else bob)
    with django_assert_max_num_queries(len(one)):
        assert bob_api.get("/api/v2/tickets/1/comments.json").json()["count"] == 21


# A malformed body (a field missing, of the wrong JSON type) is 400 InvalidRequest; a
# well-formed one with a refused value is 422 RecordInvalid, as the reference answers.
MALFORMED, REFUSED = (400, "InvalidRequest"), (422, "RecordInvalid")


@pytest.mark.parametrize(
    "body, field, answer",
    [
        ({"subject": "no comment"}, "comment", MALFORMED),
        ({"comment": {"body": "x", "public": "maybe"}}, "comment.public", MALFORMED),
        ({"comment": {"body": 0}}, "comment.body", MALFORMED),
        ({"comment": {"body": "x"}, "requester_id": "abc"}, "requester_id", MALFORMED),
        ({"comment": {"body": "x"}, "assignee_id": "abc"}, "assignee_id", MALFORMED),
        ({"comment": {"body": ""}}, "comment.body", REFUSED),
        ({"comment": {"body": "x"}, "status": "bogus"}, "status", REFUSED),
        ({"comment": {"body": "x"}, "subject": "s" * 256}, "subject", REFUSED),
        ({"comment": {"body": "x"}, "requester": {"phone": "12"}}, "requester.phone", REFUSED),
        ({"comment": {"body": "x"}, "requester": {"name": "No contact"}}, "requester.phone", REFUSED),
        ({"comment": {"body": "x"}, "requester": {"email": "nope"}}, "requester.email", REFUSED),
        ({"comment": {"body": "x"}, "requester_id": 1, "requester": {"phone": "+14155550123"}}, "requester", REFUSED),
    ],
)
def test_bad_input_is_refused_with_field_details_and_writes_nothing(bob_api, acme, body, field, answer):  # SPEC A1
    before = _writes(acme)
    response = post(bob_api, LIST, {"ticket": body})
    data = response.json()
    assert (response.status_code, data["error"]) == answer, response.content
    assert field in data["details"], data
    assert data["details"][field][0]["description"]
    if body.get("requester") == {"name": "No contact"}:
        assert data["details"][field][0]["description"] == REQUESTER_NEEDS_CONTACT_MESSAGE
    assert _writes(acme) == before


def test_a_missing_envelope_is_explained(bob_api, acme):
    for body in ({"subject": "x", "comment": {"body": "x"}}, {"ticket": "x"}, ["x"]):
        response = post(bob_api, LIST, body)
        assert response.status_code == 400
        assert response.json()["details"]["ticket"][0]["description"] == ENVELOPE_MESSAGE
    assert post(bob_api, LIST, "{not json").status_code == 400
    assert _writes(acme)[0] == 0


def test_a_refused_ticket_answers_422_and_keeps_no_new_requester(bob_api, acme, globex, charlie):
    before = _writes(acme)
    response = post(bob_api, LIST, {"ticket": {
        "comment": {"body": "x"}, "requester": {"phone": "+14155550123"}, "assignee_id": charlie.pk}})
    assert response.status_code == 422
    assert response.json() == {
        "error": "RecordInvalid", "description": "Record validation errors",
        "details": {"assignee_id": [{"description": services.ASSIGNEE_NOT_MEMBER_MESSAGE, "error": "invalid"}]},
    }
    assert _writes(acme) == before


def test_a_requester_id_of_another_account_is_refused_like_a_missing_one(bob_api, acme, globex):  # SPEC T3
    with scope(account=globex):
        stranger = services.end_user_get_or_create_by_phone(account=globex, phone="+81312345678")
    foreign = post(bob_api, LIST, {"ticket": {"comment": {"body": "x"}, "requester_id": stranger.pk}})
    missing = post(bob_api, LIST, {"ticket": {"comment": {"body": "x"}, "requester_id": stranger.pk + 1}})
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json() == missing.json()
    assert tickets_of(acme) == []


def test_server_owned_fields_are_ignored_as_the_reference_does(bob_api, acme, bob):  # SPEC A4
    created = post(bob_api, LIST, {"ticket": {
        "id": 999, "url": "http://evil/", "via": {"channel": "voice"}, "account": 1, "account_id": 1,
        "created_at": "2001-01-01T00:00:00Z", "updated_at": "2001-01-01T00:00:00Z",
        "description": "not the description", "submitter_id": 1, "number": 77,
        "subject": "Real", "comment": {"body": "Real body", "author_id": 1, "id": 5, "created_at": "2001-01-01T00:00:00Z"},
    }}).json()["ticket"]
    assert created["id"] == 1 and created["via"]["channel"] == "api"
    assert created["description"] == "Real body" and created["submitter_id"] == bob.pk
    assert not created["created_at"].startswith("2001")
    # A client may PUT back what it read: nothing server-owned moves.
    read = bob_api.get("/api/v2/tickets/1.json").json()["ticket"]
    echoed = dict(read, id=42, via={"channel": "voice"}, created_at="2001-01-01T00:00:00Z", description="x", status="open")
    after = put(bob_api, "/api/v2/tickets/1.json", {"ticket": echoed})
    assert after.status_code == 200, after.content
    ticket = after.json()["ticket"]
    assert (ticket["id"], ticket["via"]["channel"], ticket["created_at"], ticket["description"], ticket["status"]) == (
        1, "api", read["created_at"], "Real body", "open")
    [comment] = comments_of(acme)
    assert comment.author == bob


def test_put_changes_status_and_assignee(bob_api, acme, bob, dave):  # SPEC K1
    make_ticket(acme)
    response = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"assignee_id": dave.pk, "status": "pending"}})
    assert response.status_code == 200
    assert (response.json()["ticket"]["assignee_id"], response.json()["ticket"]["status"]) == (dave.pk, "pending")
    response = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"assignee_id": None}})
    assert response.json()["ticket"]["assignee_id"] is None


def test_put_refusals(bob_api, acme, bob, charlie):
    make_ticket(acme)
    assert put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"status": "bogus"}}).status_code == 422
    assert put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"comment": {"body": " "}}}).status_code == 422
    assert put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"status": True}}).status_code == 400
    refused = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"assignee_id": charlie.pk, "comment": {"body": "x"}}})
    assert refused.status_code == 422
    assert len(comments_of(acme)) == 1
    put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"status": "closed"}})
    closed = put(bob_api, "/api/v2/tickets/1.json", {"ticket": {"comment": {"body": "late"}}})
    assert closed.status_code == 422
    assert closed.json()["details"]["status"][0]["description"] == services.TICKET_CLOSED_MESSAGE


def test_the_api_needs_a_member(acme, alice, client, globex, charlie):  # SPEC T4
    assert client.get(LIST, HTTP_HOST="acme.localhost").status_code in (401, 403)
    # charlie's globex token presented on acme's host.
    intruder = api_client(globex, charlie, host=acme)
    assert intruder.get(LIST).status_code == 401


def test_globex_cannot_read_or_write_acme_tickets_or_comments(charlie_api, acme, bob, globex):  # SPEC T3
    make_ticket(acme, actor=bob)
    make_ticket(acme, actor=bob)
    ticket = tickets_of(acme)[1]
    make_ticket(globex)  # globex's own #1: its numbers never reach acme's #2
    foreign = f"/api/v2/tickets/{ticket.number}.json"
    write = {"ticket": {"status": "solved", "comment": {"body": "pwned", "public": False}}}
    for method, data in (("get", None), ("put", write)):
        assert_isolated(charlie_api, foreign, f"/api/v2/tickets/{missing_id()}.json", method=method, data=data)
        assert_isolated(charlie_api, foreign, f"/api/v2/tickets/{ticket.number + 1000}.json", method=method, data=data)
    assert_isolated(
        charlie_api, f"/api/v2/tickets/{ticket.number}/comments.json", f"/api/v2/tickets/{missing_id()}/comments.json"
    )
    listed = charlie_api.get(LIST).json()
    assert listed["count"] == 1 and "Printer" in listed["tickets"][0]["subject"]
    assert tickets_of(acme)[1].status == "new" and len(comments_of(acme)) == 2


def test_a_ticket_opened_with_an_internal_comment_shows_no_description(bob_api, acme):  # SPEC K2
    created = post(bob_api, LIST, {"ticket": {"subject": "Escalation", "comment": {"body": "VIP, careful", "public": False}}})
    assert created.status_code == 201
    assert created.json()["ticket"]["description"] == ""
    [comment] = bob_api.get("/api/v2/tickets/1/comments.json").json()["comments"]
    assert (comment["body"], comment["public"]) == ("VIP, careful", False)


def test_the_schema_documents_the_ticket_endpoints(client, db):  # SPEC A2
    schema = client.get("/api/schema/", HTTP_HOST="localhost").content.decode()
    for path in ("/api/v2/tickets.json", "/api/v2/tickets/{number}.json", "/api/v2/tickets/{number}/comments.json"):
        assert path in schema
    assert "TicketCreateInput" in schema and "CommentOutput" in schema


def test_a_body_over_the_limit_gets_413_json_and_writes_nothing(bob_api, acme, settings):  # issue 14, item 3
    before = _writes(acme)
    body = json.dumps({"ticket": {"subject": "Big", "comment": {"body": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}}})
    response = bob_api.post("/api/v2/tickets.json", data=body, content_type="application/json")
    assert response.status_code == 413 and response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "RequestTooLarge"
    assert _writes(acme) == before
