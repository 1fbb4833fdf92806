"""Lines and callback settings: the one validation path (SPEC L1-L7)."""
from __future__ import annotations

import pytest
from django.test import RequestFactory
from django_scopes import scope

from supportcenter.errors import ServiceError
from supportcenter.models import AuditEntry
from talk import selectors, services
from talk.models import Greeting, Line
from talk.selectors.lines import webhook_line
from talk.services import lines as line_services
from tests.isolation import missing_id
from tests.talk.factories import line_routing, make_greeting, make_group, make_line, reload


@pytest.fixture
def phone(acme) -> Line:
    return make_line(acme)


@pytest.fixture
def sip(acme) -> Line:
    return make_line(acme, "Office SIP", Line.Kind.SIP)


@pytest.fixture
def digital(acme) -> Line:
    return make_line(acme, "Web calls", Line.Kind.DIGITAL)


def update(line: Line, **changes) -> Line:
    with scope(account=line.account):
        return services.line_update(account=line.account, line=line, actor=None, **changes)


def refused(line: Line, **changes) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        update(line, **changes)
    return caught.value


def test_it_gives_a_new_line_the_seed_and_advanced_defaults(phone, acme):  # SPEC L2, L7
    assert phone.callback_enabled is False
    assert phone.callback_language == ""
    assert (phone.callback_offer_seconds, phone.callback_expiry_minutes, phone.callback_key) == (40, 60, "2")
    assert phone.callback_offer_in_greeting and phone.callback_offer_while_queued
    assert phone.callback_caller_id_policy == Line.CallerIdPolicy.LINE_NUMBER
    assert (phone.callback_retry_attempts, phone.callback_retry_interval_minutes) == (0, 5)
    assert phone.callback_capture_on_first_key is True
    assert phone.call_offer_seconds == 30
    assert phone.enabled is True
    # The callback messages start as the system defaults in the account's language.
    assert phone.callback_greeting.is_system and phone.callback_greeting.category == Greeting.Category.CALLBACK
    assert phone.callback_greeting.language == acme.default_language
    assert phone.callback_confirmation_greeting.category == Greeting.Category.CALLBACK_CONFIRMATION
    assert phone.number.as_e164 == "+14155550100"


def test_it_enables_callback_on_a_phone_line_with_greetings_and_language(phone, acme):  # SPEC L2
    offer = make_greeting(acme)
    confirm = make_greeting(acme, "Confirm", Greeting.Category.CALLBACK_CONFIRMATION, text="Press 1 to confirm.")
    with scope(account=acme):
        line = services.callback_settings_update(
            account=acme, line=phone, actor=None, callback_enabled=True, callback_language="ja",
            callback_greeting=offer.pk, callback_confirmation_greeting=confirm,
        )
    line = reload(line)
    assert line.callback_enabled and line.callback_language == "ja"
    assert (line.callback_greeting_id, line.callback_confirmation_greeting_id) == (offer.pk, confirm.pk)


def test_it_refuses_callback_on_a_digital_line(digital):  # SPEC L1 (seed)
    error = refused(digital, callback_enabled=True)
    assert error.message == line_services.CALLBACK_DIGITAL_MESSAGE == "Callback cannot be enabled on a digital line."
    assert error.field == "callback_enabled"
    assert reload(digital).callback_enabled is False


def test_it_refuses_callback_on_a_sip_line_without_outbound_number_naming_the_field(sip):  # SPEC L4 (seed)
    error = refused(sip, callback_enabled=True)
    assert error.message == line_services.CALLBACK_SIP_OUTBOUND_MESSAGE
    assert "outbound number" in error.message
    assert error.field == "outbound_number"


def test_a_sip_line_with_an_outbound_number_can_enable_callback(sip):  # SPEC L4
    line = update(sip, outbound_number="+1 415 555 0177", callback_enabled=True)
    assert line.callback_enabled and line.outbound_number.as_e164 == "+14155550177"
    assert selectors.line_callback_supported(line) == (True, "")
    assert selectors.callback_caller_id(line) == "+14155550177"


def test_it_keeps_the_kind_of_a_line(phone):  # SPEC L1
    assert refused(phone, kind="digital").message == line_services.KIND_IMMUTABLE_MESSAGE


@pytest.mark.parametrize(
    ("kind", "fields", "field", "message"),
    [
        ("phone", {"name": "  ", "number": "+14155550100"}, "name", line_services.NAME_REQUIRED_MESSAGE),
        ("fax", {"name": "L"}, "kind", line_services.KIND_INVALID_MESSAGE),
        ("phone", {"name": "L"}, "number", line_services.NUMBER_REQUIRED_MESSAGE),
        ("phone", {"name": "L", "number": "12"}, "number", line_services.NUMBER_INVALID_MESSAGE),
        ("phone", {"name": "L", "number": "call me"}, "number", line_services.NUMBER_INVALID_MESSAGE),
        ("sip", {"name": "L"}, "sip_address", line_services.SIP_ADDRESS_REQUIRED_MESSAGE),
        ("sip", {"name": "L", "sip_address": "sip:no-host"}, "sip_address", line_services.SIP_ADDRESS_INVALID_MESSAGE),
        ("sip", {"name": "L", "sip_address": "sip:a@b c"}, "sip_address", line_services.SIP_ADDRESS_INVALID_MESSAGE),
        ("sip", {"name": "L", "sip_address": "sip:s@pbx.example.com", "outbound_number": "555"},
         "outbound_number", line_services.OUTBOUND_NUMBER_INVALID_MESSAGE),
    ],
)
def test_it_refuses_bad_general_settings(acme, kind, fields, field, message):  # SPEC L1
    with scope(account=acme), pytest.raises(ServiceError) as caught:
        services.line_create(account=acme, actor=None, kind=kind, **fields)
    assert (caught.value.field, caught.value.message) == (field, message)
    with scope(account=acme):
        assert not Line.objects.filter(account=acme).exists()


def test_it_refuses_a_number_or_sip_address_another_line_of_the_account_has(phone, sip, acme, globex):  # SPEC L1
    with scope(account=acme), pytest.raises(ServiceError) as caught:
        services.line_create(account=acme, actor=None, name="Dup", kind="phone", number="(415) 555-0100")
    assert caught.value.message == line_services.NUMBER_TAKEN_MESSAGE
    with scope(account=acme), pytest.raises(ServiceError) as caught:
        services.line_create(account=acme, actor=None, name="Dup", kind="sip", sip_address="SIP:support@PBX.example.com")
    assert caught.value.message == line_services.SIP_ADDRESS_TAKEN_MESSAGE
    # Another account may have the same number: accounts do not see each other (SPEC T3).
    assert make_line(globex).number == phone.number


def test_it_reads_numbers_in_the_account_region_and_normalises_sip_addresses(acme):  # SPEC L1
    line = make_line(acme, number="(415) 555-0123")
    assert line.number.as_e164 == "+14155550123"
    sip = make_line(acme, "SIP", Line.Kind.SIP, sip_address="Support@PBX.Example.com:5061")
    assert sip.sip_address == "sip:Support@pbx.example.com:5061"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("callback_offer_seconds", 9), ("callback_offer_seconds", 601),
        ("callback_expiry_minutes", 4), ("callback_expiry_minutes", 1441),
        ("callback_retry_attempts", -1), ("callback_retry_attempts", 6),
        ("callback_retry_interval_minutes", 0), ("callback_retry_interval_minutes", 121),
        ("call_offer_seconds", 5), ("call_offer_seconds", "30"),
    ],
)
def test_it_refuses_advanced_settings_out_of_range(phone, field, value):  # SPEC L7
    error = refused(phone, **{field: value})
    assert error.field == field
    assert error.message == line_services.range_message(field)


def test_range_messages_name_the_setting_and_its_bounds():  # SPEC L7
    assert line_services.range_message("callback_retry_attempts") == (
        "The number of retries must be a whole number from 0 to 5."
    )


def test_it_accepts_advanced_settings_in_range(phone):  # SPEC L7
    line = update(
        phone, callback_offer_seconds=90, callback_expiry_minutes=120, callback_key="#",
        callback_offer_in_greeting=False, callback_retry_attempts=2, callback_retry_interval_minutes=10,
        callback_capture_on_first_key=False, call_offer_seconds=20,
    )
    line = reload(line)
    assert (line.callback_offer_seconds, line.callback_expiry_minutes, line.callback_key) == (90, 120, "#")
    assert (line.callback_retry_attempts, line.callback_retry_interval_minutes) == (2, 10)
    assert not line.callback_offer_in_greeting and not line.callback_capture_on_first_key


@pytest.mark.parametrize("key", ["", "22", "a", 2, None])
def test_it_refuses_a_callback_key_that_is_not_one_keypad_key(phone, key):  # SPEC L7
    error = refused(phone, callback_key=key)
    assert (error.field, error.message) == ("callback_key", line_services.CALLBACK_KEY_MESSAGE)


def test_it_refuses_callback_offered_nowhere(phone):  # SPEC L7, C1
    error = refused(phone, callback_enabled=True, callback_offer_in_greeting=False, callback_offer_while_queued=False)
    assert error.message == line_services.CALLBACK_OFFER_NOWHERE_MESSAGE


def test_it_refuses_a_non_boolean_toggle(phone):
    assert refused(phone, callback_enabled="yes").message == line_services.BOOLEAN_MESSAGE


def test_it_refuses_an_unknown_callback_language(phone):  # SPEC L3
    assert refused(phone, callback_language="xx").message == line_services.CALLBACK_LANGUAGE_INVALID_MESSAGE


def test_the_caller_id_policy_needs_another_phone_line_of_the_account(phone, acme, globex):  # SPEC L7
    error = refused(phone, callback_caller_id_policy="account_number")
    assert (error.field, error.message) == (
        "callback_outbound_caller_id", line_services.CALLER_ID_NUMBER_REQUIRED_MESSAGE
    )
    error = refused(phone, callback_caller_id_policy="account_number", callback_outbound_caller_id="+14155550100")
    assert error.message == line_services.CALLER_ID_NOT_ACCOUNT_NUMBER_MESSAGE  # its own number is not "another"
    globex_line = make_line(globex, number="+14155550199")
    error = refused(
        phone, callback_caller_id_policy="account_number", callback_outbound_caller_id=globex_line.number.as_e164
    )
    assert error.message == line_services.CALLER_ID_NOT_ACCOUNT_NUMBER_MESSAGE
    assert refused(phone, callback_caller_id_policy="theirs").message == line_services.CALLER_ID_POLICY_INVALID_MESSAGE

    make_line(acme, "Customer-facing", number="+14155550111")
    line = update(phone, callback_caller_id_policy="account_number", callback_outbound_caller_id="+1 415 555 0111")
    with scope(account=acme):
        assert selectors.callback_caller_id(line) == "+14155550111"
    # Back to the line's own number: the other number is cleared.
    line = update(line, callback_caller_id_policy="line_number")
    assert line.callback_outbound_caller_id == ""
    assert selectors.callback_caller_id(line) == "+14155550100"


def test_it_refuses_greetings_of_another_category_or_account(phone, acme, globex):  # SPEC L2, T3
    wrong_category = make_greeting(acme, "Hello", Greeting.Category.WELCOME)
    error = refused(phone, callback_greeting=wrong_category.pk)
    assert error.field == "callback_greeting"
    assert error.message == line_services.GREETING_CATEGORY_MESSAGE.format(category="Callback message")
    error = refused(phone, callback_confirmation_greeting=make_greeting(acme).pk)
    assert error.message == line_services.GREETING_CATEGORY_MESSAGE.format(category="Callback confirmation message")
    foreign = make_greeting(globex)
    missing = refused(phone, callback_greeting=missing_id())
    other_account = refused(phone, callback_greeting=foreign.pk)
    assert other_account.message == missing.message == line_services.GREETING_NOT_FOUND_MESSAGE
    assert refused(phone, welcome_greeting=make_greeting(acme).pk).field == "welcome_greeting"


def test_a_toll_free_number_saves_with_a_warning(acme):  # SPEC L5 (seed comment)
    line = make_line(acme, "Free", number="+1 800 555 0199", callback_enabled=True)
    assert line.is_toll_free and line.callback_enabled
    with scope(account=acme):
        assert selectors.line_warnings(line) == [selectors.lines.TOLL_FREE_WARNING]
    assert "carriers" in selectors.lines.TOLL_FREE_WARNING
    assert not make_line(acme, "Geo", number="+14155550122").is_toll_free


def test_a_refusal_changes_nothing_and_a_change_is_audited(phone, acme):
    refused(phone, name="Renamed", callback_key="x")
    assert reload(phone).name == "Main line"
    update(phone, name="Renamed")
    with scope(account=acme):
        actions = list(AuditEntry.objects.filter(account=acme, target_id=str(phone.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["line.create", "line.update"]


def test_the_webhook_token_is_unguessable_unique_and_not_editable(phone, acme):  # SPEC T5
    other = make_line(acme, "Second", number="+14155550142")
    assert len(phone.webhook_token) >= 32 and phone.webhook_token != other.webhook_token
    with pytest.raises(TypeError):
        update(phone, webhook_token="chosen")
    with scope(account=acme):
        renewed = services.line_webhook_token_regenerate(account=acme, line=phone, actor=None)
        assert webhook_line(renewed.webhook_token).pk == phone.pk
    assert renewed.webhook_token != other.webhook_token
    assert webhook_line("nope") is None


def test_the_webhook_line_is_found_with_its_account_outside_any_scope(phone, acme):  # SPEC T5
    found = webhook_line(phone.webhook_token)
    assert found.pk == phone.pk and found.account == acme


def test_webhook_urls_use_the_public_base_url_when_set(phone, settings):  # SPEC T5
    settings.PUBLIC_BASE_URL = "https://support.example.com"
    token = phone.webhook_token
    assert selectors.line_webhook_urls(line=phone) == {
        "voice_url": f"https://support.example.com/talk/webhooks/{token}/voice/",
        "status_callback_url": f"https://support.example.com/talk/webhooks/{token}/status/",
    }


def test_webhook_urls_otherwise_use_the_bare_base_domain_with_the_request_port(phone, settings):  # SPEC T5
    settings.PUBLIC_BASE_URL = ""
    request = RequestFactory().get("/", HTTP_HOST="acme.localhost:8000")
    urls = selectors.line_webhook_urls(line=phone, request=request)
    assert urls["voice_url"] == f"http://localhost:8000/talk/webhooks/{phone.webhook_token}/voice/"
    secure = RequestFactory().get("/", HTTP_HOST="acme.localhost", secure=True)
    assert selectors.line_webhook_urls(line=phone, request=secure)["status_callback_url"] == (
        f"https://localhost/talk/webhooks/{phone.webhook_token}/status/"
    )


@pytest.mark.parametrize(
    ("account_language", "line_language", "expected"),
    [
        ("en", "", "en"),
        ("ja", "", "ja"),  # unset → the account's default language
        ("en", "de", "de"),
        ("ja", "fr", "fr"),
        ("pt", "", "en"),  # the catalogue lacks it → English (seed)
        ("en", "it", "en"),
        ("nl", "es", "es"),
    ],
)
def test_the_effective_callback_language_falls_back_to_english(acme, account_language, line_language, expected):  # SPEC L3
    acme.default_language = account_language
    acme.save()
    line = make_line(acme, callback_language=line_language)
    assert selectors.effective_callback_language(line) == expected


def test_a_language_without_voice_saves_with_a_warning_and_english_prompts(acme):  # SPEC L3
    line = make_line(acme, callback_language="pt")
    with scope(account=acme):
        assert selectors.line_warnings(line) == [
            selectors.lines.LANGUAGE_FALLBACK_WARNING.format(language="Portuguese")
        ]
        entry = selectors.line_greeting(line=line, category=Greeting.Category.NUMBER_ENTRY)
    assert entry.is_system and entry.language == "en"


def test_line_greeting_uses_the_lines_pick_else_system_prompts_in_its_language(acme):  # SPEC L3, L6
    offer = make_greeting(acme)
    line = make_line(acme, callback_language="ja", callback_greeting=offer.pk)
    with scope(account=acme):
        assert selectors.line_greeting(line=line, category=Greeting.Category.CALLBACK) == offer
        readback = selectors.line_greeting(line=line, category=Greeting.Category.NUMBER_READBACK)
        welcome = selectors.line_greeting(line=line, category=Greeting.Category.WELCOME)
    assert (readback.language, readback.is_system) == ("ja", True)
    assert readback.text == "入力された番号は{number}です。"
    assert (welcome.language, welcome.is_system) == ("en", True)


def test_the_menu_and_the_confirmations_speak_the_callback_messages_language(acme):  # SPEC L3
    # The line's callback language is only for the prompts after the caller chose another number.
    english_offer = make_greeting(acme)
    japanese_offer = make_greeting(acme, "Japanese offer", language="ja", text="{key}を押してください。")
    line = make_line(acme, callback_language="ja", callback_greeting=english_offer.pk)
    Category = Greeting.Category
    with scope(account=acme):
        spoken = {c: selectors.line_greeting(line=line, category=c).language for c in (
            Category.CALLBACK_MENU, Category.REQUEST_CONFIRMED, Category.ALREADY_WAITING,
            Category.NUMBER_ENTRY, Category.NUMBER_READBACK, Category.NUMBER_INVALID)}
        assert spoken == {Category.CALLBACK_MENU: "en", Category.REQUEST_CONFIRMED: "en", Category.ALREADY_WAITING: "en",
                          Category.NUMBER_ENTRY: "ja", Category.NUMBER_READBACK: "ja", Category.NUMBER_INVALID: "ja"}
        line.callback_greeting = japanese_offer
        assert selectors.line_greeting(line=line, category=Category.CALLBACK_MENU).language == "ja"


@pytest.mark.parametrize(
    ("make", "changes", "expected"),
    [
        ("phone", {"callback_enabled": True}, (True, "")),
        ("phone", {}, (False, selectors.lines.CALLBACK_OFF_REASON)),
        ("phone", {"callback_enabled": True, "enabled": False}, (False, selectors.lines.LINE_DISABLED_REASON)),
        ("digital", {}, (False, selectors.lines.CALLBACK_DIGITAL_REASON)),
    ],
)
def test_line_callback_supported(acme, make, changes, expected):  # SPEC C2
    line = make_line(acme, kind=make, **changes)
    assert selectors.line_callback_supported(line) == expected


def test_a_sip_line_that_loses_its_outbound_number_is_refused(sip):  # SPEC L4
    line = update(sip, outbound_number="+14155550177", callback_enabled=True)
    error = refused(line, outbound_number="")
    assert error.message == line_services.CALLBACK_SIP_OUTBOUND_MESSAGE


def test_the_database_refuses_callback_on_a_digital_line_too(digital, acme):  # SPEC L1
    from django.db import IntegrityError, transaction

    with scope(account=acme), pytest.raises(IntegrityError), transaction.atomic():
        Line.objects.filter(account=acme, pk=digital.pk).update(callback_enabled=True)


# --- Groups (SPEC R14) ---------------------------------------------------------------
def test_the_default_group_is_always_one_of_the_lines_groups(phone, acme):  # SPEC R14
    billing, sales = make_group(acme, "Billing"), make_group(acme, "Sales")
    update(phone, groups=[sales.pk])
    update(phone, default_group=billing)  # a group or its id
    assert line_routing(phone) == (billing.pk, {billing.pk, sales.pk})
    update(phone, groups=[])  # the groups go, the default group stays
    assert line_routing(phone) == (billing.pk, {billing.pk})
    update(phone, default_group=None)  # no longer the default; still a group until the groups change
    assert line_routing(phone) == (None, {billing.pk})
    update(phone, groups=[])
    assert line_routing(phone) == (None, set())
    created = make_line(acme, "Sales line", number="+14155550131", groups=[str(sales.pk)], default_group=str(billing.pk))
    assert line_routing(created) == (billing.pk, {billing.pk, sales.pk})


@pytest.mark.parametrize("field", ["groups", "default_group"])
def test_it_refuses_groups_of_another_account_like_missing_ones_and_writes_nothing(phone, acme, globex, field):  # SPEC T3
    billing, tokyo = make_group(acme, "Billing"), make_group(globex, "Tokyo desk")
    update(phone, groups=[billing.pk])
    for value in (tokyo.pk, missing_id(), "x", True, 0):
        error = refused(phone, name="Renamed", **{field: [billing.pk, value] if field == "groups" else value})
        assert (error.field, error.message) == (field, line_services.GROUP_NOT_FOUND_MESSAGE), value
    assert line_routing(phone) == (None, {billing.pk})
    assert reload(phone).name == "Main line"
