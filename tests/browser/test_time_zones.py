"""The console shows the account's time, whatever the browser's zone (issue 13, item 3).

Chromium runs in New York; acme reads its times in Tokyo. An offer answered at 23:05
UTC on the 14th is 18:05 in the browser's zone and 08:05 in the account's: the
console's recent activity, drawn by console.js after a poll, says 08:05.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from supportcenter.models import Account
from talk.models import Offer
from tests.browser.conftest import sign_in
from tests.talk.calls_support import make_line
from tests.talk.test_console_support import live_offer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AT = datetime(2026, 1, 14, 23, 5, tzinfo=UTC)


@pytest.fixture
def new_york_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="America/New_York")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_the_console_shows_the_accounts_time_not_the_browsers(new_york_page, live_server, settings, acme, bob):
    settings.CONSOLE_POLL_SECONDS = 1  # the live server is WSGI: the console polls its state
    Account.objects.filter(pk=acme.pk).update(time_zone="Asia/Tokyo")
    page = new_york_page
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
    expect(page.locator("#console-recent")).to_contain_text("Nothing yet.")

    # Answered after the page loaded: only console.js can draw it (on its next poll).
    offer = live_offer(acme, make_line(acme), bob)
    with scope(account=acme):
        Offer.objects.filter(pk=offer.pk).update(state=Offer.State.DECLINED, created_at=AT, responded_at=AT)
    when = page.locator("#console-recent time")
    expect(when).to_have_text("08:05")
    expect(when).to_have_attribute("title", "Asia/Tokyo")
    expect(when).to_have_attribute("datetime", "2026-01-15T08:05:00+09:00")
    expect(page.locator("#console-time-zone")).to_have_text("Times in Asia/Tokyo")
    # The browser's own reading of that moment is another wall time: the page did not use it.
    assert page.evaluate("new Date('2026-01-14T23:05:00Z').getHours()") == 18
