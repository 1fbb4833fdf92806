"""django-q2 tasks of Talk: they take ids and call services (DESIGN). Enqueue them
through talk.enqueue, never directly.

The router is woken after each commit that may change who should be offered
what; ``sweep`` runs the same pass every couple of seconds for every account
with work, so a lost wake-up, an offer's deadline or a request's expiry is
late by seconds, never minutes (R9), and frees agents a lost provider event left
busy (R1). django-q2 schedules by the minute at best, so the scheduled ``sweep``
loops for most of a minute (one worker's job).
"""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import close_old_connections
from django_scopes import scope

from supportcenter.models import Account
from supportcenter.realtime import account_group, push_now
from talk import routing
from talk.services.housekeeping import webhook_receipts_purge
from talk.services.recordings import recordings_purge
from talk.services.reconcile import agents_reconcile

logger = logging.getLogger(__name__)

SWEEP_PERIOD_SECONDS = 2.0
SWEEP_RUN_SECONDS = 50.0  # below the cluster's timeout (60 s); the next run starts within the minute


def route(account_id: int, *, push: bool = True) -> int:
    """A woken pass: the queue changed, so the consoles and dashboards hear of it too (once:
    a pass that made offers has said so itself). ``push=False``: the caller tells them (the
    router, coalescing)."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return 0
    with scope(account=account):
        made = len(routing.route_account(account, push=push))
    if push and not made:
        push_now(account_group(account_id), "queue.changed", {})
    return made


def sweep_once() -> int:
    offers = 0
    for account in routing.accounts_with_work():
        with scope(account=account):
            offers += len(routing.route_account(account))
    agents_reconcile()
    return offers


def sweep(run_seconds: float = SWEEP_RUN_SECONDS) -> None:
    """The periodic safety net: a routing pass for every account with work, repeatedly.

    Not with routers (``settings.ROUTE_NOTIFY``): they route on events and deadlines,
    and reconcile agents themselves (talk.router).
    """
    if settings.ROUTE_NOTIFY:
        return
    deadline = time.monotonic() + run_seconds
    while True:
        close_old_connections()
        try:
            sweep_once()
        except Exception:  # one bad pass must not stop the next
            logger.exception("sweep pass failed")
        if time.monotonic() + SWEEP_PERIOD_SECONDS >= deadline:
            return
        time.sleep(SWEEP_PERIOD_SECONDS)


def purge_webhook_receipts() -> int:
    """Hourly (scheduled by a migration): stored webhook answers older than a day go."""
    return webhook_receipts_purge()


def purge_recordings() -> int:
    """Hourly (scheduled by a migration): callers' recordings past their account's retention go (C14)."""
    return recordings_purge()
