"""The webhook edge: tenant from the URL token, signatures, replays, protocol rules
(SPEC T5, C9, C10, C11), with stored request fixtures shaped as Twilio sends them."""
from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from twilio.request_validator import RequestValidator

from callsim.engine import ALLOWED_VERBS
from talk.selectors import telephony_auth_token
from talk.services.provider_values import LONGEST_SECONDS
from talk.services.lines import line_update, line_webhook_token_regenerate
from talk.webhooks.security import FORBIDDEN_BODY

from tests.talk.calls_support import (
    CALLER,
    LINE_NUMBER,
    calls_of,
    make_line,
    requests_of,
)

pytestmark = pytest.mark.usefixtures("bob_online")

# A stored incoming-call request, with the parameters Twilio documents for voice webhooks.
INCOMING = {
    "AccountSid": "AC" + "1" * 32,
    "ApiVersion": "2010-04-01",
    "CallSid": "CA" + "2" * 32,
    "CallStatus": "ringing",
    "Called": LINE_NUMBER,
    "Caller": CALLER,
    "Direction": "inbound",
    "From": CALLER,
    "FromCountry": "US",
    "To": LINE_NUMBER,
    "ToCountry": "US",
}
WEBHOOKS = ["voice", "status", "greeting-key", "wait", "hold-key", "menu", "number", "confirm", "queue-exit"]


def _post(line, name: str, params: dict, *, token: str | None = None, signature: str | None = None, query: str = ""):
    path = f"/talk/webhooks/{line.webhook_token}/{name}/" + (f"?{query}" if query else "")
    if signature is None:
        if token is None:
            with scope(account=line.account):
                token = telephony_auth_token(account=line.account)
        signature = RequestValidator(token).compute_signature("http://localhost" + path, params)
    return Client().post(
        path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
        HTTP_HOST="localhost", HTTP_X_TWILIO_SIGNATURE=signature,
    )


def _verbs(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    assert root.tag == "Response"
    return [element.tag for element in root.iter() if element.tag != "Response"]


def test_an_incoming_call_is_answered_and_recorded(main_line, acme):  # SPEC C1
    response = _post(main_line, "voice", INCOMING)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert _verbs(response.content) == ["Say", "Gather", "Say", "Enqueue"]
    [call] = calls_of(acme)
    assert (call.provider_call_sid, call.caller_number, call.callback_offered) == (INCOMING["CallSid"], CALLER, True)


@pytest.mark.parametrize("signature", ["", "bm90LXRoZS1zaWduYXR1cmU=", None])
def test_a_bad_or_missing_signature_is_refused_and_writes_nothing(main_line, acme, signature):  # SPEC C9
    if signature is None:  # signed with another account's token
        response = _post(main_line, "voice", INCOMING, token="another-accounts-token")
    else:
        response = _post(main_line, "voice", INCOMING, signature=signature)
    assert response.status_code == 403 and response.content.decode() == FORBIDDEN_BODY
    assert calls_of(acme) == []


def test_a_signature_over_other_parameters_is_refused(main_line, acme):  # SPEC C9
    with scope(account=acme):
        token = telephony_auth_token(account=acme)
    path = f"/talk/webhooks/{main_line.webhook_token}/voice/"
    signature = RequestValidator(token).compute_signature("http://localhost" + path, INCOMING)
    tampered = dict(INCOMING, From="+19995550000")
    response = Client().post(path, data=urlencode(tampered), content_type="application/x-www-form-urlencoded",
                             HTTP_HOST="localhost", HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403 and calls_of(acme) == []


def test_a_replayed_request_has_one_effect_and_the_same_answer(main_line, acme):  # SPEC C10
    first = _post(main_line, "voice", INCOMING)
    second = _post(main_line, "voice", INCOMING)
    assert first.content == second.content and len(calls_of(acme)) == 1


def test_a_replayed_confirmation_creates_one_request(phone, acme):  # SPEC C10
    call = phone.queued()
    phone.press(call, "211")
    [(_path, _status, original)] = [r for r in phone.transport.responses if r[0].endswith("/confirm/")]
    # Twilio retries the confirm request with the same parameters:
    params = {**call.base_params(), "CallStatus": "in-progress", "Digits": "1"}
    replay = _post(phone.line, "confirm", params, query="ctx=wait&n=1")
    assert replay.status_code == 200 and replay.content.decode() == original
    assert len(requests_of(acme)) == 1


def test_an_unknown_line_gets_a_spoken_apology_and_nothing_is_written(acme, main_line):  # SPEC C11, T5
    response = Client().post("/talk/webhooks/no-such-token/voice/", data=urlencode(INCOMING),
                             content_type="application/x-www-form-urlencoded", HTTP_HOST="localhost")
    assert response.status_code == 200 and _verbs(response.content) == ["Say", "Hangup"]
    assert calls_of(acme) == []


def test_a_disabled_line_gets_an_apology(acme):  # SPEC C11
    line = make_line(acme, enabled=False)
    response = _post(line, "voice", INCOMING)
    assert response.status_code == 200 and _verbs(response.content) == ["Say", "Hangup"]
    assert calls_of(acme) == []


def test_a_cached_line_still_answers_to_changes_at_once(main_line, acme):  # SPEC T5, C11
    assert _verbs(_post(main_line, "voice", INCOMING).content)[-1] == "Enqueue"  # cached now
    with scope(account=acme):
        line_update(account=acme, line=main_line, actor=None, enabled=False)
    disabled = _post(main_line, "voice", dict(INCOMING, CallSid="CA" + "2" * 32))
    assert _verbs(disabled.content) == ["Say", "Hangup"]
    with scope(account=acme):
        line_update(account=acme, line=main_line, actor=None, enabled=True)
        old = copy.copy(main_line)
        line_webhook_token_regenerate(account=acme, line=main_line, actor=None)
    renewed = _post(old, "voice", dict(INCOMING, CallSid="CA" + "3" * 32))  # the leaked URL
    assert _verbs(renewed.content) == ["Say", "Hangup"]
    assert len(calls_of(acme)) == 1


def test_the_token_of_one_account_on_another_accounts_host_names_nothing(main_line, acme, globex):  # SPEC T3, T5
    with scope(account=acme):
        token = telephony_auth_token(account=acme)
    path = f"/talk/webhooks/{main_line.webhook_token}/voice/"
    signature = RequestValidator(token).compute_signature("http://globex.localhost" + path, INCOMING)
    response = Client().post(path, data=urlencode(INCOMING), content_type="application/x-www-form-urlencoded",
                             HTTP_HOST="globex.localhost", HTTP_X_TWILIO_SIGNATURE=signature)
    assert _verbs(response.content) == ["Say", "Hangup"] and calls_of(acme) == []


def test_the_tenant_never_comes_from_the_body(main_line, acme, globex):  # SPEC T5
    response = _post(main_line, "voice", dict(INCOMING, AccountSid="AC" + "9" * 32, account="globex"))
    assert response.status_code == 200
    assert calls_of(acme)[0].account_id == acme.pk


def test_every_answer_uses_only_the_verbs_of_its_context(phone, acme):  # SPEC C11
    call = phone.queued()
    phone.press(call, "22")
    phone.press(call, "4155550123#")
    phone.press(call, "1")
    for path, status, body in phone.transport.responses:
        assert status == 200
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if name in ("wait", "hold-key", "menu", "number", "confirm"):  # answered inside the queue
            assert set(_verbs(body.encode())) <= ALLOWED_VERBS["wait"] | ALLOWED_VERBS["gather"], (name, body)


def test_a_failure_inside_a_view_is_an_apology_not_a_500(main_line, acme, monkeypatch):  # SPEC C11
    from talk.services import calls

    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(calls, "call_incoming", broken)
    response = _post(main_line, "voice", INCOMING)
    assert response.status_code == 200 and _verbs(response.content) == ["Say", "Hangup"]
    assert calls_of(acme) == []


def test_a_status_callback_for_an_unknown_call_answers_200(main_line):
    response = _post(main_line, "status", dict(INCOMING, CallSid="CA" + "f" * 32, CallStatus="completed"))
    assert response.status_code == 200 and _verbs(response.content) == []


def _statements(captured) -> list[str]:
    """The SQL a request ran, without transaction control (BEGIN/COMMIT: free on the wire)."""
    return [q["sql"] for q in captured.captured_queries if q["sql"].split()[0] not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]


@pytest.mark.django_db(transaction=True)  # no test transaction around it: counts as in production
def test_an_incoming_call_runs_at_most_four_queries(main_line, acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with scope(account=acme):
        token = telephony_auth_token(account=acme)
    with CaptureQueriesContext(connection) as first:
        _post(main_line, "voice", dict(INCOMING, CallSid="CA" + "1" * 32), token=token)
    with CaptureQueriesContext(connection) as captured:
        response = _post(main_line, "voice", INCOMING, token=token)
    # The line's token, version and agent availability (the line itself is cached after the
    # first request: that one loads it with its greetings and credentials), receipt lookup,
    # call, receipt.
    assert len(_statements(first)) <= 5, _statements(first)
    assert len(_statements(captured)) <= 4, _statements(captured)
    assert len(calls_of(acme)) == 2 and b"<Enqueue" in response.content


@pytest.mark.django_db(transaction=True)
def test_a_capture_runs_a_bounded_number_of_queries(phone, acme, settings):  # SPEC C8
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The webhook's own work; the routing pass it wakes runs elsewhere (a task), except
    # inline in the single-process embedded mode.
    settings.ROUTE_INLINE = False
    call = phone.queued()
    phone.press(call, "2")
    with CaptureQueriesContext(connection) as captured:
        phone.hangup(call)
    # Two requests. The queue exit: line, call, pending check, request, entry, audit, call,
    # and the router's wake-up task; the status callback: line, call, update.
    assert len(_statements(captured)) <= 11, _statements(captured)
    assert requests_of(acme)[0].confirmed is False


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(WEBHOOKS),
    params=st.dictionaries(st.sampled_from(["CallSid", "From", "To", "Digits", "QueueResult", "QueueTime",
                                            "CallStatus", "CallDuration", "FinishedOnKey", "x"]), _text, max_size=6),
    signed=st.booleans(),
    query=st.sampled_from(["", "ctx=call&n=1", "ctx=wait&n=9", "ctx=zzz&n=x"]),
)
def test_arbitrary_requests_never_get_a_server_error(main_line, name, params, signed, query):  # SPEC C9, C11
    response = _post(main_line, name, params, query=query) if signed else _post(main_line, name, params, signature="x")
    assert response.status_code in (200, 403)
    if response.status_code == 200:
        ET.fromstring(response.content)  # a valid document, never empty or broken
    else:
        assert not signed


@pytest.mark.parametrize("queue_time", ["99999999999", "-5", "1" * 20])
def test_an_absurd_queue_time_never_hangs_up_on_a_holding_caller(main_line, acme, queue_time):  # issue 14; SPEC C3, C11
    _post(main_line, "voice", INCOMING)
    response = _post(main_line, "wait", {**INCOMING, "CallStatus": "in-progress", "QueueTime": queue_time})
    assert "Hangup" not in _verbs(response.content) and "Say" in _verbs(response.content)  # the hold loop, not the apology
    [call] = calls_of(acme)
    with scope(account=acme):
        entry = call.queue_entry
    waited = (timezone.now() - entry.entered_at).total_seconds()
    assert -5 < waited <= LONGEST_SECONDS + 5  # at most a day, and never in the future


@pytest.mark.parametrize(("duration", "kept"), [("-5", None), ("99999999999", LONGEST_SECONDS), ("12", 12)])
def test_an_absurd_call_duration_never_loses_the_calls_end(main_line, acme, duration, kept):  # issue 14; SPEC C15
    _post(main_line, "voice", INCOMING)
    response = _post(main_line, "status", {**INCOMING, "CallStatus": "completed", "CallDuration": duration})
    assert response.status_code == 200
    [call] = calls_of(acme)
    assert call.ended_at is not None and call.stage == "ended"
    assert call.duration_seconds == kept
