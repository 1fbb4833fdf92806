"""Telephony provider settings: Twilio credentials, the token encrypted at rest and
write-only (SPEC T5, O1). Named test_provider_* : test_telephony* belongs to the gateways."""
from __future__ import annotations

import json
import re

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.urls import reverse
from django_scopes import scope

from supportcenter.errors import ServiceError
from talk import crypto, selectors, services
from talk.models import TelephonySettings
from talk.services import telephony as telephony_services
from tests.supportcenter.test_settings import PRODUCTION_ENV, _manage

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "f3c1d2e4a5b69788c9d0e1f2a3b4c5d6"
URL = "/api/v2/channels/voice/settings.json"


def raw_row(account) -> tuple:
    """The settings row as the database holds it, bypassing the ORM."""
    table = TelephonySettings._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE account_id = %s", [account.pk])
        return cursor.fetchone()


def set_twilio(account, **fields):
    with scope(account=account):
        return services.telephony_settings_update(account=account, actor=None, **fields)


def test_the_auth_token_is_encrypted_at_rest(acme):  # SPEC T5
    set_twilio(acme, provider="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN)
    row = raw_row(acme)
    assert row is not None
    assert not any(TOKEN in str(value) for value in row)
    assert SID in row  # the SID is an identifier, not a secret
    with scope(account=acme):
        assert selectors.telephony_auth_token(account=acme) == TOKEN


def test_a_simulator_account_gets_a_random_signing_secret_encrypted_too(acme, globex):  # SPEC O1, C9
    with scope(account=acme):
        acme_secret = selectors.telephony_auth_token(account=acme)
        assert selectors.telephony_settings_get(account=acme).provider == "simulator"
    with scope(account=globex):
        globex_secret = selectors.telephony_auth_token(account=globex)
    assert re.fullmatch(r"[0-9a-f]{32}", acme_secret) and acme_secret != globex_secret
    assert not any(acme_secret in str(value) for value in raw_row(acme))


def test_switching_providers_keeps_each_secret(acme):  # SPEC T5
    with scope(account=acme):
        simulator_secret = selectors.telephony_auth_token(account=acme)
    set_twilio(acme, provider="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN)
    set_twilio(acme, provider="simulator")
    with scope(account=acme):
        assert selectors.telephony_auth_token(account=acme) == simulator_secret
    set_twilio(acme, provider="twilio")  # the stored token is kept: it is write-only, not forgotten
    with scope(account=acme):
        assert selectors.telephony_auth_token(account=acme) == TOKEN


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"provider": "vonage"}, "provider", telephony_services.PROVIDER_INVALID_MESSAGE),
        ({"twilio_account_sid": "AC123"}, "twilio_account_sid", telephony_services.TWILIO_SID_INVALID_MESSAGE),
        ({"twilio_account_sid": "SK" + "0" * 32}, "twilio_account_sid", telephony_services.TWILIO_SID_INVALID_MESSAGE),
        ({"twilio_auth_token": "secret"}, "twilio_auth_token", telephony_services.TWILIO_TOKEN_INVALID_MESSAGE),
        ({"provider": "twilio", "twilio_auth_token": TOKEN}, "twilio_account_sid",
         telephony_services.TWILIO_SID_REQUIRED_MESSAGE),
        ({"provider": "twilio", "twilio_account_sid": SID}, "twilio_auth_token",
         telephony_services.TWILIO_TOKEN_REQUIRED_MESSAGE),
    ],
)
def test_it_refuses_bad_provider_settings(acme, fields, field, message):  # SPEC T5
    with pytest.raises(ServiceError) as caught:
        set_twilio(acme, **fields)
    assert (caught.value.field, caught.value.message) == (field, message)
    with scope(account=acme):
        assert selectors.telephony_settings_get(account=acme).provider == "simulator"


def test_keys_rotate_and_a_wrong_key_cannot_read(settings):
    settings.FIELD_ENCRYPTION_KEY = "old-key-" + "x" * 32
    sealed = crypto.encrypt(TOKEN)
    settings.FIELD_ENCRYPTION_KEY = "new-key-" + "y" * 32 + ",old-key-" + "x" * 32
    assert crypto.decrypt(sealed) == TOKEN
    resealed = crypto.encrypt(TOKEN)
    settings.FIELD_ENCRYPTION_KEY = "new-key-" + "y" * 32
    assert crypto.decrypt(resealed) == TOKEN
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(sealed)
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()  # a Fernet key is used as is
    assert crypto.decrypt(crypto.encrypt("x")) == "x"


def test_production_refuses_to_start_without_a_field_encryption_key():  # SPEC O2
    env = dict(PRODUCTION_ENV)
    del env["SC_FIELD_ENCRYPTION_KEY"]
    result = _manage("check", **env)
    assert result.returncode != 0 and "SC_FIELD_ENCRYPTION_KEY is required" in result.stderr
    result = _manage("check", **{**PRODUCTION_ENV, "SC_FIELD_ENCRYPTION_KEY": "short"})
    assert result.returncode != 0 and "32 characters" in result.stderr


# --- API ------------------------------------------------------------------------------
def put(client, **fields):
    return client.put(URL, data=json.dumps({"settings": fields}), content_type="application/json")


def test_the_api_sets_credentials_and_never_returns_the_token(alice_api, acme):  # SPEC T5, A4
    response = put(alice_api, provider="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN)
    assert response.status_code == 200, response.content
    assert response.json() == {"settings": {
        "provider": "twilio", "twilio_account_sid": SID, "twilio_auth_token_set": True,
        "twilio_auth_token_last4": TOKEN[-4:], "recording_retention_days": 30,
    }}
    assert TOKEN not in response.content.decode()
    assert TOKEN not in alice_api.get(URL).content.decode()
    # Saving without a token keeps it.
    assert put(alice_api, twilio_account_sid=SID).json()["settings"]["twilio_auth_token_set"] is True
    with scope(account=acme):
        assert selectors.telephony_auth_token(account=acme) == TOKEN


def test_the_api_refuses_with_422_and_the_field(alice_api):  # SPEC T5
    response = put(alice_api, provider="twilio", twilio_account_sid=SID)
    assert response.status_code == 422
    assert response.json()["details"] == {
        "twilio_auth_token": [{"description": telephony_services.TWILIO_TOKEN_REQUIRED_MESSAGE, "error": "invalid"}]
    }
    assert alice_api.put(URL, data=json.dumps({"provider": "twilio"}), content_type="application/json").status_code == 400


def test_agents_cannot_read_or_change_provider_settings(bob_api, acme):  # SPEC T4
    assert bob_api.get(URL).status_code == 403
    assert put(bob_api, provider="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN).status_code == 403
    with scope(account=acme):
        assert selectors.telephony_settings_get(account=acme).provider == "simulator"


def test_globex_sees_its_own_settings_not_acmes(charlie_api, charlie_client, acme):  # SPEC T3
    set_twilio(acme, provider="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN)
    settings_answer = charlie_api.get(URL).json()["settings"]
    assert settings_answer == {"provider": "simulator", "twilio_account_sid": "", "twilio_auth_token_set": False,
                               "twilio_auth_token_last4": "", "recording_retention_days": 30}
    page = charlie_client.get(reverse("talk:telephony_settings")).content.decode()
    assert SID not in page and "not set" in page
    put(charlie_api, provider="simulator", twilio_account_sid="")
    with scope(account=acme):
        assert selectors.telephony_settings_get(account=acme).provider == "twilio"


# --- Page -----------------------------------------------------------------------------
def test_the_page_saves_credentials_and_never_renders_the_token(alice_client, acme):  # SPEC T5
    response = alice_client.post(
        reverse("talk:telephony_settings"),
        {"provider": "twilio", "twilio_account_sid": SID, "twilio_auth_token": TOKEN},
    )
    assert response.status_code == 302
    page = alice_client.get(reverse("talk:telephony_settings")).content.decode()
    assert TOKEN not in page and f"…{TOKEN[-4:]}" in page and SID in page
    # A refused save does not echo the token back either.
    refused = alice_client.post(
        reverse("talk:telephony_settings"),
        {"provider": "twilio", "twilio_account_sid": "nope", "twilio_auth_token": TOKEN[::-1]},
    )
    assert refused.status_code == 400
    assert TOKEN[::-1] not in refused.content.decode()
    assert telephony_services.TWILIO_SID_INVALID_MESSAGE in refused.content.decode()
