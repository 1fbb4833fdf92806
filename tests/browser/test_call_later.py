"""'Call later' in a real browser (issue 16 item 4; SPEC R16): an agent is offered a callback,
clicks Call later, picks a time, and the offer leaves the page; a past time is refused with
the reason, and nothing changes. WSGI live server: the console polls (see test_console.py)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from talk import routing
from talk.models import CallbackRequest, Offer
from talk.services.callback_requests import callback_request_create
from tests.browser.conftest import sign_in
from tests.talk.calls_support import CALLER, make_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("console_inline")]



def test_an_agent_calls_a_callback_later_and_the_offer_goes_away(page, live_server, acme, bob):  # SPEC R16, R15
    acme.time_zone = "Asia/Tokyo"  # not the browser's zone: the field is the account's wall time
    acme.save(update_fields=["time_zone"])
    line = make_line(acme)
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    page.get_by_role("radio", name="Online").click()
    expect(page.locator("#console-availability")).to_contain_text("Available")
    with scope(account=acme):
        request = callback_request_create(line=line, number=CALLER)
        routing.route_account(acme)
        offer = Offer.objects.get(entry_id=request.queue_entry_id, state=Offer.State.OFFERED)
    assert offer.agent_id == bob.pk
    expect(page.locator("#offer-number")).to_have_text(CALLER)

    page.get_by_role("button", name="Call later").click()
    form = page.locator("#call-later")
    expect(form).to_be_visible()
    expect(form).to_contain_text(CALLER)
    expect(form).to_contain_text("Asia/Tokyo time")
    expect(page.locator("#call-later-at")).to_be_focused()
    from axe_playwright_python.sync_playwright import Axe

    from tests.browser.test_accessibility import blocking_violations

    assert blocking_violations(Axe(), page, "call later") == []

    # A time already past: refused with the reason, the offer stays.
    tokyo = ZoneInfo("Asia/Tokyo")
    past = (timezone.now() - timedelta(hours=2)).astimezone(tokyo).strftime("%Y-%m-%dT%H:%M")
    page.fill("#call-later-at", past)
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator("#call-later-error")).to_contain_text("Choose a time in the future.")
    expect(page.locator("#offer-number")).to_have_text(CALLER)

    # "Tomorrow 10:00", in Tokyo.
    page.get_by_role("button", name="Tomorrow 10:00").click()
    tomorrow = (timezone.now().astimezone(tokyo) + timedelta(days=1)).date()
    expected = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=tokyo)
    expect(page.locator("#call-later-at")).to_have_value(expected.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()

    expect(page.locator("#console-offer-notice")).to_contain_text("offered to you first")
    expect(page.locator("#console-offer-notice")).to_contain_text(expected.strftime("%Y-%m-%d 10:00"))
    expect(page.locator("#console-offer-empty")).to_be_visible()
    expect(form).to_be_hidden()
    expect(page.locator("#console-scheduled")).to_contain_text(CALLER)
    expect(page.locator("#console-scheduled")).to_contain_text(expected.strftime("%Y-%m-%d 10:00"))
    with scope(account=acme):
        request = CallbackRequest.objects.get(pk=request.pk)
        assert (request.state, request.scheduled_for, request.assignee_id) == ("pending", expected, bob.pk)
        assert Offer.objects.get(pk=offer.pk).state == Offer.State.WITHDRAWN
        routing.route_account(acme)  # not offered again before its time
        assert not Offer.objects.filter(state=Offer.State.OFFERED).exists()
