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
