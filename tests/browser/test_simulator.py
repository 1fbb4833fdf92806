"""The seed's caller scenario in a real browser: dial, press 2, choose 1, confirm (SPEC O1, C3, C6)."""
from __future__ import annotations

import pytest
from django_scopes import scope

from talk import routing
from talk.models import AgentPresence, CallbackRequest
from talk.services.offers import offer_accept
from tests.browser.conftest import sign_in
from tests.talk.calls_support import make_line, set_presence

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_asks_for_a_callback_in_the_simulator(page, live_server, acme, bob):
    make_line(acme)
    sign_in(page, live_server, acme, "bob@acme.test")
    page.click("text=Call simulator")
    page.select_option("#sim-status", "online")
    page.click("text=Set status")
    assert page.is_visible("text=1 agent online or away")
    page.click("#sim-dial button[type=submit]")
    transcript = page.locator("#sim-transcript")
    transcript.get_by_text("press 2 and we will call you back").first.wait_for()
    page.wait_for_selector("#sim-status-label:not(:has-text('working'))")
    for key, expected in [("2", "press 3"), ("1", "To confirm your callback request"), ("1", "is confirmed")]:
        page.click(f"button[data-key='{key}']")
        transcript.get_by_text(expected).last.wait_for()
        page.wait_for_selector("#sim-status-label:not(:has-text('working'))")
    page.wait_for_selector("#sim-status-label:has-text('completed')")
    with scope(account=acme):
        request = CallbackRequest.objects.get()
    assert (request.number, request.state, request.confirmed) == ("+14155550111", "pending", True)


def test_the_page_follows_the_call_when_an_agent_takes_it(page, live_server, acme, bob, console_inline):  # SPEC O1, R5
    make_line(acme)
    sign_in(page, live_server, acme, "bob@acme.test")
    page.click("text=Call simulator")
    page.click("#sim-dial button[type=submit]")
    page.wait_for_selector("#sim-status-label:has-text('in queue')")
    set_presence(acme, bob, AgentPresence.Status.ONLINE)
    with scope(account=acme):
        [offer] = routing.route_account(acme)
        offer_accept(account=acme, offer_id=offer.pk, agent=bob)  # the carrier connects the caller to bob
    # Nobody clicks: the page hears that the caller left the queue and the call ended.
    page.wait_for_selector("#sim-status-label:has-text('completed')")
    page.locator("#sim-transcript").get_by_text("Left queue").wait_for()
    assert page.locator("#sim-hangup").is_disabled()
