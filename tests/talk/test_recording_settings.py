"""The settings of the caller's name and reason (SPEC C14, L7): the line's switch
(``callback_record_name``) and the account's recording retention, through the services,
the admin pages and the API, with the same words whichever door a refusal came through."""
from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from supportcenter.errors import ServiceError
from supportcenter.models import AuditEntry
from talk import selectors, services
from talk.models import Line, TelephonySettings
from talk.services import lines as line_services
from talk.services.telephony import RECORDING_RETENTION_MESSAGE
from tests.isolation import assert_isolated, missing_id
from tests.talk.factories import make_line, reload

SETTINGS_URL = "/api/v2/channels/voice/settings.json"


def line_url(pk: int) -> str:
    return f"/api/v2/channels/voice/phone_numbers/{pk}.json"


@pytest.fixture
def line(acme) -> Line:
    return make_line(acme, callback_enabled=True)


def retention(account) -> int:
    with scope(account=account):
        return selectors.telephony_settings_get(account=account).recording_retention_days


def set_retention(account, actor=None, **fields) -> TelephonySettings:
    with scope(account=account):
        return services.telephony_settings_update(account=account, actor=actor, **fields)


def put_line(client, pk: int, body: dict):
    return client.put(line_url(pk), data=json.dumps({"phone_number": body}), content_type="application/json")


def put_settings(client, **fields):
    return client.put(SETTINGS_URL, data=json.dumps({"settings": fields}), content_type="application/json")


def descriptions(response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "RecordInvalid"
    return {field: [d["description"] for d in errors] for field, errors in body["details"].items()}


def audits(account, action: str) -> list[AuditEntry]:
    with scope(account=account):
        return list(AuditEntry.objects.filter(account=account, action=action).order_by("created_at", "pk"))


# --- Services -----------------------------------------------------------------------
def test_it_keeps_a_lines_recording_off_until_an_admin_turns_it_on(line, acme, alice):  # SPEC C14, L7
    assert line.callback_record_name is False
    with scope(account=acme):
        updated = services.callback_settings_update(account=acme, line=line, actor=alice, callback_record_name=True)
    assert updated.callback_record_name is True and reload(line).callback_record_name is True
    [entry] = [e for e in audits(acme, "line.update") if "callback_record_name" in e.data["fields"]]
    assert entry.actor_id == alice.pk and entry.target_id == str(line.pk)
    with scope(account=acme):
        services.line_update(account=acme, line=line, actor=alice, callback_record_name=False)
    assert reload(line).callback_record_name is False


@pytest.mark.parametrize("value", ["yes", 1, None, "on"])
def test_it_refuses_a_record_switch_that_is_not_true_or_false(line, acme, value):  # SPEC L7
    with pytest.raises(ServiceError) as caught, scope(account=acme):
        services.line_update(account=acme, line=line, actor=None, callback_record_name=value)
    assert (caught.value.field, caught.value.message) == ("callback_record_name", line_services.BOOLEAN_MESSAGE)
    assert reload(line).updated_at == line.updated_at


def test_an_accounts_recordings_are_kept_30_days_unless_changed(acme, alice):  # SPEC C14
    assert retention(acme) == 30
    row = set_retention(acme, alice, recording_retention_days=90)
    assert row.recording_retention_days == 90 == retention(acme)
    set_retention(acme, alice, provider="simulator")  # None keeps it
    assert retention(acme) == 90
    entries = audits(acme, "telephony_settings.update")
    assert [e.data["recording_retention_days"] for e in entries] == [90, 90]
    assert entries[0].actor_id == alice.pk


@pytest.mark.parametrize("days", [1, 365])
def test_it_takes_the_bounds_of_the_retention(acme, days):  # SPEC C14
    set_retention(acme, recording_retention_days=days)
    assert retention(acme) == days


@pytest.mark.parametrize("days", [0, -1, 366, 10_000, True, "30", 7.0])
def test_it_refuses_a_retention_out_of_bounds_or_not_a_whole_number(acme, days):  # SPEC C14
    with pytest.raises(ServiceError) as caught:
        set_retention(acme, provider="twilio", recording_retention_days=days)
    assert (caught.value.field, caught.value.message) == ("recording_retention_days", RECORDING_RETENTION_MESSAGE)
    with scope(account=acme):
        row = selectors.telephony_settings_get(account=acme)
    assert (row.recording_retention_days, row.provider) == (30, "simulator")  # nothing changed
    assert audits(acme, "telephony_settings.update") == []


def test_one_accounts_retention_is_not_anothers(acme, globex):  # SPEC C14, T3
    set_retention(acme, recording_retention_days=7)
    assert (retention(acme), retention(globex)) == (7, 30)


# --- Pages --------------------------------------------------------------------------
def callback_form(line: Line, **overrides) -> dict:
    """The Callback tab as the browser posts it (unchecked boxes are absent)."""
    data = {
        "callback_enabled": "on", "callback_language": "",
        "callback_greeting": str(line.callback_greeting_id),
        "callback_confirmation_greeting": str(line.callback_confirmation_greeting_id),
        "callback_offer_seconds": "40", "callback_expiry_minutes": "60", "callback_key": "2",
        "callback_offer_in_greeting": "on", "callback_offer_while_queued": "on",
        "callback_caller_id_policy": "line_number", "callback_outbound_caller_id": "",
        "callback_retry_attempts": "0", "callback_retry_interval_minutes": "5", "callback_capture_on_first_key": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_callback_tab_has_the_switch_off_and_says_what_callers_hear(alice_client, line, acme):  # SPEC C14, L7
    set_retention(acme, recording_retention_days=14)
    page = alice_client.get(reverse("talk:line_callback", args=[line.pk])).content.decode()
    assert 'name="callback_record_name" id="id_callback_record_name">' in page  # unchecked
    assert "Ask callers to record their name and reason after confirming" in page
    hint = " ".join(page.split('id="record-name-hint"', 1)[1].split("</p>", 1)[0].split())
    assert "please say your name and the reason for your call" in hint and "This message is recorded" in hint
    assert "14 days after the request is over" in hint and "consent" in hint
    assert f'href="{reverse("talk:telephony_settings")}"' in hint


def test_alice_turns_the_recording_on_and_off_on_the_callback_tab(alice_client, line):  # SPEC C14, L7
    url = reverse("talk:line_callback", args=[line.pk])
    assert alice_client.post(url, callback_form(line, callback_record_name="on")).status_code == 302
    assert reload(line).callback_record_name is True
    page = alice_client.get(url).content.decode()
    assert 'name="callback_record_name" id="id_callback_record_name" checked' in page
    # Unchanged otherwise, and unticked (absent, as a browser posts it) turns it off.
    saved = reload(line)
    assert (saved.callback_enabled, saved.callback_offer_seconds, saved.callback_capture_on_first_key) == (True, 40, True)
    assert alice_client.post(url, callback_form(line)).status_code == 302
    assert reload(line).callback_record_name is False


def test_a_refused_callback_tab_saves_no_recording_switch(alice_client, line):  # SPEC L7
    response = alice_client.post(
        reverse("talk:line_callback", args=[line.pk]),
        callback_form(line, callback_record_name="on", callback_offer_seconds="5"),
    )
    assert response.status_code == 400
    assert line_services.range_message("callback_offer_seconds") in response.content.decode()
    assert reload(line).callback_record_name is False


def test_the_provider_page_shows_and_saves_the_retention(alice_client, acme):  # SPEC C14
    url = reverse("talk:telephony_settings")
    page = alice_client.get(url).content.decode()
    assert "Keep callers&#x27; recordings for (days)" in page
    assert 'name="recording_retention_days" value="30"' in page
    response = alice_client.post(url, {"provider": "simulator", "twilio_account_sid": "", "recording_retention_days": "45"})
    assert response.status_code == 302
    assert retention(acme) == 45
    assert 'name="recording_retention_days" value="45"' in alice_client.get(url).content.decode()
    # A client that does not post the field keeps the stored value.
    assert alice_client.post(url, {"provider": "simulator"}).status_code == 302
    assert retention(acme) == 45


@pytest.mark.parametrize("days", ["0", "366", "thirty", "", "-3", "2.5"])
def test_the_provider_page_refuses_a_bad_retention_next_to_the_field(alice_client, acme, days):  # SPEC C14
    response = alice_client.post(
        reverse("talk:telephony_settings"),
        {"provider": "simulator", "twilio_account_sid": "", "recording_retention_days": days},
    )
    assert response.status_code == 400
    after_the_field = response.content.decode().split('class="field field-recording_retention_days"', 1)[1]
    escaped = RECORDING_RETENTION_MESSAGE.replace("'", "&#x27;")
    assert f'<div class="error" role="alert">{escaped}</div>' in after_the_field
    assert retention(acme) == 30


# --- API ----------------------------------------------------------------------------
def test_the_line_api_reads_and_writes_the_recording_switch(alice_api, line):  # SPEC C14, L7, A1
    assert alice_api.get(line_url(line.pk)).json()["phone_number"]["callback"]["record_name"] is False
    response = put_line(alice_api, line.pk, {"callback": {"record_name": True}})
    assert response.status_code == 200, response.content
    callback = response.json()["phone_number"]["callback"]
    assert callback["record_name"] is True and callback["enabled"] is True and callback["offer_seconds"] == 40
    assert reload(line).callback_record_name is True
    assert alice_api.get(line_url(line.pk)).json()["phone_number"]["callback"]["record_name"] is True


def test_a_new_line_can_ask_for_names_from_the_start(alice_api, acme):  # SPEC C14, L7
    response = alice_api.post(
        "/api/v2/channels/voice/phone_numbers.json",
        data=json.dumps({"phone_number": {"nickname": "Names", "number": "+14155550177",
                                          "callback": {"enabled": True, "record_name": True}}}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["phone_number"]["callback"]["record_name"] is True


@pytest.mark.parametrize("value", ["yes", 1, "true", None])
def test_the_line_api_refuses_a_record_switch_that_is_not_a_boolean(alice_api, line, value):  # SPEC A1
    response = put_line(alice_api, line.pk, {"callback": {"record_name": value}})
    assert response.status_code == 400 and response.json()["error"] == "InvalidRequest"
    assert reload(line).updated_at == line.updated_at


def test_the_settings_api_reads_and_writes_the_retention(alice_api, acme):  # SPEC C14, A1
    assert alice_api.get(SETTINGS_URL).json()["settings"]["recording_retention_days"] == 30
    response = put_settings(alice_api, recording_retention_days=120)
    assert response.status_code == 200, response.content
    assert response.json()["settings"]["recording_retention_days"] == 120
    assert response.json()["settings"]["provider"] == "simulator"  # a partial write
    assert retention(acme) == 120
    assert put_settings(alice_api, provider="simulator").json()["settings"]["recording_retention_days"] == 120


@pytest.mark.parametrize("days", [0, -5, 366, 100_000])
def test_the_settings_api_refuses_a_retention_out_of_bounds_with_422(alice_api, acme, days):  # SPEC C14, A1
    response = put_settings(alice_api, provider="twilio", recording_retention_days=days)
    assert descriptions(response) == {"recording_retention_days": [RECORDING_RETENTION_MESSAGE]}
    assert retention(acme) == 30
    with scope(account=acme):
        assert selectors.telephony_settings_get(account=acme).provider == "simulator"


@pytest.mark.parametrize("days", ["30", True, 7.5, None])
def test_the_settings_api_refuses_a_retention_of_the_wrong_type_with_400(alice_api, acme, days):  # SPEC A1
    response = put_settings(alice_api, recording_retention_days=days)
    assert response.status_code == 400 and response.json()["error"] == "InvalidRequest"
    assert retention(acme) == 30


def test_the_schema_states_the_switch_and_the_retentions_bounds():  # SPEC A1
    schema = json.loads(Client(HTTP_HOST=settings.BASE_DOMAIN).get("/api/schema/?format=json").content)
    components = schema["components"]["schemas"]
    retention_inputs = [
        c["properties"]["recording_retention_days"] for name, c in components.items()
        if "recording_retention_days" in c.get("properties", {}) and name.startswith("VoiceSettingsInput")
    ]
    assert retention_inputs and all((p["minimum"], p["maximum"]) == (1, 365) for p in retention_inputs)
    switches = [c["properties"]["record_name"] for c in components.values() if "record_name" in c.get("properties", {})]
    assert len(switches) >= 2 and all(p["type"] == "boolean" for p in switches)  # read and written


# --- Who may, and the other account -------------------------------------------------
def test_agents_change_neither_setting(bob_api, bob_client, line, acme):  # SPEC T4
    assert put_line(bob_api, line.pk, {"callback": {"record_name": True}}).status_code == 403
    assert put_settings(bob_api, recording_retention_days=5).status_code == 403
    assert bob_client.post(reverse("talk:line_callback", args=[line.pk]),
                           callback_form(line, callback_record_name="on")).status_code == 403
    assert bob_client.post(reverse("talk:telephony_settings"),
                           {"provider": "simulator", "recording_retention_days": "5"}).status_code == 403
    assert reload(line).callback_record_name is False and retention(acme) == 30


def test_globex_cannot_switch_acmes_line(charlie_api, charlie_client, line):  # SPEC T3
    assert_isolated(charlie_api, line_url(line.pk), line_url(missing_id()), method="put",
                    data={"phone_number": {"callback": {"record_name": True}}})
    assert_isolated(charlie_client, reverse("talk:line_callback", args=[line.pk]),
                    reverse("talk:line_callback", args=[missing_id()]), method="post")
    assert reload(line).callback_record_name is False


def test_globex_sets_only_its_own_retention(charlie_api, charlie_client, acme, globex):  # SPEC T3, C14
    set_retention(acme, recording_retention_days=9)
    assert charlie_api.get(SETTINGS_URL).json()["settings"]["recording_retention_days"] == 30
    assert 'name="recording_retention_days" value="30"' in charlie_client.get(
        reverse("talk:telephony_settings")
    ).content.decode()
    assert put_settings(charlie_api, recording_retention_days=200).status_code == 200
    response = charlie_client.post(reverse("talk:telephony_settings"),
                                   {"provider": "simulator", "recording_retention_days": "300"})
    assert response.status_code == 302
    assert (retention(acme), retention(globex)) == (9, 300)
