"""An agent notices an offer without looking, and sets their status from any page (issue 13,
item 5; SPEC R1, R13): a tone made with the Web Audio API, the tab's title flashing, the status
switch in every page's header, and the console's status buttons moved by the arrow keys.
"""
from __future__ import annotations

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from talk import routing
from talk.models import AgentPresence
from talk.services.callback_requests import callback_request_create
from tests.browser.conftest import sign_in
from tests.talk.calls_support import CALLER, make_line
from tests.talk.test_console_support import live_offer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def quick_polls(settings):
    settings.CONSOLE_POLL_SECONDS = 1  # the live server is WSGI: the console polls


def _status(acme, user) -> str:
    with scope(account=acme):
        presence = AgentPresence.objects.filter(user=user).first()
    return presence.status if presence else "offline"


def test_a_new_offer_sounds_a_tone_and_flashes_the_title(page, live_server, acme, bob):  # SPEC R13
    line = make_line(acme)
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    page.get_by_role("radio", name="Online").click()  # a click: the browser lets the page make sound
    expect(page.get_by_role("radio", name="Online")).to_have_attribute("aria-checked", "true")
    title = page.title()
    with scope(account=acme):
        callback_request_create(line=line, number=CALLER)
        routing.route_account(acme)
    offer = page.locator("#console-offer")
    expect(offer.locator("#offer-number")).to_have_text(CALLER)
    expect(offer).to_have_attribute("data-tones", "1")
    expect(offer).to_have_attribute("data-audio-state", "running")
    page.wait_for_function("(title) => document.title !== title && document.title.includes('Callback')", arg=title)
    page.get_by_role("button", name="Don't answer").click()
    page.wait_for_function("(title) => document.title === title", arg=title)  # no offer: the title is back


def test_the_status_switch_in_the_header_sets_the_talk_status_from_any_page(page, live_server, acme, bob):  # SPEC R1
    sign_in(page, live_server, acme, "bob@acme.test", "/tickets/")
    switch = page.get_by_label("Talk status", exact=True)
    expect(switch).to_have_value("offline")
    switch.select_option("online")
    expect(switch).to_be_enabled()
    page.wait_for_function("() => !document.getElementById('header-status').disabled")
    assert _status(acme, bob) == "online"
    page.goto(page.url.replace("/tickets/", "/talk/console/"))
    expect(page.get_by_role("radio", name="Online")).to_have_attribute("aria-checked", "true")
    page.locator("#header-status").select_option("away")  # on the console, its buttons follow
    expect(page.get_by_role("radio", name="Away")).to_have_attribute("aria-checked", "true")
    assert _status(acme, bob) == "away"


def test_the_status_buttons_move_with_the_arrow_keys(page, live_server, acme, bob):  # issue 13, item 7
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    online = page.get_by_role("radio", name="Online")
    online.click()
    expect(online).to_have_attribute("aria-checked", "true")
    expect(online).to_have_attribute("tabindex", "0")  # one tab stop: the checked one
    expect(page.get_by_role("radio", name="Away")).to_have_attribute("tabindex", "-1")
    online.focus()
    page.keyboard.press("ArrowRight")
    away = page.get_by_role("radio", name="Away")
    expect(away).to_have_attribute("aria-checked", "true")
    expect(away).to_be_focused()
    assert _status(acme, bob) == "away"


def test_a_live_call_offer_has_no_callback_badge(page, live_server, acme, bob):  # SPEC R13
    line = make_line(acme)
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    page.get_by_role("radio", name="Online").click()
    expect(page.get_by_role("radio", name="Online")).to_have_attribute("aria-checked", "true")
    live_offer(acme, line, bob)
    expect(page.locator("#offer-kind")).to_have_text("Live call")
    expect(page.locator("#offer-confirmed")).to_be_hidden()  # "Captured…" belongs to callbacks only
