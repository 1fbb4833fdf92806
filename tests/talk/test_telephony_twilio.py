"""The Twilio gateway with the real ``twilio`` client and a fake HTTP transport:
the only thing not real is Twilio's cloud (rule 3). Asserts the exact requests."""
from __future__ import annotations

import json

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response

from talk.telephony import GatewayError, OutboundCall
from talk.telephony.twilio_gateway import TwilioGateway

SID = "AC" + "a" * 32
TOKEN = "0123456789abcdef" * 2


class FakeTwilioCloud(HttpClient):
    def __init__(self, status: int = 201, body: dict | None = None):
        super().__init__(logger=None, is_async=False)
        self.status = status
        self.body = body if body is not None else {"sid": "CA" + "b" * 32, "status": "queued"}
        self.requests: list[dict] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": data, "auth": auth})
        return Response(self.status, json.dumps(self.body))


def _gateway(cloud: FakeTwilioCloud) -> TwilioGateway:
    return TwilioGateway(account_sid=SID, auth_token=TOKEN, http_client=cloud)


def test_it_places_a_call_with_the_exact_request():  # SPEC R5
    cloud = FakeTwilioCloud()
    sid = _gateway(cloud).place_call(OutboundCall(
        to="+14155550111", from_="+14155550100", url="https://sc.example/talk/cb/1/answer/",
        status_callback="https://sc.example/talk/webhooks/tok/status/", timeout_seconds=25,
    ))
    assert sid == "CA" + "b" * 32
    [request] = cloud.requests
    assert request["method"] == "POST"
    assert request["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls.json"
    assert request["auth"] == (SID, TOKEN)
    assert request["data"] == {
        "To": "+14155550111",
        "From": "+14155550100",
        "Url": "https://sc.example/talk/cb/1/answer/",
        "Method": "POST",
        "StatusCallback": "https://sc.example/talk/webhooks/tok/status/",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "Timeout": 25,
    }


def test_it_redirects_and_ends_a_live_call():
    cloud = FakeTwilioCloud(status=200)
    gateway = _gateway(cloud)
    gateway.redirect_call(call_sid="CA1", url="https://sc.example/x/")
    gateway.end_call(call_sid="CA1")
    assert [(r["method"], r["uri"], r["data"]) for r in cloud.requests] == [
        ("POST", f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls/CA1.json", {"Url": "https://sc.example/x/", "Method": "POST"}),
        ("POST", f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls/CA1.json", {"Status": "completed"}),
    ]


@pytest.mark.parametrize("status, retryable", [(400, False), (503, True)])
def test_a_refusal_says_whether_to_retry(status, retryable):
    cloud = FakeTwilioCloud(status=status, body={"code": 21211, "message": "Invalid 'To' Phone Number", "status": status})
    with pytest.raises(GatewayError) as caught:
        _gateway(cloud).place_call(OutboundCall(to="+1", from_="+14155550100", url="u", status_callback="s"))
    assert caught.value.retryable is retryable


def test_accepting_a_callback_asks_twilio_to_ring_the_agent_first(acme, main_line, dave, settings, monkeypatch,
                                                                    django_capture_on_commit_callbacks):  # SPEC R5, L7
    from django_scopes import scope

    from talk import routing
    from talk.models import AgentPresence, CallbackAttempt
    from talk.services import offers as routing_services
    from talk.services.callback_requests import callback_request_create
    from talk.services.telephony import telephony_settings_update
    from talk.telephony import twilio_gateway

    settings.TASKS_SYNC = True
    cloud = FakeTwilioCloud()
    monkeypatch.setattr(twilio_gateway, "http_client_factory", lambda: cloud)
    with scope(account=acme):
        telephony_settings_update(account=acme, actor=None, provider="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN)
        AgentPresence.objects.create(account=acme, user=dave, status="online", device="sip:dave@pbx.acme.example")
        callback_request_create(line=main_line, number="+14155550111")
        [offer] = routing.route_account(acme)
        with django_capture_on_commit_callbacks(execute=True):
            routing_services.offer_accept(account=acme, offer_id=offer.pk, agent=dave)
        attempt = CallbackAttempt.objects.get()
    [request] = cloud.requests
    base = f"http://localhost/talk/webhooks/{main_line.webhook_token}/callback"
    assert request["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls.json"
    assert request["data"] == {
        "To": "sip:dave@pbx.acme.example",  # the agent's device first
        "From": "+14155550100",  # the line's number (caller-id policy, seed)
        "Url": f"{base}/agent/?a={attempt.pk}",
        "Method": "POST",
        "StatusCallback": f"{base}/agent-status/?a={attempt.pk}",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "Timeout": 30,
    }
    assert (attempt.status, attempt.provider_call_sid) == ("calling_agent", "CA" + "b" * 32)
