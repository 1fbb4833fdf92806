"""Agent pages: list, ticket with comments, reply or internal note, status (SPEC K2)."""
from __future__ import annotations

import pytest
from django_scopes import scope

from tickets import services
from tickets.forms import NOTHING_TO_UPDATE_MESSAGE
from tests.conftest import page_client
from tests.isolation import _body, assert_isolated, missing_id
from tests.tickets.helpers import add_comment, comments_of, make_ticket, tickets_of


def test_the_list_shows_the_accounts_tickets_newest_first(bob_client, acme, bob, globex):  # SPEC K2
    make_ticket(acme, subject="Old one", phone="+14155550123")
    make_ticket(acme, subject="New one")
    make_ticket(globex, subject="Globex secret")
    page = bob_client.get("/tickets/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("New one") < html.index("Old one")
    assert "Globex secret" not in html
    assert "+1 415-555-0123" in html or "+1 415 555 0123" in html


def test_the_nav_and_home_link_to_tickets(bob_client, acme, bob):
    home = bob_client.get("/").content.decode()
    assert 'href="/tickets/"' in home


def test_the_list_filters_by_status_assignee_and_search(bob_client, acme, bob, dave):  # SPEC K2
    make_ticket(acme, subject="Mine", assignee=bob, phone="+14155550123")
    make_ticket(acme, subject="Daves", assignee=dave)
    make_ticket(acme, subject="Nobodys", phone="+14155550999")

    def subjects(query: str) -> list[str]:
        return [t.subject for t in bob_client.get(f"/tickets/?{query}").context["page"]]

    assert subjects("assignee=me") == ["Mine"]
    assert subjects(f"assignee={dave.pk}") == ["Daves"]
    assert subjects("assignee=unassigned") == ["Nobodys"]
    assert subjects("status=open") == ["Daves", "Mine"]
    assert subjects("status=new") == ["Nobodys"]
    assert subjects("q=555-0999") == ["Nobodys"]
    assert subjects("q=%2B14155550123") == ["Mine"]
    assert subjects("q=dave") == ["Daves"]
    assert subjects("q=nothing") == []
    bad = bob_client.get("/tickets/?status=weird")
    assert bad.status_code == 200 and b"The filters were not applied" in bad.content


def test_the_list_is_paginated_and_keeps_the_filters(bob_client, acme):
    for i in range(52):
        make_ticket(acme, subject=f"Ticket {i}", description="")
    page = bob_client.get("/tickets/?status=new")
    assert len(page.context["page"]) == 50
    assert b"status=new&amp;page=2" in page.content
    assert len(bob_client.get("/tickets/?status=new&page=2").context["page"]) == 2


def test_the_ticket_page_shows_comments_with_internal_ones_marked(bob_client, acme, bob):  # SPEC K2
    ticket = make_ticket(acme, actor=bob, phone="+14155550123")
    add_comment(acme, ticket, "Secret agent note", public=False, author=bob)
    add_comment(acme, ticket, "Callback: no answer", public=False)
    page = bob_client.get(f"/tickets/{ticket.number}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="comment internal"') == 2
    assert html.count('class="comment public"') == 1
    assert html.count("Internal note</span>") == 2
    assert "System" in html  # the system's note has no person as author


def test_an_agent_adds_an_internal_note(bob_client, acme, bob):  # SPEC K2
    ticket = make_ticket(acme)
    response = bob_client.post(
        f"/tickets/{ticket.number}/", {"body": "Check the logs", "public": "false", "status": "new", "assignee": ""}
    )
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.number}/"
    note = comments_of(acme, ticket)[-1]
    assert (note.body, note.public, note.author, note.via) == ("Check the logs", False, bob, "web")
    assert b"Internal note added" in bob_client.get(response["Location"]).content


def test_an_agent_replies_and_solves_in_one_go(bob_client, acme, bob, dave):  # SPEC K2
    ticket = make_ticket(acme)
    response = bob_client.post(
        f"/tickets/{ticket.number}/", {"body": "Fixed it", "public": "true", "status": "solved", "assignee": dave.pk}
    )
    assert response.status_code == 302
    [ticket] = tickets_of(acme)
    assert (ticket.status, ticket.assignee) == ("solved", dave)
    assert comments_of(acme, ticket)[-1].public is True


def test_an_empty_submit_says_what_is_missing_and_writes_nothing(bob_client, acme, bob):
    ticket = make_ticket(acme)
    response = bob_client.post(f"/tickets/{ticket.number}/", {"body": "  ", "public": "true", "status": "new", "assignee": ""})
    assert response.status_code == 400
    assert NOTHING_TO_UPDATE_MESSAGE.encode() in response.content
    assert len(comments_of(acme)) == 1


def test_a_refused_update_keeps_what_the_agent_typed(bob_client, acme, bob):
    ticket = make_ticket(acme, assignee=bob)
    response = bob_client.post(
        f"/tickets/{ticket.number}/", {"body": "My long reply", "public": "true", "status": "bogus", "assignee": bob.pk}
    )
    assert response.status_code == 400
    assert b"My long reply" in response.content and b"Select a valid choice" in response.content
    assert len(comments_of(acme)) == 1


def test_a_service_refusal_is_shown_on_the_form(bob_client, acme, bob):
    ticket = make_ticket(acme, assignee=bob)
    with scope(account=acme):
        services.ticket_update(account=acme, ticket=ticket, actor=bob, status="closed")
    page = bob_client.get(f"/tickets/{ticket.number}/")
    assert b'id="composer"' not in page.content and b"closed" in page.content
    response = bob_client.post(f"/tickets/{ticket.number}/", {"body": "late", "public": "true", "status": "closed"})
    assert response.status_code == 400
    assert services.TICKET_CLOSED_MESSAGE.encode() in response.content
    assert len(comments_of(acme)) == 1


def test_an_agent_creates_a_ticket_for_a_caller(bob_client, acme, bob):  # SPEC K1
    response = bob_client.post(
        "/tickets/new/", {"subject": "Lost parcel", "name": "Ann", "phone": "(415) 555-0123", "email": "",
                          "description": "Where is it?", "assignee": bob.pk}
    )
    assert response.status_code == 302
    [ticket] = tickets_of(acme)
    assert response["Location"] == f"/tickets/{ticket.number}/"
    with scope(account=acme):
        assert (ticket.via, ticket.status, ticket.requester.phone.as_e164) == ("web", "open", "+14155550123")


def test_a_bad_phone_on_a_new_ticket_is_explained_and_nothing_written(bob_client, acme, bob):
    response = bob_client.post(
        "/tickets/new/", {"subject": "Lost parcel", "name": "Ann", "phone": "12", "description": "Where is it?"}
    )
    assert response.status_code == 400
    assert services.INVALID_PHONE_MESSAGE.encode() in response.content
    assert b"Lost parcel" in response.content and b"Where is it?" in response.content
    assert tickets_of(acme) == []


def test_pages_need_a_signed_in_member(acme, bob, client):  # SPEC T4
    ticket = make_ticket(acme)
    anonymous = page_client(acme)
    for url in ("/tickets/", f"/tickets/{ticket.number}/", "/tickets/new/"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("method", ["get", "post"])
def test_globex_cannot_see_or_change_an_acme_ticket_page(charlie_client, acme, bob, globex, method):  # SPEC T3
    make_ticket(acme, actor=bob)
    ticket = make_ticket(acme, actor=bob, subject="Acme only")
    make_ticket(globex)  # globex's #1 exists; acme's #2 must still answer as missing
    assert_isolated(charlie_client, f"/tickets/{ticket.number}/", f"/tickets/{missing_id()}/", method=method)
    assert_isolated(charlie_client, f"/tickets/{ticket.number}/", f"/tickets/{ticket.number + 7}/", method=method)
    assert tickets_of(acme)[1].status == "new" and len(comments_of(acme)) == 2
    assert b"Acme only" not in charlie_client.get("/tickets/?q=Acme").content


def test_a_globex_post_with_form_data_changes_nothing(charlie_client, acme, bob, globex):  # SPEC T3
    ticket = make_ticket(acme, actor=bob)
    foreign = charlie_client.post(f"/tickets/{ticket.number}/", {"body": "x", "public": "true", "status": "solved"})
    missing = charlie_client.post(f"/tickets/{missing_id()}/", {"body": "x", "public": "true", "status": "solved"})
    assert foreign.status_code == missing.status_code == 404
    assert _body(foreign) == _body(missing)  # the same page but for its fresh CSRF token
    assert tickets_of(acme)[0].status == "new" and len(comments_of(acme)) == 1


def test_the_list_page_costs_the_same_queries_whatever_its_length(bob_client, acme, bob, django_assert_max_num_queries):
    make_ticket(acme, phone="+14155550100", assignee=bob)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        bob_client.get("/tickets/")
    for i in range(20):
        make_ticket(acme, phone=f"+1415555{i:04d}", assignee=bob)
    with django_assert_max_num_queries(len(one)):
        assert len(bob_client.get("/tickets/").context["page"]) == 21


def test_times_are_shown_in_the_accounts_time_zone(bob_client, acme, bob):  # SPEC T1
    ticket = make_ticket(acme)
    html = bob_client.get(f"/tickets/{ticket.number}/").content.decode()
    assert any(f'datetime="{ticket.created_at.year}' in html and offset in html for offset in ("-05:00", "-04:00"))


def test_the_requester_panel_shows_each_contact_once(bob_client, acme, bob):  # issue 13, item 4
    ticket = make_ticket(acme, phone="+14155550123")  # named "Caller" by the helper
    page = bob_client.get(f"/tickets/{ticket.number}/").content.decode()
    panel = page[page.index("<dt>Requester</dt>"):page.index("<dt>Assignee</dt>")]
    assert panel.count("+1 415-555-0123") == 1 and "Caller" in panel
    with scope(account=acme):
        ticket.requester.name = ""
        ticket.requester.save()
    page = bob_client.get(f"/tickets/{ticket.number}/").content.decode()
    panel = page[page.index("<dt>Requester</dt>"):page.index("<dt>Assignee</dt>")]
    assert panel.count("+1 415-555-0123") == 1  # no name: the number once, not as name and number
