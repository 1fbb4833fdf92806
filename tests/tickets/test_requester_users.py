"""The API's users include the requesters, as the reference's do (issue 15; SPEC A1, T3).

A ticket's requester_id names a user a client can read: an end user answers with role
"end-user"; a member who asked answers as the member, never twice.
"""
from __future__ import annotations

import pytest
from django_scopes import scope

from tests.isolation import assert_isolated, missing_id
from tickets import services

pytestmark = pytest.mark.django_db


def _requester(account, **contact):
    with scope(account=account):
        return services.end_user_find_or_create(account=account, **contact)


def test_a_requester_is_a_user_with_the_end_user_role(acme, bob_api):  # SPEC A1
    end_user = _requester(acme, phone="+14155550123", name="Ann Caller")
    body = bob_api.get(f"/api/v2/users/{end_user.pk}.json").json()["user"]
    assert {k: body[k] for k in ("id", "name", "email", "phone", "role", "active")} == {
        "id": end_user.pk, "name": "Ann Caller", "email": None, "phone": "+14155550123",
        "role": "end-user", "active": True,
    } and body["supervisor"] is False


def test_users_lists_members_unless_end_users_are_asked_for(acme, alice, bob, alice_api):  # SPEC A1
    first = _requester(acme, email="first@example.com")
    second = _requester(acme, email="second@example.com")
    members = alice_api.get("/api/v2/users.json").json()["users"]
    assert {u["id"] for u in members} == {alice.pk, bob.pk}
    assert {u["role"] for u in members} == {"admin", "agent"}
    assert {u["id"]: u["supervisor"] for u in members} == {alice.pk: True, bob.pk: False}  # SPEC S1: admins supervise
    end_users = alice_api.get("/api/v2/users.json?role=end-user").json()
    assert [u["id"] for u in end_users["users"]] == [first.pk, second.pk] and end_users["count"] == 2
    newest_first = alice_api.get("/api/v2/users.json?role=end-user&sort_order=desc").json()["users"]
    assert [u["id"] for u in newest_first] == [second.pk, first.pk]
    cursor = alice_api.get("/api/v2/users.json?role=end-user&page[size]=1").json()
    assert [u["id"] for u in cursor["users"]] == [first.pk] and cursor["meta"]["has_more"] is True


def test_show_many_finds_members_and_requesters(acme, globex, bob, alice_api):  # SPEC A1, T3
    requester = _requester(acme, email="ann@example.com")
    foreign = _requester(globex, email="gina@example.com")
    ids = f"{bob.pk},{requester.pk},{foreign.pk},{missing_id()}"
    users = alice_api.get(f"/api/v2/users/show_many.json?ids={ids}").json()["users"]
    assert [(u["id"], u["role"]) for u in users] == [(bob.pk, "agent"), (requester.pk, "end-user")]


def test_a_member_who_asked_shows_as_the_member_only(acme, bob, alice_api):  # SPEC A1
    ticket = alice_api.post(
        "/api/v2/tickets.json", {"ticket": {"subject": "Mine", "description": "Help", "requester_id": bob.pk}},
        content_type="application/json",
    ).json()["ticket"]
    assert ticket["requester_id"] == bob.pk
    assert alice_api.get(f"/api/v2/users/{bob.pk}.json").json()["user"]["role"] == "agent"
    assert alice_api.get("/api/v2/users.json?role=end-user").json()["users"] == []


def test_another_accounts_requester_answers_like_a_missing_one(acme, globex, charlie_api):  # SPEC T3
    requester = _requester(acme, email="ann@example.com")
    assert_isolated(charlie_api, f"/api/v2/users/{requester.pk}.json", f"/api/v2/users/{missing_id()}.json")
