"""The simulator's own rules, against hand-written answers (the webhooks are tested
through it in test_webhooks_*.py). Each answer here is what a product could send."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from twilio.request_validator import RequestValidator

from callsim.engine import SimulatedCall, TwiMLError

TOKEN = "secret-auth-token"
BASE = "https://support.example.com/talk/webhooks/tok"


class ScriptedProvider:
    """Answers each path with a fixed TwiML document and records what was posted."""

    def __init__(self, answers: dict[str, str]):
        self.answers = answers
        self.requests: list[tuple[str, dict]] = []

    def post(self, url, params, headers):
        assert RequestValidator(TOKEN).validate(url, params, headers["X-Twilio-Signature"])
        # Relative action URLs nest (voice/wait/key/): the last segment names the answer.
        path = "/" + urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] + "/"
        self.requests.append((path, params))
        return 200, self.answers.get(path, "<Response/>")


def _call(**kwargs) -> SimulatedCall:
    return SimulatedCall(
        account_sid="AC" + "0" * 32, auth_token=TOKEN, voice_url=f"{BASE}/voice/",
        status_callback_url=f"{BASE}/status/", from_="+14155550111", to="+14155550100", **kwargs
    )


def test_it_signs_requests_and_plays_the_queue_loop():  # SPEC O1, C9
    provider = ScriptedProvider({
        "/voice/": '<Response><Say>Welcome</Say><Enqueue waitUrl="wait/" action="exit/">q1</Enqueue></Response>',
        "/wait/": '<Response><Gather numDigits="1" action="key/"><Say>Press 2 for a callback</Say></Gather></Response>',
        "/key/": '<Response><Say>Menu</Say><Leave/></Response>',
        "/exit/": '<Response><Say>Bye</Say><Hangup/></Response>',
    })
    call = _call()
    call.dial(provider)
    assert call.said() == ["Welcome", "Press 2 for a callback"] and call.in_queue
    assert provider.requests[0][1]["CallStatus"] == "ringing"
    call.press(provider, "2")
    assert call.said()[-2:] == ["Menu", "Bye"]
    assert call.status == "completed"
    paths = [path for path, _ in provider.requests]
    assert paths == ["/voice/", "/wait/", "/key/", "/exit/", "/status/"]
    assert provider.requests[2][1]["Digits"] == "2"
    assert provider.requests[3][1]["QueueResult"] == "leave"
    assert provider.requests[4][1]["CallStatus"] == "completed"


def test_a_caller_hanging_up_in_the_queue_reports_hangup():
    provider = ScriptedProvider({
        "/voice/": '<Response><Enqueue waitUrl="wait/" action="exit/">q1</Enqueue></Response>',
        "/wait/": "<Response><Say>Hold</Say></Response>",
    })
    call = _call()
    call.dial(provider)
    call.wait(provider)
    call.hangup(provider)
    assert [p for p, _ in provider.requests] == ["/voice/", "/wait/", "/wait/", "/exit/", "/status/"]
    assert provider.requests[3][1]["QueueResult"] == "hangup"


def test_gather_ends_on_the_finish_key_and_times_out_on_silence():
    provider = ScriptedProvider({
        "/voice/": '<Response><Gather action="n/" finishOnKey="#"><Say>Number?</Say></Gather><Say>Nothing</Say></Response>',
        "/n/": '<Response><Gather action="n/" finishOnKey="#"><Say>Again?</Say></Gather><Say>Nothing</Say></Response>',
    })
    call = _call()
    call.dial(provider)
    call.press(provider, "4155550100#")
    assert provider.requests[-1][1]["Digits"] == "4155550100"
    assert provider.requests[-1][1]["FinishedOnKey"] == "#"
    call.silence(provider)
    assert call.said()[-1] == "Nothing" and call.status == "completed"


@pytest.mark.parametrize(
    "wait_document, message",
    [
        ('<Response><Enqueue waitUrl="w">x</Enqueue></Response>', "not allowed in the wait context"),
        ('<Response><Dial>+1</Dial></Response>', "not allowed in the wait context"),
        ("<Response><Gather><Gather/></Gather></Response>", "not allowed inside <Gather>"),
        ("<Respons/>", "not <Response>"),
        ("<Response>", "not XML"),
    ],
)
def test_it_refuses_what_twilio_refuses_in_a_wait_document(wait_document, message):  # SPEC C11
    provider = ScriptedProvider({
        "/voice/": '<Response><Enqueue waitUrl="wait/">q1</Enqueue></Response>',
        "/wait/": wait_document,
    })
    with pytest.raises(TwiMLError, match=message):
        _call().dial(provider)


def test_keys_without_a_gather_are_ignored_and_the_state_survives_json():
    provider = ScriptedProvider({
        "/voice/": '<Response><Enqueue waitUrl="wait/">q1</Enqueue></Response>',
        "/wait/": '<Response><Say>Hold</Say></Response>',
    })
    call = _call()
    call.dial(provider)
    call.press(provider, "9")
    assert call.transcript[-1] == {"kind": "ignored-key", "text": "9"}
    restored = SimulatedCall.from_state(json.loads(json.dumps(call.to_state())))
    assert restored.in_queue and restored.call_sid == call.call_sid
    restored.hangup(provider)
    assert restored.status == "completed"
