"""Admin center › Groups in a real browser: a group made, an agent added, a line routed to it
(issue 15, SPEC R14)."""
from __future__ import annotations

import pytest
from django_scopes import scope

from supportcenter.models import Group, GroupMembership
from talk.models import Line
from tests.browser.conftest import account_url, sign_in
from tests.talk.factories import make_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_makes_a_group_adds_bob_and_routes_a_line_to_it(page, live_server, acme, alice, bob):  # SPEC R14
    line = make_line(acme, "Main line")
    sign_in(page, live_server, acme, "alice@acme.test")

    # Admin center › Account › Groups › New group.
    page.click("nav.mainnav >> text=Admin center")
    page.click("nav.admin-nav >> text=Groups")
    assert page.is_visible("#admin-groups >> text=No groups yet.")
    page.fill("#id_name", "Billing")
    page.fill("#id_description", "Invoices and refunds")
    page.click("button:has-text('Create group')")
    page.wait_for_selector("text=Group “Billing” created.")

    # Add bob from the members' list.
    page.select_option("#group-member-form select", label="Bob Agent (agent)")
    page.click("#group-member-form button:has-text('Add')")
    page.wait_for_selector("text=Bob Agent added to Billing.")
    assert page.is_visible("#group-members >> text=bob@acme.test")
    with scope(account=acme):
        group = Group.objects.get(account=acme, name="Billing")
        assert list(GroupMembership.objects.filter(account=acme, group=group).values_list("user_id", flat=True)) == [bob.pk]

    # The line's General tab: tick the group, make it the default, save.
    page.click("nav.admin-nav >> text=Talk › Lines")
    page.click("#talk-lines >> text=Main line")
    page.check("#line-groups >> label:has-text('Billing') >> input")
    page.select_option("#id_default_group", label="Billing")
    page.click("#line-general-form button:has-text('Save changes')")
    page.wait_for_selector("text=Changes saved.")
    assert page.is_checked("#line-groups >> label:has-text('Billing') >> input")
    with scope(account=acme):
        saved = Line.objects.get(account=acme, pk=line.pk)
        assert saved.default_group_id == group.pk
        assert list(saved.groups.values_list("pk", flat=True)) == [group.pk]

    # The lines list says where the line's calls go.
    page.click("nav.admin-nav >> text=Talk › Lines")
    assert "Billing default" in " ".join(page.text_content("#talk-lines tbody tr").split())

    # A group a line routes to is not deleted: the page says why.
    page.goto(account_url(live_server, acme, f"/admin-center/groups/{group.pk}/"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#group-delete-form button")
    page.wait_for_selector(".flash li.error")
    assert "Main line" in page.text_content(".flash li.error")
    with scope(account=acme):
        assert Group.objects.filter(account=acme, pk=group.pk).exists()


def test_bob_is_refused_the_groups_pages(page, live_server, acme, bob):  # SPEC T4
    with scope(account=acme):
        from supportcenter import services as core_services

        group = core_services.group_create(account=acme, actor=None, name="Billing")
    sign_in(page, live_server, acme, "bob@acme.test")
    for path in ("/admin-center/groups/", f"/admin-center/groups/{group.pk}/"):
        response = page.goto(account_url(live_server, acme, path))
        assert response.status == 403, path
