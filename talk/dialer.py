"""The dialer: calls to the telephony provider, first in, first out (SPEC R5, R10; DESIGN flow 4),
and the copies of callers' recordings (C14).

A job (``talk.models.ProviderJob``) is written in the transaction that needs the call
(``talk.enqueue.provider_job_add``). Dialer threads take due jobs oldest first
(``run_at``, then ``id``) with ``FOR UPDATE SKIP LOCKED``, so several threads and several
``manage.py dialer`` processes never take the same job and never wait on each other. A
taken job holds a lease; a dialer killed mid-job leaves it to be taken again when the
lease ends: an attempt its last holder claimed and never placed is placed then (the
services claim conditionally, so a job run twice otherwise changes nothing).

On PostgreSQL the writers ``NOTIFY talk_dial`` inside their transaction and the dialer
wakes on commit; without it (SQLite, the embedded demo) it looks every quarter second.
Between jobs it sleeps until the earliest ``run_at`` (a retry's time) or a notification.
The router never waits on a provider call, and a provider call never waits on routing.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import close_old_connections, connection, connections, transaction
from django.db.models import Min, Q
from django.utils import timezone

from supportcenter.db import listen
from talk.enqueue import DIALER_CHANNEL
from talk.models import ProviderJob
from talk.services.callback_calls import callback_attempt_place, live_call_connect
from talk.services.recordings import recording_fetch

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # above the provider client's time-out: a live dialer finishes first
FAILURE_DELAYS = (5, 30, 120, 600)  # seconds before running a job again after it raised; then it is dropped
LISTEN_POLL_SECONDS = 5.0  # the longest sleep when notifications wake it (a safety net)
POLL_SECONDS = 0.25  # without notifications (SQLite)
ERROR_PAUSE_SECONDS = 1.0  # after a database error (a restart): back within seconds, no busy loop


def _place_attempt(object_id: int, now: datetime, retaken: bool) -> datetime | None:
    return callback_attempt_place(attempt_id=object_id, now=now, retaken=retaken)


def _connect_live_call(object_id: int, now: datetime, retaken: bool) -> datetime | None:
    live_call_connect(offer_id=object_id)
    return None


def _fetch_recording(object_id: int, now: datetime, retaken: bool) -> datetime | None:
    return recording_fetch(recording_id=object_id, now=now)


# (object id, now, retaken: a dialer held it before and its lease ended) -> when to run again, or None.
RUNNERS: dict[str, Callable[[int, datetime, bool], datetime | None]] = {
    ProviderJob.Kind.PLACE_ATTEMPT: _place_attempt,
    ProviderJob.Kind.CONNECT_LIVE_CALL: _connect_live_call,
    ProviderJob.Kind.FETCH_RECORDING: _fetch_recording,
}


def _free(now: datetime) -> Q:
    return Q(taken_until__isnull=True) | Q(taken_until__lt=now)


def job_take(now: datetime, *, job_id: int | None = None) -> ProviderJob | None:
    """The oldest due job nobody holds, leased to the caller (or that one job, if due and free)."""
    with transaction.atomic():
        jobs = ProviderJob.objects.select_for_update(skip_locked=True).filter(_free(now), run_at__lte=now)
        if job_id is not None:
            jobs = jobs.filter(pk=job_id)
        job = jobs.order_by("run_at", "id").first()
        if job is not None:
            job.retaken = job.taken_until is not None  # its last holder stopped mid-job
            ProviderJob.objects.filter(pk=job.pk).update(taken_until=now + LEASE)
    return job


def job_run(job: ProviderJob, now: datetime) -> None:
    """Run a taken job; delete it when done, or put it back for its next time."""
    try:
        again = RUNNERS[job.kind](job.object_id, now, job.retaken)
    except Exception:  # a bug or the database: the job stays, tried again later, then dropped
        failures = job.failures + 1
        if failures > len(FAILURE_DELAYS):
            logger.exception("provider job %s (%s) failed %d times; dropped", job.pk, job, failures)
            ProviderJob.objects.filter(pk=job.pk).delete()
        else:
            logger.exception("provider job %s (%s) failed; trying again", job.pk, job)
            ProviderJob.objects.filter(pk=job.pk).update(
                failures=failures, taken_until=None,
                run_at=timezone.now() + timedelta(seconds=FAILURE_DELAYS[failures - 1]),
            )
        return
    if again is None:
        ProviderJob.objects.filter(pk=job.pk).delete()
    else:
        ProviderJob.objects.filter(pk=job.pk).update(run_at=again, taken_until=None)


def job_run_now(job_id: int) -> None:
    """One job, in this process, if it is due (``TASKS_SYNC``: tests and scripts)."""
    now = timezone.now()
    job = job_take(now, job_id=job_id)
    if job is not None:
        job_run(job, now)


def jobs_run_due(now: datetime | None = None, *, limit: int = 1000) -> int:
    """Every job due at ``now``, in order, in this process; how many ran."""
    ran = 0
    while ran < limit:
        at = now or timezone.now()
        job = job_take(at)
        if job is None:
            break
        job_run(job, at)
        ran += 1
    return ran


def next_run_at(now: datetime) -> datetime | None:
    """When the earliest job nobody holds becomes due (a held one: when its lease ends)."""
    free = ProviderJob.objects.filter(_free(now)).aggregate(at=Min("run_at"))["at"]
    held = ProviderJob.objects.filter(taken_until__gte=now).aggregate(at=Min("taken_until"))["at"]
    times = [t for t in (free, held) if t is not None]
    return min(times) if times else None


class Dialer:
    """Threads taking jobs, woken by ``NOTIFY talk_dial`` (PostgreSQL) or by polling."""

    def __init__(self, *, threads: int = 4, alias: str = "default") -> None:
        self.threads = threads
        self.alias = alias
        self.stop = threading.Event()
        self._wake = threading.Condition()
        self._generation = 0  # bumped by each notification: a worker that saw none may sleep
        self.listening = threading.Event()  # set once notifications can wake it

    def run(self) -> None:
        listens = connections[self.alias].vendor == "postgresql"
        workers = [threading.Thread(target=self._work, args=(listens,), name=f"dialer-{n}") for n in range(self.threads)]
        if listens:
            workers.append(threading.Thread(target=self._listen, name="dialer-listen"))
        for worker in workers:
            worker.start()
        try:
            while any(worker.is_alive() for worker in workers):
                for worker in workers:
                    worker.join(timeout=0.5)
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        self.stop.set()
        self._poke()

    def _poke(self) -> None:
        with self._wake:
            self._generation += 1
            self._wake.notify_all()

    def _work(self, listens: bool) -> None:
        poll = LISTEN_POLL_SECONDS if listens else POLL_SECONDS
        try:
            while not self.stop.is_set():
                with self._wake:
                    generation = self._generation
                try:
                    close_old_connections()
                    now = timezone.now()
                    job = job_take(now)
                    if job is not None:
                        job_run(job, now)
                        continue
                    due = next_run_at(now)
                except Exception:  # the database went away: pause, reconnect, go on
                    logger.exception("dialer: taking a job failed")
                    connection.close()
                    self.stop.wait(ERROR_PAUSE_SECONDS)
                    continue
                wait = poll if due is None else min(poll, max(0.0, (due - now).total_seconds()) + 0.005)
                with self._wake:
                    if self._generation == generation and not self.stop.is_set():
                        self._wake.wait(wait)
        finally:
            connection.close()

    def _listen(self) -> None:
        while not self.stop.is_set():
            listener = None
            try:
                listener = listen(DIALER_CHANNEL, alias=self.alias)
                self._poke()  # anything notified while nobody listened is looked at now
                self.listening.set()
                while not self.stop.is_set():
                    heard = any(True for _ in listener.notifies(timeout=0.5, stop_after=1))
                    if heard:
                        for _ in listener.notifies(timeout=0):
                            pass
                        self._poke()
            except Exception:
                logger.exception("dialer: listening failed; listening again")
                time.sleep(ERROR_PAUSE_SECONDS)
            finally:
                if listener is not None:
                    listener.close()
