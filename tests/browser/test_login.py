from __future__ import annotations

import pytest

from tests.browser.conftest import account_url
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_signs_in_and_creates_an_api_token(page, live_server, acme, alice, bob):  # SPEC T4
    page.goto(account_url(live_server, acme, "/"))
    assert page.url.endswith("/login/?next=/")
    page.fill("#id_username", "alice@acme.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Acme Support')")
    page.click("text=Admin center")
    page.click("text=API tokens")
    page.fill("#id_description", "Nightly export")
    page.click("text=Create token")
    token = page.text_content("#new-token-value").strip()
    assert len(token) == 40
    assert page.is_visible("td:has-text('Nightly export')")
    page.once("dialog", lambda d: d.accept())
    page.click("button:has-text('Revoke')")
    page.wait_for_selector("text=revoked")
    assert page.is_visible("td:has-text('Revoked')")


def test_a_wrong_password_shows_an_error(page, live_server, acme, alice):
    page.goto(account_url(live_server, acme, "/login/"))
    page.fill("#id_username", "alice@acme.test")
    page.fill("#id_password", "nope")
    page.click("button[type=submit]")
    assert page.is_visible("[role=alert]")
