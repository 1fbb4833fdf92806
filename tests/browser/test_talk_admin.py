"""The admin center's Talk pages in a real browser (SPEC L2, T4, T5)."""
from __future__ import annotations

import pytest
from django_scopes import scope

from talk.models import Greeting, Line
from tests.browser.conftest import account_url, sign_in
from tests.talk.factories import make_greeting, make_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def test_alice_enables_callback_exactly_as_the_seed_describes(page, live_server, acme, alice):  # SPEC L2
    line = make_line(acme, "Main line")
    offer = make_greeting(acme, "Evening callback offer")
    confirm = make_greeting(acme, "Evening confirmation", Greeting.Category.CALLBACK_CONFIRMATION, text="Press 1.")
    sign_in(page, live_server, acme, "alice@acme.test")

    # Admin center › Channels › Talk › Lines › the number › Callback tab (seed steps 1-4).
    page.click("text=Admin center")
    page.click("text=Talk › Lines")
    page.click("#talk-lines >> text=Main line")
    page.click("nav.tabs >> text=Callback")
    assert page.is_visible("a.active:has-text('Callback')")
    assert page.is_hidden("#id_callback_offer_seconds")  # Advanced is folded away

    # Toggle Callback, pick the language and both messages, save (seed steps 5-9).
    switch = page.locator("input[role=switch][name=callback_enabled]")
    assert not switch.is_checked()
    page.click("label.switch")
    assert switch.is_checked()
    page.select_option("#id_callback_language", "ja")
    page.select_option("#id_callback_greeting", str(offer.pk))
    page.select_option("#id_callback_confirmation_greeting", str(confirm.pk))
    page.click("button:has-text('Save changes')")
    page.wait_for_selector("text=Callback settings saved.")

    page.reload()
    assert page.locator("input[role=switch][name=callback_enabled]").is_checked()
    assert page.input_value("#id_callback_language") == "ja"
    assert page.input_value("#id_callback_greeting") == str(offer.pk)
    assert page.input_value("#id_callback_confirmation_greeting") == str(confirm.pk)
    assert page.text_content("#effective-language").strip() == "Japanese"
    with scope(account=acme):
        saved = Line.objects.get(account=acme, pk=line.pk)
    assert saved.callback_enabled and saved.callback_greeting_id == offer.pk

    # Advanced settings (L7) open and save too.
    page.click("summary:has-text('Advanced')")
    assert page.input_value("#id_callback_offer_seconds") == "40"
    page.fill("#id_callback_retry_attempts", "2")
    page.click("button:has-text('Save changes')")
    page.wait_for_selector("text=Callback settings saved.")
    with scope(account=acme):
        assert Line.objects.get(account=acme, pk=line.pk).callback_retry_attempts == 2


def test_the_line_page_offers_its_webhook_urls_to_copy(page, live_server, acme, alice):  # SPEC T5
    line = make_line(acme, "Main line")
    sign_in(page, live_server, acme, "alice@acme.test")
    page.goto(account_url(live_server, acme, f"/admin-center/talk/lines/{line.pk}/"))
    voice_url = page.text_content("#webhook-voice-url").strip()
    assert voice_url.endswith(f"/talk/webhooks/{line.webhook_token}/voice/")
    assert voice_url.startswith("http://localhost:")  # the bare base domain: the token names the tenant
    assert page.text_content("#webhook-status-url").strip().endswith(f"/talk/webhooks/{line.webhook_token}/status/")
    page.click("button[data-copy='#webhook-voice-url']")
    page.wait_for_selector("button[data-copy='#webhook-voice-url']:has-text('Copied')")


def test_a_digital_line_cannot_switch_callback_on(page, live_server, acme, alice):  # SPEC L1
    line = make_line(acme, "Web calls", Line.Kind.DIGITAL)
    sign_in(page, live_server, acme, "alice@acme.test")
    page.goto(account_url(live_server, acme, f"/admin-center/talk/lines/{line.pk}/callback/"))
    assert page.locator("input[role=switch][name=callback_enabled]").is_disabled()
    assert page.is_visible("text=Callback cannot be enabled on a digital line.")


def test_bob_is_refused_the_admin_center(page, live_server, acme, bob):  # SPEC T4
    line = make_line(acme, "Main line")
    sign_in(page, live_server, acme, "bob@acme.test")
    assert page.locator("nav.mainnav >> text=Admin center").count() == 0
    for path in ("/admin-center/talk/lines/", f"/admin-center/talk/lines/{line.pk}/callback/",
                 "/admin-center/talk/telephony/"):
        response = page.goto(account_url(live_server, acme, path))
        assert response.status == 403, path
