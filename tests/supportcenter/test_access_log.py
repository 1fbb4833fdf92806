"""No log line carries a line's webhook token (issue 14, item 6; SPEC T5).

The token in ``/talk/webhooks/<token>/...`` names the line (and so the tenant) to the
provider's requests. Real servers serve real webhook requests here: daphne (the demo's
server and ``python -m supportcenter.logs``), gunicorn with ``supportcenter/gunicorn_conf.py``
(sync and uvicorn workers), and Django's own request log ("Forbidden: <path>") in this
process; each shows ``/talk/webhooks/<redacted>/...`` and never the token.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from supportcenter.logs import REDACTED, RedactWebhookTokens, daphne_server_class, redact_path
from tests.talk.factories import make_line

BIN = Path(sys.executable).parent
MADE_UP_TOKEN = "zz9PluralZAlpha_NotARealLine-0123456789abcd"


# --- Running a server against this test's database ------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shares_database() -> bool:
    """A server process can read this test's rows: PostgreSQL (SQLite's test database is in memory)."""
    return connection.vendor == "postgresql"


def server_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a server process: this test's database when it can share it, else an
    empty SQLite file (webhooks then answer their apology: the access log is what is tested)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL")}
    env.update(PYTHONUNBUFFERED="1", SC_ROUTE_NOTIFY="false", DJANGO_SETTINGS_MODULE="supportcenter.settings")
    if shares_database():
        db = connection.settings_dict
        auth = quote(db["USER"] or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"
    else:
        env["SC_SQLITE_PATH"] = str(tmp_path / "server.sqlite3")
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return env


class Served:
    def __init__(self, port: int, out: Path, err: Path, process: subprocess.Popen):
        self.port, self.out, self.err, self.process = port, out, err, process
        self.url = f"http://localhost:{port}"  # as pytest-django's live_server, for account_url()

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()


@contextlib.contextmanager
def serve(command: list[str], tmp_path: Path, name: str, port: int):
    """Run ``command`` (a server on ``port``) until it accepts connections; stop it at the end,
    so that what it wrote is all in its output files."""
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=server_env(tmp_path),
                                   stdout=stdout, stderr=stderr)
    served = Served(port, out, err, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}: {served.stderr()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not start: {served.stderr()[-2000:]}")
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def request(port: int, path: str, *, data: dict | None = None, host: str = "localhost") -> int:
    body = urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def webhook_token(transactional_db, acme) -> str:
    """A real line's token when the server shares this test's database; else a made-up one."""
    if not shares_database():
        return MADE_UP_TOKEN
    return make_line(acme).webhook_token


def hit_webhooks(port: int, token: str) -> list[int]:
    """A provider request with a bad signature (403 with a real line), a GET (405), an unknown
    path under the token (404): the access log and Django's request log both see them."""
    return [
        request(port, f"/talk/webhooks/{token}/voice/", data={"CallSid": "CA1", "From": "+14155550111"}),
        request(port, f"/talk/webhooks/{token}/menu/?attempt=1"),
        request(port, f"/talk/webhooks/{token}/no-such-hook/"),
    ]


def assert_redacted(text: str, token: str, *, lines: int) -> None:
    assert token not in text
    assert text.count(f"/talk/webhooks/{REDACTED}/") >= lines, text


# --- The one function ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("/talk/webhooks/AbC-_9/voice/", "/talk/webhooks/<redacted>/voice/"),
        ("POST /talk/webhooks/AbC-_9/voice/?x=1 HTTP/1.1", "POST /talk/webhooks/<redacted>/voice/?x=1 HTTP/1.1"),
        ("https://support.example.com/talk/webhooks/AbC/status/", "https://support.example.com/talk/webhooks/<redacted>/status/"),
        ("/talk/webhooks/AbC", "/talk/webhooks/<redacted>"),
        ("/login/?next=%2Ftalk%2Fwebhooks%2FAbC%2Fvoice%2F", "/login/?next=%2Ftalk%2Fwebhooks%2F<redacted>%2Fvoice%2F"),
        ("/talk/webhooks/<redacted>/voice/", "/talk/webhooks/<redacted>/voice/"),
        ("/talk/console/ /api/v2/tickets.json", "/talk/console/ /api/v2/tickets.json"),
        # a traceback's file names stay readable
        ('File "/srv/app/talk/webhooks/security.py", line 88', 'File "/srv/app/talk/webhooks/security.py", line 88'),
        ("/srv/app/talk/webhooks/__pycache__/views.cpython-311.pyc", "/srv/app/talk/webhooks/__pycache__/views.cpython-311.pyc"),
    ],
)
def test_it_redacts_the_token_of_every_webhook_path(raw, clean):
    assert redact_path(raw) == clean


# --- Django's request log, in this process ----------------------------------------------
@contextlib.contextmanager
def root_output():
    """What the handlers of settings.LOGGING write (their filter included), captured."""
    handlers = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactWebhookTokens) for f in h.filters)]
    assert handlers, "settings.LOGGING's console handler has no RedactWebhookTokens filter"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, previous):
            handler.setStream(stream)


def test_djangos_request_log_shows_webhook_paths_without_the_token(acme):
    token = make_line(acme).webhook_token
    client = Client(HTTP_HOST="localhost")
    with root_output() as output:
        forbidden = client.post(f"/talk/webhooks/{token}/voice/", {"CallSid": "CA1"})  # no signature
        not_allowed = client.get(f"/talk/webhooks/{token}/voice/")
        not_found = client.get(f"/talk/webhooks/{token}/no-such-hook/")
    assert (forbidden.status_code, not_allowed.status_code, not_found.status_code) == (403, 405, 404)
    text = output.getvalue()
    assert "Forbidden: /talk/webhooks/<redacted>/voice/" in text
    assert "Method Not Allowed: /talk/webhooks/<redacted>/voice/" in text
    assert "Not Found: /talk/webhooks/<redacted>/no-such-hook/" in text
    assert token not in text


def test_a_traceback_logged_with_a_webhook_path_is_redacted():
    with root_output() as output:
        try:
            raise ValueError(f"failed at /talk/webhooks/{MADE_UP_TOKEN}/menu/")
        except ValueError:
            logging.getLogger("talk.webhooks.security").exception("webhook %s failed", f"/talk/webhooks/{MADE_UP_TOKEN}/menu/")
    text = output.getvalue()
    assert MADE_UP_TOKEN not in text and text.count("/talk/webhooks/<redacted>/menu/") >= 2  # message, exception


# --- daphne ------------------------------------------------------------------------------
def test_daphnes_access_log_hook_is_given_the_redacted_path():
    """The demo's server (demo/management/commands/demo.py) logs through this class."""
    from daphne.access import AccessLogGenerator

    stream = io.StringIO()
    server = daphne_server_class()(application=None, endpoints=["tcp:port=0:interface=127.0.0.1"],
                                   action_logger=AccessLogGenerator(stream))  # made, not run
    details = {"path": f"/talk/webhooks/{MADE_UP_TOKEN}/voice/", "status": 200, "method": "POST",
               "client": "127.0.0.1:5000", "time_taken": 0.01, "size": 120}
    server.log_action("http", "complete", details)
    server.log_action("websocket", "connecting", {"path": f"/talk/webhooks/{MADE_UP_TOKEN}/x/", "client": "127.0.0.1:5000"})
    assert_redacted(stream.getvalue(), MADE_UP_TOKEN, lines=2)
    assert '"POST /talk/webhooks/<redacted>/voice/" 200 120' in stream.getvalue()


def test_daphne_serves_webhooks_and_logs_them_without_the_token(webhook_token, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "supportcenter.logs", "-b", "127.0.0.1", "-p", str(port),
               "supportcenter.asgi:application"]
    with serve(command, tmp_path, "daphne", port) as served:
        statuses = hit_webhooks(port, webhook_token)
    assert statuses[1:] == [405, 404]
    assert_redacted(served.stdout(), webhook_token, lines=3)  # the access log
    assert webhook_token not in served.stderr()  # Django's request log, daphne's own
    assert "Method Not Allowed: /talk/webhooks/<redacted>/menu/" in served.stderr()


# --- gunicorn ----------------------------------------------------------------------------
GUNICORN = [str(BIN / "gunicorn"), "-c", "python:supportcenter.gunicorn_conf", "-w", "1"]


def test_gunicorn_serves_webhooks_and_logs_them_without_the_token(webhook_token, tmp_path):
    port = free_port()
    command = GUNICORN + ["--threads", "2", "-b", f"127.0.0.1:{port}", "supportcenter.wsgi:application"]
    with serve(command, tmp_path, "gunicorn", port) as served:
        statuses = hit_webhooks(port, webhook_token)
    assert statuses[1:] == [405, 404]
    if shares_database():
        assert statuses[0] == 403  # a real line, no signature (C9)
    access = served.stdout()
    assert_redacted(access, webhook_token, lines=3)
    assert '"POST /talk/webhooks/<redacted>/voice/ HTTP/1.1"' in access
    errors = served.stderr()
    assert webhook_token not in errors
    assert "Not Found: /talk/webhooks/<redacted>/no-such-hook/" in errors


def test_gunicorns_uvicorn_workers_log_webhooks_without_the_token(webhook_token, tmp_path):
    pytest.importorskip("uvicorn.workers")
    port = free_port()
    command = GUNICORN + ["-k", "uvicorn.workers.UvicornWorker", "-b", f"127.0.0.1:{port}",
                          "supportcenter.asgi:application"]
    with serve(command, tmp_path, "uvicorn", port) as served:
        statuses = hit_webhooks(port, webhook_token)
    assert statuses[1:] == [405, 404]
    assert_redacted(served.stdout(), webhook_token, lines=3)
    assert webhook_token not in served.stderr()
