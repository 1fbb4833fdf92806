"""A page whose session ends says so and comes back after signing in (issue 13, item 1; SPEC R13).

Signing out in one tab while the console (or the dashboard) is open in another: the page's
requests get 401 JSON without a Basic challenge (which makes a browser pop a password
dialog and Chromium's fetch never settle), the page shows "Signed out — sign in again",
stops asking, and reloads itself once when the session is back, never in a loop.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import account_url, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def quick_polls(settings):
    settings.CONSOLE_POLL_SECONDS = 1  # the live server is WSGI: the console polls


def _sign_out_in_another_tab(page, live_server, acme) -> None:
    other = page.context.new_page()
    other.goto(account_url(live_server, acme, "/"))
    other.get_by_role("button", name="Sign out").click()
    other.wait_for_url("**/login/**")
    other.close()


def test_the_console_says_signed_out_and_recovers_after_signing_in(page, live_server, acme, bob):  # SPEC R13
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    expect(page.locator("#console-link")).to_have_attribute("data-state", "polling")
    loads = []
    page.on("load", lambda: loads.append(page.url))
    _sign_out_in_another_tab(page, live_server, acme)

    notice = page.locator(".signed-out-notice")
    expect(notice).to_contain_text("Signed out")
    expect(notice.get_by_role("link", name="sign in again")).to_have_attribute("href", "/login/?next=%2Ftalk%2Fconsole%2F")
    expect(page.locator("#console-link")).to_have_text("Signed out")
    expect(page.get_by_role("radio", name="Online")).to_be_disabled()
    assert page.title().startswith("Signed out")
    page.wait_for_timeout(3000)
    assert loads == []  # no reload loop while signed out
    assert page.locator(".signed-out-notice").count() == 1

    other = page.context.new_page()  # signed in again, in another tab
    sign_in(other, live_server, acme, "bob@acme.test", "/")
    other.close()
    expect(page.locator(".signed-out-notice")).to_have_count(0, timeout=15_000)  # the page came back by itself
    expect(page.locator("#console-link")).to_have_attribute("data-state", "polling")
    expect(page.get_by_role("radio", name="Online")).to_be_enabled()
    assert len(loads) == 1


def test_the_dashboard_says_signed_out(page, live_server, acme, alice):  # SPEC R13, D6
    sign_in(page, live_server, acme, "alice@acme.test", "/dashboard/talk/")
    _sign_out_in_another_tab(page, live_server, acme)
    expect(page.locator(".signed-out-notice")).to_contain_text("Signed out", timeout=15_000)


def test_a_page_request_never_gets_a_basic_challenge(page, live_server, acme, bob):  # issue 13, item 1
    sign_in(page, live_server, acme, "bob@acme.test", "/")
    _sign_out_in_another_tab(page, live_server, acme)
    answer = page.evaluate("""async () => {
        const response = await fetch('/api/v2/users/me.json', {headers: {Accept: 'application/json'}});
        return {status: response.status, challenge: response.headers.get('WWW-Authenticate'), body: await response.json()};
    }""")
    assert answer["status"] == 401
    assert not answer["challenge"].lower().startswith("basic")
