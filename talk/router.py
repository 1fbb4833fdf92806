"""The router process: routing woken by events, never by polling (SPEC O4; DESIGN flows 3, 5).

A write that may change who should be offered what sends ``NOTIFY talk_route, '<account id>'``
inside its own transaction (``talk.enqueue.wake_router``): PostgreSQL delivers it on commit,
never for a rolled-back change, and once however often one transaction sent it. The router
LISTENs, runs one routing pass for each account it was told of, and otherwise sleeps until
the earliest deadline: an offer's time-out, a request's expiry, a callback attempt's time.
Due attempts go to the task queue (the provider-call path); it also reconciles busy agents
every few seconds (R1).

Several routers may run: every one hears every notification. The routing lock lets one
pass per account run at a time and the others skip it; the one routing it heard the same
notification, so a change committed during its pass is routed by its next one: no wake-up
is lost. A router that (re)connects routes every account with work first, so nothing
notified while no router listened waits for long.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection
from datetime import datetime

from django.db import close_old_connections, connections
from django.db.models import Min
from django.utils import timezone
from django_scopes import scopes_disabled

from talk import routing, tasks
from talk.enqueue import ROUTER_CHANNEL
from talk.models import CallbackAttempt, CallbackRequest, Offer
from talk.services.callback_calls import due_attempts_start
from talk.services.reconcile import agents_reconcile

logger = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 5.0  # the busy reconciliation's period; also the longest sleep
RESEND_SECONDS = 90.0  # an attempt sent to the task queue and still unclaimed after this is sent again


def next_deadline(*, sent_attempts: Collection[int] = ()) -> datetime | None:
    """The earliest time a pass (or a due attempt) must run without being told, across accounts."""
    with scopes_disabled():  # the router serves every account, by design
        times = [
            Offer.objects.filter(state=Offer.State.OFFERED).aggregate(at=Min("expires_at"))["at"],
            CallbackRequest.objects.filter(state=CallbackRequest.State.PENDING).aggregate(at=Min("expires_at"))["at"],
            CallbackAttempt.objects.filter(status=CallbackAttempt.Status.QUEUED).exclude(pk__in=list(sent_attempts))
            .aggregate(at=Min("scheduled_for"))["at"],
        ]
    times = [t for t in times if t is not None]
    return min(times) if times else None


def due_accounts(now: datetime) -> set[int]:
    """Accounts with an offer to time out or a request to expire."""
    with scopes_disabled():
        ids = set(Offer.objects.filter(state=Offer.State.OFFERED, expires_at__lte=now).values_list("account_id", flat=True))
        ids |= set(
            CallbackRequest.objects.filter(state=CallbackRequest.State.PENDING, expires_at__lte=now)
            .values_list("account_id", flat=True)
        )
    return ids


class Router:
    def __init__(self, *, alias: str = "default", housekeeping_seconds: float = HOUSEKEEPING_SECONDS) -> None:
        self.alias = alias
        self.housekeeping_seconds = housekeeping_seconds
        self.sent_attempts: dict[int, float] = {}  # attempt id -> when it was sent to the task queue

    def _listen(self):
        """A connection of its own in autocommit, listening (LISTEN lasts as long as it does)."""
        wrapper = connections.create_connection(self.alias)
        wrapper.ensure_connection()
        wrapper.connection.autocommit = True
        wrapper.connection.execute(f"LISTEN {ROUTER_CHANNEL}")
        return wrapper

    def route(self, account_ids: set[int]) -> None:
        for account_id in account_ids:
            try:
                tasks.route(account_id)  # the same pass (and queue.changed push) a woken task runs
            except Exception:  # one account's failure must not stop the others
                logger.exception("routing account %s failed", account_id)

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        listener = self._listen()
        try:
            woken = {account.pk for account in routing.accounts_with_work()}  # catch up first
            housekeeping_at = 0.0
            while not stop.is_set():
                close_old_connections()
                if woken:
                    self.route(woken)
                    woken = set()
                if time.monotonic() >= housekeeping_at:
                    self._housekeeping()
                    housekeeping_at = time.monotonic() + self.housekeeping_seconds
                now = timezone.now()
                deadline = next_deadline(sent_attempts=self.sent_attempts)
                wait = self.housekeeping_seconds
                if deadline is not None and deadline <= now:
                    woken = due_accounts(now)
                    for attempt_id in due_attempts_start(now, exclude=self.sent_attempts):
                        self.sent_attempts[attempt_id] = time.monotonic()
                    # Routed after a 20 ms breath: a deadline still due after that (another
                    # router holds the account, a pass failed) is no busy loop.
                    wait = 0.02
                elif deadline is not None:
                    wait = min(wait, (deadline - now).total_seconds() + 0.005)  # wake at the deadline itself
                woken |= self._wait(listener, wait)
        finally:
            listener.close()

    def _housekeeping(self) -> None:
        agents_reconcile()
        stale = time.monotonic() - RESEND_SECONDS
        self.sent_attempts = {pk: at for pk, at in self.sent_attempts.items() if at > stale}

    def _wait(self, listener, seconds: float) -> set[int]:
        """Sleep until a notification or ``seconds``; then take every notification waiting."""
        woken: set[int] = set()
        for notify in listener.connection.notifies(timeout=seconds, stop_after=1):
            woken.add(int(notify.payload))
        for notify in listener.connection.notifies(timeout=0):
            woken.add(int(notify.payload))
        return woken
