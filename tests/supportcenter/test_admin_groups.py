"""Admin center › Groups: list, create, rename/describe, mark default, members, delete
(issue 15, SPEC R14, T3, T4)."""
from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from supportcenter import services as core_services
from supportcenter.forms import CHOOSE_MEMBER_MESSAGE
from supportcenter.models import AuditEntry, Group, GroupMembership
from supportcenter.services import (
    GROUP_IN_USE_MESSAGE,
    GROUP_MEMBER_NOT_A_MEMBER_MESSAGE,
    GROUP_NAME_REQUIRED_MESSAGE,
    GROUP_NAME_TAKEN_MESSAGE,
)
from tests.conftest import page_client
from tests.isolation import assert_isolated, missing_id
from tests.talk.factories import make_line

LIST = "/admin-center/groups/"


def detail(pk: int) -> str:
    return f"/admin-center/groups/{pk}/"


def make_group(account, name: str = "Billing", actor=None, **fields) -> Group:
    with scope(account=account):
        return core_services.group_create(account=account, actor=actor, name=name, **fields)


def add_member(account, group: Group, user) -> GroupMembership:
    with scope(account=account):
        return core_services.group_membership_create(account=account, actor=None, group_id=group.pk, user_id=user.pk)


def groups_of(account) -> dict[str, tuple[str, bool]]:
    with scope(account=account):
        return {g.name: (g.description, g.is_default) for g in Group.objects.filter(account=account)}


def members_of(account, group: Group) -> set[int]:
    with scope(account=account):
        return set(GroupMembership.objects.filter(account=account, group=group).values_list("user_id", flat=True))


@pytest.fixture
def billing(acme, alice) -> Group:
    return make_group(acme, "Billing", description="Invoices and refunds")


def test_it_lists_the_accounts_groups_with_their_member_counts(alice_client, acme, globex, billing, bob, dave):
    add_member(acme, billing, bob)
    add_member(acme, billing, dave)
    make_group(acme, "Sales", default=True)
    make_group(globex, "Tokyo desk")
    page = alice_client.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Billing" in html and "Invoices and refunds" in html and "Sales" in html
    assert "Tokyo desk" not in html  # SPEC T3
    assert f'href="{detail(billing.pk)}"' in html
    assert '<td data-label="Members" class="num">2</td>' in html


def test_the_admin_center_links_to_groups(alice_client):
    html = alice_client.get("/admin-center/").content.decode()
    assert f'href="{LIST}"' in html


def test_an_admin_creates_a_group_and_lands_on_it(alice_client, acme, alice):
    response = alice_client.post(LIST, {"name": "  Support tier 2 ", "description": "Escalations", "default": "on"})
    with scope(account=acme):
        group = Group.objects.get(account=acme, name="Support tier 2")
        assert AuditEntry.objects.filter(account=acme, action="group.create", actor=alice).exists()
    assert response.status_code == 302 and response["Location"] == detail(group.pk)
    assert groups_of(acme) == {"Support tier 2": ("Escalations", True)}
    page = alice_client.get(response["Location"])
    assert "Group “Support tier 2” created." in page.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [({"name": "  "}, GROUP_NAME_REQUIRED_MESSAGE), ({"name": "billing"}, GROUP_NAME_TAKEN_MESSAGE)],
)
def test_a_refused_group_shows_why_and_writes_nothing(alice_client, acme, billing, data, message):
    response = alice_client.post(LIST, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert set(groups_of(acme)) == {"Billing"}


def test_an_admin_renames_describes_and_marks_a_group_default(alice_client, acme, billing):
    sales = make_group(acme, "Sales", default=True)
    response = alice_client.post(detail(billing.pk), {"name": "Billing EU", "description": "", "default": "on"})
    assert response.status_code == 302 and response["Location"] == detail(billing.pk)
    assert groups_of(acme) == {"Billing EU": ("", True), "Sales": ("", False)}  # one default per account
    page = alice_client.get(detail(billing.pk)).content.decode()
    assert "Group saved." in page and 'value="Billing EU"' in page
    refused = alice_client.post(detail(sales.pk), {"name": "BILLING eu"})
    assert refused.status_code == 400 and GROUP_NAME_TAKEN_MESSAGE in refused.content.decode()
    assert groups_of(acme)["Sales"] == ("", False)


def test_an_admin_adds_and_removes_members(alice_client, acme, billing, bob, dave, charlie):
    page = alice_client.get(detail(billing.pk)).content.decode()
    assert "Bob Agent (agent)" in page and "Charlie" not in page  # only the account's people are offered
    response = alice_client.post(reverse("admin_group_member_add", args=[billing.pk]), {"user": str(bob.pk)})
    assert response.status_code == 302 and members_of(acme, billing) == {bob.pk}
    page = alice_client.get(detail(billing.pk)).content.decode()
    assert "Bob Agent added to Billing." in page
    assert "Bob Agent (agent)" not in page  # no longer offered: already in

    # Someone of another account, no one, or the same person again: refused, nothing written.
    for data, message in [({"user": str(charlie.pk)}, GROUP_MEMBER_NOT_A_MEMBER_MESSAGE),
                          ({"user": ""}, CHOOSE_MEMBER_MESSAGE),
                          ({"user": "x"}, GROUP_MEMBER_NOT_A_MEMBER_MESSAGE)]:
        refused = alice_client.post(reverse("admin_group_member_add", args=[billing.pk]), data)
        assert refused.status_code == 400 and message in refused.content.decode(), data
    assert members_of(acme, billing) == {bob.pk}

    membership_id = _membership_id(acme, billing, bob)
    response = alice_client.post(reverse("admin_group_member_remove", args=[billing.pk, membership_id]))
    assert response.status_code == 302 and members_of(acme, billing) == set()
    assert "Bob Agent removed from Billing." in alice_client.get(detail(billing.pk)).content.decode()


def _membership_id(account, group: Group, user) -> int:
    with scope(account=account):
        return GroupMembership.objects.get(account=account, group=group, user=user).pk


def test_a_membership_is_removed_only_through_its_own_group(alice_client, acme, billing, bob):
    sales = make_group(acme, "Sales")
    membership = add_member(acme, billing, bob)
    response = alice_client.post(reverse("admin_group_member_remove", args=[sales.pk, membership.pk]))
    assert response.status_code == 404 and members_of(acme, billing) == {bob.pk}


def test_an_admin_deletes_a_group(alice_client, acme, billing, bob):
    add_member(acme, billing, bob)
    response = alice_client.post(reverse("admin_group_delete", args=[billing.pk]))
    assert response.status_code == 302 and response["Location"] == LIST
    assert groups_of(acme) == {} and members_of(acme, billing) == set()
    assert "Group “Billing” deleted." in alice_client.get(LIST).content.decode()


@pytest.mark.parametrize("use", ["default_group", "groups"])
def test_a_group_a_line_routes_to_is_not_deleted(alice_client, acme, billing, use):  # SPEC R14
    make_line(acme, "Main line", **{use: billing.pk if use == "default_group" else [billing.pk]})
    response = alice_client.post(reverse("admin_group_delete", args=[billing.pk]))
    assert response.status_code == 302 and response["Location"] == detail(billing.pk)
    assert set(groups_of(acme)) == {"Billing"}
    html = alice_client.get(detail(billing.pk)).content.decode()
    in_use = GROUP_IN_USE_MESSAGE.split("{uses}")[0]
    assert f'<li class="error">{in_use}' in html and "Main line" in html
    assert "Group “Billing” deleted." not in html


def group_pages(group: Group, membership: GroupMembership) -> list[tuple[str, str]]:
    return [
        ("get", LIST),
        ("post", LIST),
        ("get", detail(group.pk)),
        ("post", detail(group.pk)),
        ("post", reverse("admin_group_delete", args=[group.pk])),
        ("post", reverse("admin_group_member_add", args=[group.pk])),
        ("post", reverse("admin_group_member_remove", args=[group.pk, membership.pk])),
    ]


def test_agents_are_refused_every_group_page(bob_client, acme, billing, bob):  # SPEC T4
    membership = add_member(acme, billing, bob)
    for method, url in group_pages(billing, membership):
        response = getattr(bob_client, method)(url, {"name": "Taken over", "user": str(bob.pk)})
        assert response.status_code == 403, (method, url)
    assert groups_of(acme) == {"Billing": ("Invoices and refunds", False)}
    assert members_of(acme, billing) == {bob.pk}


def test_signed_out_visitors_are_sent_to_sign_in(acme, billing):
    response = page_client(acme).get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_globex_gets_acmes_groups_exactly_as_missing_ones(charlie_client, acme, billing, bob, method):  # SPEC T3
    membership = add_member(acme, billing, bob)
    assert_isolated(charlie_client, detail(billing.pk), detail(missing_id()), method=method)
    for name, args in [("admin_group_delete", [billing.pk]), ("admin_group_member_add", [billing.pk])]:
        assert_isolated(charlie_client, reverse(name, args=args), reverse(name, args=[missing_id()]), method="post")
    assert_isolated(
        charlie_client,
        reverse("admin_group_member_remove", args=[billing.pk, membership.pk]),
        reverse("admin_group_member_remove", args=[missing_id(), missing_id()]),
        method="post",
    )
    assert groups_of(acme) == {"Billing": ("Invoices and refunds", False)}
    assert members_of(acme, billing) == {bob.pk}
