"""The fixed cast (DESIGN.md): account acme (alice admin, bob and dave agents) and
account globex (charlie admin), plus clients for pages and the API."""
from __future__ import annotations

import base64
import os
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django_scopes import scope, scopes_disabled

from supportcenter import services
from supportcenter.models import Account, Membership, User

PASSWORD = "correct-horse-battery-9"


# --- Backends: CI must run on PostgreSQL + Redis, never silently on less ----------
def _backends() -> tuple[str, str]:
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return database, layer


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def pytest_report_header(config) -> list[str]:
    database, layer = _backends()
    return [f"support center backends: database={database}, channel layer={layer}"]


def pytest_sessionstart(session) -> None:
    if os.environ.get("CI", "").lower() != "true":
        return
    database, layer = _backends()
    problems = []
    if database != "postgresql":
        problems.append("CI=true but the database is %s: set DATABASE_URL to PostgreSQL" % database)
    elif not _reachable(settings.DATABASE_URL, 5432):
        problems.append("CI=true but PostgreSQL at DATABASE_URL is unreachable")
    if layer != "RedisChannelLayer":
        problems.append("CI=true but the channel layer is %s: set REDIS_URL" % layer)
    elif not _reachable(settings.REDIS_URL, 6379):
        problems.append("CI=true but Redis at REDIS_URL is unreachable")
    if problems:
        pytest.exit("; ".join(problems), returncode=3)


@pytest.fixture(scope="session", autouse=True)
def _drop_stray_connections(django_db_setup, django_db_blocker):
    """Let the test database be dropped at the end on PostgreSQL.

    Consumers reach the database from asgiref's executor threads, whose
    connections the main thread cannot close; they would block DROP DATABASE.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith("test_"):
        return  # not PostgreSQL, or no test database was made (no test of this run used one)
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _route_without_routers(settings) -> None:
    """Tests route inline or by (synchronous) task, as each chooses; without routers
    running, a NOTIFY would wake nobody. tests/talk/test_router.py turns it on."""
    settings.ROUTE_NOTIFY = False


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path_factory) -> None:
    """Stored files (callers' recordings, SPEC C14) go to a directory of this test's own."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


def redis_available() -> bool:
    return bool(settings.REDIS_URL) and _reachable(settings.REDIS_URL, 6379)


# --- The cast -------------------------------------------------------------------
def make_account(subdomain: str, **extra) -> Account:
    defaults = {"name": subdomain.capitalize(), "time_zone": "UTC", "region": "US"}
    defaults.update(extra)
    return Account.objects.create(subdomain=subdomain, **defaults)


def make_member(account: Account, email: str, name: str, role: str) -> User:
    with scopes_disabled():
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email, PASSWORD, name=name
        )
    with scope(account=account):
        services.membership_grant(account=account, user=user, role=role)
    return user


@pytest.fixture
def acme(db) -> Account:
    return make_account("acme", name="Acme Support", time_zone="America/New_York")


@pytest.fixture
def globex(db) -> Account:
    return make_account("globex", name="Globex Helpdesk", time_zone="Asia/Tokyo", region="JP")


@pytest.fixture
def alice(acme) -> User:
    return make_member(acme, "alice@acme.test", "Alice Admin", Membership.Role.ADMIN)


@pytest.fixture
def bob(acme) -> User:
    return make_member(acme, "bob@acme.test", "Bob Agent", Membership.Role.AGENT)


@pytest.fixture
def dave(acme) -> User:
    return make_member(acme, "dave@acme.test", "Dave Agent", Membership.Role.AGENT)


@pytest.fixture
def charlie(globex) -> User:
    return make_member(globex, "charlie@globex.test", "Charlie Admin", Membership.Role.ADMIN)


# --- Clients --------------------------------------------------------------------
def host_of(account: Account | None) -> str:
    return f"{account.subdomain}.{settings.BASE_DOMAIN}" if account else settings.BASE_DOMAIN


def page_client(account: Account, user: User | None = None) -> Client:
    """A browser-like client on the account's host, signed in as ``user``."""
    client = Client(HTTP_HOST=host_of(account))
    if user is not None:
        client.force_login(user)
    return client


def basic_auth(email: str, raw_token: str) -> str:
    return "Basic " + base64.b64encode(f"{email}/token:{raw_token}".encode()).decode()


def new_token(account: Account, user: User) -> str:
    with scope(account=account):
        _token, raw = services.api_token_create(account=account, user=user, description="tests", actor=user)
    return raw


def api_client(account: Account, user: User, *, host: Account | None | str = "own") -> Client:
    """An API client with ``user``'s token of ``account``, on that account's host by default."""
    target = account if host == "own" else host
    return Client(HTTP_HOST=host_of(target), HTTP_AUTHORIZATION=basic_auth(user.email, new_token(account, user)))


@pytest.fixture
def alice_client(acme, alice) -> Client:
    return page_client(acme, alice)


@pytest.fixture
def bob_client(acme, bob) -> Client:
    return page_client(acme, bob)


@pytest.fixture
def charlie_client(globex, charlie) -> Client:
    return page_client(globex, charlie)


@pytest.fixture
def alice_api(acme, alice) -> Client:
    return api_client(acme, alice)


@pytest.fixture
def bob_api(acme, bob) -> Client:
    return api_client(acme, bob)


@pytest.fixture
def charlie_api(globex, charlie) -> Client:
    return api_client(globex, charlie)


# --- zenpy, the published Python Zendesk client, against a live server ----------------
@pytest.fixture
def zendesk(live_server, monkeypatch, acme, alice):
    """zenpy as acme's admin, unpatched: its own ZENPY_FORCE_NETLOC / ZENPY_FORCE_SCHEME
    settings point it at the live server (the API token names the account)."""
    import threading

    import requests
    zenpy = pytest.importorskip("zenpy")

    monkeypatch.setenv("ZENPY_FORCE_NETLOC", live_server.url.split("://", 1)[1])
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    # One kept-alive connection, so the live server handles the requests one after
    # another on one thread (it shares this thread's SQLite connection). At the end
    # the socket is closed and that thread allowed to finish before the server stops.
    session = requests.Session()
    yield zenpy.Zenpy(subdomain="acme", email=alice.email, token=new_token(acme, alice), session=session)
    session.close()
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=5)
