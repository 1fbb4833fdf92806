"""Transactions that lose a lock conflict are run again, never answered with a 500 (SPEC O2).

PostgreSQL breaks a deadlock by aborting one of the transactions in it (SQLSTATE
40P01), and may refuse one that cannot be serialised (40001). Both mean "run me
again": the work did not happen. Only the outermost transaction can be run again
(an inner one's failure aborts its whole transaction), so inside one the function
just runs.
"""
from __future__ import annotations

import functools
import logging
import random
import time
from typing import Callable, TypeVar

import psycopg
from django.db import OperationalError, connection, connections, transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
ATTEMPTS = 4


def is_lock_conflict(error: BaseException) -> bool:
    cause = error.__cause__ or error
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def run_atomic(function: Callable[..., T], *args, **kwargs) -> T:
    """``function`` in a transaction; run again (a few times) when it lost a lock conflict."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return function(*args, **kwargs)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return function(*args, **kwargs)
        except OperationalError as error:
            if attempt == ATTEMPTS or not is_lock_conflict(error):
                raise
            logger.info("%s lost a lock conflict (%s); running it again", function.__name__, error.__cause__)
            time.sleep(random.uniform(0.005, 0.03) * attempt)  # let the winner finish first
    raise AssertionError("unreachable")


def atomic_with_retry(function: Callable[..., T]) -> Callable[..., T]:
    """Decorator form of ``run_atomic`` for services that may be a transaction of their own."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs) -> T:
        return run_atomic(function, *args, **kwargs)

    return wrapper


def advisory_xact_lock(name: str, key: int) -> None:
    """Take a PostgreSQL advisory lock on (``name``, ``key``) until this transaction ends.

    For turns that no row should carry: unlike a row lock it conflicts with nothing
    else (no foreign-key check of another transaction waits for it). SQLite runs
    one writer at a time anyway, so there it is a no-op.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", [name, str(key)])


def listen(channel: str, *, alias: str = "default"):
    """A connection of its own, outside any pool, in autocommit, LISTENing on ``channel``.

    A LISTEN lasts as long as its connection: a pooled one would carry it to whoever
    takes that connection next. Close it when done.
    """
    params = connections[alias].get_connection_params()
    listener = psycopg.connect(**params, autocommit=True)
    listener.execute(f"LISTEN {channel}")
    return listener
