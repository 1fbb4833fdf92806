from __future__ import annotations

import pytest

from tests.isolation import assert_isolated, missing_id
from tests.talk.calls_support import CALLER, requests_of

pytestmark = pytest.mark.usefixtures("bob_online")
URL = "/api/v2/channels/voice/callback_requests.json"


@pytest.fixture
def two_requests(phone, acme):
    first = phone.queued()
    phone.press(first, "211")
    second = phone.queued(from_="+14155550122")
    phone.press(second, "2")
    phone.hangup(second)  # captured, unconfirmed (C8)
    return requests_of(acme)


def test_it_lists_requests_in_queue_order_with_their_state(alice_api, two_requests):  # SPEC A1, C6
    body = alice_api.get(URL).json()
    assert body["count"] == 2 and body["next_page"] is None and body["previous_page"] is None
    first, second = body["callback_requests"]
    assert (first["requester_phone_number"], first["state"], first["confirmed"]) == (CALLER, "pending", True)
    assert (second["requester_phone_number"], second["confirmed"]) == ("+14155550122", False)
    assert first["queue_entered_at"] <= second["queue_entered_at"]
    assert first["queue_entered_at"] == two_requests[0].queue_entered_at.isoformat().replace("+00:00", "Z")


def test_it_pages_and_filters(alice_api, two_requests):
    page = alice_api.get(URL + "?per_page=1").json()
    assert len(page["callback_requests"]) == 1 and page["count"] == 2 and "page=2" in page["next_page"]
    assert alice_api.get(URL + "?state=expired").json()["count"] == 0
    bad = alice_api.get(URL + "?state=nonsense")
    assert bad.status_code == 400 and "state" in bad.json()["details"]


def test_one_request_by_id(alice_api, two_requests):
    one = alice_api.get(f"/api/v2/channels/voice/callback_requests/{two_requests[0].pk}.json")
    assert one.status_code == 200 and one.json()["callback_request"]["id"] == two_requests[0].pk


def test_agents_cannot_list_requests(bob_api, two_requests):
    assert bob_api.get(URL).status_code == 403


def test_globex_sees_none_of_acme_requests(charlie_api, two_requests):  # SPEC T3
    assert charlie_api.get(URL).json()["count"] == 0
    assert_isolated(
        charlie_api,
        f"/api/v2/channels/voice/callback_requests/{two_requests[0].pk}.json",
        f"/api/v2/channels/voice/callback_requests/{missing_id()}.json",
    )


def test_the_service_creates_a_request_without_a_call(main_line, acme):  # SPEC A1, R2
    from django_scopes import scope

    from supportcenter.errors import ServiceError
    from talk.services.callback_requests import ALREADY_WAITING_MESSAGE, NUMBER_INVALID_MESSAGE, callback_request_create

    with scope(account=acme):
        request = callback_request_create(line=main_line, number="+14155550133")
        assert (request.number, request.queue_entry.kind, request.call) == ("+14155550133", "callback", None)
        with pytest.raises(ServiceError, match=ALREADY_WAITING_MESSAGE):
            callback_request_create(line=main_line, number="4155550133")
        with pytest.raises(ServiceError, match="valid phone number"):
            callback_request_create(line=main_line, number="12")
    assert NUMBER_INVALID_MESSAGE.startswith("Enter")
