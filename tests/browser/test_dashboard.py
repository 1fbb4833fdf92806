"""The Talk dashboard in a real browser (SPEC D6)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from supportcenter.models import Account
from talk.models import Call
from tests.browser.conftest import account_url, sign_in
from tests.dashboards.history import History
from tests.talk.calls_support import make_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def test_alice_opens_the_dashboard_and_sees_the_tiles(page, live_server, acme, alice):  # SPEC D6
    line = make_line(acme)
    h = History(acme, line)
    start = timezone.now() - timedelta(minutes=5)
    waiting = h.call(start, outcome=Call.Outcome.CALLBACK_REQUESTED, queued=start)
    h.callback(waiting, requested=start + timedelta(seconds=10), state="pending")

    sign_in(page, live_server, acme, "alice@acme.test")
    page.click(".mainnav >> text=Dashboard")
    page.wait_for_selector("h1:has-text('Talk dashboard')")
    assert page.text_content("[data-tile=callbacks_waiting]").strip() == "1"
    assert page.is_visible("text=Total callback calls")
    assert page.is_visible("text=Average callback wait time")
    assert page.text_content("[data-figure=total_callback_calls]").strip() == "1"
    assert page.locator("figure.dash-chart svg rect.bar-calls").count() >= 1
    # The tiles refresh over HTTP (here after the socket fails: the live server has no WebSocket);
    # a new callback shows up on the next refresh.
    second = h.call(start, outcome=Call.Outcome.CALLBACK_REQUESTED, queued=start)
    h.callback(second, requested=start + timedelta(seconds=20), state="pending")
    page.wait_for_function(
        "() => document.querySelector('[data-tile=callbacks_waiting]').textContent.trim() === '2'", timeout=15_000
    )
    # The line filter and the date range are a plain form.
    page.select_option("#dash-line", str(line.pk))
    page.click("button:has-text('Show')")
    page.wait_for_url(f"**line={line.pk}**")
    assert page.text_content("[data-tile=callbacks_waiting]").strip() == "2"


def test_a_team_account_sees_the_upgrade_notice(page, live_server, acme, alice):  # SPEC D6
    Account.objects.filter(pk=acme.pk).update(plan=Account.Plan.TEAM)
    sign_in(page, live_server, acme, "alice@acme.test")
    page.goto(account_url(live_server, acme, "/dashboard/talk/"))
    page.wait_for_selector("text=Upgrade to see the Talk dashboard")
    assert page.locator("[data-tile]").count() == 0
