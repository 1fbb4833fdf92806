"""Agent availability over the API, in the reference's shape (SPEC R1, A1, T3, T4)."""
from __future__ import annotations

import json

import pytest
from django_scopes import scope

from supportcenter.models import AuditEntry
from talk.models import AgentPresence
from talk.services.agents import STATUS_INVALID_MESSAGE
from tests.conftest import api_client
from tests.isolation import assert_isolated, missing_id
from tests.talk.test_console_support import inline_tasks, set_presence  # noqa: F401

pytestmark = pytest.mark.usefixtures("inline_tasks")


def url(user_id: int) -> str:
    return f"/api/v2/channels/voice/availabilities/{user_id}.json"


def put(client, user_id: int, body) -> object:
    return client.put(url(user_id), data=json.dumps(body), content_type="application/json")


def test_an_agent_without_presence_is_offline(bob_api, bob):  # SPEC R1
    response = bob_api.get(url(bob.pk))
    assert response.status_code == 200
    assert response.json() == {
        "availability": {"agent_state": "offline", "call_status": None, "via": "client", "available": False}
    }


def test_an_agent_sets_their_own_state(bob_api, acme, bob):  # SPEC R1
    response = put(bob_api, bob.pk, {"availability": {"agent_state": "online", "via": "client"}})
    assert response.status_code == 200
    assert response.json()["availability"] == {
        "agent_state": "online", "call_status": None, "via": "client", "available": True
    }
    with scope(account=acme):
        assert AgentPresence.objects.get(user=bob).status == "online"
        assert AuditEntry.objects.filter(action="agent_presence.set_status", actor=bob).count() == 1
    away = put(bob_api, bob.pk, {"availability": {"agent_state": "away"}}).json()["availability"]
    assert (away["agent_state"], away["available"]) == ("away", False)


def test_busy_shows_as_on_call_and_not_available(bob_api, acme, bob):  # SPEC R1
    set_presence(acme, bob, "online")
    with scope(account=acme):
        AgentPresence.objects.filter(user=bob).update(busy=True)
    body = bob_api.get(url(bob.pk)).json()["availability"]
    assert body == {"agent_state": "online", "call_status": "on_call", "via": "client", "available": False}


def test_a_bad_state_is_refused_with_the_message(bob_api, acme, bob):
    response = put(bob_api, bob.pk, {"availability": {"agent_state": "napping"}})
    assert response.status_code == 422
    assert response.json()["details"] == {"agent_state": [{"description": STATUS_INVALID_MESSAGE, "error": "invalid_choice"}]}
    with scope(account=acme):
        assert not AgentPresence.objects.filter(user=bob).exists()


@pytest.mark.parametrize("body", [{}, {"availability": {}}, {"agent_state": "online"}, {"availability": "online"}])
def test_a_malformed_body_is_400(bob_api, bob, body):
    response = put(bob_api, bob.pk, body)
    assert response.status_code == 400 and response.json()["error"] == "InvalidRequest"


def test_server_owned_fields_are_not_writable(bob_api, bob):  # SPEC A4
    body = {"availability": {"agent_state": "online", "call_status": "on_call", "available": False}}
    assert put(bob_api, bob.pk, body).json()["availability"]["call_status"] is None


def test_an_agent_cannot_read_or_set_another_agent(bob_api, acme, bob, dave):  # SPEC T4
    assert bob_api.get(url(dave.pk)).status_code == 403
    response = put(bob_api, dave.pk, {"availability": {"agent_state": "online"}})
    assert response.status_code == 403 and response.json()["error"] == "Forbidden"
    with scope(account=acme):
        assert not AgentPresence.objects.filter(user=dave).exists()


def test_an_admin_reads_and_sets_any_member(alice_api, acme, alice, dave):  # SPEC T4
    response = put(alice_api, dave.pk, {"availability": {"agent_state": "transfers_only"}})
    assert response.status_code == 200 and response.json()["availability"]["agent_state"] == "transfers_only"
    assert alice_api.get(url(dave.pk)).json()["availability"]["agent_state"] == "transfers_only"
    with scope(account=acme):
        assert AuditEntry.objects.get(action="agent_presence.set_status").actor_id == alice.pk


def test_globex_cannot_reach_acme_agents(charlie_api, acme, bob, charlie):  # SPEC T3
    assert_isolated(charlie_api, url(bob.pk), url(missing_id()))
    assert_isolated(charlie_api, url(bob.pk), url(missing_id()), method="put",
                    data={"availability": {"agent_state": "online"}})
    with scope(account=acme):
        assert not AgentPresence.objects.filter(user=bob).exists()


def test_an_acme_token_on_globex_is_refused(acme, globex, bob, charlie):  # SPEC T3
    bob_on_globex = api_client(acme, bob, host=globex)
    assert bob_on_globex.get(url(charlie.pk)).status_code == 401


def test_a_missing_user_is_404_even_for_admins(alice_api):
    response = alice_api.get(url(missing_id()))
    assert response.status_code == 404 and response.json() == {"error": "RecordNotFound", "description": "Not found"}


def test_the_schema_documents_availability_and_offers(client, db):  # SPEC A2
    schema = client.get("/api/schema/", HTTP_HOST="localhost").content.decode()
    for path in ("/api/v2/channels/voice/availabilities/{user_id}.json", "/api/v2/channels/voice/offers/current.json",
                 "/api/v2/channels/voice/offers/{offer_id}/accept.json"):
        assert path in schema
