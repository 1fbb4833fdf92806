"""Waking the router and enqueueing Talk's tasks: a leaf module (DESIGN flow 2, 4).

Services call these inside their transaction; the work is sent on commit, so a
rolled-back change wakes nobody and a task never reads a row that is not there
yet. Nothing here imports a service or a view: tasks are named by their path.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def _enqueue(func: str, *args) -> None:
    # Tests (and anyone who sets SC_TASKS_SYNC) run tasks inline, right after commit.
    async_task(func, *args, sync=settings.TASKS_SYNC, group="talk")


ROUTER_CHANNEL = "talk_route"  # talk.router LISTENs on it


def wake_router(account_id: int) -> None:
    """Route the account again after this transaction commits.

    With routers (``settings.ROUTE_NOTIFY``): a NOTIFY inside the transaction, which
    PostgreSQL delivers on commit, once however often it was sent. Else once per
    transaction and account, however many changes asked for it: one pass sees them
    all. (A wake-up registered in a savepoint that rolls back goes with it, and the
    next request registers anew.)
    """
    connection = transaction.get_connection()
    if settings.ROUTE_NOTIFY:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [ROUTER_CHANNEL, str(account_id)])
        return
    if connection.in_atomic_block:
        open_savepoints = set(connection.savepoint_ids)
        if any(
            getattr(callback, "wakes_account", None) == account_id and sids <= open_savepoints
            for sids, callback, _robust in connection.run_on_commit
        ):
            return  # one registered in this block (or one around it) runs on the same commit

    def wake() -> None:
        route_now(account_id)

    wake.wakes_account = account_id  # type: ignore[attr-defined]
    transaction.on_commit(wake)


def route_now(account_id: int) -> None:
    if settings.ROUTE_INLINE:
        # The in-memory channel layer lives in one process: route here, so the offer's
        # push reaches this process's sockets (the worker's sweep still catches the rest).
        try:
            import_string("talk.tasks.route")(account_id)
        except Exception:  # the sweep will route; the caller's request must not fail
            logger.exception("inline routing of account %s failed", account_id)
        return
    _enqueue("talk.tasks.route", account_id)


def connect_live_call_on_commit(offer_id: int) -> None:
    transaction.on_commit(lambda: _enqueue("talk.tasks.connect_live_call", offer_id))


def place_callback_attempt_on_commit(attempt_id: int) -> None:
    transaction.on_commit(lambda: place_callback_attempt(attempt_id))


def place_callback_attempt(attempt_id: int) -> None:
    _enqueue("talk.tasks.place_callback_attempt", attempt_id)
