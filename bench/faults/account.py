"""The fault drills' scratch account ``bench-faults`` (bench/faults/common.py): made by the
webhook bench's ``scratch()``, its agents and their status, a clean slate before each drill,
callback requests made through the product's service, and what the database holds of them.

Django and the product are imported inside the functions: they need ``django.setup()``,
which ``environment()`` (bench/faults/common.py) runs on the private services.
"""
from __future__ import annotations

import random
import time

from bench import webhook_setup

SUBDOMAIN = "bench-faults"
HOST = f"{SUBDOMAIN}.{webhook_setup.BASE_DOMAIN}"  # the account's own host (sockets, console)


# --- the database (this process) -------------------------------------------------------
def db_retry(function, *, until: float, pause: float = 0.1):
    """``function()``, run again after a database error (a restart) until ``until`` (monotonic)."""
    from django.db import DatabaseError, InterfaceError, connection

    while True:
        try:
            return function()
        except (DatabaseError, InterfaceError):
            connection.close()
            if time.monotonic() >= until:
                raise
            time.sleep(pause)


# --- the scratch account ------------------------------------------------------------------
def scratch():
    """The ``bench-faults`` account (bench/webhook_setup.py's scratch: Twilio settings, a line, an agent)."""
    from django_scopes import scopes_disabled

    from talk.models import Line

    webhook_setup.SUBDOMAIN = SUBDOMAIN  # the webhook bench's scratch() makes the account of this name
    s = webhook_setup.scratch()
    with scopes_disabled():
        Line.objects.filter(pk=s.line.pk).update(callback_offer_seconds=600, callback_expiry_minutes=600,
                                                 callback_retry_attempts=0, enabled=True)
        s.line.refresh_from_db()
    return s


def agents(s, n: int):
    """``n`` agents of the account (members), all offline and free for now."""
    from django_scopes import scope, scopes_disabled

    from supportcenter import services as core
    from supportcenter.models import User
    from talk.models import AgentPresence

    users = []
    for i in range(n):
        email = f"agent{i}@{SUBDOMAIN}.test"
        with scopes_disabled():
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email, "bench-password-1", name=f"Faults agent {i}")
        with scope(account=s.account):
            core.membership_grant(account=s.account, user=user, role="agent")
            AgentPresence.objects.get_or_create(account=s.account, user=user)
        users.append(user)
    return users


def webhook_agent(s):
    from supportcenter.models import User

    return User.objects.get(email="agent@bench-webhooks.test")


def set_status(s, users, status: str) -> None:
    """Through the product's service: the console's availability switch."""
    from django.db import transaction
    from django_scopes import scope

    from talk.services.agents import agent_status_set

    with scope(account=s.account):
        for user in users:
            with transaction.atomic():
                agent_status_set(account=s.account, user=user, status=status, actor=user)


def reset(s) -> None:
    """Nothing of an earlier drill left: every agent offline and free, no call, entry, request, offer, job."""
    from django_scopes import scopes_disabled

    from talk.models import AgentPresence, ProviderJob

    with scopes_disabled():
        AgentPresence.objects.filter(account=s.account).update(
            status="offline", busy=False, busy_since=None, busy_call=None, busy_attempt=None, last_offered_at=None)
        ProviderJob.objects.filter(account=s.account).delete()
    webhook_setup.empty(s.account)


_number = [random.randrange(0, 7_000_000)]


def callback_requests(s, n: int) -> list[int]:
    """``n`` pending callback requests, made through the product's service (the API's path)."""
    from django_scopes import scope

    from talk.services.callback_requests import callback_request_create

    ids = []
    with scope(account=s.account):
        for _ in range(n):
            _number[0] += 1
            ids.append(callback_request_create(line=s.line, number=f"+1628{2_000_000 + _number[0] % 8_000_000:07d}").pk)
    return ids


# --- what the database holds of the requests ------------------------------------------
def confirmed_for(s, sids: list[str]) -> dict[str, int]:
    """Confirmed callback requests per CallSid (a call has at most one; counted anyway)."""
    from django.db.models import Count
    from django_scopes import scopes_disabled

    from talk.models import CallbackRequest

    with scopes_disabled():
        rows = (CallbackRequest.objects.filter(account=s.account, confirmed=True, call__provider_call_sid__in=sids)
                .values("call__provider_call_sid").annotate(n=Count("id")))
        return {row["call__provider_call_sid"]: row["n"] for row in rows}


def duplicate_numbers(s) -> int:
    """Numbers with more than one callback request (two requests for one caller)."""
    from django.db.models import Count
    from django_scopes import scopes_disabled

    from talk.models import CallbackRequest

    with scopes_disabled():
        return sum(row["n"] - 1 for row in CallbackRequest.objects.filter(account=s.account)
                   .values("number").annotate(n=Count("id")).filter(n__gt=1))
