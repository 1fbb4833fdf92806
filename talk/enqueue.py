"""Waking the router, adding the dialer's jobs, enqueueing tasks: a leaf module (DESIGN flow 2, 4).

Services call these inside their transaction; the work is sent on commit, so a
rolled-back change wakes nobody and a task never reads a row that is not there
yet. Nothing here imports a service or a view: tasks are named by their path.
"""
from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.tasks import async_task

from talk.models import ProviderJob

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


DIALER_CHANNEL = "talk_dial"  # talk.dialer LISTENs on it


def provider_job_add(*, account_id: int, kind: str, object_id: int, run_at: datetime | None = None) -> None:
    """A call to the provider, made by the dialer at ``run_at`` (now by default) once this
    transaction commits (talk.dialer): the job is a row written with the change, so it
    exists exactly when the change does. On PostgreSQL the dialers hear of it on commit.

    With ``TASKS_SYNC`` (tests, scripts) a due job runs in this process right after commit.
    """
    now = timezone.now()
    job = ProviderJob.objects.create(account_id=account_id, kind=kind, object_id=object_id, run_at=run_at or now)
    if job.run_at <= now or not settings.TASKS_SYNC:  # a dialer asleep must hear of a job due later too
        _dialer_wake(job.pk)


def provider_job_hasten(*, kind: str, object_id: int) -> None:
    """The provider job for ``object_id``, waiting for a later time, is due now: the reason it
    waited is gone (a recording announced ready before its retry time)."""
    jobs = ProviderJob.objects.filter(kind=kind, object_id=object_id, taken_until__isnull=True)
    for job_id in list(jobs.values_list("pk", flat=True)):
        ProviderJob.objects.filter(pk=job_id).update(run_at=timezone.now())
        _dialer_wake(job_id)


def _dialer_wake(job_id: int) -> None:
    """The dialer runs the job on commit: in this process with ``TASKS_SYNC``; else
    PostgreSQL's NOTIFY wakes the dialers (SQLite's poll every quarter second)."""
    if settings.TASKS_SYNC:
        transaction.on_commit(lambda: import_string("talk.dialer.job_run_now")(job_id))
        return
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [DIALER_CHANNEL])
