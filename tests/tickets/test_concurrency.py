"""Ticket numbers under concurrency (SPEC O2): several processes create tickets at once."""
from __future__ import annotations

import threading

import pytest
from django.db import connections
from django_scopes import scope

from tickets import services
from tests.tickets.helpers import tickets_of
from tests.postgres import needs_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


@needs_postgresql()
def test_concurrent_creations_take_distinct_consecutive_numbers(acme, globex):
    # Starting from no counter row at all: the first tickets also race to create it.
    threads, errors = 8, []
    barrier = threading.Barrier(threads)

    def work(account) -> None:
        try:
            barrier.wait()
            with scope(account=account):
                for i in range(3):
                    services.ticket_create(account=account, subject=f"Race {i}")
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(acme if n % 2 else globex,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert [t.number for t in tickets_of(acme)] == list(range(1, 13))
    assert [t.number for t in tickets_of(globex)] == list(range(1, 13))


@needs_postgresql()
def test_bulk_updates_naming_the_same_tickets_in_opposite_orders_both_land(acme, alice):  # SPEC O2
    # Each update_many locks its tickets one by one; in the order given, two of them naming
    # the same tickets the other way round would each hold one lock and wait for the other.
    with scope(account=acme):
        tickets = [services.ticket_create(account=acme, subject=f"Bulk {i}") for i in range(6)]
    rounds, errors = 5, []
    barrier = threading.Barrier(2)

    def work(order: list) -> None:
        try:
            with scope(account=acme):
                for n in range(rounds):
                    barrier.wait()
                    services.ticket_update_many(
                        account=acme, actor=alice,
                        updates=[(ticket, {"additional_tags": [f"t{n}"]}) for ticket in order],
                    )
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(order,)) for order in (tickets, tickets[::-1])]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert {tuple(t.tags) for t in tickets_of(acme)} == {tuple(f"t{n}" for n in range(rounds))}
