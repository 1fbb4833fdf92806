"""The agent console in a real browser, two agents side by side (SPEC R1, R5, R6, R13).

pytest-django's live server is WSGI: it has no WebSocket, so this is the console's
fallback path (the socket fails, the page polls its state). The socket itself is
tested with WebsocketCommunicator in tests/talk/test_console_socket.py.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from talk import routing
from talk.models import AgentPresence, Offer
from talk.services.callback_requests import callback_request_create
from talk.services.callback_requests import TICKET_SUBJECT
from tests.browser.conftest import sign_in
from tests.talk.calls_support import CALLER, make_line
from tickets.models import Comment, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("console_inline")]






def go_online(page) -> None:
    page.get_by_role("radio", name="Online").click()
    expect(page.get_by_role("radio", name="Online")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#console-availability")).to_contain_text("Available")


def test_two_agents_pass_a_callback_along_and_one_calls_back(page, second_page, live_server, acme, bob, dave):
    line = make_line(acme)
    bob_page, dave_page = page, second_page
    sign_in(bob_page, live_server, acme, "bob@acme.test", "/talk/console/")
    sign_in(dave_page, live_server, acme, "dave@acme.test", "/talk/console/")
    go_online(bob_page)
    go_online(dave_page)
    # No socket on a WSGI server: the page says so and polls.
    expect(bob_page.locator("#console-link")).to_have_attribute("data-state", "polling")
    with scope(account=acme):
        assert set(AgentPresence.objects.values_list("status", flat=True)) == {"online"}
        # Dave was offered something a moment ago, so the cycle starts with bob (R4).
        AgentPresence.objects.filter(user=dave).update(last_offered_at=timezone.now())

    # A caller asks for a callback; a routing pass offers it (the live server runs in another thread).
    with scope(account=acme):
        request = callback_request_create(line=line, number=CALLER)
        routing.route_account(acme)
        first = Offer.objects.get(entry_id=request.queue_entry_id, state=Offer.State.OFFERED)
    assert first.agent_id == bob.pk

    offer_box = bob_page.locator("#console-offer")
    expect(offer_box.locator("#offer-number")).to_have_text(CALLER)
    expect(offer_box).to_contain_text("Main line")
    expect(offer_box).to_contain_text("Callback")
    expect(offer_box).to_contain_text("Confirmed by the caller")
    expect(bob_page.locator("#console-queues")).to_contain_text("Main line")
    expect(dave_page.locator("#console-offer-empty")).to_be_visible()

    bob_page.get_by_role("button", name="Don't answer").click()
    expect(bob_page.locator("#console-offer-notice")).to_contain_text("next agent")
    expect(bob_page.locator("#console-offer-empty")).to_be_visible()

    with scope(account=acme):
        routing.route_account(acme)  # the next pass (the decline already woke the router)
        second = Offer.objects.get(entry_id=request.queue_entry_id, state=Offer.State.OFFERED)
    assert second.agent_id == dave.pk

    expect(dave_page.locator("#offer-number")).to_have_text(CALLER)
    dave_page.get_by_role("button", name="Call", exact=True).click()
    # "Calling back …", then (the simulated callback is over in a moment) the agent is free again.
    expect(dave_page.locator("#console-offer-notice")).to_contain_text(f"Your call with {CALLER} has ended.")
    expect(dave_page.locator("#console-availability")).to_contain_text("Available")
    expect(dave_page.locator("#console-recent")).to_contain_text("Accepted")
    expect(dave_page.locator("#console-recent a")).to_contain_text("Ticket #")
    expect(bob_page.locator("#console-recent")).to_contain_text("Declined")

    with scope(account=acme):
        ticket = Ticket.objects.get(subject=TICKET_SUBJECT)
        notes = list(Comment.objects.filter(ticket=ticket, public=False).values_list("body", flat=True))
    assert any("Dave Agent accepted the callback request" in note for note in notes), notes


def test_a_bad_device_shows_the_message_and_a_good_one_is_saved(page, live_server, acme, bob):
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    page.fill("#console-device-input", "call me maybe")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#console-device-error")).to_contain_text("international form")
    page.fill("#console-device-input", "415 555 0123")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#console-device-saved")).to_be_visible()
    expect(page.locator("#console-device-input")).to_have_value("+14155550123")
    expect(page.locator("#console-device-error")).to_be_hidden()


def test_an_offer_that_times_out_leaves_the_page_with_a_word(page, live_server, acme, bob):  # SPEC R4, R13
    line = make_line(acme)
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    go_online(page)
    with scope(account=acme):
        request = callback_request_create(line=line, number=CALLER)
        routing.route_account(acme)
    expect(page.locator("#offer-number")).to_have_text(CALLER)
    with scope(account=acme):
        # Bob took a call elsewhere meanwhile, so the same pass cannot offer it to him again.
        AgentPresence.objects.filter(user=bob).update(busy=True)
        routing.route_account(acme, now=timezone.now() + timedelta(seconds=60))  # the sweep, a minute on
        assert Offer.objects.get(entry_id=request.queue_entry_id).state == Offer.State.TIMED_OUT
    expect(page.locator("#console-offer-notice")).to_contain_text("timed out")
    expect(page.locator("#console-recent")).to_contain_text("Not answered in time")
    expect(page.locator("#console-availability")).to_contain_text("On a call")
