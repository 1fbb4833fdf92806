"""Users and groups in the reference API's shapes (issue 15, item 4)."""
from __future__ import annotations

import json

import pytest
from django_scopes import scope, scopes_disabled

from supportcenter import services
from supportcenter.models import AuditEntry, Group, GroupMembership
from tests.isolation import assert_isolated, missing_id


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def put(client, url, data):
    return client.put(url, data=json.dumps(data), content_type="application/json")


def make_group(account, name: str, actor=None, **extra) -> Group:
    with scope(account=account):
        return services.group_create(account=account, actor=actor, name=name, **extra)


def add_to_group(account, group, user) -> GroupMembership:
    with scope(account=account):
        return services.group_membership_create(account=account, actor=None, group_id=group.pk, user_id=user.pk)


def counts() -> tuple[int, int, int]:
    with scopes_disabled():
        return Group.objects.count(), GroupMembership.objects.count(), AuditEntry.objects.count()


def details(response) -> set[str]:
    return set(response.json().get("details", {}))


# --- Users ------------------------------------------------------------------------
def test_users_lists_the_accounts_members_with_a_role_filter(bob_api, alice, bob, dave, charlie):  # SPEC A1, T3
    body = bob_api.get("/api/v2/users.json").json()
    assert {u["id"] for u in body["users"]} == {alice.pk, bob.pk, dave.pk}  # not globex's charlie
    assert body["count"] == 3 and body["next_page"] is None
    agents = bob_api.get("/api/v2/users.json?role=agent").json()["users"]
    assert {u["id"] for u in agents} == {bob.pk, dave.pk}
    assert bob_api.get("/api/v2/users.json?role=owner").status_code == 400


def test_users_are_paginated(bob_api, alice, bob, dave):  # SPEC A1
    first = bob_api.get("/api/v2/users.json?per_page=2").json()
    assert len(first["users"]) == 2 and first["count"] == 3 and first["next_page"]
    second = bob_api.get("/api/v2/users.json?per_page=2&page=2").json()
    assert len(second["users"]) == 1
    assert {u["id"] for u in first["users"] + second["users"]} == {alice.pk, bob.pk, dave.pk}


def test_show_many_answers_the_accounts_users_only(bob_api, alice, dave, charlie):  # SPEC T3
    ids = f"{alice.pk},{charlie.pk},{missing_id()},{dave.pk},9999999999999999999"
    body = bob_api.get(f"/api/v2/users/show_many.json?ids={ids}").json()
    assert {u["id"] for u in body["users"]} == {alice.pk, dave.pk}
    assert body["users"][0]["url"].endswith(".json")


@pytest.mark.parametrize("query", ["", "?ids=", "?ids=1,,2", "?ids=abc", "?ids=" + ",".join(["1"] * 101)])
def test_show_many_refuses_bad_ids(bob_api, query):
    response = bob_api.get(f"/api/v2/users/show_many.json{query}")
    assert response.status_code == 400
    assert details(response) == {"ids"}


def test_search_matches_name_or_email_in_the_account(bob_api, alice, bob, dave, charlie):  # SPEC T3
    def found(query):
        response = bob_api.get("/api/v2/users/search.json", {"query": query})
        assert response.status_code == 200, response.content
        return {u["id"] for u in response.json()["users"]}

    assert found("ALICE") == {alice.pk}
    assert found("acme.test") == {alice.pk, bob.pk, dave.pk}
    assert found("Agent") == {bob.pk, dave.pk}
    assert found("charlie") == set()  # globex's admin is not acme's user


@pytest.mark.parametrize("query", ["", "?query=", "?query=" + "x" * 201])
def test_search_refuses_a_missing_or_overlong_query(bob_api, query):
    response = bob_api.get(f"/api/v2/users/search.json{query}")
    assert response.status_code == 400
    assert details(response) == {"query"}


def test_globex_sees_none_of_acmes_users(charlie_api, alice, bob):  # SPEC T3
    users = charlie_api.get("/api/v2/users.json").json()["users"]
    assert alice.pk not in {u["id"] for u in users} and bob.pk not in {u["id"] for u in users}
    assert charlie_api.get(f"/api/v2/users/show_many.json?ids={alice.pk},{bob.pk}").json()["users"] == []
    assert charlie_api.get("/api/v2/users/search.json?query=acme").json()["users"] == []


# --- Groups -------------------------------------------------------------------------
def test_an_admin_creates_changes_and_deletes_a_group(alice_api, acme, alice):  # SPEC A1, T4
    response = post(alice_api, "/api/v2/groups.json", {"group": {"name": " Support ", "description": "Tier 1"}})
    assert response.status_code == 201, response.content
    group = response.json()["group"]
    assert group["name"] == "Support" and group["description"] == "Tier 1" and group["default"] is False
    assert group["url"].endswith(f"/api/v2/groups/{group['id']}.json")
    assert alice_api.get(f"/api/v2/groups/{group['id']}.json").json()["group"]["name"] == "Support"

    changed = put(alice_api, f"/api/v2/groups/{group['id']}.json", {"group": {"name": "Billing", "default": True}})
    assert changed.status_code == 200, changed.content
    assert changed.json()["group"]["name"] == "Billing" and changed.json()["group"]["default"] is True

    assert alice_api.delete(f"/api/v2/groups/{group['id']}.json").status_code == 204
    assert alice_api.get(f"/api/v2/groups/{group['id']}.json").status_code == 404
    with scope(account=acme):
        actions = list(AuditEntry.objects.filter(account=acme, action__startswith="group.").values_list("action", flat=True))
    assert sorted(actions) == ["group.create", "group.delete", "group.update"]


def test_one_default_group_per_account(acme, alice):
    first = make_group(acme, "First", default=True)
    second = make_group(acme, "Second", default=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_members_read_groups_and_agents_cannot_write(bob_api, acme, alice):  # SPEC T4
    group = make_group(acme, "Support")
    listed = bob_api.get("/api/v2/groups.json").json()
    assert [g["id"] for g in listed["groups"]] == [group.pk] and listed["count"] == 1
    assert bob_api.get(f"/api/v2/groups/{group.pk}.json").status_code == 200
    before = counts()
    assert post(bob_api, "/api/v2/groups.json", {"group": {"name": "Mine"}}).status_code == 403
    assert put(bob_api, f"/api/v2/groups/{group.pk}.json", {"group": {"name": "Mine"}}).status_code == 403
    assert bob_api.delete(f"/api/v2/groups/{group.pk}.json").status_code == 403
    assert counts() == before
    group.refresh_from_db()
    assert group.name == "Support"


def test_a_group_name_is_unique_per_account_whatever_the_case(alice_api, charlie_api, acme, globex):
    make_group(acme, "Support")
    other = make_group(acme, "Billing")
    before = counts()
    taken = post(alice_api, "/api/v2/groups.json", {"group": {"name": "SUPPORT"}})
    assert taken.status_code == 422 and details(taken) == {"name"}
    renamed = put(alice_api, f"/api/v2/groups/{other.pk}.json", {"group": {"name": "support"}})
    assert renamed.status_code == 422 and details(renamed) == {"name"}
    assert counts() == before
    # Another account may use the name; the same group may keep its own.
    assert post(charlie_api, "/api/v2/groups.json", {"group": {"name": "Support"}}).status_code == 201
    assert put(alice_api, f"/api/v2/groups/{other.pk}.json", {"group": {"name": "BILLING"}}).status_code == 200


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({}, 400, "group"),
        ({"group": {}}, 400, "group.name"),
        ({"group": {"name": 5}}, 400, "group.name"),
        ({"group": {"name": "   "}}, 422, "name"),
        ({"group": {"name": "x" * 101}}, 422, "name"),
        ({"group": {"name": "Ok", "description": "x" * 1001}}, 422, "description"),
        ({"group": {"name": "Ok", "default": "yes"}}, 400, "group.default"),
    ],
)
def test_bad_group_input_is_refused_and_writes_nothing(alice_api, acme, alice, body, status, field):
    before = counts()
    response = post(alice_api, "/api/v2/groups.json", body)
    assert response.status_code == status, response.content
    assert details(response) == {field}
    assert counts() == before


def test_globex_cannot_reach_acmes_groups(charlie_api, acme, alice, globex):  # SPEC T3
    group = make_group(acme, "Support")
    foreign, missing = f"/api/v2/groups/{group.pk}.json", f"/api/v2/groups/{missing_id()}.json"
    assert_isolated(charlie_api, foreign, missing)
    assert_isolated(charlie_api, foreign, missing, method="put", data={"group": {"name": "Mine"}})
    assert_isolated(charlie_api, foreign, missing, method="delete")
    assert charlie_api.get("/api/v2/groups.json").json()["groups"] == []
    group.refresh_from_db()
    assert group.name == "Support"


# --- Group memberships ----------------------------------------------------------------
def test_an_admin_puts_a_member_in_a_group_and_takes_them_out(alice_api, bob_api, acme, alice, bob, dave):
    group = make_group(acme, "Support")
    response = post(alice_api, "/api/v2/group_memberships.json", {"group_membership": {"user_id": bob.pk, "group_id": group.pk}})
    assert response.status_code == 201, response.content
    membership = response.json()["group_membership"]
    assert (membership["user_id"], membership["group_id"]) == (bob.pk, group.pk)
    add_to_group(acme, group, dave)

    every = bob_api.get("/api/v2/group_memberships.json").json()
    assert every["count"] == 2
    assert [m["user_id"] for m in bob_api.get(f"/api/v2/group_memberships.json?user_id={bob.pk}").json()["group_memberships"]] == [bob.pk]
    assert bob_api.get(f"/api/v2/group_memberships.json?group_id={group.pk}").json()["count"] == 2
    assert bob_api.get(f"/api/v2/group_memberships/{membership['id']}.json").json()["group_membership"]["id"] == membership["id"]

    assert alice_api.delete(f"/api/v2/group_memberships/{membership['id']}.json").status_code == 204
    assert bob_api.get(f"/api/v2/group_memberships/{membership['id']}.json").status_code == 404
    with scope(account=acme):
        actions = set(AuditEntry.objects.filter(account=acme).values_list("action", flat=True))
    assert {"group_membership.create", "group_membership.delete"} <= actions


def test_deleting_a_group_deletes_its_memberships(alice_api, acme, alice, bob):
    group = make_group(acme, "Support")
    add_to_group(acme, group, bob)
    assert alice_api.delete(f"/api/v2/groups/{group.pk}.json").status_code == 204
    with scopes_disabled():
        assert not GroupMembership.objects.filter(group_id=group.pk).exists()


def test_a_member_who_leaves_the_account_leaves_the_lists(bob_api, acme, alice, dave):  # SPEC T3
    group = make_group(acme, "Support")
    membership = add_to_group(acme, group, dave)
    with scope(account=acme):
        dave.memberships.filter(account=acme).update(is_active=False)
    assert bob_api.get("/api/v2/group_memberships.json").json()["group_memberships"] == []
    assert bob_api.get(f"/api/v2/group_memberships/{membership.pk}.json").status_code == 404
    assert dave.pk not in {u["id"] for u in bob_api.get("/api/v2/users.json").json()["users"]}


def test_an_agent_cannot_change_group_memberships(bob_api, acme, alice, bob):  # SPEC T4
    group = make_group(acme, "Support")
    membership = add_to_group(acme, group, alice)
    before = counts()
    body = {"group_membership": {"user_id": bob.pk, "group_id": group.pk}}
    assert post(bob_api, "/api/v2/group_memberships.json", body).status_code == 403
    assert bob_api.delete(f"/api/v2/group_memberships/{membership.pk}.json").status_code == 403
    assert counts() == before


def test_a_membership_needs_a_member_and_a_group_of_the_account(alice_api, acme, alice, bob, globex, charlie):
    group = make_group(acme, "Support")
    foreign_group = make_group(globex, "Support")
    add_to_group(acme, group, bob)
    before = counts()
    cases = [
        ({"user_id": charlie.pk, "group_id": group.pk}, "user_id"),  # globex's admin
        ({"user_id": missing_id(), "group_id": group.pk}, "user_id"),
        ({"user_id": alice.pk, "group_id": foreign_group.pk}, "group_id"),  # globex's group
        ({"user_id": alice.pk, "group_id": missing_id()}, "group_id"),
        ({"user_id": bob.pk, "group_id": group.pk}, "user_id"),  # already in it
    ]
    answers = []
    for membership, field in cases:
        response = post(alice_api, "/api/v2/group_memberships.json", {"group_membership": membership})
        assert response.status_code == 422, (membership, response.content)
        assert details(response) == {field}
        answers.append(response.json())
    assert answers[0] == answers[1] and answers[2] == answers[3]  # foreign ids answer like missing ones
    assert counts() == before


@pytest.mark.parametrize(
    "membership, field",
    [
        ({"group_id": 1}, "group_membership.user_id"),
        ({"user_id": 0, "group_id": 1}, "user_id"),
        ({"user_id": 2**63, "group_id": 1}, "user_id"),
        ({"user_id": "1", "group_id": 1}, "group_membership.user_id"),
    ],
)
def test_bad_membership_input_is_refused(alice_api, acme, alice, membership, field):
    before = counts()
    response = post(alice_api, "/api/v2/group_memberships.json", {"group_membership": membership})
    assert response.status_code in (400, 422), response.content
    assert details(response) == {field}
    assert counts() == before


@pytest.mark.parametrize("query", ["?user_id=0", "?group_id=abc", f"?user_id={2**63}", "?group_id="])
def test_bad_membership_filters_are_refused(bob_api, query):
    assert bob_api.get(f"/api/v2/group_memberships.json{query}").status_code == 400


def test_globex_cannot_reach_acmes_group_memberships(charlie_api, acme, alice, bob, globex):  # SPEC T3
    group = make_group(acme, "Support")
    membership = add_to_group(acme, group, bob)
    foreign = f"/api/v2/group_memberships/{membership.pk}.json"
    missing = f"/api/v2/group_memberships/{missing_id()}.json"
    assert_isolated(charlie_api, foreign, missing)
    assert_isolated(charlie_api, foreign, missing, method="delete")
    assert charlie_api.get("/api/v2/group_memberships.json").json()["group_memberships"] == []
    assert charlie_api.get(f"/api/v2/group_memberships.json?group_id={group.pk}").json()["count"] == 0
    with scopes_disabled():
        assert GroupMembership.objects.filter(pk=membership.pk).exists()


def test_users_and_groups_follow_cursor_pagination(bob_api, acme, alice, bob, dave):  # issue 15 item 2
    for name in ("A", "B", "C"):
        make_group(acme, name)
    for url, key, total in (("/api/v2/users.json", "users", 3), ("/api/v2/groups.json", "groups", 3)):
        seen, next_url = [], f"{url}?page[size]=2"
        while next_url:
            body = bob_api.get(next_url).json()
            seen += [row["id"] for row in body[key]]
            next_url = body["links"]["next"] if body["meta"]["has_more"] else None
        assert len(seen) == len(set(seen)) == total


def test_a_group_a_line_routes_to_cannot_be_deleted(alice_api, acme):  # SPEC R14, issue 15
    from talk.models import Line
    from tests.talk.calls_support import make_line

    group = make_group(acme, "Support")
    line = make_line(acme, name="Sales line")
    with scope(account=acme):
        line.groups.add(group)
    before = counts()
    refused = alice_api.delete(f"/api/v2/groups/{group.pk}.json")
    assert (refused.status_code, refused.json()["error"]) == (409, "Conflict")
    assert refused.json()["details"]["base"][0]["description"] == services.GROUP_IN_USE_MESSAGE.format(
        uses='the line "Sales line"'
    )
    assert counts() == before  # nothing deleted, nothing audited
    with scope(account=acme):
        line.groups.clear()
        Line.objects.filter(pk=line.pk).update(default_group=group)  # the default group alone holds it too
    assert alice_api.delete(f"/api/v2/groups/{group.pk}.json").status_code == 409
    with scope(account=acme):
        Line.objects.filter(pk=line.pk).update(default_group=None)
    assert alice_api.delete(f"/api/v2/groups/{group.pk}.json").status_code == 204


def test_the_nested_lists_give_one_users_or_one_groups_memberships(bob_api, acme, alice, bob, dave):  # SPEC A1
    support, sales = make_group(acme, "Support"), make_group(acme, "Sales")
    mine = [add_to_group(acme, support, bob), add_to_group(acme, sales, bob)]
    add_to_group(acme, support, dave)
    listed = bob_api.get(f"/api/v2/users/{bob.pk}/group_memberships.json").json()
    assert [(m["id"], m["group_id"]) for m in listed["group_memberships"]] == [(m.pk, m.group_id) for m in mine]
    assert listed["count"] == 2
    members = bob_api.get(f"/api/v2/groups/{support.pk}/memberships.json?sort_order=desc").json()
    assert [m["user_id"] for m in members["group_memberships"]] == [dave.pk, bob.pk]
    assert bob_api.get(f"/api/v2/users/{alice.pk}/group_memberships.json").json()["group_memberships"] == []


def test_the_nested_lists_hide_another_accounts_user_and_group(charlie_api, bob_api, acme, bob, globex, charlie):  # SPEC T3
    group = make_group(acme, "Support")
    add_to_group(acme, group, bob)
    assert_isolated(charlie_api, f"/api/v2/users/{bob.pk}/group_memberships.json",
                    f"/api/v2/users/{missing_id()}/group_memberships.json")
    assert_isolated(charlie_api, f"/api/v2/groups/{group.pk}/memberships.json",
                    f"/api/v2/groups/{missing_id()}/memberships.json")
    assert bob_api.get(f"/api/v2/users/{charlie.pk}/group_memberships.json").status_code == 404
    assert bob_api.get(f"/api/v2/users/{2**63}/group_memberships.json").status_code == 404
