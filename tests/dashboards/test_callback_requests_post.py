"""POST /api/v2/channels/voice/callback_requests.json (SPEC A1, A3, A4, T3)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from talk.models import CallbackRequest, QueueEntry
from tests.isolation import missing_id

URL = "/api/v2/channels/voice/callback_requests.json"
pytestmark = pytest.mark.usefixtures("bob_online")


def body(line_id: int, number: str = "+14155550199", **extra) -> dict:
    return {"callback_request": {"phone_number_id": line_id, "requester_phone_number": number, **extra}}


def post(client, data: dict):
    return client.post(URL, data=json.dumps(data), content_type="application/json")


def test_an_agent_asks_for_a_callback_and_it_joins_the_queue(bob_api, acme, main_line):  # SPEC A1, R2
    response = post(bob_api, body(main_line.pk, state="completed", account_id=1))
    assert response.status_code == 201, response.content
    item = response.json()["callback_request"]
    assert (item["phone_number_id"], item["requester_phone_number"]) == (main_line.pk, "+14155550199")
    assert item["state"] == "pending" and item["confirmed"] is True  # SPEC A4: state is the server's
    with scope(account=acme):
        request = CallbackRequest.objects.get(account=acme, pk=item["id"])
        assert request.queue_entry.kind == QueueEntry.Kind.CALLBACK and request.queue_entry.state == "waiting"


def test_admins_may_create_too_but_agents_still_may_not_list(alice_api, bob_api, main_line):  # SPEC T4
    assert post(alice_api, body(main_line.pk)).status_code == 201
    assert bob_api.get(URL).status_code == 403


def test_a_bad_number_or_a_duplicate_is_422_with_details(alice_api, main_line):  # SPEC C4, C7
    bad = post(alice_api, body(main_line.pk, number="12"))
    assert bad.status_code == 422 and "requester_phone_number" in bad.json()["details"]
    assert post(alice_api, body(main_line.pk)).status_code == 201
    again = post(alice_api, body(main_line.pk))
    assert again.status_code == 422 and again.json()["error"] == "RecordInvalid"


def test_a_malformed_body_is_400(alice_api, main_line):
    response = post(alice_api, {"callback_request": {"requester_phone_number": "+14155550199"}})
    assert response.status_code == 400 and "callback_request.phone_number_id" in response.json()["details"]


def test_another_accounts_line_answers_like_a_missing_one(charlie_api, main_line):  # SPEC T3
    foreign = post(charlie_api, body(main_line.pk))
    missing = post(charlie_api, body(missing_id()))
    assert foreign.status_code == missing.status_code == 422
    assert foreign.content == missing.content


def test_it_allows_30_per_10_minutes_per_account_then_429(alice_api, bob_api, acme, main_line):  # SPEC A3
    for i in range(29):
        assert post(alice_api, body(main_line.pk, number=f"+1415555{1000 + i:04d}")).status_code == 201
    # The 30th by another member: the limit is the account's, not the user's.
    assert post(bob_api, body(main_line.pk, number="+14155552000")).status_code == 201
    refused = post(alice_api, body(main_line.pk, number="+14155552001"))
    assert refused.status_code == 429
    assert refused.json()["error"] == "TooManyRequests"
    assert 1 <= int(refused["Retry-After"]) <= 600
    # Calls' own requests (made on the phone) do not count; only API ones, in the last 10 minutes.
    with scope(account=acme):
        oldest = CallbackRequest.objects.filter(account=acme).order_by("requested_at")[:5]
        CallbackRequest.objects.filter(pk__in=[r.pk for r in oldest]).update(
            requested_at=timezone.now() - timedelta(minutes=11)
        )
    assert post(alice_api, body(main_line.pk, number="+14155552001")).status_code == 201


def test_the_limit_is_per_account(charlie_api, alice_api, globex, main_line):  # SPEC A3, T3
    from tests.talk.calls_support import make_line, set_presence

    globex_line = make_line(globex, number="+81312345678")
    set_presence(globex, globex_user(globex), "online")
    for i in range(30):
        assert post(alice_api, body(main_line.pk, number=f"+1415555{3000 + i:04d}")).status_code == 201
    assert post(charlie_api, body(globex_line.pk, number="+81312345679")).status_code == 201


def globex_user(globex):
    from django_scopes import scopes_disabled

    from supportcenter.models import Membership

    with scopes_disabled():
        return Membership.objects.filter(account=globex).first().user
