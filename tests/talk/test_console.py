"""The agent console page, its state endpoint, the agent's device and sign-out (SPEC R1, R5, R13)."""
from __future__ import annotations

import json

import pytest
from django.test import Client
from django_scopes import scope

from supportcenter.models import AuditEntry
from talk.models import AgentPresence
from talk.services.agents import DEVICE_INVALID_MESSAGE, agent_device_set
from supportcenter.errors import ServiceError
from tests.conftest import host_of, page_client
from tests.isolation import assert_isolated, missing_id
from tests.talk.test_console_support import inline_tasks, offered_callback, set_presence  # noqa: F401

pytestmark = pytest.mark.usefixtures("inline_tasks")

PAGE = "/talk/console/"
STATE = "/talk/console/state.json"
DEVICE = "/talk/console/device.json"


def test_the_page_shows_the_offer_after_routing(bob_client, acme, main_line, bob):  # SPEC R13, R2
    offer = offered_callback(acme, main_line, bob)
    response = bob_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-offer-id="{offer.pk}"' in html and "+14155550111" in html and "Main line" in html
    assert ">Call</button>" in html and ">Don't answer</button>" in html
    assert 'data-socket-path="/ws/agent/"' in html and 'href="/talk/console/"' in html  # nav link too


def test_admins_use_the_console_too(alice_client, alice):
    assert alice_client.get(PAGE).status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(acme):
    response = Client(HTTP_HOST=host_of(acme)).get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Client(HTTP_HOST=host_of(acme)).get(STATE).status_code in (401, 403)


def test_a_member_of_another_account_cannot_open_it(acme, globex, charlie):  # SPEC T3
    charlie_on_acme = page_client(acme, charlie)
    assert charlie_on_acme.get(PAGE).status_code == 302
    assert charlie_on_acme.get(STATE).status_code in (401, 403)


def test_the_state_is_the_agents_own(bob_client, acme, main_line, bob, dave):  # SPEC R13
    offer = offered_callback(acme, main_line, bob, number="+14155550122")
    set_presence(acme, dave, "online")
    state = bob_client.get(STATE).json()
    assert state["user"] == {"id": bob.pk, "name": "Bob Agent"}
    assert state["availability"]["agent_state"] == "online"
    assert state["offer"]["id"] == offer.pk and state["offer"]["number"] == "+14155550122"
    assert state["queues"] == [{"line": main_line.pk, "name": "Main line", "calls_waiting": 0, "callbacks_waiting": 1}]
    assert state["recent"] == [] and state["server_time"]
    dave_state = page_client(acme, dave).get(STATE).json()
    assert dave_state["offer"] is None and dave_state["queues"][0]["callbacks_waiting"] == 1


def test_recent_activity_lists_answered_offers(bob_client, acme, main_line, bob):
    offer = offered_callback(acme, main_line, bob)
    token = bob_client.get(PAGE) and bob_client.cookies["csrftoken"].value
    bob_client.post(f"/api/v2/channels/voice/offers/{offer.pk}/decline.json", data="{}",
                    content_type="application/json", HTTP_X_CSRFTOKEN=token)
    recent = bob_client.get(STATE).json()["recent"]
    assert [(r["id"], r["state"], r["state_label"], r["ticket"]) for r in recent] == [(offer.pk, "declined", "Declined", None)]


def test_recent_activity_links_the_callbacks_ticket(bob_api, bob_client, acme, main_line, bob):  # SPEC R12
    offer = offered_callback(acme, main_line, bob)
    assert bob_api.post(f"/api/v2/channels/voice/offers/{offer.pk}/accept.json").status_code == 200
    with scope(account=acme):
        from tickets.models import Ticket

        number = Ticket.objects.get().number
    assert bob_client.get(STATE).json()["recent"][0]["ticket"] == number
    assert f'href="/tickets/{number}/"' in bob_client.get(PAGE).content.decode()


def test_globex_state_shows_nothing_of_acme(charlie_client, acme, main_line, bob, charlie):  # SPEC T3
    offered_callback(acme, main_line, bob)
    state = charlie_client.get(STATE).json()
    assert state["offer"] is None and state["queues"] == [] and state["recent"] == []


def test_the_console_routes_are_isolated(charlie_client, acme, globex, bob, charlie):  # SPEC T3
    # The console has no object ids of its own; its API routes carry them (see the API tests).
    assert_isolated(charlie_client, f"/api/v2/channels/voice/availabilities/{bob.pk}.json",
                    f"/api/v2/channels/voice/availabilities/{missing_id()}.json")


# --- The device (R5) -----------------------------------------------------------------
def _put_device(client, value: str):
    client.get(PAGE)
    return client.put(DEVICE, data=json.dumps({"device": value}), content_type="application/json",
                      HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


@pytest.mark.parametrize("value, stored", [
    ("+14155550123", "+14155550123"),
    ("(415) 555-0123", "+14155550123"),  # the account's region first (acme: US)
    ("sip:bob@pbx.example.com", "sip:bob@pbx.example.com"),
    ("", ""),
])
def test_an_agent_sets_their_device(bob_client, acme, bob, value, stored):
    response = _put_device(bob_client, value)
    assert response.status_code == 200 and response.json() == {"device": stored}
    with scope(account=acme):
        assert AgentPresence.objects.get(user=bob).device == stored
    assert bob_client.get(STATE).json()["device"] == stored


@pytest.mark.parametrize("value", ["call me", "12", "sip:no host", "anonymous", "+1900555012"])
def test_a_bad_device_is_refused_with_a_clear_message(bob_client, acme, bob, value):
    response = _put_device(bob_client, value)
    assert response.status_code == 422
    assert response.json()["details"]["device"][0]["description"] == DEVICE_INVALID_MESSAGE
    with scope(account=acme):
        assert not AgentPresence.objects.filter(user=bob).exclude(device="").exists()


def test_the_device_service_audits_and_needs_a_member(acme, globex, bob, charlie):
    with scope(account=acme):
        agent_device_set(account=acme, user=bob, device="+14155550123", actor=bob)
        agent_device_set(account=acme, user=bob, device="+1 415 555 0123", actor=bob)  # same: no second entry
        assert AuditEntry.objects.filter(action="agent_presence.set_device").count() == 1
        with pytest.raises(ServiceError):
            agent_device_set(account=acme, user=charlie, device="+14155550123", actor=bob)


def test_the_device_needs_the_csrf_header(acme, bob):
    browser = Client(HTTP_HOST=host_of(acme), enforce_csrf_checks=True)
    browser.force_login(bob)
    response = browser.put(DEVICE, data=json.dumps({"device": "+14155550123"}), content_type="application/json")
    assert response.status_code == 403


# --- Sign-out (R1) ---------------------------------------------------------------------
def test_signing_out_makes_the_agent_offline(bob_client, acme, globex, bob):  # SPEC R1, C2
    from tests.conftest import make_member

    make_member(globex, "bob@acme.test", "Bob Agent", "agent")  # bob works for both accounts
    set_presence(acme, bob, "online")
    set_presence(globex, bob, "online")
    bob_client.post("/logout/")
    with scope(account=acme):
        assert AgentPresence.objects.get(user=bob).status == "offline"
        assert AuditEntry.objects.filter(action="agent_presence.set_status", actor=bob).count() == 1
    with scope(account=globex):  # presence is per account: only the account signed out of
        assert AgentPresence.objects.get(user=bob).status == "online"


def test_signing_out_without_presence_writes_nothing(bob_client, acme, bob):
    bob_client.post("/logout/")
    with scope(account=acme):
        assert not AgentPresence.objects.filter(user=bob).exists()


def test_the_page_polls_often_when_pushes_cannot_cross_processes(bob_client, settings):  # SPEC R13, O1, O2
    # Redis carries every process's pushes: the reload is only a safety net. The in-memory
    # layer (the embedded demo) never carries the task process's pushes to the web process.
    assert settings.CONSOLE_LIVE_POLL_SECONDS == (30 if settings.REDIS_URL else 4)
    settings.CONSOLE_LIVE_POLL_SECONDS = 7
    html = bob_client.get("/talk/console/").content.decode()
    assert 'data-live-poll-seconds="7"' in html
    assert f'data-poll-seconds="{settings.CONSOLE_POLL_SECONDS}"' in html
