"""A supervisor reschedules a callback and the agent receives it on time, in a real browser
(issue 16 item 8; SPEC S1, S2, R16, R6, R7, R13).

Two browser contexts: alice (admin) on the live queue page, dave (agent) in his console.
The page's "Call at" field is a ``datetime-local`` without ``step``: it takes whole minutes
only (Chromium shows no seconds and refuses a value with them), so the callback is
rescheduled to the next whole minute, at least ``LEAD`` seconds ahead: the test waits up
to a minute for it, as a person would.

Routing is driven as in the other browser tests: the live server routes inline on every
write that wakes the router (dave's status, his decline, the reschedule), and the test
runs routing passes in a loop until the time. That loop stands for the router waking at
the supervision time (tests/talk/test_router.py covers that wake-up with real routers).

Why dave declines A first: while an agent is free and an older callback waits for him,
routing offers it to him at once (R2), so dave holding no offer and A still offerable to
him cannot both hold before the time. Dave says "Don't answer" to A (R6); bob, away, keeps
A waiting (R7). Dave is then free before the time, and B must still not be offered to him
until its time. The ordering of a due callback against older entries an agent may take,
at one instant, is tested with a fixed ``now`` in
tests/talk/test_supervision.py::test_a_scheduled_callback_leaves_the_queue_until_its_time_then_goes_first.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from talk.models import AgentPresence, CallbackRequest, Offer, QueueEntry
from tests.browser.conftest import account_url, sign_in
from tests.talk.calls_support import make_line, set_presence
from tests.talk.factories import route_now, waiting_callback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("console_inline")]

NUMBER_A = "+14155550141"  # the older waiting callback
NUMBER_B = "+14155550142"  # the one the supervisor reschedules
LEAD = timedelta(seconds=8)  # the reschedule, dave's offer of A and his decline (about 2 s) fit in it
PASS_EVERY = 0.1  # seconds between the loop's routing passes (the "poll slack")
ON_TIME = 2.0  # seconds: how late the offer may be, beyond one loop interval





def next_whole_minute(after):
    """The first whole minute at least ``LEAD`` after ``after`` (whole minutes are the same
    instants in every zone of today's tzdata: offsets are whole minutes)."""
    return (after + LEAD).replace(second=0, microsecond=0) + timedelta(minutes=1)


def offers_of(account, request: CallbackRequest) -> list[Offer]:
    with scope(account=account):
        return list(Offer.objects.filter(entry_id=request.queue_entry_id).order_by("created_at"))


def open_offers(account) -> list[Offer]:
    with scope(account=account):
        return list(Offer.objects.filter(state=Offer.State.OFFERED))


def test_a_supervisor_reschedules_a_callback_and_the_agent_receives_it_on_time(
    page, second_page, live_server, acme, alice, bob, dave
):  # SPEC S1, S2, R16, R6, R7, R13
    started = time.monotonic()
    zone = ZoneInfo(acme.time_zone)
    line = make_line(acme)
    # Bob is away: the callbacks wait for him (R7), A after dave's decline too; with every
    # member offline they would be cancelled at once as declined by all (R8).
    set_presence(acme, bob, AgentPresence.Status.AWAY)
    older = waiting_callback(line, NUMBER_A, minutes_ago=10)  # A: queued earlier
    later = waiting_callback(line, NUMBER_B, minutes_ago=5)  # B

    sign_in(page, live_server, acme, "alice@acme.test", "/talk/queue/")
    sign_in(second_page, live_server, acme, "dave@acme.test", "/talk/console/")
    expect(second_page.locator("#console-offer-empty")).to_be_visible()
    row_b = page.locator(f"tr[data-request='{later.pk}']")
    row_a = page.locator(f"tr[data-request='{older.pk}']")
    expect(row_b.locator(".queue-state")).to_have_text("Waiting")

    # 1. Alice reschedules B through the page, to the next whole minute (SPEC S2, R16).
    due = next_whole_minute(timezone.now())
    wall = due.astimezone(zone)
    row_b.locator("summary").click()
    row_b.get_by_label("Call at").fill(wall.strftime("%Y-%m-%dT%H:%M"))
    row_b.get_by_role("button", name="Reschedule").click()
    expect(page.locator(".flash")).to_contain_text(f"is scheduled for {wall:%a %d %b %Y, %H:%M}")
    expect(row_b.locator(".queue-state")).to_contain_text(f"Scheduled for {wall:%a} {wall.day} {wall:%b, %H:%M}")
    shown = row_b.locator(".queue-state time").get_attribute("datetime")
    assert datetime.fromisoformat(shown) == due, shown
    expect(page.locator(".queue-part")).to_have_text(["In the queue", "Scheduled for later"])
    expect(row_a.locator(".queue-state")).to_have_text("Waiting")
    with scope(account=acme):  # the page's action really changed it
        stored = CallbackRequest.objects.select_related("queue_entry").get(pk=later.pk)
    assert (stored.state, stored.scheduled_for) == (CallbackRequest.State.PENDING, due)
    assert stored.expires_at == due + timedelta(minutes=line.callback_expiry_minutes)  # expiry from its time (R9, R16)
    assert stored.queue_entry.state == QueueEntry.State.WAITING  # still its place, out of the queue until its time
    assert offers_of(acme, later) == []

    # 2. Dave goes online: his status wakes routing, which offers him A, the one in the queue, not B.
    second_page.get_by_role("radio", name="Online").click()
    expect(second_page.get_by_role("radio", name="Online")).to_have_attribute("aria-checked", "true")
    expect(second_page.locator("#offer-number")).to_have_text(NUMBER_A)
    [offer_a] = open_offers(acme)
    assert (offer_a.entry_id, offer_a.agent_id) == (older.queue_entry_id, dave.pk)
    assert offers_of(acme, later) == []
    # He doesn't answer it (R6): A goes back to its place, and waits for bob, who is away (R7).
    second_page.get_by_role("button", name="Don't answer").click()
    expect(second_page.locator("#console-offer-notice")).to_contain_text("next agent")
    expect(second_page.locator("#console-offer-empty")).to_be_visible()
    assert timezone.now() < due - timedelta(seconds=1), "the steps before the time took longer than LEAD"

    # Routing passes until the time: dave is free, yet B is not offered before its time (R16).
    passes_before = 0
    deadline = due + timedelta(seconds=ON_TIME + 5)
    while not offers_of(acme, later):
        route_now(acme)
        if timezone.now() < due:  # this pass ended before the time: its "now" was before it
            passes_before += 1
        assert timezone.now() < deadline, "B was not offered at its time"
        time.sleep(PASS_EVERY)
    assert passes_before > 0

    # 3. At its time B is offered to dave, on time, while the older A still waits in the queue
    # (R16; A is no longer dave's to take, see the module's docstring).
    [offer_b] = offers_of(acme, later)  # its one offer: none before its time
    assert (offer_b.agent_id, offer_b.state) == (dave.pk, Offer.State.OFFERED)
    lateness = (offer_b.created_at - due).total_seconds()
    assert 0 <= lateness < ON_TIME + PASS_EVERY, lateness
    assert [o.state for o in offers_of(acme, older)] == [Offer.State.DECLINED]  # not offered dave again (R6)
    with scope(account=acme):
        a_now = CallbackRequest.objects.select_related("queue_entry").get(pk=older.pk)
    assert a_now.state == CallbackRequest.State.PENDING and a_now.queue_entry.state == QueueEntry.State.WAITING
    assert a_now.queue_entry.entered_at < stored.queue_entry.entered_at  # A is the older one
    assert [o.entry_id for o in open_offers(acme)] == [later.queue_entry_id]
    expect(second_page.locator("#offer-number")).to_have_text(NUMBER_B)  # the console's poll (no socket here)
    expect(second_page.locator("#offer-kind")).to_contain_text("Callback")

    # The queue page shows it due and offered to dave, ahead of the older A (S1: routing order).
    page.goto(account_url(live_server, acme, "/talk/queue/"))
    expect(page.locator(".queue-part")).to_have_text(["Due now: promised times", "In the queue"])
    expect(row_b.locator(".queue-state")).to_contain_text("Offered to Dave Agent")
    expect(row_a.locator(".queue-state")).to_have_text("Waiting")
    assert page.locator("tr[data-request]").evaluate_all("rows => rows.map(r => r.dataset.request)") == [
        str(later.pk), str(older.pk)]
    print(f"B offered {lateness:.3f} s after its time; {passes_before} passes before it; "
          f"test body {time.monotonic() - started:.1f} s")
