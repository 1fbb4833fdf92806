"""Playing a caller's recorded name and reason (issue 16 item 5; SPEC C14, S1, T3, T4): the
page route and the API route, the payloads that name them (the offer, the callback request,
the queue page) and their query budgets."""
from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from callsim.audio import clip
from supportcenter.api_errors import NOT_FOUND_BODY
from supportcenter.models import User
from talk.models import CallbackRequest, CallerRecording
from tests.conftest import PASSWORD, api_client, host_of, page_client
from tests.isolation import _body, assert_isolated, missing_id
from tests.talk.calls_support import make_line
from tests.talk.test_console_support import callback_for, live_offer, offered_callback
from tests.talk.test_queue_page import callback as queued_callback

pytestmark = pytest.mark.django_db

State = CallerRecording.State
QUEUE = "/talk/queue/"
ROWS = "/talk/queue/rows.json"


def page_url(request: CallbackRequest | int) -> str:
    return f"/talk/recordings/{getattr(request, 'pk', request)}.wav"


def api_url(request: CallbackRequest | int) -> str:
    return f"/api/v2/channels/voice/callback_requests/{getattr(request, 'pk', request)}/recording.wav"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def recording(account, request: CallbackRequest, state: str = State.STORED, *, seconds: int = 2,
              seed: str = "ann") -> tuple[CallerRecording, bytes]:
    """The request's recording in ``state``; a stored one has a generated WAV in storage."""
    audio = clip(seed, seconds) if state == State.STORED else b""
    with scope(account=account):
        row = CallerRecording.objects.create(
            account=account, request=request, state=state,
            duration_seconds=seconds if state in (State.STORED, State.FETCHING) else None,
            content_type="audio/wav" if audio else "", stored_at=timezone.now() if audio else None,
        )
        if audio:
            row.audio.save("caller.wav", ContentFile(audio))
    return row, audio


@pytest.fixture
def line(acme):
    return make_line(acme)


@pytest.fixture
def request_(acme, line):
    return callback_for(acme, line, "+14155550123")


@pytest.fixture
def stored(acme, request_):
    return recording(acme, request_)


# --- The page route ------------------------------------------------------------------------
def test_it_plays_the_recording_to_an_admin_with_its_exact_bytes_and_headers(alice_client, request_, stored):
    # SPEC C14, S1
    row, audio = stored
    response = alice_client.get(page_url(request_))
    assert response.status_code == 200
    assert body(response) == audio and audio.startswith(b"RIFF")
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"] == f'inline; filename="recording-{request_.pk}.wav"'
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(audio))
    # Nothing names where it is stored: neither the path nor its unguessable file name.
    stored_name = row.audio.name.rsplit("/", 1)[-1]
    assert all(stored_name not in value and "recordings/" not in value for value in response.headers.values())


def test_it_plays_the_recording_to_an_agent_of_the_account(bob_client, request_, stored):  # SPEC C14, T4
    _row, audio = stored
    response = bob_client.get(page_url(request_))
    assert response.status_code == 200 and body(response) == audio


def test_it_answers_one_byte_range_as_media_players_ask(bob_client, request_, stored):  # SPEC C14
    _row, audio = stored
    size = len(audio)

    def get(header: str):
        return bob_client.get(page_url(request_), HTTP_RANGE=header)

    start = get("bytes=0-")  # what Chromium's <audio> asks first
    assert start.status_code == 206 and body(start) == audio
    assert start["Content-Range"] == f"bytes 0-{size - 1}/{size}" and start["Content-Length"] == str(size)
    assert start["Content-Type"] == "audio/wav" and start["Cache-Control"] == "private, no-store"

    middle = get("bytes=44-99")
    assert middle.status_code == 206 and body(middle) == audio[44:100]
    assert middle["Content-Range"] == f"bytes 44-99/{size}"
    tail = get("bytes=-10")
    assert tail.status_code == 206 and body(tail) == audio[-10:]
    beyond_end = get(f"bytes={size - 5}-{size + 500}")
    assert beyond_end.status_code == 206 and body(beyond_end) == audio[-5:]

    past = get(f"bytes={size}-")
    assert past.status_code == 416 and past["Content-Range"] == f"bytes */{size}" and body(past) == b""
    # Several ranges, another unit, or nonsense: the whole file, as RFC 9110 allows.
    for header in ("bytes=0-1,4-5", "items=0-1", "bytes=9-2", "bytes=-", "bytes=" + "9" * 5000):
        whole = get(header)
        assert whole.status_code == 200 and body(whole) == audio, header


def test_it_refuses_whoever_is_not_a_member_of_the_account(acme, globex, charlie, request_, stored):
    # SPEC C14, T4: signed out, a user of no account, another account's admin on acme's host.
    signed_out = page_client(acme).get(page_url(request_))
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/login/?next=/talk/recordings/")
    stranger = User.objects.create_user("erin@example.test", PASSWORD, name="Erin Nobody")
    for user in (stranger, charlie):
        refused = page_client(acme, user).get(page_url(request_))
        assert refused.status_code == 302 and refused["Location"].startswith("/login/"), user.email
        assert body(refused) == b""


def test_another_accounts_request_answers_like_a_missing_one(charlie_client, request_, stored):  # SPEC T3
    assert_isolated(charlie_client, page_url(request_), page_url(missing_id()))


def test_a_request_without_a_playable_recording_is_not_found(acme, line, alice_client):  # SPEC C14, T3
    missing = alice_client.get(page_url(missing_id()))
    assert missing.status_code == 404
    none_at_all = callback_for(acme, line, "+14155550130")
    answers = [alice_client.get(page_url(none_at_all))]
    for index, state in enumerate((State.AWAITED, State.FETCHING, State.NONE, State.FAILED, State.DELETED)):
        request = callback_for(acme, line, f"+1415555014{index}")
        recording(acme, request, state)
        answers.append(alice_client.get(page_url(request)))
    assert [answer.status_code for answer in answers] == [404] * 6
    assert {_body(answer) for answer in answers} == {_body(missing)}  # the same page, whatever the reason


def test_a_file_gone_from_storage_is_not_found_rather_than_a_failure(acme, alice_client, alice_api, request_, stored):
    # SPEC C14: the retention job may delete the file a moment before the row says so.
    row, _audio = stored
    default_storage.delete(row.audio.name)
    assert alice_client.get(page_url(request_)).status_code == 404
    gone = alice_api.get(api_url(request_))
    assert gone.status_code == 404 and gone.json() == NOT_FOUND_BODY


def test_the_page_route_takes_get_only(alice_client, request_, stored):  # SPEC C14
    assert alice_client.post(page_url(request_)).status_code == 405
    assert alice_client.head(page_url(request_)).status_code == 200


# --- The API route -----------------------------------------------------------------------
def test_the_api_plays_it_with_a_token_to_agents_and_admins(acme, bob, alice, request_, stored):  # SPEC C14, A1, T4
    _row, audio = stored
    for user in (bob, alice):
        response = api_client(acme, user).get(api_url(request_))
        assert response.status_code == 200 and body(response) == audio, user.email
        assert response["Content-Type"] == "audio/wav"
        assert response["Content-Disposition"] == f'inline; filename="recording-{request_.pk}.wav"'
        assert response["Cache-Control"] == "private, no-store" and response["X-Content-Type-Options"] == "nosniff"
    ranged = api_client(acme, bob).get(api_url(request_), HTTP_RANGE="bytes=0-43")
    assert ranged.status_code == 206 and body(ranged) == audio[:44]


def test_the_api_plays_it_with_the_session_whatever_the_client_accepts(bob_client, request_, stored):  # SPEC C14
    _row, audio = stored
    for accept in ("*/*", "audio/*", "audio/wav", "text/html"):
        response = bob_client.get(api_url(request_), HTTP_ACCEPT=accept)
        assert response.status_code == 200 and body(response) == audio, accept
    missing = bob_client.get(api_url(missing_id()), HTTP_ACCEPT="audio/wav")
    assert missing.status_code == 404 and missing.json() == NOT_FOUND_BODY


def test_the_api_refuses_strangers_and_answers_foreign_ids_as_missing(acme, globex, charlie, charlie_api,
                                                                       request_, stored):  # SPEC T3, T4
    assert page_client(acme).get(api_url(request_)).status_code == 401
    foreign_token_here = api_client(globex, charlie, host=acme).get(api_url(request_))
    assert foreign_token_here.status_code == 401
    assert_isolated(charlie_api, api_url(request_), api_url(missing_id()))


def test_the_api_answers_404_for_a_request_without_a_playable_recording(acme, line, alice_api):  # SPEC C14
    request = callback_for(acme, line, "+14155550150")
    assert alice_api.get(api_url(request)).json() == NOT_FOUND_BODY
    recording(acme, request, State.FETCHING)
    answer = alice_api.get(api_url(request))
    assert answer.status_code == 404 and answer.json() == NOT_FOUND_BODY
    assert alice_api.post(api_url(request)).status_code == 405


# --- The callback request's payload ---------------------------------------------------------
def test_the_callback_request_says_what_became_of_its_recording(acme, line, alice_api):  # SPEC C14, A1
    request = callback_for(acme, line, "+14155550160")
    detail = f"/api/v2/channels/voice/callback_requests/{request.pk}.json"
    assert alice_api.get(detail).json()["callback_request"]["recording"] is None  # the line did not ask

    row, _ = recording(acme, request, State.AWAITED)
    assert alice_api.get(detail).json()["callback_request"]["recording"] == {
        "state": "awaited", "duration_seconds": None, "url": None}

    with scope(account=acme):
        row.delete()
    _row, audio = recording(acme, request, State.STORED, seconds=3)
    shown = alice_api.get(detail).json()["callback_request"]["recording"]
    assert shown == {"state": "stored", "duration_seconds": 3,
                     "url": f"http://{host_of(acme)}/api/v2/channels/voice/callback_requests/{request.pk}/recording.wav"}
    played = alice_api.get(shown["url"].split(host_of(acme), 1)[1])
    assert played.status_code == 200 and body(played) == audio


def test_the_callback_request_list_reads_recordings_in_its_own_query(acme, line, alice_api):  # SPEC C14, A1
    listing = "/api/v2/channels/voice/callback_requests.json"

    def add(count: int, start: int) -> None:
        for index in range(count):
            request = callback_for(acme, line, f"+1415555{start + index:04d}")
            recording(acme, request, (State.STORED, State.AWAITED, State.NONE)[index % 3], seed=str(index))

    add(3, 1000)
    alice_api.get(listing)  # warm the caches
    with CaptureQueriesContext(connection) as few:
        first = alice_api.get(listing).json()
    add(12, 2000)
    with CaptureQueriesContext(connection) as many:
        second = alice_api.get(listing).json()
    assert len(first["callback_requests"]) == 3 and len(second["callback_requests"]) == 15
    assert len(many) == len(few), [query["sql"][:100] for query in many.captured_queries]
    states = [item["recording"]["state"] for item in second["callback_requests"]]
    assert states.count("stored") == 5 and states.count("awaited") == 5 and states.count("none") == 5
    assert all((item["recording"]["url"] is not None) == (item["recording"]["state"] == "stored")
               for item in second["callback_requests"])


# --- The offer's payload -------------------------------------------------------------------
def test_an_offer_carries_its_playable_recording(acme, line, bob, bob_api, bob_client):  # SPEC C14, R13
    offer = offered_callback(acme, line, bob, number="+14155550170")
    with scope(account=acme):
        request = CallbackRequest.objects.get(queue_entry_id=offer.entry_id)
    current = "/api/v2/channels/voice/offers/current.json"
    assert bob_api.get(current).json()["offer"]["recording"] is None
    row, _ = recording(acme, request, State.FETCHING)  # arriving: nothing to play yet
    assert bob_client.get("/talk/console/state.json").json()["offer"]["recording"] is None

    with scope(account=acme):
        row.delete()
    _row, audio = recording(acme, request, State.STORED, seconds=4)
    expected = {"url": page_url(request), "duration_seconds": 4}
    for_api = {"url": f"http://acme.localhost/api/v2/channels/voice/callback_requests/{request.pk}/recording.wav",
               "duration_seconds": 4}  # a token client plays it from the API's route
    assert bob_api.get(current).json()["offer"]["recording"] == for_api
    assert body(bob_api.get(for_api["url"])) == audio
    assert bob_client.get("/talk/console/state.json").json()["offer"]["recording"] == expected
    page = html_lib.unescape(bob_client.get("/talk/console/").content.decode())
    block = re.search(r'<div class="offer-recording" id="offer-recording"[^>]*>', page).group(0)
    assert "hidden" not in block and "Caller's name and reason" in page
    assert f'src="{page_url(request)}"' in page and 'preload="none"' in page
    played = bob_client.get(expected["url"])
    assert played.status_code == 200 and body(played) == audio

    answered = bob_api.post(f"/api/v2/channels/voice/offers/{offer.pk}/decline.json")
    assert answered.status_code == 200 and answered.json()["offer"]["recording"] == for_api


def test_a_live_call_offer_has_no_recording(acme, line, bob, bob_api):  # SPEC C14
    live_offer(acme, line, bob)
    assert bob_api.get("/api/v2/channels/voice/offers/current.json").json()["offer"]["recording"] is None


def test_the_console_hides_the_player_without_a_recording(acme, line, bob, bob_client):  # SPEC C14
    offered_callback(acme, line, bob, number="+14155550171")
    page = bob_client.get("/talk/console/").content.decode()
    block = re.search(r'<div class="offer-recording" id="offer-recording"[^>]*>', page).group(0)
    assert "hidden" in block and "src=" not in re.search(r"<audio[^>]*>", page).group(0)


# --- The queue page's "Recorded name" column (S1) ------------------------------------------------
def cell(html: str, request: CallbackRequest) -> str:
    found = re.search(rf'data-request="{request.pk}">.*?<td data-label="Recorded name"[^>]*>(.*?)</td>', html, re.S)
    assert found, f"no row for request {request.pk}"
    return found.group(1)


def test_the_queue_page_plays_a_recording_or_says_where_it_is(acme, line, alice_client):  # SPEC S1, C14
    now = timezone.now()
    made = {}
    for index, state in enumerate((State.STORED, State.AWAITED, State.FETCHING, State.NONE, State.FAILED, None)):
        request = queued_callback(acme, line, f"+1415555018{index}", now - timedelta(minutes=10 - index))
        if state is not None:
            recording(acme, request, state, seconds=7)
        made[state] = request
    for response in (alice_client.get(QUEUE), alice_client.get(ROWS)):
        assert response.status_code == 200
        html = response.json()["html"] if response["Content-Type"].startswith("application/json") else response.content.decode()
        html = html_lib.unescape(html)
        playable = cell(html, made[State.STORED])
        assert "<audio" in playable and f'src="{page_url(made[State.STORED])}"' in playable
        assert 'preload="none"' in playable and "controls" in playable
        assert 'aria-label="Recorded name and reason of +1 415-555-0180"' in playable and "7 s" in playable
        assert "Being recorded" in cell(html, made[State.AWAITED])
        assert "Arriving" in cell(html, made[State.FETCHING])
        assert "Nothing recorded" in cell(html, made[State.NONE])
        assert "Could not be fetched" in cell(html, made[State.FAILED])
        assert "—" in cell(html, made[None])
        assert html.count("<audio") == 1
    played = alice_client.get(page_url(made[State.STORED]))
    assert played.status_code == 200 and body(played)[:4] == b"RIFF"


def test_the_queue_page_reads_recordings_in_its_own_query(acme, line, alice_client):  # SPEC S1, C14
    now = timezone.now()

    def fill(count: int, start: int) -> None:
        for index in range(count):
            request = queued_callback(acme, line, f"+1415556{start + index:04d}",
                                      now - timedelta(seconds=3000 - start - index))
            if index % 4:
                recording(acme, request, (State.STORED, State.AWAITED, State.FAILED)[index % 3], seed=str(index))

    fill(5, 0)
    alice_client.get(QUEUE)  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        alice_client.get(QUEUE)
    fill(120, 100)
    with CaptureQueriesContext(connection) as many:
        big = alice_client.get(QUEUE)
    assert big.status_code == 200 and big.content.decode().count("<audio") > 20
    assert len(many) == len(few), [query["sql"][:120] for query in many.captured_queries]
    with CaptureQueriesContext(connection) as table:
        assert alice_client.get(ROWS).status_code == 200
    assert len(table) <= 14
