"""The caller's name and reason (SPEC C14): after confirming, a line that asks for it records
them; the dialer copies the provider's recording into storage with the account's credentials,
the provider's copy is deleted, the ticket points at it, and it goes after the retention.

Calls go through the call simulator and the real, signed webhooks; Twilio's cloud is the only
thing faked (a fake HTTP client under the real ``twilio`` client, a fake media host)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django_scopes import scope
from twilio.http import HttpClient
from twilio.http.response import Response

from callsim import gateway as simulator_gateway
from callsim.audio import clip
from talk import twiml
from talk import greetings_catalog as catalog
from talk.models import CallbackRequest, CallerRecording, Greeting, ProviderJob
from talk.services.callback_requests import callback_request_create, callback_request_note
from talk.services.recordings import FETCH_DELAYS, recording_fetch, recordings_purge
from talk.services.telephony import telephony_settings_update
from talk.telephony import twilio_gateway
from tickets.models import Comment

from talk.selectors.lines import line_greeting, line_hook
from tests.talk.calls_support import CALLER, ClientTransport, Phone, make_line, requests_of

# Committed transactions: the dialer's jobs run after commit, as they do in production.
pytestmark = [pytest.mark.usefixtures("bob_online"), pytest.mark.django_db(transaction=True)]

State = CallerRecording.State
TWILIO_SID = "AC" + "a" * 32
TWILIO_TOKEN = "0123456789abcdef" * 2
RECORDING_SID = "RE" + "c" * 32
OTHER_CALLER = "+14155550122"


@pytest.fixture(autouse=True)
def inline_jobs(settings, monkeypatch):
    settings.TASKS_SYNC = True
    monkeypatch.setattr(simulator_gateway, "transport_factory", ClientTransport)


@pytest.fixture
def line(acme):
    return make_line(acme, callback_record_name=True)


@pytest.fixture
def phone(line):
    return Phone(line)


def recording_of(request: CallbackRequest) -> CallerRecording:
    with scope(account=request.account):
        return CallerRecording.objects.get(request=request)


def answers(phone: Phone, path_end: str) -> list[str]:
    return [body for path, _status, body in phone.transport.responses if path.endswith(path_end)]


def confirm_from_greeting(phone: Phone):
    """Dial, press the callback key in the greeting, 1 (this number), 1 (confirm)."""
    call = phone.dial()
    phone.press(call, phone.line.callback_key)
    phone.press(call, "1")
    phone.press(call, "1")
    return call


def test_off_by_default_the_confirmation_says_goodbye_as_before(acme):  # SPEC C14, C6
    line = make_line(acme, name="Plain")
    assert line.callback_record_name is False
    phone = Phone(line)
    call = confirm_from_greeting(phone)
    assert "<Record" not in answers(phone, "/confirm/")[-1]
    assert call.status == "completed"
    with scope(account=acme):
        assert not CallerRecording.objects.exists()


def test_from_the_greeting_the_caller_is_recorded_then_the_copy_is_stored(phone, line, acme):  # SPEC C14, C6
    call = confirm_from_greeting(phone)

    confirmed = answers(phone, "/confirm/")[-1]
    assert confirmed == twiml.record_name(
        language="en", action_url=line_hook(line, "recorded"), status_url=line_hook(line, "recording_status"),
        goodbye=_confirmed_greeting(line),
    )
    assert "<Record " in confirmed and 'maxLength="30"' in confirmed and 'finishOnKey="#"' in confirmed
    # What the caller heard: the prompt, the beep, and after recording the confirmation's goodbye.
    kinds = [entry["kind"] for entry in call.transcript]
    assert kinds[-6:] == ["say", "beep", "record", "say", "hangup", "ended"]
    assert call.said()[-2] == twiml.RECORD_PROMPT["en"]
    assert call.said()[-1] == catalog.TEXTS[catalog.REQUEST_CONFIRMED]["en"]
    assert call.status == "completed"

    [request] = requests_of(acme)
    assert request.state == CallbackRequest.State.PENDING and request.confirmed
    recording = recording_of(request)
    sid = next(e["recording"] for e in call.transcript if e["kind"] == "record")
    assert (recording.state, recording.provider_sid, recording.duration_seconds) == (State.STORED, sid, 2)
    with default_storage.open(recording.audio.name) as stored:
        assert stored.read() == clip(sid)  # the simulator's clip, byte for byte
    assert recording.audio.name.startswith(f"recordings/{acme.pk}/{request.pk}-")
    assert CALLER.lstrip("+") not in recording.audio.name
    with scope(account=acme):
        assert not ProviderJob.objects.exists()  # the copy's job is done


def _confirmed_greeting(line):
    with scope(account=line.account):
        return line_greeting(line=line, category=Greeting.Category.REQUEST_CONFIRMED)


def test_from_the_hold_loop_the_caller_leaves_the_queue_to_be_recorded(phone, line, acme):  # SPEC C14, C11
    call = phone.queued()
    phone.press(call, line.callback_key)
    phone.press(call, "1")
    phone.press(call, "1")

    # The wait context may not record (the simulator refuses what Twilio refuses): the
    # confirmation leaves the queue, and the queue's action answers with the recording.
    assert answers(phone, "/confirm/")[-1] == twiml.leave_queue()
    assert [e["text"] for e in call.transcript if e["kind"] == "dequeue"] == ["leave"]
    assert "<Record " in answers(phone, "/queue-exit/")[-1]
    assert call.status == "completed" and call.said()[-1] == catalog.TEXTS[catalog.REQUEST_CONFIRMED]["en"]
    [request] = requests_of(acme)
    assert request.state == CallbackRequest.State.PENDING
    assert request.queue_entry.state == "waiting"  # the place in line is kept (C6)
    assert recording_of(request).state == State.STORED


def test_a_number_already_waiting_is_not_recorded_again(phone, line, acme):  # SPEC C14, C7
    confirm_from_greeting(phone)
    second = Phone(line)
    call = second.dial(OTHER_CALLER)  # asks for a callback to the first caller's number
    second.press(call, line.callback_key)
    second.press(call, "2")
    second.press(call, CALLER.lstrip("+") + "#")
    second.press(call, "1")
    assert "<Record" not in answers(second, "/confirm/")[-1]
    assert call.said()[-1] == catalog.TEXTS[catalog.ALREADY_WAITING]["en"]
    with scope(account=acme):
        assert CallerRecording.objects.count() == 1


def _awaiting(phone: Phone):
    """A caller asked to confirm their number: the test plays the provider by hand from here
    (the simulator would confirm and record at once)."""
    call = phone.dial()
    phone.press(call, phone.line.callback_key)
    phone.press(call, "1")
    assert requests_of(phone.line.account) == []
    return call


def _confirm_by_hand(phone: Phone, call_sid: str) -> str:
    status, body = phone.webhook(call_sid, "confirm", {"Digits": "1"}, ctx="call")
    assert status == 200
    return body


def test_events_in_any_order_store_it_once(phone, line, acme):  # SPEC C14
    call = _awaiting(phone)
    assert "<Record " in _confirm_by_hand(phone, call.call_sid)
    [request] = requests_of(acme)
    assert recording_of(request).state == State.AWAITED
    recording_params = {"RecordingSid": RECORDING_SID, "RecordingDuration": "4",
                        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/X/Recordings/{RECORDING_SID}"}
    # The status callback first (the file is ready), then the call's end, then the action.
    phone.webhook(call.call_sid, "recording_status", {**recording_params, "RecordingStatus": "completed"})
    assert recording_of(request).state == State.STORED
    phone.webhook(call.call_sid, "status", {"CallStatus": "completed", "CallDuration": "30"})
    status, body = phone.webhook(call.call_sid, "recorded", recording_params)
    assert status == 200 and "<Hangup" in body
    phone.webhook(call.call_sid, "recording_status", {**recording_params, "RecordingStatus": "completed"})
    recording = recording_of(request)
    assert (recording.state, recording.duration_seconds, recording.fetch_attempts) == (State.STORED, 4, 1)
    with scope(account=acme):
        assert CallerRecording.objects.count() == 1 and not ProviderJob.objects.exists()


def test_a_hang_up_before_the_tone_records_nothing_and_a_late_recording_still_counts(phone, line, acme):  # SPEC C14
    call = _awaiting(phone)
    _confirm_by_hand(phone, call.call_sid)
    [request] = requests_of(acme)
    phone.webhook(call.call_sid, "status", {"CallStatus": "completed", "CallDuration": "12"})
    assert recording_of(request).state == State.NONE
    assert requests_of(acme)[0].state == CallbackRequest.State.PENDING  # the callback itself stands

    # The Record action of a caller who hung up while speaking can come after the call's end.
    phone.webhook(call.call_sid, "recorded", {"RecordingSid": RECORDING_SID, "RecordingDuration": "3"})
    with scope(account=acme):
        assert ProviderJob.objects.get().kind == ProviderJob.Kind.FETCH_RECORDING  # due in 2 s
    assert recording_of(request).state == State.FETCHING
    phone.webhook(call.call_sid, "recording_status", {"RecordingSid": RECORDING_SID, "RecordingStatus": "completed",
                                                           "RecordingDuration": "3"})
    assert recording_of(request).state == State.STORED


@pytest.mark.parametrize("params", [
    {"RecordingStatus": "absent", "RecordingSid": RECORDING_SID, "RecordingDuration": "0"},
    {"RecordingStatus": "completed", "RecordingSid": "not-a-recording", "RecordingDuration": "3"},
    {"RecordingStatus": "completed", "RecordingSid": RECORDING_SID, "RecordingDuration": "0"},
])
def test_nothing_to_copy_is_none_and_no_job(phone, line, acme, params):  # SPEC C14
    call = _awaiting(phone)
    _confirm_by_hand(phone, call.call_sid)
    [request] = requests_of(acme)
    phone.webhook(call.call_sid, "recording_status", params)
    assert recording_of(request).state == State.NONE
    with scope(account=acme):
        assert not ProviderJob.objects.exists()


def test_another_lines_webhook_cannot_touch_the_recording(phone, line, acme, globex):  # SPEC C14, T3
    call = _awaiting(phone)
    _confirm_by_hand(phone, call.call_sid)
    other = make_line(globex, callback_record_name=True)
    other_phone = Phone(other)
    status, _body = other_phone.webhook(call.call_sid, "recording_status",
                                 {"RecordingSid": RECORDING_SID, "RecordingStatus": "completed", "RecordingDuration": "3"})
    assert status == 200
    [request] = requests_of(acme)
    assert recording_of(request).state == State.AWAITED


# --- Twilio: the exact requests under the real client ------------------------------------
class FakeTwilioCloud(HttpClient):
    """The REST API's side (the DELETE of the provider's copy)."""

    def __init__(self, status: int = 204):
        super().__init__(logger=None, is_async=False)
        self.status = status
        self.requests: list[tuple[str, str, tuple | None]] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False):
        self.requests.append((method, uri, auth))
        return Response(self.status, "" if self.status == 204 else json.dumps({"status": self.status, "message": "x"}))


class FakeMediaHost:
    """Twilio's media URLs: answers in turn from ``answers`` (status, body)."""

    def __init__(self, answers: list[tuple[int, bytes]]):
        self.answers = answers
        self.requests: list[tuple[str, tuple]] = []

    def get(self, url, auth=None, timeout=None):
        self.requests.append((url, auth))
        status, body = self.answers.pop(0)
        return type("Media", (), {"status_code": status, "content": body})()


@pytest.fixture
def twilio(acme, monkeypatch):
    cloud, media = FakeTwilioCloud(), FakeMediaHost([])
    monkeypatch.setattr(twilio_gateway, "http_client_factory", lambda: cloud)
    monkeypatch.setattr(twilio_gateway, "media_session_factory", lambda: media)
    with scope(account=acme):
        telephony_settings_update(account=acme, actor=None, provider="twilio",
                                  twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN)
    return cloud, media


def fetching(acme, line) -> CallerRecording:
    with scope(account=acme):
        request = callback_request_create(line=line, number=CALLER)
        return CallerRecording.objects.create(account=acme, request=request, state=State.FETCHING,
                                              provider_sid=RECORDING_SID, duration_seconds=5)


MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Recordings/{RECORDING_SID}.wav"
REST = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Recordings/{RECORDING_SID}.json"


def test_twilio_the_copy_uses_the_accounts_credentials_then_deletes_theirs(twilio, acme, line):  # SPEC C14
    cloud, media = twilio
    audio = clip("real")
    media.answers = [(404, b"not yet"), (200, audio)]
    recording = fetching(acme, line)
    now = timezone.now()

    again = recording_fetch(recording_id=recording.pk, now=now)
    assert again == now + timedelta(seconds=FETCH_DELAYS[0])  # 404: Twilio is still processing it
    assert recording_fetch(recording_id=recording.pk, now=again) is None
    assert media.requests == [(MEDIA, (TWILIO_SID, TWILIO_TOKEN))] * 2
    assert cloud.requests == [("DELETE", REST, (TWILIO_SID, TWILIO_TOKEN))]
    with scope(account=acme):
        recording.refresh_from_db()
    assert (recording.state, recording.fetch_attempts) == (State.STORED, 2)
    with default_storage.open(recording.audio.name) as stored:
        assert stored.read() == audio


@pytest.mark.parametrize("answers, attempts", [
    ([(401, b"")], 1),  # refused: the credentials changed; not tried again
    ([(200, b"<html>not audio</html>")], 1),
    ([(503, b"")] * (len(FETCH_DELAYS) + 1), len(FETCH_DELAYS) + 1),  # retried, then given up
])
def test_twilio_a_copy_that_cannot_be_made_fails_and_keeps_the_provider_copy(twilio, acme, line, answers, attempts):  # SPEC C14
    cloud, media = twilio
    media.answers = list(answers)
    recording = fetching(acme, line)
    at = timezone.now()
    while (at := recording_fetch(recording_id=recording.pk, now=at)) is not None:
        pass
    with scope(account=acme):
        recording.refresh_from_db()
    assert (recording.state, recording.fetch_attempts, recording.audio.name) == (State.FAILED, attempts, "")
    assert len(media.requests) == attempts and cloud.requests == []


def ticket_notes(request: CallbackRequest) -> list[str]:
    with scope(account=request.account):
        request.refresh_from_db()
        return list(Comment.objects.filter(ticket_id=request.ticket_id).order_by("created_at", "pk")
                    .values_list("body", flat=True))


def note_for(request: CallbackRequest, seconds: int) -> str:
    url = f"http://acme.localhost/talk/recordings/{request.pk}.wav"
    return f"The caller recorded their name and the reason for their call ({seconds} s): {url}"


def test_a_ticket_made_after_the_recording_points_at_it(phone, line, acme):  # SPEC C14, R12
    confirm_from_greeting(phone)
    [request] = requests_of(acme)
    with scope(account=acme):
        callback_request_note(account=acme, request=request, note="A note.")
    assert ticket_notes(request)[-3:] == [
        f"Callback requested on {line.name} for {CALLER} (confirmed by the caller).", note_for(request, 2), "A note."]


def test_a_recording_stored_after_the_ticket_is_added_to_it(acme, line, settings):  # SPEC C14, R12
    settings.PUBLIC_BASE_URL, settings.BASE_DOMAIN = "https://support.example:8443", "support.example"
    recording = fetching(acme, line)  # the simulator is the provider: its clip is copied
    with scope(account=acme):
        callback_request_note(account=acme, request=recording.request, note="Agent note.")
    assert recording_fetch(recording_id=recording.pk) is None
    notes = ticket_notes(recording.request)
    assert notes[-1] == note_for(recording.request, 5).replace("http://acme.localhost", "https://acme.support.example:8443")
    assert notes[-2] == "Agent note."


def test_the_purge_deletes_recordings_once_their_request_is_over_for_the_retention(phone, line, acme):  # SPEC C14
    confirm_from_greeting(phone)
    [request] = requests_of(acme)
    name = recording_of(request).audio.name
    now = timezone.now()
    assert recordings_purge(now=now + timedelta(days=60)) == 0  # the request still waits: its caller's words are kept
    with scope(account=acme):
        CallbackRequest.objects.filter(pk=request.pk).update(state=CallbackRequest.State.COMPLETED, ended_at=now)
    assert recordings_purge(now=now + timedelta(days=29, hours=23)) == 0  # 30 days by default
    assert recordings_purge(now=now + timedelta(days=30, minutes=1)) == 1
    recording = recording_of(request)
    assert (recording.state, recording.audio.name) == (State.DELETED, "")
    assert recording.deleted_at is not None and not default_storage.exists(name)
    assert recordings_purge(now=now + timedelta(days=31)) == 0


def test_each_account_keeps_recordings_for_its_own_retention(acme, globex, line):  # SPEC C14
    other = make_line(globex, callback_record_name=True)
    ours, theirs = fetching(acme, line), fetching(globex, other)
    for recording in (ours, theirs):
        assert recording_fetch(recording_id=recording.pk) is None
    now = timezone.now()
    with scope(account=globex):
        telephony_settings_update(account=globex, actor=None, recording_retention_days=7)
    for account in (acme, globex):
        with scope(account=account):
            CallbackRequest.objects.update(state=CallbackRequest.State.CANCELLED, ended_at=now)
    assert recordings_purge(now=now + timedelta(days=8)) == 1
    assert (recording_of(ours.request).state, recording_of(theirs.request).state) == (State.STORED, State.DELETED)


def test_deleting_a_request_deletes_its_file(phone, line, acme, django_capture_on_commit_callbacks):  # SPEC C14
    confirm_from_greeting(phone)
    [request] = requests_of(acme)
    name = recording_of(request).audio.name
    assert default_storage.exists(name)
    with scope(account=acme), django_capture_on_commit_callbacks(execute=True):
        CallerRecording.objects.filter(request=request).delete()
    assert not default_storage.exists(name)
