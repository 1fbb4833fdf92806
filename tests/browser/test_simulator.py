"""The seed's caller scenario in a real browser: dial, press 2, choose 1, confirm (SPEC O1, C3, C6)."""
from __future__ import annotations

import pytest
from django_scopes import scope

from talk.models import CallbackRequest
from tests.browser.conftest import sign_in
from tests.talk.calls_support import make_line

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
