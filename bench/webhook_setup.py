"""The webhook bench's servers and scratch account (bench/webhooks.py): the production settings
with bench-only secrets that every server runs with (set in this process too when imported: it
encrypts the auth token with the same key), the server commands, and the scratch account with
its line, its agent and its calls.

``scratch()`` reads ``SUBDOMAIN`` when called: bench/memory.py and the fault drills set it to
their own account's. The product is imported inside the functions, after ``django_ready()``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import django

from bench.common import BENCH_DATABASE, BENCH_REDIS

ROOT = Path(__file__).resolve().parent.parent

SUBDOMAIN = "bench-webhooks"
BASE_DOMAIN = "bench-webhooks.test"  # webhooks go to the bare base domain (SPEC T5)
PUBLIC_BASE_URL = f"https://{BASE_DOMAIN}"
TWILIO_SID = "AC" + "b3" * 16
AUTH_TOKEN = "5eb1c0de" * 4  # bench-only, 32 hex characters
BIN = Path(sys.executable).parent

# The servers' environment: production settings, bench-only secrets (nothing real).
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
    "DATABASE_URL": BENCH_DATABASE,
    "REDIS_URL": BENCH_REDIS,
    "SC_ROUTE_NOTIFY": "true",
    "SC_ENV": "production",
    "SC_SECRET_KEY": "bench-only-secret-key-not-for-production-" + "0123456789abcdef" * 2,
    "SC_BASE_DOMAIN": BASE_DOMAIN,
    "SC_FIELD_ENCRYPTION_KEY": "bench-only-field-encryption-key-0123456789abcdef",
    "SC_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    "PYTHONPATH": str(ROOT),
    "PYTHONUNBUFFERED": "1",
}
for _key, _value in SERVER_ENV.items():  # this process encrypts the auth token with the same key
    os.environ[_key] = _value
os.environ.pop("SC_DB_CONN_MAX_AGE", None)  # set per run by --conn-max-age, for the servers only

SERVER_COMMANDS = {
    "daphne": lambda port: [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "supportcenter.asgi:application"],
    "uvicorn": lambda port: [str(BIN / "gunicorn"), "-k", "uvicorn.workers.UvicornWorker", "-w", "2",
                             "-b", f"127.0.0.1:{port}", "supportcenter.asgi:application"],
    "gunicorn": lambda port: [str(BIN / "gunicorn"), "-w", "2", "--threads", "4",
                              "-b", f"127.0.0.1:{port}", "supportcenter.wsgi:application"],
}
SERVER_LABELS = {
    "daphne": "daphne, 1 process",
    "uvicorn": "gunicorn + uvicorn workers ×2",
    "gunicorn": "gunicorn sync WSGI ×2, 4 threads",
}


# --- Django, the scratch account --------------------------------------------------
def createdb() -> None:
    result = subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "sc_bench"],
                            capture_output=True, text=True)
    if result.returncode != 0 and "already exists" not in result.stderr:
        sys.exit(f"createdb failed: {result.stderr.strip()}")


_django_ready = False


def django_ready() -> None:
    global _django_ready
    if _django_ready:
        return
    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    _django_ready = True


@dataclass
class Scratch:
    account: object
    line: object
    token: str
    key: str  # the line's callback key


def scratch() -> Scratch:
    from django_scopes import scope, scopes_disabled

    from supportcenter import services as core
    from supportcenter.models import Account, User
    from talk.models import AgentPresence, Line
    from talk.services.lines import line_create
    from talk.services.telephony import telephony_settings_update

    with scopes_disabled():
        account = Account.objects.filter(subdomain=SUBDOMAIN).first() or Account.objects.create(
            subdomain=SUBDOMAIN, name="Bench webhooks", time_zone="UTC", region="US"
        )
        user = User.objects.filter(email="agent@bench-webhooks.test").first() or User.objects.create_user(
            "agent@bench-webhooks.test", "bench-password-1", name="Bench agent"
        )
    with scope(account=account):
        core.membership_grant(account=account, user=user, role="agent")
        # The token is re-encrypted every run: the servers decrypt it with this run's key.
        telephony_settings_update(account=account, actor=None, provider="twilio",
                                  twilio_account_sid=TWILIO_SID, twilio_auth_token=AUTH_TOKEN)
        line = Line.objects.filter(account=account).first() or line_create(
            account=account, actor=None, name="Bench line", kind="phone", number="+14155550142", callback_enabled=True
        )
        # C2: callback is available only while an agent is online or away. No router runs,
        # so nothing is ever offered to this agent.
        AgentPresence.objects.update_or_create(account=account, user=user, defaults={"status": "online", "busy": False})
    return Scratch(account=account, line=line, token=line.webhook_token, key=line.callback_key)


def empty(account) -> None:
    """Delete the scratch account's calls and everything they made (bounded scratch data)."""
    from django.db import connection

    from supportcenter.models import AuditEntry
    from talk.models import Call, CallbackAttempt, CallbackRequest, Offer, QueueEntry, WebhookReceipt

    from django.db import IntegrityError, OperationalError, transaction

    for attempt in range(40):  # a request the client gave up on may still be writing: let it finish
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for model in (Offer, CallbackAttempt, CallbackRequest, QueueEntry, Call, WebhookReceipt, AuditEntry):
                    cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE account_id = %s', [account.pk])
            return
        except (IntegrityError, OperationalError):  # OperationalError: a deadlock with a late request
            time.sleep(0.5)
    raise RuntimeError("could not empty the scratch account: the server is still writing")


def connections_opened(conn_dir: Path) -> int:
    """Database connections the server's processes have opened (bench_settings counts them)."""
    return sum(path.stat().st_size for path in conn_dir.iterdir())
