"""The router process: routing woken by events, never by polling (SPEC O4; DESIGN flows 3, 5).

A write that may change who should be offered what sends ``NOTIFY talk_route, '<account id>'``
inside its own transaction (``talk.enqueue.wake_router``): PostgreSQL delivers it on commit,
never for a rolled-back change, and once however often one transaction sent it. The router
LISTENs, runs one routing pass for each account it was told of, and otherwise sleeps until
the earliest deadline: an offer's time-out or a request's expiry. Provider calls are the
dialer's (talk.dialer), never the router's. It also reconciles busy agents every few
seconds (R1).

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
from datetime import datetime

from django.db import close_old_connections, connection
from django.db.models import Min
from django.utils import timezone
from django_scopes import scopes_disabled

from supportcenter.db import listen
from supportcenter.realtime import account_group, push_now
from talk import routing, tasks
from talk.enqueue import ROUTER_CHANNEL
from talk.models import CallbackRequest, Offer
from talk.selectors.routing import supervision_due_accounts, supervision_next_time
from talk.services.reconcile import agents_reconcile

logger = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 5.0  # the busy reconciliation's period; also the longest sleep
PUSH_INTERVAL_SECONDS = 1.0  # at most one "queue.changed" a second to an account's consoles
ERROR_PAUSE_SECONDS = 1.0  # after losing the database: back within seconds, no busy loop


def next_deadline() -> datetime | None:
    """The earliest time a pass must run without being told, across accounts."""
    with scopes_disabled():  # the router serves every account, by design
        times = [
            Offer.objects.filter(state=Offer.State.OFFERED).aggregate(at=Min("expires_at"))["at"],
            CallbackRequest.objects.filter(state=CallbackRequest.State.PENDING).aggregate(at=Min("expires_at"))["at"],
        ]
    # R15, R16: a scheduled callback falling due, an assignee's turn ending.
    times.append(supervision_next_time(timezone.now()))
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


class QueuePushes:
    """"queue.changed" to an account's consoles after its passes, coalesced: the first at
    once, then at most one per ``interval``, and always one after the last pass (so the
    consoles end on the queue as it is). A console reloads the queue on it: a frame per
    pass would be hundreds a minute to every agent of a busy account (issue 11)."""

    def __init__(self, interval: float = PUSH_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self.last: dict[int, float] = {}
        self.pending: set[int] = set()

    def want(self, account_id: int) -> None:
        self.pending.add(account_id)

    def flush(self, now: float) -> None:
        for account_id in [a for a in self.pending if now - self.last.get(a, -self.interval) >= self.interval]:
            self.pending.discard(account_id)
            self.last[account_id] = now
            try:
                push_now(account_group(account_id), "queue.changed", {})
            except Exception:  # the channel layer is down: consoles reload when they reconnect
                logger.exception("pushing queue.changed to account %s failed", account_id)
        if len(self.last) > 10_000:  # forget quiet accounts
            self.last = {a: t for a, t in self.last.items() if now - t < self.interval}

    def next_at(self) -> float | None:
        """When (``time.monotonic``) the next coalesced push is due, if one is pending."""
        if not self.pending:
            return None
        return min(self.last.get(a, -self.interval) + self.interval for a in self.pending)


class Router:
    def __init__(self, *, alias: str = "default", housekeeping_seconds: float = HOUSEKEEPING_SECONDS) -> None:
        self.alias = alias
        self.housekeeping_seconds = housekeeping_seconds
        self.pushes = QueuePushes()

    def _listen(self):
        return listen(ROUTER_CHANNEL, alias=self.alias)

    def route(self, account_ids: set[int]) -> None:
        for account_id in account_ids:
            try:
                tasks.route(account_id, push=False)  # the woken pass; offers reach their agents at once
                self.pushes.want(account_id)
            except Exception:  # one account's failure must not stop the others
                logger.exception("routing account %s failed", account_id)

    def run(self, stop: threading.Event | None = None) -> None:
        """Serve until ``stop``; after losing the database (a restart), start again: listen
        anew and route every account with work first, so nothing notified meanwhile waits."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self._serve(stop)
            except Exception:
                logger.exception("router: serving failed; starting again")
                connection.close()
                stop.wait(ERROR_PAUSE_SECONDS)

    def _serve(self, stop: threading.Event) -> None:
        listener = self._listen()
        try:
            woken = {account.pk for account in routing.accounts_with_work()}  # catch up first
            housekeeping_at = 0.0
            checked_at = timezone.now()  # supervision times passed since are routed (R15, R16)
            while not stop.is_set():
                close_old_connections()
                if woken:
                    self.route(woken)
                    woken = set()
                if time.monotonic() >= housekeeping_at:
                    self._housekeeping()
                    housekeeping_at = time.monotonic() + self.housekeeping_seconds
                now = timezone.now()
                woken |= supervision_due_accounts(checked_at, now)
                checked_at = now
                deadline = next_deadline()
                wait = self.housekeeping_seconds
                if deadline is not None and deadline <= now:
                    woken |= due_accounts(now)
                    # Routed after a 20 ms breath: a deadline still due after that (another
                    # router holds the account, a pass failed) is no busy loop.
                    wait = 0.02
                elif deadline is not None:
                    wait = min(wait, (deadline - now).total_seconds() + 0.005)  # wake at the deadline itself
                if woken:
                    wait = min(wait, 0.02)  # a supervision time just passed: route it now
                self.pushes.flush(time.monotonic())
                push_at = self.pushes.next_at()
                if push_at is not None:
                    wait = min(wait, max(0.0, push_at - time.monotonic()))
                woken |= self._wait(listener, wait)
        finally:
            listener.close()

    def _housekeeping(self) -> None:
        agents_reconcile()

    def _wait(self, listener, seconds: float) -> set[int]:
        """Sleep until a notification or ``seconds``; then take every notification waiting."""
        woken: set[int] = set()
        for notify in listener.notifies(timeout=seconds, stop_after=1):
            woken.add(int(notify.payload))
        for notify in listener.notifies(timeout=0):
            woken.add(int(notify.payload))
        return woken
