"""What a failed request answers (issue 14, item 3; supportcenter.failures).

Real failures, nothing of ours mocked: a table taken away for the length of a request (the
query fails in PostgreSQL itself), and real servers (gunicorn, daphne) in subprocesses whose
database sits behind a TCP proxy that the test cuts and restores, or whose Redis is a port
where nothing listens.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import ProgrammingError, connection, transaction
from django.test import Client
from django_scopes import scope

from supportcenter.failures import ERROR_ID_HEADER, RETRY_AFTER_SECONDS, SERVER_ERROR_BODY, UNAVAILABLE_BODY
from supportcenter.models import Account
from talk.models import AgentPresence
from tests.conftest import basic_auth, host_of, new_token
from tests.postgres import needs_postgresql
from tickets.models import Ticket

ERROR_ID = re.compile(r"^[0-9a-f]{12}$")


@contextmanager
def table_gone(model):
    """``model``'s table renamed until the block ends (in a savepoint, rolled back): every
    query on it fails in the database for real, a bug's kind of failure (PostgreSQL:
    UndefinedTable, a ProgrammingError), not an outage."""
    table = model._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_gone"')
        yield table
        transaction.set_rollback(True)


def quiet(client):
    """A test client that returns the answer instead of raising what the view raised."""
    client.raise_request_exception = False
    return client


def logged_failures(caplog) -> list:
    return [r for r in caplog.records if r.name == "supportcenter.errors"]


def assert_logged_once(caplog, error_id: str, error_class: type) -> None:
    """The id is in the one log line of the failure, with its traceback; django.request
    does not log the same failure again without the id."""
    records = logged_failures(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    record = records[0]
    assert error_id in record.getMessage() and record.error_id == error_id
    assert record.exc_info and issubclass(record.exc_info[0], error_class)
    assert not [r for r in caplog.records if r.name == "django.request" and r.levelname == "ERROR"]


# --- Unexpected errors: 500 with an error id ------------------------------------------
def test_it_answers_an_api_failure_in_json_with_the_logged_error_id(alice_api, caplog):  # SPEC A1
    with table_gone(Ticket) as table:
        response = quiet(alice_api).get("/api/v2/tickets.json")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "ServerError" and body["description"] == SERVER_ERROR_BODY["description"]
    assert ERROR_ID.match(body["error_id"]) and response[ERROR_ID_HEADER] == body["error_id"]
    assert table not in response.content.decode()  # nothing of the cause leaks
    assert "Retry-After" not in response
    assert_logged_once(caplog, body["error_id"], ProgrammingError)


def test_it_shows_the_error_id_on_a_page_that_failed(alice_client, caplog):
    with table_gone(Ticket) as table:
        response = quiet(alice_client).get("/tickets/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    error_id = response[ERROR_ID_HEADER]
    assert "Something went wrong on our side" in html and "css/app.css" in html
    assert f'Quote this reference: <code class="error-id">{error_id}</code>' in html
    assert table not in html and "Traceback" not in html
    assert_logged_once(caplog, error_id, ProgrammingError)


@pytest.mark.parametrize("path, accept", [
    ("/talk/console/state.json", "*/*"),  # a page's JSON route
    ("/talk/console/", "application/json"),  # a page's script asks for JSON (static/js/app.js)
], ids=["json route", "script"])
def test_it_answers_json_to_the_pages_scripts(bob_client, caplog, path, accept):  # SPEC R13
    with table_gone(AgentPresence):
        response = quiet(bob_client).get(path, HTTP_ACCEPT=accept)
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["error"] == "ServerError"
    assert_logged_once(caplog, response.json()["error_id"], ProgrammingError)


@pytest.mark.parametrize("path", ["/api/v2/tickets.json", "/tickets/"])
def test_it_answers_a_failure_in_a_middleware_the_same_way(acme, alice, caplog, path):
    """The account's look-up (supportcenter.tenancy's middleware) fails: Django's 500
    handler answers, not the middleware's process_exception, and says the same."""
    client = quiet(Client(HTTP_HOST=host_of(acme), HTTP_AUTHORIZATION=basic_auth(alice.email, new_token(acme, alice))))
    with table_gone(Account):
        response = client.get(path)
    assert response.status_code == 500
    error_id = response[ERROR_ID_HEADER]
    if path.startswith("/api/"):
        assert response.json() == {**SERVER_ERROR_BODY, "error_id": error_id}
    else:
        assert f"Quote this reference: <code class=\"error-id\">{error_id}</code>" in response.content.decode()
    assert_logged_once(caplog, error_id, ProgrammingError)


def test_it_answers_the_api_in_json_with_debug_on_too(alice_api, settings):
    """SC_DEBUG=true shows Django's technical page to a person; an API client still gets
    the envelope it can read."""
    settings.DEBUG = True
    with table_gone(Ticket):
        response = quiet(alice_api).get("/api/v2/tickets.json")
    assert response.status_code == 500 and response.json()["error"] == "ServerError"


def test_it_still_tells_the_test_client_what_a_view_raised(alice_api):
    """Django's got_request_exception is sent as before (error reporting hooks onto it, and
    the test client re-raises what it hears), although the middleware answers."""
    with table_gone(Ticket), pytest.raises(ProgrammingError):
        alice_api.get("/api/v2/tickets.json")


# --- Real servers ----------------------------------------------------------------------
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CuttableProxy:
    """A TCP forwarder to PostgreSQL that the test cuts and restores. Cut: nothing listens
    on its port (connection refused) and every connection through it breaks, as when the
    database server goes away. Restored: it listens on the same port again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def cut(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while not self._stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    _close(client)
                    continue
                upstream.settimeout(None)
                with self._lock:
                    self._open |= {client, upstream}
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def database_url(port: int) -> str:
    """The test database (its committed rows: the tests below are transactional) at ``port``."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}"


class Server:
    """gunicorn (WSGI, as production serves HTTP) or daphne (ASGI) in a process of its own."""

    def __init__(self, kind: str, log: Path, **env: str):
        self.port = free_port()
        self.log = log
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SC_", "DJANGO_", "DATABASE_", "REDIS_"))}
        clean.update(DJANGO_SETTINGS_MODULE="supportcenter.settings", PYTHONUNBUFFERED="1", **env)
        if kind == "wsgi":
            command = [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{self.port}", "-w", "1", "--threads", "5",
                       "supportcenter.wsgi:application"]
        else:
            command = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "supportcenter.asgi:application"]
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=clean,
                                        stdout=self._log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the server did not start:\n{self.output()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


def eventually(check, *, within: float = 30.0):
    """``check()``'s answer once it is truthy, trying for ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.25)


@needs_postgresql("a PostgreSQL server behind a proxy the test can cut")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind, pool", [("wsgi", True), ("asgi", False)], ids=["gunicorn+pool", "daphne"])
def test_it_answers_503_while_the_database_is_down_and_serves_again_when_it_is_back(
    acme, alice, tmp_path, kind, pool
):  # SPEC O2, O3, C11
    db = connection.settings_dict
    proxy = CuttableProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.restore()
    server = Server(kind, tmp_path / "server.log", DATABASE_URL=database_url(proxy.port),
                    REDIS_URL=settings.REDIS_URL, SC_DB_POOL="true" if pool else "false")
    account = {"Host": host_of(acme)}
    api = {**account, "Authorization": basic_auth(alice.email, new_token(acme, alice)), "Accept": "application/json"}
    page = {**account, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            # Up: the ordinary answers (and, with the pool, connections kept open).
            assert http.get("/api/v2/tickets.json", headers=api).status_code == 200
            assert http.get("/login/", headers=page).status_code == 200

            proxy.cut()  # the database goes away
            # At once: with the pool each request waits for a connection for its timeout (5 s).
            with ThreadPoolExecutor(5) as pool_of_requests:
                answers = [pool_of_requests.submit(request, http) for request in (
                    lambda http: http.get("/api/v2/tickets.json", headers=api),
                    lambda http: http.get("/login/", headers=page),
                    lambda http: http.post("/login/", headers=page, data={"username": alice.email}),
                    # The bare domain's API finds the account from the token: the database again.
                    lambda http: http.get("/api/v2/tickets.json", headers={**api, "Host": host_of(None)}),
                    # The provider's webhooks keep their own answer: a polite TwiML apology (SPEC C11).
                    lambda http: http.post("/talk/webhooks/no-such-line/voice/", headers={"Host": host_of(None)},
                                           data={"CallSid": "CA" + "0" * 32}),
                )]
            down, page_down, form_down, bare, hook = (answer.result() for answer in answers)
            assert down.status_code == 503, down.text
            assert down.headers["Content-Type"] == "application/json"
            assert down.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
            body = down.json()
            assert body == {**UNAVAILABLE_BODY, "error_id": body["error_id"]} and ERROR_ID.match(body["error_id"])
            assert down.headers[ERROR_ID_HEADER] == body["error_id"]

            assert page_down.status_code == 503
            assert page_down.headers["Content-Type"].startswith("text/html")
            assert page_down.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
            html = page_down.text
            assert "Briefly unavailable" in html and "css/app.css" in html
            assert f'<meta http-equiv="refresh" content="{RETRY_AFTER_SECONDS}">' in html
            assert page_down.headers[ERROR_ID_HEADER] in html
            # A form sent is not sent again by itself: the page says what to do instead.
            assert form_down.status_code == 503 and "send it again" in form_down.text
            assert "http-equiv" not in form_down.text

            assert bare.status_code == 503 and bare.json()["error"] == "ServiceUnavailable"
            assert hook.status_code == 200 and hook.headers["Content-Type"].startswith("text/xml")
            assert "<Response>" in hook.text and "<Say" in hook.text

            proxy.restore()  # the database is back: the same server answers as before
            back = eventually(lambda: (r := http.get("/api/v2/tickets.json", headers=api)).status_code == 200 and r)
            assert back and back.json()["tickets"] == []
            assert http.get("/login/", headers=page).status_code == 200
    finally:
        server.stop()
        proxy.cut()
    log = server.output()
    # The 503's id is in the log line with the traceback of what failed.
    line = next(line for line in log.splitlines() if body["error_id"] in line)
    assert "Service unavailable" in line and "/api/v2/tickets.json" in line
    assert "OperationalError" in log[log.index(line):]


@needs_postgresql("the server in a subprocess reads the test database")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["wsgi", "asgi"], ids=["gunicorn", "daphne"])
def test_it_saves_an_agents_status_while_redis_is_down(acme, bob, tmp_path, kind):  # SPEC R1, R13
    """The change is committed before its push (supportcenter.realtime, on commit), and a push
    is a hint (SPEC R13): the answer is the change's, 200, and the failed push is logged.
    A 503 would tell the agent to try again a change that was already made."""
    server = Server(kind, tmp_path / "server.log", DATABASE_URL=database_url(int(connection.settings_dict["PORT"] or 5432)),
                    REDIS_URL=f"redis://127.0.0.1:{free_port()}/7")  # nothing listens there
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            response = http.put(
                f"/api/v2/channels/voice/availabilities/{bob.pk}.json",
                headers={"Host": host_of(acme), "Authorization": basic_auth(bob.email, new_token(acme, bob))},
                json={"availability": {"agent_state": "online"}},
            )
    finally:
        server.stop()
    assert response.status_code == 200, response.text
    assert response.json()["availability"]["agent_state"] == "online"
    with scope(account=acme):
        assert AgentPresence.objects.get(account=acme, user=bob).status == AgentPresence.Status.ONLINE
    log = server.output()
    assert "push to account." in log and "ConnectionError" in log
    assert "error_id" not in log  # no failure of the request itself was logged
