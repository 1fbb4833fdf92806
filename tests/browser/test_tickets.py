from __future__ import annotations

import pytest

from tests.browser.conftest import account_url, sign_in
from tests.tickets.helpers import comments_of, make_ticket, tickets_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def test_bob_works_a_ticket_with_an_internal_note_and_a_public_reply(page, live_server, acme, bob):  # SPEC K2
    make_ticket(acme, subject="Printer on fire", description="Smoke everywhere.", phone="+14155550123")
    sign_in(page, live_server, acme, "bob@acme.test")
    page.click("nav.mainnav >> text=Tickets")
    page.fill("#id_q", "555-0123")
    page.click("button:has-text('Filter')")
    page.click("td >> text=Printer on fire")
    page.wait_for_selector("h1:has-text('Printer on fire')")

    page.check("input[name=public][value=false]")
    assert page.is_visible("text=Internal notes are seen by agents only")
    page.fill("#id_body", "Check the fire extinguisher first.")
    page.click("button:has-text('Update ticket')")
    page.wait_for_selector("text=Internal note added")

    page.fill("#id_body", "We are sending someone over.")
    page.select_option("#id_status", "pending")
    page.click("button:has-text('Update ticket')")
    page.wait_for_selector("text=Reply sent")

    note = page.locator("li.comment", has_text="Check the fire extinguisher first.")
    assert "internal" in note.get_attribute("class")
    assert note.locator(".internal-badge").inner_text() == "Internal note"
    reply = page.locator("li.comment", has_text="We are sending someone over.")
    assert "internal" not in reply.get_attribute("class")
    assert page.locator(".ticket-head .ticket-status").inner_text() == "Pending"
    # Back to public after a note: the composer starts as a public reply again.
    assert page.is_checked("input[name=public][value=true]")

    [ticket] = tickets_of(acme)
    assert ticket.status == "pending"
    assert [(c.body, c.public) for c in comments_of(acme, ticket)] == [
        ("Smoke everywhere.", True),
        ("Check the fire extinguisher first.", False),
        ("We are sending someone over.", True),
    ]


def test_an_empty_submit_shows_an_error_and_keeps_the_page(page, live_server, acme, bob):
    ticket = make_ticket(acme, subject="Quiet ticket")
    sign_in(page, live_server, acme, "bob@acme.test")
    page.goto(account_url(live_server, acme, f"/tickets/{ticket.number}/"))
    page.click("button:has-text('Update ticket')")
    assert page.is_visible("[role=alert]:has-text('Nothing to save')")
