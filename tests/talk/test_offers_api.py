"""The agent's offer over the API: current, Call (accept), Don't answer (decline) (SPEC R5, R6, T3)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from talk.models import AgentPresence, CallbackRequest, Offer
from talk.services.callback_requests import TICKET_SUBJECT
from talk.services.offers import OFFER_GONE_MESSAGE
from tests.conftest import host_of
from tests.isolation import assert_isolated, missing_id
from tests.talk.test_console_support import (
    callback_for, inline_tasks, live_offer, offer_state, offered_callback, route, set_presence,  # noqa: F401
)
from tickets.models import Comment, Ticket

pytestmark = pytest.mark.usefixtures("inline_tasks")

CURRENT = "/api/v2/channels/voice/offers/current.json"


def accept_url(offer_id: int) -> str:
    return f"/api/v2/channels/voice/offers/{offer_id}/accept.json"


def decline_url(offer_id: int) -> str:
    return f"/api/v2/channels/voice/offers/{offer_id}/decline.json"


def test_current_is_null_without_an_offer(bob_api, bob):
    response = bob_api.get(CURRENT)
    assert response.status_code == 200 and response.json() == {"offer": None}


def test_current_shows_the_offer_routing_made(bob_api, acme, main_line, bob):  # SPEC R2, R13
    offer = offered_callback(acme, main_line, bob)
    body = bob_api.get(CURRENT).json()["offer"]
    assert body["id"] == offer.pk and body["kind"] == "callback"
    assert body["number"] == "+14155550111" and body["line"] == {"id": main_line.pk, "name": "Main line"}
    assert body["confirmed"] is True and body["entered_at"] and body["expires_at"]


def test_call_accepts_and_starts_the_callback_with_its_ticket(bob_api, acme, main_line, bob):  # SPEC R5, R12
    offer = offered_callback(acme, main_line, bob)
    response = bob_api.post(accept_url(offer.pk))
    assert response.status_code == 200, response.content
    assert response.json()["offer"]["state"] == "accepted" and response.json()["offer"]["id"] == offer.pk
    with scope(account=acme):
        request = CallbackRequest.objects.get()
        assert request.accepted_by_id == bob.pk and request.started_at is not None
        ticket = Ticket.objects.get(subject=TICKET_SUBJECT)
        notes = list(Comment.objects.filter(ticket=ticket, public=False).values_list("body", flat=True))
    assert any("Bob Agent accepted the callback request" in note for note in notes)
    assert bob_api.get(CURRENT).json() == {"offer": None}


def test_dont_answer_hands_the_request_to_the_next_agent(bob_api, acme, main_line, bob, dave):  # SPEC R6
    offer = offered_callback(acme, main_line, bob)
    set_presence(acme, dave, AgentPresence.Status.ONLINE)
    response = bob_api.post(decline_url(offer.pk))
    assert response.status_code == 200 and response.json()["offer"]["state"] == "declined"
    route(acme)  # the wake-up already routed; a second pass changes nothing
    with scope(account=acme):
        nxt = Offer.objects.get(state=Offer.State.OFFERED)
        request = CallbackRequest.objects.get()
    assert nxt.agent_id == dave.pk and nxt.entry_id == offer.entry_id
    assert request.state == CallbackRequest.State.PENDING  # its place is kept


def _gone(response) -> None:
    assert response.status_code == 409, response.content
    assert response.json() == {"error": "OfferWithdrawn", "description": OFFER_GONE_MESSAGE}


def test_an_accepted_offer_cannot_be_accepted_or_declined_again(bob_api, acme, main_line, bob):  # SPEC R5
    offer = offered_callback(acme, main_line, bob)
    assert bob_api.post(accept_url(offer.pk)).status_code == 200
    _gone(bob_api.post(accept_url(offer.pk)))
    _gone(bob_api.post(decline_url(offer.pk)))


def test_a_declined_offer_cannot_be_accepted(bob_api, acme, main_line, bob):  # SPEC R6
    offer = offered_callback(acme, main_line, bob)
    assert bob_api.post(decline_url(offer.pk)).status_code == 200
    _gone(bob_api.post(accept_url(offer.pk)))
    assert offer_state(acme, offer) == Offer.State.DECLINED


def test_a_timed_out_offer_answers_409_even_before_the_sweep(bob_api, acme, main_line, bob):  # SPEC R4
    offer = offered_callback(acme, main_line, bob)
    with scope(account=acme):
        Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _gone(bob_api.post(accept_url(offer.pk)))
    assert offer_state(acme, offer) == Offer.State.OFFERED  # the sweep, not the click, times it out
    route(acme)
    assert offer_state(acme, offer) == Offer.State.TIMED_OUT
    _gone(bob_api.post(accept_url(offer.pk)))


def test_a_withdrawn_offer_answers_409(bob_api, acme, main_line, bob):
    offer = offered_callback(acme, main_line, bob)
    with scope(account=acme):
        Offer.objects.filter(pk=offer.pk).update(state=Offer.State.WITHDRAWN, responded_at=timezone.now())
    _gone(bob_api.post(accept_url(offer.pk)))
    _gone(bob_api.post(decline_url(offer.pk)))


def test_a_live_call_offer_is_accepted(bob_api, acme, main_line, bob):  # SPEC R3, R5
    set_presence(acme, bob, AgentPresence.Status.ONLINE)
    offer = live_offer(acme, main_line, bob)
    response = bob_api.post(accept_url(offer.pk))
    assert response.status_code == 200 and response.json()["offer"]["kind"] == "live"
    with scope(account=acme):
        assert AgentPresence.objects.get(user=bob).busy is True


def test_another_agents_offer_is_a_missing_one(acme, main_line, bob, dave):  # SPEC T3, R5
    from tests.conftest import api_client

    offer = offered_callback(acme, main_line, bob)
    dave_api = api_client(acme, dave)
    for url in (accept_url, decline_url):
        assert_isolated(dave_api, url(offer.pk), url(missing_id()), method="post")
    assert offer_state(acme, offer) == Offer.State.OFFERED


def test_globex_cannot_see_or_answer_acme_offers(charlie_api, acme, main_line, bob, charlie):  # SPEC T3
    offer = offered_callback(acme, main_line, bob)
    for url in (accept_url, decline_url):
        assert_isolated(charlie_api, url(offer.pk), url(missing_id()), method="post")
    assert charlie_api.get(CURRENT).json() == {"offer": None}
    assert offer_state(acme, offer) == Offer.State.OFFERED


def test_the_console_session_needs_the_csrf_header(acme, main_line, bob):  # SPEC R13
    offer = offered_callback(acme, main_line, bob)
    browser = Client(HTTP_HOST=host_of(acme), enforce_csrf_checks=True)
    browser.force_login(bob)
    assert browser.post(accept_url(offer.pk), data="{}", content_type="application/json").status_code == 403
    browser.get("/talk/console/")
    token = browser.cookies["csrftoken"].value
    # As console.js sends it: a JSON body and the CSRF header.
    answer = browser.post(accept_url(offer.pk), data="{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert answer.status_code == 200


def test_anonymous_callers_are_refused(acme, main_line, bob):
    offer = offered_callback(acme, main_line, bob)
    anonymous = Client(HTTP_HOST=host_of(acme))
    assert anonymous.get(CURRENT).status_code in (401, 403)
    assert anonymous.post(accept_url(offer.pk)).status_code in (401, 403)
    assert offer_state(acme, offer) == Offer.State.OFFERED
