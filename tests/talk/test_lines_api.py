"""Talk phone numbers API: Zendesk shape plus callback settings and webhook URLs (SPEC A1, L1-L7, T3-T5)."""
from __future__ import annotations

import json

import pytest
from django_scopes import scope

from talk.models import Greeting, Line
from talk.selectors import lines as line_selectors
from talk.services import lines as line_services
from tests.conftest import api_client
from tests.isolation import assert_isolated, missing_id
from tests.talk.factories import make_greeting, make_line, reload

LIST = "/api/v2/channels/voice/phone_numbers.json"


def detail(pk: int) -> str:
    return f"/api/v2/channels/voice/phone_numbers/{pk}.json"


def put(client, pk: int, body: dict):
    return client.put(detail(pk), data=json.dumps({"phone_number": body}), content_type="application/json")


def details_of(response) -> dict:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "RecordInvalid"
    return {field: [d["description"] for d in errors] for field, errors in body["details"].items()}


@pytest.fixture
def line(acme) -> Line:
    return make_line(acme, callback_enabled=True)


def test_it_lists_the_accounts_lines_in_the_zendesk_envelope(alice_api, line, acme):  # SPEC A1
    make_line(acme, "Office SIP", Line.Kind.SIP)
    body = alice_api.get(LIST).json()
    assert body["count"] == 2 and body["next_page"] is None and body["previous_page"] is None
    assert {p["nickname"] for p in body["phone_numbers"]} == {"Main line", "Office SIP"}


def test_a_phone_number_has_the_zendesk_fields_callback_settings_and_webhooks(alice_api, line, settings):  # SPEC A1, T5
    settings.PUBLIC_BASE_URL = "https://support.example.com"
    number = alice_api.get(detail(line.pk)).json()["phone_number"]
    assert number["id"] == line.pk
    assert number["url"].endswith(detail(line.pk))
    assert number["number"] == "+14155550100"
    assert number["display_number"] == "+1 415-555-0100"
    assert (number["name"], number["nickname"], number["country_code"]) == ("Main line", "Main line", "US")
    assert number["toll_free"] is False
    assert number["capabilities"] == {"voice": True, "sms": False, "mms": False}
    assert (number["kind"], number["line_type"], number["enabled"]) == ("phone", "phone", True)
    assert number["sip_address"] is None and number["outbound_number"] is None
    assert number["call_offer_seconds"] == 30
    assert number["callback"] == {
        "enabled": True,
        "available": True,
        "unavailable_reason": "",
        "language": "",
        "effective_language": "en",
        "callback_greeting_id": line.callback_greeting_id,
        "confirmation_greeting_id": line.callback_confirmation_greeting_id,
        "offer_seconds": 40,
        "expiry_minutes": 60,
        "key": "2",
        "offer_in_greeting": True,
        "offer_while_queued": True,
        "caller_id_policy": "line_number",
        "outbound_caller_id": None,
        "retry_attempts": 0,
        "retry_interval_minutes": 5,
        "capture_on_first_key": True,
        "announce_queue_position": False,
        "record_name": False,
    }
    assert number["webhooks"] == {
        "voice_url": f"https://support.example.com/talk/webhooks/{line.webhook_token}/voice/",
        "status_callback_url": f"https://support.example.com/talk/webhooks/{line.webhook_token}/status/",
    }
    assert number["warnings"] == []
    assert set(number["greeting_ids"]) == {
        line.welcome_greeting_id, line.hold_greeting_id, line.callback_greeting_id, line.callback_confirmation_greeting_id
    }


def test_agents_may_read_but_not_write(bob_api, line):  # SPEC T4
    assert bob_api.get(LIST).status_code == 200
    assert bob_api.get(detail(line.pk)).status_code == 200
    response = put(bob_api, line.pk, {"callback": {"enabled": False}})
    assert response.status_code == 403 and response.json()["error"] == "Forbidden"
    created = bob_api.post(LIST, data=json.dumps({"phone_number": {"nickname": "X", "kind": "digital"}}),
                           content_type="application/json")
    assert created.status_code == 403
    assert reload(line).callback_enabled is True


def test_an_admin_changes_callback_settings_partially(alice_api, line, acme):  # SPEC L2, L7
    offer = make_greeting(acme)
    response = put(alice_api, line.pk, {
        "callback": {"language": "ja", "callback_greeting_id": offer.pk, "offer_seconds": 90, "key": "#",
                     "retry_attempts": 2, "retry_interval_minutes": 15, "capture_on_first_key": False},
    })
    assert response.status_code == 200, response.content
    callback = response.json()["phone_number"]["callback"]
    assert (callback["language"], callback["effective_language"]) == ("ja", "ja")
    assert callback["callback_greeting_id"] == offer.pk
    assert (callback["offer_seconds"], callback["key"], callback["retry_attempts"]) == (90, "#", 2)
    assert callback["capture_on_first_key"] is False
    assert callback["expiry_minutes"] == 60  # untouched
    saved = reload(line)
    assert (saved.callback_language, saved.callback_offer_seconds, saved.callback_retry_interval_minutes) == ("ja", 90, 15)


def test_the_api_and_the_page_show_the_same_settings(alice_api, alice_client, line, acme):  # SPEC L2, A1
    confirm = make_greeting(acme, "Confirm", Greeting.Category.CALLBACK_CONFIRMATION, text="Press 1.")
    put(alice_api, line.pk, {"callback": {"confirmation_greeting_id": confirm.pk, "language": "fr"}})
    page = alice_client.get(f"/admin-center/talk/lines/{line.pk}/callback/").content.decode()
    assert f'<option value="{confirm.pk}" selected>' in page and '<option value="fr" selected>' in page


@pytest.mark.parametrize(
    ("kind", "body", "field", "message"),
    [
        ("digital", {"callback": {"enabled": True}}, "callback.enabled", line_services.CALLBACK_DIGITAL_MESSAGE),
        ("sip", {"callback": {"enabled": True}}, "outbound_number", line_services.CALLBACK_SIP_OUTBOUND_MESSAGE),
        ("phone", {"callback": {"key": "22"}}, "callback.key", line_services.CALLBACK_KEY_MESSAGE),
        ("phone", {"callback": {"offer_seconds": 1}}, "callback.offer_seconds",
         line_services.range_message("callback_offer_seconds")),
        ("phone", {"callback": {"expiry_minutes": 100000}}, "callback.expiry_minutes",
         line_services.range_message("callback_expiry_minutes")),
        ("phone", {"callback": {"retry_attempts": 9}}, "callback.retry_attempts",
         line_services.range_message("callback_retry_attempts")),
        ("phone", {"callback": {"retry_interval_minutes": 0}}, "callback.retry_interval_minutes",
         line_services.range_message("callback_retry_interval_minutes")),
        ("phone", {"call_offer_seconds": 0}, "call_offer_seconds", line_services.range_message("call_offer_seconds")),
        ("phone", {"callback": {"offer_in_greeting": False, "offer_while_queued": False, "enabled": True}},
         "callback.offer_while_queued", line_services.CALLBACK_OFFER_NOWHERE_MESSAGE),
        ("phone", {"callback": {"language": "klingon"}}, "callback.language",
         line_services.CALLBACK_LANGUAGE_INVALID_MESSAGE),
        ("phone", {"callback": {"caller_id_policy": "account_number"}}, "callback.outbound_caller_id",
         line_services.CALLER_ID_NUMBER_REQUIRED_MESSAGE),
        ("phone", {"callback": {"caller_id_policy": "account_number", "outbound_caller_id": "+14155550188"}},
         "callback.outbound_caller_id", line_services.CALLER_ID_NOT_ACCOUNT_NUMBER_MESSAGE),
        ("phone", {"callback": {"caller_id_policy": "random"}}, "callback.caller_id_policy",
         line_services.CALLER_ID_POLICY_INVALID_MESSAGE),
        ("phone", {"number": "0"}, "number", line_services.NUMBER_INVALID_MESSAGE),
        ("phone", {"number": ""}, "number", line_services.NUMBER_REQUIRED_MESSAGE),
        ("phone", {"nickname": ""}, "nickname", line_services.NAME_REQUIRED_MESSAGE),
        ("phone", {"name": " "}, "name", line_services.NAME_REQUIRED_MESSAGE),
        ("phone", {"nickname": "x" * 101}, "nickname", line_services.NAME_TOO_LONG_MESSAGE),  # never cut silently
        ("phone", {"kind": "sip"}, "kind", line_services.KIND_IMMUTABLE_MESSAGE),
        ("sip", {"sip_address": "pbx"}, "sip_address", line_services.SIP_ADDRESS_INVALID_MESSAGE),
        ("sip", {"outbound_number": "12"}, "outbound_number", line_services.OUTBOUND_NUMBER_INVALID_MESSAGE),
        ("phone", {"welcome_greeting_id": missing_id()}, "welcome_greeting_id", line_services.GREETING_NOT_FOUND_MESSAGE),
    ],
)
def test_refusals_answer_422_with_the_field_and_message(alice_api, acme, kind, body, field, message):  # SPEC L1-L7
    target = make_line(acme, "Target", kind)
    assert details_of(put(alice_api, target.pk, body)) == {field: [message]}
    assert reload(target).updated_at == target.updated_at


def test_greetings_of_another_category_or_account_are_refused(alice_api, line, acme, globex):  # SPEC L2, T3
    welcome = make_greeting(acme, "Hi", Greeting.Category.WELCOME)
    assert details_of(put(alice_api, line.pk, {"callback": {"callback_greeting_id": welcome.pk}})) == {
        "callback.callback_greeting_id": [line_services.GREETING_CATEGORY_MESSAGE.format(category="Callback message")]
    }
    foreign = make_greeting(globex, category=Greeting.Category.CALLBACK_CONFIRMATION)
    foreign_answer = put(alice_api, line.pk, {"callback": {"confirmation_greeting_id": foreign.pk}})
    missing_answer = put(alice_api, line.pk, {"callback": {"confirmation_greeting_id": missing_id()}})
    assert foreign_answer.json() == missing_answer.json()
    assert details_of(foreign_answer) == {
        "callback.confirmation_greeting_id": [line_services.GREETING_NOT_FOUND_MESSAGE]
    }


@pytest.mark.parametrize(
    "body",
    [
        {"callback": {"enabled": "perhaps"}},
        {"callback": "on"},
        {"callback": {"offer_seconds": "forty"}},
        {"enabled": [1]},
    ],
)
def test_a_malformed_body_answers_400(alice_api, line, body):  # SPEC A1
    response = put(alice_api, line.pk, body)
    assert response.status_code == 400 and response.json()["error"] == "InvalidRequest"


def test_a_body_without_the_envelope_answers_400(alice_api, line):
    response = alice_api.put(detail(line.pk), data=json.dumps({"callback": {}}), content_type="application/json")
    assert response.status_code == 400


def test_server_owned_fields_cannot_be_written(alice_api, line):  # SPEC A4, T5
    put(alice_api, line.pk, {
        "id": 1, "webhooks": {"voice_url": "https://evil.example/"}, "toll_free": True, "created_at": "2000-01-01T00:00:00Z",
        "callback": {"effective_language": "de", "available": False},
    })
    saved = reload(line)
    assert saved.pk == line.pk and saved.webhook_token == line.webhook_token
    assert saved.created_at == line.created_at and saved.callback_language == ""


def test_a_toll_free_number_answers_with_a_warning(alice_api, acme):  # SPEC L5
    free = make_line(acme, "Free", number="+18005550199")
    number = alice_api.get(detail(free.pk)).json()["phone_number"]
    assert number["toll_free"] is True
    assert number["warnings"] == [line_selectors.TOLL_FREE_WARNING]
    response = put(alice_api, free.pk, {"callback": {"enabled": True}})
    assert response.status_code == 200 and response.json()["phone_number"]["warnings"] == [line_selectors.TOLL_FREE_WARNING]


def test_an_account_language_without_voice_falls_back_to_english(alice_api, line, acme):  # SPEC L3
    acme.default_language = "pt"
    acme.save()
    callback = alice_api.get(detail(line.pk)).json()["phone_number"]["callback"]
    assert (callback["language"], callback["effective_language"]) == ("", "en")


def test_an_admin_adds_lines_through_the_api(alice_api, acme):  # SPEC L1, A1
    response = alice_api.post(LIST, data=json.dumps({"phone_number": {
        "nickname": "SIP desk", "kind": "sip", "sip_address": "desk@pbx.example.com", "outbound_number": "+14155550155",
        "callback": {"enabled": True, "language": "es"},
    }}), content_type="application/json")
    assert response.status_code == 201, response.content
    number = response.json()["phone_number"]
    assert (number["kind"], number["sip_address"], number["outbound_number"]) == (
        "sip", "sip:desk@pbx.example.com", "+14155550155"
    )
    assert number["display_number"] == "sip:desk@pbx.example.com"
    assert number["callback"]["enabled"] and number["callback"]["effective_language"] == "es"
    digital = alice_api.post(LIST, data=json.dumps({"phone_number": {
        "nickname": "Web", "kind": "digital", "callback": {"enabled": True},
    }}), content_type="application/json")
    assert details_of(digital) == {"callback.enabled": [line_services.CALLBACK_DIGITAL_MESSAGE]}
    no_kind = alice_api.post(LIST, data=json.dumps({"phone_number": {"nickname": "?"}}), content_type="application/json")
    # A phone line unless told otherwise (the reference's phone numbers are phones).
    assert details_of(no_kind) == {"number": [line_services.NUMBER_REQUIRED_MESSAGE]}
    bad_kind = alice_api.post(
        LIST, data=json.dumps({"phone_number": {"nickname": "?", "kind": "fax"}}), content_type="application/json"
    )
    assert details_of(bad_kind) == {"kind": [line_services.KIND_INVALID_MESSAGE]}
    with scope(account=acme):
        assert Line.objects.filter(account=acme).count() == 1


def test_globex_sees_none_of_acmes_lines(charlie_api, line, globex):  # SPEC T3
    make_line(globex, "Tokyo support", number="+81312345678")
    body = charlie_api.get(LIST).json()
    assert [p["nickname"] for p in body["phone_numbers"]] == ["Tokyo support"]
    assert line.webhook_token not in json.dumps(body)


@pytest.mark.parametrize(("method", "data"), [("get", None), ("put", {"phone_number": {"callback": {"enabled": False}}})])
def test_every_phone_number_route_answers_globex_as_missing(charlie_api, line, method, data):  # SPEC T3
    assert_isolated(charlie_api, detail(line.pk), detail(missing_id()), method=method, data=data)
    assert reload(line).callback_enabled is True


def test_the_bare_domain_with_a_token_reaches_the_tokens_account(acme, alice, line):  # SPEC T4
    client = api_client(acme, alice, host=None)
    assert client.get(detail(line.pk)).json()["phone_number"]["id"] == line.pk


def test_pagination_follows_the_zendesk_convention(alice_api, acme):  # SPEC A1
    for n in range(3):
        make_line(acme, f"Line {n}", number=f"+1415555011{n}")
    first = alice_api.get(LIST + "?per_page=2").json()
    assert len(first["phone_numbers"]) == 2 and first["count"] == 3
    second = alice_api.get(first["next_page"]).json()
    assert [p["nickname"] for p in second["phone_numbers"]] == ["Line 2"]
    assert second["next_page"] is None and second["previous_page"]


def test_two_lines_of_an_account_cannot_share_a_name(alice_api, acme, globex):  # issue 13: agents tell lines apart by name
    make_line(acme, "Main line")
    make_line(globex, "Sales")  # another account's names do not count
    other = make_line(acme, "Sales", number="+14155550143")
    assert details_of(put(alice_api, other.pk, {"nickname": "  MAIN line "})) == {"name": [line_services.NAME_TAKEN_MESSAGE]}
    assert reload(other).name == "Sales"
    assert put(alice_api, other.pk, {"nickname": "Sales"}).status_code == 200  # its own name is its own
