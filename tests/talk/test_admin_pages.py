"""Admin-center pages of Talk: lines (General, Callback tabs), greetings, provider
(SPEC L1-L7, T3, T4)."""
from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from talk.models import Greeting, Line
from talk.selectors import lines as line_selectors
from talk.services import lines as line_services
from tests.isolation import assert_isolated, missing_id
from tests.talk.factories import line_routing, make_greeting, make_group, make_line, reload


@pytest.fixture
def line(acme) -> Line:
    return make_line(acme)


def callback_form(line: Line, **overrides) -> dict:
    """The Callback tab as the browser posts it (unchecked boxes are absent)."""
    data = {
        "callback_enabled": "on",
        "callback_language": "",
        "callback_greeting": str(line.callback_greeting_id),
        "callback_confirmation_greeting": str(line.callback_confirmation_greeting_id),
        "callback_offer_seconds": "40",
        "callback_expiry_minutes": "60",
        "callback_key": "2",
        "callback_offer_in_greeting": "on",
        "callback_offer_while_queued": "on",
        "callback_caller_id_policy": "line_number",
        "callback_outbound_caller_id": "",
        "callback_retry_attempts": "0",
        "callback_retry_interval_minutes": "5",
        "callback_capture_on_first_key": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def general_form(line: Line, **overrides) -> dict:
    data = {
        "name": line.name, "kind": line.kind, "number": line.number.as_e164 if line.number else "",
        "sip_address": line.sip_address, "outbound_number": "", "enabled": "on",
        "welcome_greeting": "", "hold_greeting": "", "call_offer_seconds": "30",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def admin_pages(line: Line, greeting: Greeting) -> list[tuple[str, str]]:
    return [
        ("get", reverse("talk:lines")),
        ("get", reverse("talk:line_new")),
        ("post", reverse("talk:line_new")),
        ("get", reverse("talk:line_detail", args=[line.pk])),
        ("post", reverse("talk:line_detail", args=[line.pk])),
        ("get", reverse("talk:line_callback", args=[line.pk])),
        ("post", reverse("talk:line_callback", args=[line.pk])),
        ("post", reverse("talk:line_regenerate_token", args=[line.pk])),
        ("get", reverse("talk:greetings")),
        ("get", reverse("talk:greeting_new")),
        ("post", reverse("talk:greeting_new")),
        ("get", reverse("talk:greeting_detail", args=[greeting.pk])),
        ("post", reverse("talk:greeting_detail", args=[greeting.pk])),
        ("post", reverse("talk:greeting_delete", args=[greeting.pk])),
        ("get", reverse("talk:telephony_settings")),
        ("post", reverse("talk:telephony_settings")),
    ]


def test_agents_are_refused_every_talk_admin_page(bob_client, line, acme):  # SPEC T4
    greeting = make_greeting(acme)
    for method, url in admin_pages(line, greeting):
        response = getattr(bob_client, method)(url)
        assert response.status_code == 403, (method, url)
    assert reload(line).webhook_token == line.webhook_token
    with scope(account=acme):
        assert Greeting.objects.filter(account=acme, pk=greeting.pk).exists()


def test_signed_out_visitors_are_sent_to_login(acme, line):
    from tests.conftest import page_client

    response = page_client(acme).get(reverse("talk:line_callback", args=[line.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_sidebar_links_the_talk_pages(alice_client):
    page = alice_client.get("/admin-center/").content.decode()
    for name in ("talk:lines", "talk:greetings", "talk:telephony_settings"):
        assert f'href="{reverse(name)}"' in page


def test_every_route_answers_globex_as_a_missing_object(charlie_client, line, acme):  # SPEC T3
    greeting = make_greeting(acme)
    routes = [
        ("get", "talk:line_detail", line.pk),
        ("post", "talk:line_detail", line.pk),
        ("get", "talk:line_callback", line.pk),
        ("post", "talk:line_callback", line.pk),
        ("post", "talk:line_regenerate_token", line.pk),
        ("get", "talk:greeting_detail", greeting.pk),
        ("post", "talk:greeting_detail", greeting.pk),
        ("post", "talk:greeting_delete", greeting.pk),
    ]
    for method, name, pk in routes:
        assert_isolated(
            charlie_client, reverse(name, args=[pk]), reverse(name, args=[missing_id()]), method=method
        )
    assert reload(line).webhook_token == line.webhook_token
    with scope(account=acme):
        assert Greeting.objects.filter(account=acme, pk=greeting.pk).exists()


def test_globex_lists_none_of_acmes_lines_or_greetings(charlie_client, line, acme, globex):  # SPEC T3
    make_greeting(acme, "Acme secret offer")
    make_line(globex, "Tokyo support", number="+81312345678")
    lines_page = charlie_client.get(reverse("talk:lines")).content.decode()
    assert "Tokyo support" in lines_page and "Main line" not in lines_page
    greetings_page = charlie_client.get(reverse("talk:greetings")).content.decode()
    assert "Acme secret offer" not in greetings_page
    assert "Default callback message (English)" in greetings_page  # globex's own system copy
    callback_options = charlie_client.get(reverse("talk:line_callback", args=[
        make_line(globex, "Osaka", number="+81612345678").pk
    ])).content.decode()
    assert "Acme secret offer" not in callback_options


def test_alice_adds_a_phone_line_and_sees_its_webhook_urls(alice_client, acme, settings):  # SPEC L1, T5
    settings.PUBLIC_BASE_URL = ""
    response = alice_client.post(
        reverse("talk:line_new"),
        {"name": "Support", "kind": "phone", "number": "+1 415 555 0100", "enabled": "on", "call_offer_seconds": "30"},
    )
    assert response.status_code == 302
    with scope(account=acme):
        line = Line.objects.get(account=acme)
    assert response["Location"] == reverse("talk:line_detail", args=[line.pk])
    page = alice_client.get(response["Location"]).content.decode()
    assert f"http://localhost/talk/webhooks/{line.webhook_token}/voice/" in page
    assert f"http://localhost/talk/webhooks/{line.webhook_token}/status/" in page
    assert 'data-copy="#webhook-voice-url"' in page and 'data-copy="#webhook-status-url"' in page
    assert "Support" in alice_client.get(reverse("talk:lines")).content.decode()


def test_the_general_tab_shows_refusals_next_to_the_field(alice_client, acme):  # SPEC L1
    response = alice_client.post(
        reverse("talk:line_new"), {"name": "X", "kind": "phone", "number": "12", "call_offer_seconds": "30"}
    )
    assert response.status_code == 400
    assert line_services.NUMBER_INVALID_MESSAGE in response.content.decode()
    sip = make_line(acme, "SIP", Line.Kind.SIP)
    response = alice_client.post(
        reverse("talk:line_detail", args=[sip.pk]), general_form(sip, sip_address="not an address")
    )
    assert response.status_code == 400
    assert line_services.SIP_ADDRESS_INVALID_MESSAGE in response.content.decode()
    response = alice_client.post(  # a name another line has: said in the form, nothing made
        reverse("talk:line_new"), {"name": "sip", "kind": "phone", "number": "+14155550142", "call_offer_seconds": "30"}
    )
    assert response.status_code == 400
    assert "Another line of this account already has this name" in response.content.decode()
    with scope(account=acme):
        assert not Line.objects.filter(number="+14155550142").exists()


def test_the_general_tab_saves_and_cannot_change_the_kind(alice_client, line):  # SPEC L1
    response = alice_client.post(
        reverse("talk:line_detail", args=[line.pk]), general_form(line, name="Renamed", kind="digital", enabled=None)
    )
    assert response.status_code == 302
    saved = reload(line)
    assert (saved.name, saved.kind, saved.enabled) == ("Renamed", "phone", False)


def test_the_callback_tab_has_the_seeds_fields_and_an_advanced_section(alice_client, line):  # SPEC L2, L7
    page = alice_client.get(reverse("talk:line_callback", args=[line.pk])).content.decode()
    for label in ("Callback", "Language", "Callback message", "Callback confirmation message", "Save changes"):
        assert f">{label}<" in page or f"<span>{label}</span>" in page, label
    assert '<details class="talk-advanced"' in page and "<summary>Advanced</summary>" in page
    for name in ("callback_offer_seconds", "callback_expiry_minutes", "callback_key", "callback_offer_in_greeting",
                 "callback_offer_while_queued", "callback_caller_id_policy", "callback_retry_attempts",
                 "callback_retry_interval_minutes", "callback_capture_on_first_key"):
        assert f'name="{name}"' in page, name
    assert 'value="40"' in page and 'value="60"' in page
    # Every toggle shows the line's value, so saving the tab untouched changes nothing.
    for name in ("callback_offer_in_greeting", "callback_offer_while_queued", "callback_capture_on_first_key"):
        assert f'name="{name}" id="id_{name}" checked' in page, name


def test_saving_the_callback_tab_untouched_changes_nothing(alice_client, acme):  # SPEC L2, L7
    import re

    line = make_line(acme, callback_enabled=True, callback_capture_on_first_key=False, callback_retry_attempts=3,
                     callback_language="es", callback_key="9")
    page = alice_client.get(reverse("talk:line_callback", args=[line.pk])).content.decode()
    form = {}
    for name, value in re.findall(r'<input type="(?:number|text)" name="(\w+)" value="([^"]*)"', page):
        form[name] = value
    for name in re.findall(r'<input type="checkbox" name="(\w+)"[^>]*checked', page):
        form[name] = "on"
    form["callback_enabled"] = "on" if re.search(r'name="callback_enabled"[^>]*checked', page) else None
    for name in re.findall(r'<select name="(\w+)"', page):
        chosen = re.search(rf'<select name="{name}".*?<option value="([^"]*)" selected>', page, re.S)
        form[name] = chosen.group(1) if chosen else ""
    form["callback_caller_id_policy"] = re.search(r'name="callback_caller_id_policy" value="(\w+)"[^>]*checked', page).group(1)
    before = {f.name: getattr(line, f.attname) for f in Line._meta.fields if f.name != "updated_at"}
    response = alice_client.post(reverse("talk:line_callback", args=[line.pk]), {k: v for k, v in form.items() if v is not None})
    assert response.status_code == 302
    saved = reload(line)
    assert {f.name: getattr(saved, f.attname) for f in Line._meta.fields if f.name != "updated_at"} == before
    assert "Default callback message (English)" in page


def test_alice_saves_the_callback_tab(alice_client, acme, line):  # SPEC L2
    offer = make_greeting(acme)
    confirm = make_greeting(acme, "Our confirmation", Greeting.Category.CALLBACK_CONFIRMATION, text="Press 1.")
    response = alice_client.post(
        reverse("talk:line_callback", args=[line.pk]),
        callback_form(line, callback_language="de", callback_greeting=str(offer.pk),
                      callback_confirmation_greeting=str(confirm.pk), callback_retry_attempts="2"),
    )
    assert response.status_code == 302
    saved = reload(line)
    assert saved.callback_enabled and saved.callback_language == "de"
    assert (saved.callback_greeting_id, saved.callback_confirmation_greeting_id) == (offer.pk, confirm.pk)
    assert saved.callback_retry_attempts == 2
    page = alice_client.get(reverse("talk:line_callback", args=[line.pk])).content.decode()
    assert f'<option value="{offer.pk}" selected>' in page
    assert '<option value="de" selected>' in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"callback_key": "x"}, line_services.CALLBACK_KEY_MESSAGE),
        ({"callback_offer_seconds": "5"}, line_services.range_message("callback_offer_seconds")),
        ({"callback_offer_in_greeting": None, "callback_offer_while_queued": None},
         line_services.CALLBACK_OFFER_NOWHERE_MESSAGE),
        ({"callback_caller_id_policy": "account_number"}, line_services.CALLER_ID_NUMBER_REQUIRED_MESSAGE),
    ],
)
def test_the_callback_tab_shows_the_services_refusals(alice_client, line, overrides, message):  # SPEC L7
    response = alice_client.post(reverse("talk:line_callback", args=[line.pk]), callback_form(line, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert reload(line).callback_enabled is False


def test_the_callback_tab_refuses_a_digital_line_and_a_sip_line_without_outbound_number(alice_client, acme):  # SPEC L1, L4
    digital = make_line(acme, "Web", Line.Kind.DIGITAL)
    response = alice_client.post(reverse("talk:line_callback", args=[digital.pk]), callback_form(digital))
    assert response.status_code == 400
    assert line_services.CALLBACK_DIGITAL_MESSAGE in response.content.decode()
    sip = make_line(acme, "SIP", Line.Kind.SIP)
    response = alice_client.post(reverse("talk:line_callback", args=[sip.pk]), callback_form(sip))
    assert response.status_code == 400
    assert line_services.CALLBACK_SIP_OUTBOUND_MESSAGE in response.content.decode()
    assert "has no outbound number" not in response.content.decode()  # said once, by the refusal
    assert reload(sip).callback_enabled is False


def test_a_digital_lines_callback_tab_has_nothing_to_change_or_save(alice_client, acme):  # SPEC L1; issue 13
    digital = make_line(acme, "Web", Line.Kind.DIGITAL)
    page = alice_client.get(reverse("talk:line_callback", args=[digital.pk])).content.decode()
    assert '<fieldset class="talk-fields" disabled>' in page and "Save changes" not in page
    assert "Callback cannot be enabled on a digital line." in page
    phone_page = alice_client.get(reverse("talk:line_callback", args=[make_line(acme).pk])).content.decode()
    assert '<fieldset class="talk-fields">' in phone_page and "Save changes" in phone_page


def test_the_general_tab_shows_only_the_fields_of_the_lines_kind(alice_client, acme):  # SPEC L1; issue 13
    phone = alice_client.get(reverse("talk:line_detail", args=[make_line(acme).pk])).content.decode()
    assert 'name="number"' in phone and 'name="sip_address"' not in phone and 'name="outbound_number"' not in phone
    sip = make_line(acme, "SIP", Line.Kind.SIP)
    sip_page = alice_client.get(reverse("talk:line_detail", args=[sip.pk])).content.decode()
    assert 'name="number"' not in sip_page and 'name="sip_address"' in sip_page and 'name="outbound_number"' in sip_page
    new = alice_client.get(reverse("talk:line_new")).content.decode()  # the chosen kind's, by the page's script
    assert 'data-for-kind="phone"' in new and 'data-for-kind="sip"' in new


def test_the_callback_tab_refuses_a_greeting_of_another_account(alice_client, line, globex):  # SPEC T3
    foreign = make_greeting(globex)
    response = alice_client.post(
        reverse("talk:line_callback", args=[line.pk]), callback_form(line, callback_greeting=str(foreign.pk))
    )
    assert response.status_code == 400
    assert line_services.GREETING_NOT_FOUND_MESSAGE in response.content.decode()


def test_a_toll_free_line_shows_a_visible_warning(alice_client, acme):  # SPEC L5
    line = make_line(acme, "Free", number="+18005550199")
    for name in ("talk:line_detail", "talk:line_callback"):
        page = alice_client.get(reverse(name, args=[line.pk])).content.decode()
        assert line_selectors.TOLL_FREE_WARNING in page
    assert "toll-free" in alice_client.get(reverse("talk:lines")).content.decode()


def test_regenerating_the_webhook_token_changes_the_urls(alice_client, line):  # SPEC T5
    response = alice_client.post(reverse("talk:line_regenerate_token", args=[line.pk]))
    assert response.status_code == 302
    assert reload(line).webhook_token != line.webhook_token
    assert alice_client.get(reverse("talk:line_regenerate_token", args=[line.pk])).status_code == 405


# --- A line's groups (SPEC R14) ------------------------------------------------------
def test_the_general_tab_edits_the_lines_groups_and_default_group(alice_client, line, acme, globex):  # SPEC R14
    billing, sales = make_group(acme, "Billing"), make_group(acme, "Sales")
    make_group(globex, "Tokyo desk")
    page = alice_client.get(reverse("talk:line_detail", args=[line.pk])).content.decode()
    assert f'<input type="checkbox" name="groups" value="{billing.pk}"' in page and ">Billing</label>" not in page
    assert " Billing</label>" in page and " Sales</label>" in page and "Tokyo desk" not in page  # plain labels, own groups
    assert f'<option value="{sales.pk}">Sales</option>' in page

    response = alice_client.post(
        reverse("talk:line_detail", args=[line.pk]),
        general_form(line, groups=[str(billing.pk)], default_group=str(sales.pk)),
    )
    assert response.status_code == 302
    assert line_routing(line) == (sales.pk, {billing.pk, sales.pk})  # the default joins the groups
    page = alice_client.get(reverse("talk:line_detail", args=[line.pk])).content.decode()
    assert f'value="{billing.pk}" id="id_groups_0" checked' in page and f'value="{sales.pk}" id="id_groups_1" checked' in page
    assert f'<option value="{sales.pk}" selected>Sales</option>' in page

    # The list shows each line's groups, its default marked; a line without groups reaches everyone.
    make_line(acme, "Hotline", number="+14155550150")
    lines_page = alice_client.get(reverse("talk:lines")).content.decode()
    assert 'Billing, Sales <span class="talk-badge">default</span>' in lines_page
    assert '<span class="muted">All agents</span>' in lines_page

    # Unticking every group and choosing no default: the line routes to every agent again.
    assert alice_client.post(reverse("talk:line_detail", args=[line.pk]), general_form(line)).status_code == 302
    assert line_routing(line) == (None, set())


def test_the_general_tab_refuses_groups_of_another_account(alice_client, line, acme, globex):  # SPEC R14, T3
    billing, tokyo = make_group(acme, "Billing"), make_group(globex, "Tokyo desk")
    alice_client.post(reverse("talk:line_detail", args=[line.pk]), general_form(line, groups=[str(billing.pk)]))
    for data in ({"groups": [str(billing.pk), str(tokyo.pk)]}, {"default_group": str(tokyo.pk)},
                 {"groups": [str(missing_id())]}):
        response = alice_client.post(reverse("talk:line_detail", args=[line.pk]), general_form(line, name="Renamed", **data))
        assert response.status_code == 400, data
        assert line_services.GROUP_NOT_FOUND_MESSAGE in response.content.decode()
    assert line_routing(line) == (None, {billing.pk}) and reload(line).name == "Main line"


def test_a_new_line_takes_its_groups(alice_client, acme):  # SPEC R14
    billing = make_group(acme, "Billing")
    page = alice_client.get(reverse("talk:line_new")).content.decode()
    assert 'name="groups"' in page and 'name="default_group"' in page
    response = alice_client.post(reverse("talk:line_new"), {
        "name": "Billing line", "kind": "phone", "number": "+14155550160", "call_offer_seconds": "30",
        "groups": [str(billing.pk)],
    })
    assert response.status_code == 302
    with scope(account=acme):
        line = Line.objects.get(account=acme, name="Billing line")
    assert line_routing(line) == (None, {billing.pk})


def test_without_groups_the_general_tab_points_to_the_groups_page(alice_client, line):
    page = alice_client.get(reverse("talk:line_detail", args=[line.pk])).content.decode()
    assert f'No groups yet: <a href="{reverse("admin_groups")}">add groups</a>' in page
    make_group(line.account, "Billing")
    page = alice_client.get(reverse("talk:line_detail", args=[line.pk])).content.decode()
    assert "No groups yet" not in page
