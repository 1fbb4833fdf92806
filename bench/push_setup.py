"""The pushes bench's environment and scratch account (bench/pushes.py): the production
settings its processes run with, the ``bench-pushes`` account with its agents and their
sessions, the callback requests the load commits, and the run's rows in the database.

Django and the product are imported inside the functions: they need django_setup(), which
bench/pushes.py runs once it has set the environment.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta

import redis

from bench.common import BENCH_DATABASE, BENCH_REDIS

SUBDOMAIN = "bench-pushes"

# Production settings with bench-only values (never real secrets).
BENCH_ENV = {
    "SC_ENV": "production",
    "SC_SECRET_KEY": "bench-pushes-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    "SC_FIELD_ENCRYPTION_KEY": "bench-pushes-only-field-key-0123456789abcdef",
    "SC_BASE_DOMAIN": "localhost",
    "SC_ROUTE_NOTIFY": "true",
    "PYTHONUNBUFFERED": "1",
}


def bench_env() -> dict[str, str]:
    os.environ.setdefault("DATABASE_URL", BENCH_DATABASE)
    os.environ.setdefault("REDIS_URL", BENCH_REDIS)
    return {**BENCH_ENV, "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}


# --- scratch account --------------------------------------------------------------------
def ensure_database() -> None:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1].split("?")[0]
    result = subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, text=True, check=False)
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise RuntimeError(f"createdb {name}: {result.stderr.strip()}")


def setup(n_agents: int):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils import timezone
    from django_scopes import scope, scopes_disabled

    from supportcenter import services as core
    from supportcenter.models import Account, Membership, User
    from talk.models import AgentPresence, Line
    from talk.services.lines import line_create
    from talk.services.telephony import telephony_settings_ensure

    call_command("migrate", interactive=False, verbosity=0)
    with scopes_disabled():
        account = Account.objects.filter(subdomain=SUBDOMAIN).first() or Account.objects.create(
            subdomain=SUBDOMAIN, name="Bench pushes", time_zone="UTC", region="US"
        )
        emails = [f"agent{i:04d}@bench-pushes.test" for i in range(n_agents)]
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        fresh = []
        for i, email in enumerate(emails):
            if email not in existing:
                user = User(email=email, name=f"Bench agent {i}")
                user.set_unusable_password()  # no login: sessions are made directly below
                fresh.append(user)
        User.objects.bulk_create(fresh)
        users = sorted(User.objects.filter(email__in=emails), key=lambda u: u.email)
    with scope(account=account):
        members = set(Membership.objects.filter(account=account, is_active=True, role="agent")
                      .values_list("user_id", flat=True))
        for user in users:
            if user.pk not in members:
                core.membership_grant(account=account, user=user, role="agent")
        telephony_settings_ensure(account=account)
        line = Line.objects.filter(account=account).first() or line_create(
            account=account, actor=None, name="Bench line", kind="phone", number="+14155550100", callback_enabled=True
        )
        Line.objects.filter(pk=line.pk).update(  # the product's default offer time
            callback_offer_seconds=Line._meta.get_field("callback_offer_seconds").default, enabled=True
        )
        line.refresh_from_db()
        empty(account)
        # Only this run's agents are online (a previous, larger run's stay offline).
        AgentPresence.objects.filter(account=account).update(status="offline", busy=False)
        ids = [u.pk for u in users]
        have = set(AgentPresence.objects.filter(account=account, user_id__in=ids).values_list("user_id", flat=True))
        AgentPresence.objects.bulk_create(
            [AgentPresence(account=account, user_id=pk) for pk in ids if pk not in have]
        )
        AgentPresence.objects.filter(account=account, user_id__in=ids).update(
            status="online", busy=False, busy_since=None, busy_call=None, busy_attempt=None, last_offered_at=None
        )
    sessions, cookies = [], {}
    for user in users:
        store = SessionStore()
        key = store._get_new_session_key()
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash()}
        sessions.append(Session(session_key=key, session_data=store.encode(data),
                                expire_date=timezone.now() + timedelta(hours=2)))
        csrf = secrets.token_hex(16)  # a 32-character CSRF secret, sent back as X-CSRFToken
        cookies[user.pk] = (f"sessionid={key}; csrftoken={csrf}", csrf)
    Session.objects.bulk_create(sessions)
    return account, line, [u.pk for u in users], cookies, [s.session_key for s in sessions]


def empty(account) -> None:
    """Remove the run's rows (offers, attempts, requests, entries, jobs, tickets); best effort for the last."""
    from django.apps import apps
    from django_scopes import scopes_disabled

    from talk.models import (
        AgentPresence,
        CallbackAttempt,
        CallbackRequest,
        Offer,
        QueueEntry,
    )

    with scopes_disabled():
        AgentPresence.objects.filter(account=account).update(busy=False, busy_since=None, busy_call=None,
                                                             busy_attempt=None)
        Offer.objects.filter(account=account).delete()
        CallbackAttempt.objects.filter(account=account).delete()
        ticket_ids = list(CallbackRequest.objects.filter(account=account, ticket__isnull=False)
                          .values_list("ticket_id", flat=True))
        CallbackRequest.objects.filter(account=account).delete()
        QueueEntry.objects.filter(account=account).delete()
        try:
            apps.get_model("talk", "ProviderJob").objects.filter(account=account).delete()
        except LookupError:
            pass
        try:
            apps.get_model("tickets", "Ticket").objects.filter(account=account, pk__in=ticket_ids).delete()
        except Exception as error:  # noqa: BLE001 -- tickets are only clutter here
            print(f"bench/pushes.py: tickets kept ({error})", file=sys.stderr)


def forget_groups(account) -> None:
    """Drop the channel layer's groups of the scratch account: channels of sockets that died without
    leaving them (a killed process, a crashed consumer) would fill to capacity and count as drops."""
    from django.conf import settings

    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    client = redis.Redis.from_url(config["hosts"][0])
    try:
        pattern = f"{config.get('prefix', 'asgi')}:group:account.{account.pk}*"
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def create_requests(line, count: int, seconds: float, commits: dict[int, float]) -> None:
    """Commit ``count`` callback requests evenly over ``seconds``, stamping each commit."""
    from django.db import connection
    from django_scopes import scope

    from talk.services.callback_requests import callback_request_create

    try:
        with scope(account=line.account):
            started = time.monotonic()
            for i in range(count):
                delay = started + i * seconds / count - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                request = callback_request_create(line=line, number=f"+1415556{i:04d}")
                commits[request.pk] = time.monotonic()
    finally:
        connection.close()


def open_work(account) -> int:
    from django.db import connection
    from django_scopes import scopes_disabled

    from talk.models import Offer, QueueEntry

    try:
        with scopes_disabled():
            return (Offer.objects.filter(account=account, state="offered").count()
                    + QueueEntry.objects.filter(account=account, state="waiting").count())
    finally:
        connection.close()


def run_offers(account) -> list[tuple[int, int, int | None, str]]:
    """(offer id, agent id, callback request id, state) of every offer of the run."""
    from django.db import connection
    from django_scopes import scopes_disabled

    from talk.models import Offer

    try:
        with scopes_disabled():
            return list(Offer.objects.filter(account=account).order_by("pk")
                        .values_list("pk", "agent_id", "entry__callback_request__pk", "state"))
    finally:
        connection.close()
