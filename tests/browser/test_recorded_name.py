"""The caller's recorded name and reason in a real browser (issue 16 items 5 and 8; SPEC C14,
S1): an agent Online in the console is offered a callback, its recording arrives, the offer
shows the player, and Chromium actually loads, seeks and plays the audio the product serves;
the supervisors' queue page plays it too, and does not replace its table under a recording
that is playing. WSGI live server: the console and the queue page poll (see test_console.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.base import ContentFile
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from callsim.audio import clip
from talk import routing
from talk.models import CallbackRequest, CallerRecording, Offer
from talk.services.callback_requests import callback_request_create
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import blocking_violations
from tests.talk.calls_support import CALLER, make_line
from tests.talk.test_queue_page import callback as queued_callback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("console_inline")]

State = CallerRecording.State

# Loads the element's audio in full and answers what Chromium made of it (no autoplay needed).
LOAD = """async (player) => {
  player.preload = "auto";
  player.load();
  await new Promise((done, failed) => {
    if (player.readyState >= 4) { done(); return; }
    player.addEventListener("canplaythrough", done, { once: true });
    player.addEventListener("error", () => failed(new Error(`media error ${player.error && player.error.code}`)), { once: true });
    setTimeout(() => failed(new Error(`timed out in readyState ${player.readyState}`)), 8000);
  });
  return { readyState: player.readyState, duration: player.duration, src: player.currentSrc,
           seekable: player.seekable.length ? player.seekable.end(0) : 0 };
}"""

# Seeks and plays a little (the page was clicked first: a user's gesture allows sound).
PLAY = """async (player) => {
  player.currentTime = 1;
  await player.play();
  await new Promise((done) => setTimeout(done, 400));
  const result = { paused: player.paused, currentTime: player.currentTime, error: player.error && player.error.code };
  player.pause();
  return result;
}"""



def store(account, request: CallbackRequest, *, seconds: int, state: str = State.STORED) -> bytes:
    """The request's recording in ``state`` (a generated WAV when stored), as the dialer's copy leaves it."""
    audio = clip(f"caller-{request.pk}", seconds)
    with scope(account=account):
        recording, _ = CallerRecording.objects.get_or_create(account=account, request=request,
                                                             defaults={"state": State.FETCHING})
        recording.state, recording.duration_seconds = state, seconds
        if state == State.STORED:
            recording.content_type, recording.stored_at = "audio/wav", timezone.now()
            recording.audio.save("caller.wav", ContentFile(audio), save=False)
        recording.save()
    return audio


def test_an_agent_plays_the_callers_name_and_reason_on_the_offer(page, live_server, acme, bob):  # SPEC C14, R13
    line = make_line(acme)
    sign_in(page, live_server, acme, "bob@acme.test", "/talk/console/")
    page.get_by_role("radio", name="Online").click()
    expect(page.locator("#console-availability")).to_contain_text("Available")
    with scope(account=acme):
        request = callback_request_create(line=line, number=CALLER)
    store(acme, request, seconds=3, state=State.FETCHING)  # still arriving when the offer is made
    with scope(account=acme):
        routing.route_account(acme)
        assert Offer.objects.get(entry_id=request.queue_entry_id, state=Offer.State.OFFERED).agent_id == bob.pk
    expect(page.locator("#offer-number")).to_have_text(CALLER)
    player_box = page.locator("#offer-recording")
    expect(player_box).to_be_hidden()

    audio = store(acme, request, seconds=3)  # the copy is stored: the next reload shows the player
    expect(player_box).to_be_visible()
    expect(page.get_by_role("group", name="Caller's name and reason")).to_be_visible()
    expect(page.locator("#offer-recording-length")).to_have_text("3 s")
    player = page.locator("#offer-recording-audio")
    expect(player).to_have_attribute("src", f"/talk/recordings/{request.pk}.wav")
    expect(player).to_have_attribute("preload", "none")

    loaded = player.evaluate(LOAD)
    assert loaded["readyState"] >= 3 and abs(loaded["duration"] - 3) < 0.05, loaded
    assert loaded["seekable"] > 2.9, loaded  # the byte ranges it asked for were served
    page.locator("#offer-number").click()  # a user's gesture: the page may play sound
    played = player.evaluate(PLAY)
    assert played["error"] is None and played["currentTime"] > 1, played
    # The page's own reloads (every second) keep the same player and what it loaded.
    page.wait_for_timeout(1500)
    assert player.evaluate("(player) => player.readyState") >= 3
    assert blocking_violations(Axe(), page, "console with a recording") == []

    fetched = page.evaluate("""async (url) => {
      const answer = await fetch(url);
      return { status: answer.status, type: answer.headers.get("Content-Type"),
               bytes: Array.from(new Uint8Array(await answer.arrayBuffer())) };
    }""", f"/talk/recordings/{request.pk}.wav")
    assert fetched["status"] == 200 and fetched["type"] == "audio/wav"
    assert bytes(fetched["bytes"]) == audio  # what the page plays is what was stored

    page.get_by_role("button", name="Don't answer").click()
    expect(page.locator("#console-offer-empty")).to_be_visible()
    expect(player_box).to_be_hidden()
    assert player.evaluate("(player) => player.getAttribute('src')") is None


def test_the_queue_page_plays_a_recording_and_waits_for_it(page, live_server, acme, alice):  # SPEC S1, C14
    line = make_line(acme)
    now = timezone.now()
    request = queued_callback(acme, line, "+14155550123", now - timedelta(minutes=3))
    store(acme, request, seconds=20)
    arriving = queued_callback(acme, line, "+14155550124", now - timedelta(minutes=2))
    store(acme, arriving, seconds=2, state=State.FETCHING)

    sign_in(page, live_server, acme, "alice@acme.test", "/talk/queue/")
    row = page.locator(f"tr[data-request='{request.pk}']")
    player = row.get_by_label("Recorded name and reason of +1 415-555-0123")
    expect(player).to_be_visible()
    expect(row).to_contain_text("20 s")
    expect(page.locator(f"tr[data-request='{arriving.pk}']")).to_contain_text("Arriving")
    assert page.locator("#queue-table audio").count() == 1
    assert blocking_violations(Axe(), page, "queue with a recording") == []

    loaded = player.evaluate(LOAD)
    assert loaded["readyState"] >= 3 and abs(loaded["duration"] - 20) < 0.05, loaded
    page.locator("h1").click()  # a user's gesture: the page may play sound
    player.evaluate("(player) => player.play()")
    # Playing: the timed reloads wait, so the recording is not cut off.
    newcomer = queued_callback(acme, line, "+14155550125", now - timedelta(minutes=1))
    page.wait_for_timeout(6_500)  # past the page's next timed reload (5 s while the socket is down)
    expect(page.locator("#queue-paused")).to_have_text("Updates wait while a recording plays.")
    expect(page.locator(f"tr[data-request='{newcomer.pk}']")).to_have_count(0)
    assert player.evaluate("(player) => !player.paused && player.currentTime > 0")

    player.evaluate("(player) => player.pause()")  # stopped: the owed reload happens at once
    expect(page.locator(f"tr[data-request='{newcomer.pk}']")).to_be_visible()
    expect(page.locator("#queue-paused")).to_be_hidden()
