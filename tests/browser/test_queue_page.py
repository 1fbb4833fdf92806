"""The supervisors' live queue in a real browser (SPEC S1, S2, R16, R13)."""
from __future__ import annotations

import sys
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from supportcenter import services as core_services
from talk.models import AgentPresence, CallbackRequest
from talk.services.callback_requests import callback_request_create
from tests.browser.conftest import account_url, sign_in
from tests.supportcenter.test_access_log import free_port, serve, shares_database
from tests.talk.calls_support import make_line, set_presence

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def new_callback(account, line, number: str) -> CallbackRequest:
    with scope(account=account):
        return callback_request_create(line=line, number=number)


def new_callback_pushed(account, line, number: str) -> CallbackRequest:
    """``new_callback`` in a thread of its own: its push after commit needs a thread without
    Playwright's event loop (async_to_sync refuses to run in one)."""
    made: list[CallbackRequest] = []

    def create() -> None:
        try:
            made.append(new_callback(account, line, number))
        finally:
            connection.close()

    worker = threading.Thread(target=create)
    worker.start()
    worker.join(timeout=30)
    assert made, "the callback was not created"
    return made[0]


def row(page, request: CallbackRequest):
    return page.locator(f"tr[data-request='{request.pk}']")


def test_a_supervisor_reschedules_a_callback_and_sees_it_scheduled(page, live_server, acme, alice, bob):
    # SPEC S2, R16: bob, an agent made a supervisor, promises a customer tomorrow at ten
    line = make_line(acme)
    with scope(account=acme):
        core_services.membership_set_supervisor(account=acme, user_id=bob.pk, supervisor=True, actor=alice)
    request = new_callback(acme, line, "+14155550123")

    sign_in(page, live_server, acme, "bob@acme.test")
    page.click(".mainnav >> text=Queue")
    page.wait_for_selector("h1:has-text('Live queue')")
    expect(row(page, request)).to_contain_text("+1 415-555-0123")
    expect(row(page, request)).to_contain_text("Waiting")
    expect(page.locator(".queue-part").first).to_contain_text("In the queue")

    zone = ZoneInfo("America/New_York")
    tomorrow = (timezone.now().astimezone(zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    row(page, request).locator("summary").click()
    row(page, request).get_by_label("Call at").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    row(page, request).get_by_role("button", name="Reschedule").click()

    expect(page.locator(".flash")).to_contain_text("is scheduled for")
    expect(page.locator(".queue-part")).to_have_text(["Scheduled for later"])
    expect(row(page, request).locator(".queue-state")).to_contain_text(f"Scheduled for {tomorrow:%a} {tomorrow.day} ")
    expect(row(page, request).locator(".queue-state")).to_contain_text("10:00")
    with scope(account=acme):
        assert CallbackRequest.objects.get(pk=request.pk).scheduled_for == tomorrow

    # A refusal is shown on the page, never a 500: a time in the past.
    row(page, request).locator("summary").click()
    row(page, request).get_by_label("Call at").fill("2020-01-01T10:00")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        row(page, request).get_by_role("button", name="Reschedule").click()
    assert posted.value.status == 422
    expect(page.locator("#queue-error")).to_have_text("Choose a time in the future.")

    # On a phone the open actions fit the screen: nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    row(page, request).locator("summary").click()
    expect(row(page, request).get_by_role("button", name="Cancel callback")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_page_shows_a_new_callback_without_a_reload(page, live_server, acme, alice):  # SPEC S1
    # The WSGI live server has no WebSocket: the page polls, as it does whenever its socket is down.
    line = make_line(acme)
    sign_in(page, live_server, acme, "alice@acme.test", "/talk/queue/")
    page.goto(account_url(live_server, acme, "/talk/queue/"))
    expect(page.locator("#queue-table")).to_contain_text("Nobody is waiting")
    request = new_callback(acme, line, "+14155550124")
    expect(row(page, request)).to_contain_text("+1 415-555-0124", timeout=15_000)
    expect(page.locator("[data-count=total]")).to_have_text("1")


# --- The socket, on daphne ------------------------------------------------------------------
@pytest.fixture
def daphne(transactional_db, tmp_path):
    if not shares_database():
        pytest.skip("a daphne process reads this test's rows only on PostgreSQL")
    port = free_port()
    command = [sys.executable, "-m", "supportcenter.logs", "-b", "127.0.0.1", "-p", str(port),
               "supportcenter.asgi:application"]
    with serve(command, tmp_path, "daphne", port) as served:
        yield served


def test_a_hint_on_the_socket_reloads_the_table(page, daphne, acme, alice, settings):  # SPEC S1, R13
    if "Redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        pytest.skip("the push reaches daphne's sockets through Redis")
    settings.TASKS_SYNC = True  # the woken routing pass runs here, and pushes "queue.changed"
    line = make_line(acme)
    set_presence(acme, alice, AgentPresence.Status.AWAY)  # someone may take it later: it waits (R7)
    sign_in(page, daphne, acme, "alice@acme.test", "/talk/queue/")
    expect(page.locator("#queue-live")).to_have_attribute("data-state", "live")
    page.wait_for_timeout(6_000)  # past the first timed refresh: the next one is 15 s away
    hinted = []
    page.on("request", lambda r: hinted.append(r.url) if "/talk/queue/rows.json" in r.url else None)
    request = new_callback_pushed(acme, line, "+14155550125")
    expect(row(page, request)).to_contain_text("+1 415-555-0125", timeout=5_000)  # the hint, not the timer
    assert hinted
