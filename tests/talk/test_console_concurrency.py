"""Call (accept) under concurrency: exactly one winner (SPEC R5, O2).

Several threads, each with its own database connection, click Call on the same
offer at the same instant (double clicks, two tabs, two processes). The
conditional UPDATE in talk.services.offers must let exactly one through; the
others answer 409 OfferWithdrawn. Real row locking needs PostgreSQL: SQLite
serialises every writer on one database lock, so the race cannot happen there.
"""
from __future__ import annotations

import os
import threading

import pytest
from django.db import connection
from django_scopes import scope

from supportcenter.models import AuditEntry
from talk.models import AgentPresence, Offer, QueueEntry
from talk.services.callback_requests import TICKET_SUBJECT
from talk.services.offers import offer_accept
from supportcenter.errors import ServiceError
from tests.conftest import api_client
from tests.talk.calls_support import make_line
from tests.talk.test_console_support import inline_tasks, live_offer, offered_callback, set_presence  # noqa: F401
from tickets.models import Comment, Ticket
from tests.postgres import needs_postgresql

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("inline_tasks"),
    needs_postgresql(),
]

THREADS = 6
# 100 rounds of 6 clicks at once by default (the suite's time); SC_STRESS_ROUNDS for a longer hunt.
ROUNDS = int(os.environ.get("SC_STRESS_ROUNDS", "100"))
CALLBACK_ROUNDS = 20


def _race(clickers) -> list[str]:
    """Run every clicker at the same instant; each returns "won" or "gone"."""
    barrier = threading.Barrier(len(clickers))
    results: list[str] = []
    lock = threading.Lock()

    def run(click) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = click()
        except Exception as error:  # a crash is a result too: it must fail the test
            outcome = f"error: {error!r}"
        finally:
            connection.close()  # this thread's own connection
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(click,)) for click in clickers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _api_click(client, offer_id: int):
    def click() -> str:
        response = client.post(f"/api/v2/channels/voice/offers/{offer_id}/accept.json")
        return {200: "won", 409: "gone"}.get(response.status_code, f"status {response.status_code}")

    return click


def _service_click(account, agent, offer_id: int):
    def click() -> str:
        with scope(account=account):
            try:
                offer_accept(account=account, offer_id=offer_id, agent=agent)
            except ServiceError as error:
                return "gone" if error.code == "offer_gone" else f"refused: {error.message}"
        return "won"

    return click


def _free_again(account, agent) -> None:
    with scope(account=account):
        AgentPresence.objects.filter(account=account, user=agent).update(busy=False)


def test_exactly_one_call_wins_on_a_live_offer(acme, bob):
    line = make_line(acme)
    set_presence(acme, bob, AgentPresence.Status.ONLINE)
    clients = [api_client(acme, bob) for _ in range(THREADS // 2)]
    for round_ in range(ROUNDS):
        offer = live_offer(acme, line, bob, sid=f"CAround{round_:04d}")
        clickers = [_api_click(c, offer.pk) for c in clients]
        clickers += [_service_click(acme, bob, offer.pk) for _ in range(THREADS - len(clients))]
        results = _race(clickers)
        assert sorted(results) == ["gone"] * (THREADS - 1) + ["won"], (round_, results)
        with scope(account=acme):
            assert Offer.objects.get(pk=offer.pk).state == Offer.State.ACCEPTED
            assert QueueEntry.objects.get(pk=offer.entry_id).state == QueueEntry.State.SERVED
            assert AuditEntry.objects.filter(action="offer.accept", target_id=str(offer.pk)).count() == 1
        _free_again(acme, bob)


def test_exactly_one_call_wins_on_a_callback_with_one_ticket(acme, bob):  # SPEC R5, R12
    line = make_line(acme)
    clients = [api_client(acme, bob) for _ in range(THREADS)]
    for round_ in range(CALLBACK_ROUNDS):
        _free_again(acme, bob)
        offer = offered_callback(acme, line, bob, number="+14155550111")
        results = _race([_api_click(c, offer.pk) for c in clients])
        assert sorted(results) == ["gone"] * (THREADS - 1) + ["won"], (round_, results)
    with scope(account=acme):
        tickets = list(Ticket.objects.filter(subject=TICKET_SUBJECT))
        assert len(tickets) == CALLBACK_ROUNDS  # one per request, never two
        for ticket in tickets:
            accepted = Comment.objects.filter(ticket=ticket, public=False, body__contains="accepted the callback")
            assert accepted.count() == 1
