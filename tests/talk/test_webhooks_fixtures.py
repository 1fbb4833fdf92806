"""Stored requests, shaped as Twilio sends them (with the geographic and STIR fields a
real carrier adds), played in order against the webhooks: arrive, hold, press the
callback key, hang up — captured (SPEC C1, C3, C8)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.test import Client
from django_scopes import scope
from twilio.request_validator import RequestValidator

from talk.models import Call
from talk.selectors import telephony_auth_token
from tests.talk.calls_support import requests_of

FIXTURES = Path(__file__).parent / "fixtures" / "twilio"
pytestmark = pytest.mark.usefixtures("bob_online")


def _play(line, name: str, fixture: str, query: str = ""):
    params = json.loads((FIXTURES / fixture).read_text())
    path = f"/talk/webhooks/{line.webhook_token}/{name}/" + (f"?{query}" if query else "")
    with scope(account=line.account):
        token = telephony_auth_token(account=line.account)
    signature = RequestValidator(token).compute_signature("https://localhost" + path, params)
    return Client().post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                         HTTP_HOST="localhost", HTTP_X_TWILIO_SIGNATURE=signature, secure=True)


def test_stored_requests_play_through_to_a_captured_callback(main_line, acme):
    for name, fixture in [("voice", "incoming.json"), ("wait", "wait.json"), ("hold-key", "hold_key.json"),
                          ("queue-exit", "queue_exit_hangup.json"), ("status", "status_completed.json")]:
        response = _play(main_line, name, fixture)
        assert response.status_code == 200, (name, response.content)
    [request] = requests_of(acme)
    assert (request.number, request.confirmed) == ("+14155550111", False)
    with scope(account=acme):
        call = Call.objects.get()
    assert (call.outcome, call.duration_seconds, call.provider_status) == ("callback_captured", 52, "completed")
