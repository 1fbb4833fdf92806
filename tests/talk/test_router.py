"""The router process on PostgreSQL: woken by the commit itself, deadlines on time (SPEC O4, R3, R4, R9).

A real ``talk.router.Router`` runs in a thread with its own LISTEN connection; the
writes are the real services, committed (``transaction=True``), whose NOTIFY reaches
it only on commit.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope

from talk.enqueue import wake_router
from talk.models import AgentPresence, CallbackRequest, Offer
from talk.router import Router
from talk.services.callback_requests import callback_request_create
from talk.services.offers import offer_decline
from tests.talk.calls_support import make_line, set_presence
from tests.postgres import needs_postgresql

pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_postgresql("routers LISTEN for NOTIFY"),
]

ONLINE = AgentPresence.Status.ONLINE
DEADLINE_SLACK = 1.0  # SPEC O4: deadlines fire within 1 s of their time


@pytest.fixture
def routers(settings):
    """Start ``n`` routers; they stop (and close their connections) at the end of the test."""
    settings.ROUTE_NOTIFY = True
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(n: int = 1) -> list[Router]:
        started = [Router(housekeeping_seconds=1.0) for _ in range(n)]
        for router in started:
            thread = threading.Thread(target=_run, args=(router, stop), daemon=True)
            thread.start()
            threads.append(thread)
        time.sleep(0.3)  # listening
        return started

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive(), "a router did not stop"


def _run(router: Router, stop: threading.Event) -> None:
    try:
        router.run(stop)
    finally:
        connection.close()


def wait_for(predicate, seconds: float = 3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.01)
    return predicate()


def open_offers(account) -> list[Offer]:
    with scope(account=account):
        return list(Offer.objects.filter(state=Offer.State.OFFERED).order_by("created_at"))


def test_it_offers_a_new_request_as_soon_as_it_is_committed(acme, bob, routers):  # SPEC O4, R2
    line = make_line(acme)
    set_presence(acme, bob, ONLINE)
    routers(1)
    latencies = []
    for number in ("+14155550101", "+14155550102", "+14155550103"):
        with scope(account=acme):
            started = time.monotonic()
            request = callback_request_create(line=line, number=number)
        offer = wait_for(lambda: [o for o in open_offers(acme) if o.entry_id == request.queue_entry_id])
        assert offer, "the commit did not wake the router"
        latencies.append(time.monotonic() - started)
        with scope(account=acme):
            offer_decline(account=acme, offer_id=offer[0].pk, agent=bob)  # free bob for the next one
    assert max(latencies) < 1.0, latencies


def test_an_offer_times_out_at_its_time_and_goes_to_the_next_agent(acme, bob, dave, routers):  # SPEC R3, R4, O4
    line = make_line(acme)
    line.callback_offer_seconds = 1
    line.save(update_fields=["callback_offer_seconds"])
    set_presence(acme, bob, ONLINE)
    routers(1)
    with scope(account=acme):
        callback_request_create(line=line, number="+14155550101")
    [first] = wait_for(lambda: open_offers(acme))
    set_presence(acme, dave, ONLINE)  # a direct write: no wake-up; the deadline alone must act
    second = wait_for(lambda: [o for o in open_offers(acme) if o.pk != first.pk], seconds=3.0)
    assert second and second[0].agent_id == dave.pk
    with scope(account=acme):
        first.refresh_from_db()
    assert first.state == Offer.State.TIMED_OUT
    lateness = (first.responded_at - first.expires_at).total_seconds()
    assert 0 <= lateness < DEADLINE_SLACK, lateness


def test_a_request_expires_at_its_time(acme, bob, routers):  # SPEC R9, O4
    line = make_line(acme)
    set_presence(acme, bob, AgentPresence.Status.AWAY)  # keeps it waiting, offered to nobody (R7)
    routers(1)
    with scope(account=acme):
        request = callback_request_create(line=line, number="+14155550101")
        with transaction.atomic():
            CallbackRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() + timedelta(seconds=1))
            wake_router(acme.pk)  # the write that moved its deadline tells the routers
    with scope(account=acme):
        expired = wait_for(lambda: CallbackRequest.objects.filter(pk=request.pk, state="expired").exists(), seconds=3.0)
        assert expired
        request.refresh_from_db()
    lateness = (request.ended_at - request.expires_at).total_seconds()
    assert 0 <= lateness < DEADLINE_SLACK, lateness


def test_two_routers_make_one_offer_per_agent_and_lose_no_wake_up(acme, bob, dave, routers):  # SPEC O2, O4, R2
    line = make_line(acme)
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, ONLINE)
    routers(2)
    with scope(account=acme):
        for n in range(10):
            callback_request_create(line=line, number=f"+1415555{n:04d}")
    offers = wait_for(lambda: len(open_offers(acme)) == 2 and open_offers(acme))
    assert sorted(o.agent_id for o in offers) == sorted([bob.pk, dave.pk])
    assert len({o.entry_id for o in offers}) == 2
    for _ in range(4):  # each decline is a commit the routers must hear: the next offer follows
        [offer] = [o for o in open_offers(acme) if o.agent_id == bob.pk]
        with scope(account=acme):
            offer_decline(account=acme, offer_id=offer.pk, agent=bob)
        again = wait_for(lambda: [o for o in open_offers(acme) if o.agent_id == bob.pk], seconds=1.0)
        assert again and again[0].pk != offer.pk
    assert len(open_offers(acme)) == 2


def test_a_scheduled_callback_is_offered_at_its_time(acme, alice, bob, routers):  # SPEC R16, O4
    from talk.services.supervision import callback_reschedule

    line = make_line(acme)
    with scope(account=acme):
        request = callback_request_create(line=line, number="+14155550101")
        due = timezone.now() + timedelta(seconds=2)
        callback_reschedule(account=acme, request_id=request.pk, actor=alice, scheduled_for=due)
    set_presence(acme, bob, ONLINE)  # a direct write: no wake-up
    routers(1)  # catches up at once: nothing to offer before its time
    time.sleep(0.5)
    assert open_offers(acme) == []
    offer = wait_for(lambda: open_offers(acme), seconds=3.0)  # no write wakes the router: its time does
    assert offer and offer[0].agent_id == bob.pk
    lateness = (offer[0].created_at - due).total_seconds()
    assert 0 <= lateness < DEADLINE_SLACK, lateness


def test_an_assignees_turn_ends_and_the_next_agent_is_offered_it(acme, alice, bob, dave, routers):  # SPEC R15, O4
    from talk.services.supervision import callback_assign

    line = make_line(acme)
    line.callback_offer_seconds = 1
    line.save(update_fields=["callback_offer_seconds"])
    set_presence(acme, dave, ONLINE)
    with scope(account=acme):
        request = callback_request_create(line=line, number="+14155550101")
        callback_assign(account=acme, request_id=request.pk, actor=alice, assignee_id=bob.pk)  # bob is offline
    routers(1)
    time.sleep(0.3)
    assert open_offers(acme) == []  # bob's turn: nobody else yet
    offer = wait_for(lambda: open_offers(acme), seconds=3.0)  # the turn's end alone wakes the router
    assert offer and offer[0].agent_id == dave.pk
