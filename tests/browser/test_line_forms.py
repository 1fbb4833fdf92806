"""The new-line form shows the chosen kind's fields only (issue 13, item 6; SPEC L1)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_choosing_the_kind_shows_its_fields(page, live_server, acme, alice):  # SPEC L1
    sign_in(page, live_server, acme, "alice@acme.test", "/admin-center/talk/lines/new/")
    number, sip = page.locator("#id_number"), page.locator("#id_sip_address")
    page.get_by_role("radio", name="SIP", exact=True).check()
    expect(sip).to_be_visible()
    expect(number).to_be_hidden()
    page.get_by_role("radio", name="Digital (browser/app)").check()
    expect(sip).to_be_hidden()
    expect(number).to_be_hidden()
    page.get_by_role("radio", name="Phone number").check()
    expect(number).to_be_visible()
    expect(sip).to_be_hidden()
