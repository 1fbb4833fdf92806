"""What every fault drill shares: a private PostgreSQL and Redis, the processes under test,
the scratch account, simulated agents and a fake carrier's log, and the closing line.

Everything runs against services this module starts and owns: a PostgreSQL cluster in
``/tmp/faults-pg`` on port 5433 (run as the ``postgres`` user: initdb refuses root) and a
``redis-server`` on port 6380, both on 127.0.0.1. The shared PostgreSQL (5432) and Redis
(6379) are never touched: a router started against a shared database would route other
people's accounts, and a push on a shared Redis could reach their sockets.

Web processes, routers, dialers and task clusters are started as subprocesses in their
own session (process group), with production settings (``SC_ENV=production``, the
bench-only secrets of ``bench/webhooks.py``); their output goes to ``/tmp/faults-logs``.
``stop_all`` (called in every drill's ``finally``) ends exactly the processes started here.

A drill is a module with ``NAME`` and ``run(quick) -> dict`` (``result``); ``main`` runs
one alone. Its closing line: ``<name>: acknowledged N, stored N, lost N, duplicates N``.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import webhooks as wh

SUBDOMAIN = "bench-faults"
PG_PORT = 5433
PG_DIR = Path("/tmp/faults-pg")
PG_LOG = Path("/tmp/faults-pg.log")
PG_SOCKET_DIR = "/tmp"
REDIS_PORT = 6380
DB_NAME = "sc_faults"
DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{DB_NAME}"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
LOG_DIR = Path("/tmp/faults-logs")
PYTHON = sys.executable

# This process and every process it starts: the private services, never the shared ones.
PRIVATE_ENV = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "SC_CHANNELS_PREFIX": "faults"}
os.environ.update(PRIVATE_ENV)
SERVER_ENV = {**wh.SERVER_ENV, **PRIVATE_ENV, "SC_DB_POOL": "true"}
# Not this process: it plays a dozen agents, each a thread holding its own connection for
# the whole drill, more than the production pool's 12 (the thirteenth thread waited for one
# until the drill ended, and its offer looked lost).
os.environ["SC_DB_POOL"] = "false"
HOST = f"{SUBDOMAIN}.{wh.BASE_DOMAIN}"  # the account's own host (sockets, console)


# --- results ------------------------------------------------------------------------
def result(name: str, *, acknowledged: int, stored: int, lost: int, duplicates: int,
           failures: list[str], notes: list[str]) -> dict:
    ok = not failures and lost == 0 and duplicates == 0
    text = "; ".join(([f"FAILED: {'; '.join(failures)}"] if failures else []) + notes)
    return {"name": name, "acknowledged": acknowledged, "stored": stored, "lost": lost,
            "duplicates": duplicates, "ok": ok, "notes": text, "failures": failures, "note_list": notes}


def closing_line(r: dict) -> str:
    return f"{r['name']}: acknowledged {r['acknowledged']}, stored {r['stored']}, lost {r['lost']}, duplicates {r['duplicates']}"


def show(r: dict) -> None:
    for note in r.get("note_list", []):
        print(f"  [{r['name']}] {note}")
    for failure in r.get("failures", []):
        print(f"  [{r['name']}] FAILED: {failure}")
    if not r["ok"] and not r.get("failures"):
        print(f"  [{r['name']}] FAILED: lost {r['lost']}, duplicates {r['duplicates']}")
    print(closing_line(r), flush=True)


def crashed(name: str, error: BaseException) -> dict:
    import traceback

    lines = traceback.format_exception(error)
    print("".join(lines), file=sys.stderr)
    ours = [line.strip().splitlines()[0] for line in lines if f'File "{ROOT}/bench/faults/' in line]
    if ours:
        lines = [ours[-1] + "\n", lines[-1]]
    return result(name, acknowledged=0, stored=0, lost=0, duplicates=0,
                  failures=[f"the drill itself failed: {''.join(lines[-3:]).strip()}"], notes=[])


class DrillTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    """A hard bound on a drill (main thread only): the drill's ``finally`` blocks still run."""
    def expired(*_):
        raise DrillTimeout(f"the drill ran over its {seconds:.0f} s bound")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def log(name: str, text: str) -> None:
    print(f"  [{name} {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- the private services -------------------------------------------------------------
def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no {name} under /usr/lib/postgresql")
    return found[-1]


def _as_postgres(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/tmp", check=False)


class PrivatePostgres:
    """The drills' own cluster: initdb on first use, started and stopped here."""

    def __init__(self) -> None:
        self.started = False

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        done = _as_postgres([_pg_bin("pg_ctl"), "-D", str(PG_DIR), *args], timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)}: {done.stdout.strip()} {done.stderr.strip()}")
        return done

    def start(self) -> None:
        if port_open(PG_PORT):
            raise RuntimeError(f"port {PG_PORT} is already in use (not by these drills): refusing to touch it")
        if not (PG_DIR / "PG_VERSION").exists():
            shutil.rmtree(PG_DIR, ignore_errors=True)
            PG_DIR.mkdir(parents=True)
            shutil.chown(PG_DIR, "postgres", "postgres")
            done = _as_postgres([_pg_bin("initdb"), "-D", str(PG_DIR), "-U", "postgres", "--auth=trust"], timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"initdb: {done.stderr.strip()}")
        PG_LOG.touch()
        shutil.chown(PG_LOG, "postgres", "postgres")
        self._ctl("-o", f"-p {PG_PORT} -k {PG_SOCKET_DIR} -c listen_addresses=127.0.0.1", "-l", str(PG_LOG),
                  "-w", "start")
        self.started = True
        done = subprocess.run(["createdb", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", DB_NAME],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise RuntimeError(f"createdb: {done.stderr.strip()}")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back when it returns."""
        self._ctl("-m", "fast", "-w", "restart", "-l", str(PG_LOG))

    def stop(self) -> None:
        if self.started and (PG_DIR / "postmaster.pid").exists():
            self._ctl("-m", "fast", "-w", "stop")
        self.started = False


class PrivateRedis:
    """``redis-server --port 6380`` as a subprocess of this process (no persistence)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if port_open(REDIS_PORT):
            raise RuntimeError(f"port {REDIS_PORT} is already in use (not by these drills): refusing to touch it")
        LOG_DIR.mkdir(exist_ok=True)
        out = open(LOG_DIR / "redis-6380.log", "ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while not port_open(REDIS_PORT):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the private redis-server did not start (see /tmp/faults-logs/redis-6380.log)")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


POSTGRES = PrivatePostgres()
REDIS = PrivateRedis()
_depth = [0]
KEEP_DATABASE = os.environ.get("FAULTS_KEEP_DB") == "1"


@contextlib.contextmanager
def environment():
    """The private PostgreSQL and Redis, Django set up and migrated on them (nested uses share it)."""
    if _depth[0] == 0:
        LOG_DIR.mkdir(exist_ok=True)
        try:
            POSTGRES.start()
            REDIS.start()
            wh.django_ready()  # django.setup() on DATABASE_URL above, then migrate
            import logging

            logging.getLogger("django-q").setLevel(logging.WARNING)  # "Enqueued ..." for each task here
        except BaseException:
            _shutdown_services()
            raise
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        if _depth[0] == 0:
            _shutdown_services()


def _shutdown_services() -> None:
    stop_all()
    try:
        from django.db import connections

        connections.close_all()
    except Exception:
        pass
    REDIS.stop()
    try:
        POSTGRES.stop()
    finally:
        if not KEEP_DATABASE and not (PG_DIR / "postmaster.pid").exists():
            shutil.rmtree(PG_DIR, ignore_errors=True)


# --- processes under test -------------------------------------------------------------
class Proc:
    def __init__(self, name: str, popen: subprocess.Popen, log_path: Path) -> None:
        self.name, self.popen, self.log = name, popen, log_path
        self.port: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


_procs: list[Proc] = []
_counter = [0]


def spawn(name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
    LOG_DIR.mkdir(exist_ok=True)
    _counter[0] += 1
    path = LOG_DIR / f"{name}-{os.getpid()}-{_counter[0]}.log"
    with path.open("wb") as out:
        popen = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **SERVER_ENV, **(env or {})},
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    proc = Proc(name, popen, path)
    _procs.append(proc)
    return proc


def spawn_web(name: str = "daphne") -> Proc:
    port = wh.free_port()
    proc = spawn(name, wh.SERVER_COMMANDS["daphne"](port))
    proc.port = port
    wh.wait_ready(proc.popen, port, proc.log)
    return proc


def spawn_router(name: str = "router") -> Proc:
    proc = spawn(name, [PYTHON, "manage.py", "router"])
    wait_for_text(proc, "router listening")
    return proc


def spawn_dialer(carrier_log: Path, *, name: str = "dialer", refuse: int = 0, provider_ms: float = 100,
                 threads: int = 4) -> Proc:
    proc = spawn(name, [PYTHON, "-m", "bench.faults.dialer_proc", "--log", str(carrier_log), "--refuse", str(refuse),
                        "--provider-ms", str(provider_ms), "--threads", str(threads)])
    wait_for_text(proc, "dialer listening")
    return proc


def wait_for_text(proc: Proc, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in proc.text():
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}): {proc.text()[-1500:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} not ready in {timeout:.0f} s: {proc.text()[-1500:]}")
        time.sleep(0.1)
    time.sleep(0.3)  # listening: the LISTEN ran just before the line was printed


def kill9(proc: Proc) -> None:
    """kill -9 the process (and anything in its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.popen.wait(timeout=10)


def stop_proc(proc: Proc, timeout: float = 15) -> None:
    if proc.popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):  # anything left in its group (workers, children)
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(timeout=5)


def stop_all() -> None:
    while _procs:
        stop_proc(_procs.pop())


TRACEBACK = "Traceback (most recent call last):"


def tracebacks(text: str) -> list[str]:
    """Each failure logged with a traceback (chained tracebacks are one failure), summarised:
    the message logged with it, the first frame and the final error."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != TRACEBACK:
            i += 1
            continue
        before = lines[i - 1].strip() if i else ""
        frame = lines[i + 1].strip() if i + 1 < len(lines) else ""
        error, j = "", i + 1
        while j < len(lines):  # to the end of the last chained traceback
            line = lines[j]
            if line.strip() == TRACEBACK or line.startswith((" ", "\t")) or not line.strip():
                j += 1
                continue
            if line.startswith(("During handling of the above exception", "The above exception was the direct")):
                j += 1
                continue
            if lines[j - 1].startswith((" ", "\t")) or lines[j - 1].strip() == TRACEBACK:
                error = line.strip()  # an exception line closes a traceback; a chained one may follow
                j += 1
                if j + 1 < len(lines) and not lines[j].strip() and lines[j + 1].startswith(("During handling", "The above")):
                    continue
                break
            break
        ours = [line.strip() for line in lines[i:j] if line.strip().startswith(f'File "{ROOT}/')
                and "/.venv/" not in line]
        inner = [line for line in ours if not line.endswith("in __call__")]  # past the middleware
        where = ((inner or ours or [frame])[-1]).replace(f'File "{ROOT}/', 'File "')
        out.append(f"{before[:100]} | {where[:120]} | {error[:140]}")
        i = j
    return out


def summarise(items: list[str], limit: int = 2) -> str:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    parts = [f"{text} (×{n})" if n > 1 else text for text, n in list(counts.items())[:limit]]
    more = len(counts) - limit
    return "; ".join(parts) + (f"; and {more} more kinds" if more > 0 else "")


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
    """The ``bench-faults`` account (bench/webhooks.py's scratch: Twilio settings, a line, an agent)."""
    from django_scopes import scopes_disabled

    from talk.models import Line

    wh.SUBDOMAIN = SUBDOMAIN  # the webhook bench's scratch() makes the account of this name
    s = wh.scratch()
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
    wh.empty(s.account)


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


# --- the fake carrier's log (written by bench/faults/dialer_proc.py) --------------------
class CarrierLog:
    """What the fake carrier did: ``<time> placed|refused <attempt id> <call sid> <pid>`` lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("")
        self._lock = threading.Lock()
        self._offset = 0
        self.events: list[tuple[float, str, int, str, int]] = []

    def read(self) -> list[tuple[float, str, int, str, int]]:
        with self._lock:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            end = chunk.rfind(b"\n") + 1
            self._offset += end
            for line in chunk[:end].decode().splitlines():
                at, event, attempt, sid, pid = line.split()
                self.events.append((float(at), event, int(attempt), sid, int(pid)))
            return list(self.events)

    def placed(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for _at, event, attempt, sid, _pid in self.read():
            if event == "placed":
                out.setdefault(attempt, []).append(sid)
        return out

    def count(self, event: str) -> int:
        return sum(1 for e in self.read() if e[1] == event)


# --- simulated agents: the console's accept, then the provider's events -----------------
class AgentWorker(threading.Thread):
    """One agent: accepts each offer as soon as it is there; with ``finish``, once the fake
    carrier has placed the attempt's call, plays the provider's events (agent answered,
    customer answered, the agent's leg ended) through the services the webhooks call, and
    is free for the next offer."""

    def __init__(self, s, user, carrier: CarrierLog | None, stop: threading.Event, *, finish: bool = True,
                 wait_placed: float = 90.0) -> None:
        super().__init__(daemon=True, name=f"agent-{user.pk}")
        self.s, self.user, self.carrier, self.stop, self.finish = s, user, carrier, stop, finish
        self.wait_placed = wait_placed
        self.accepted: list[int] = []  # callback request ids, in order
        self.errors: list[str] = []

    def run(self) -> None:
        from django.db import DatabaseError, InterfaceError, connection
        from django_scopes import scope

        from supportcenter.errors import ServiceError
        from talk.models import Offer
        from talk.services import offers as offers_service

        try:
            with scope(account=self.s.account):
                while not self.stop.is_set():
                    try:
                        offer = (Offer.objects.filter(account=self.s.account, agent=self.user, state="offered")
                                 .select_related("entry__callback_request").order_by("pk").first())
                        if offer is None:
                            self.stop.wait(0.03)
                            continue
                        try:
                            offers_service.offer_accept(account=self.s.account, offer_id=offer.pk, agent=self.user)
                        except ServiceError:
                            continue
                        request_id = offer.entry.callback_request.pk
                        self.accepted.append(request_id)
                        if self.finish:
                            self._finish(request_id)
                    except (DatabaseError, InterfaceError) as error:
                        self.errors.append(type(error).__name__)
                        connection.close()
                        self.stop.wait(0.3)
        finally:
            connection.close()

    def _finish(self, request_id: int) -> None:
        from talk.models import CallbackAttempt
        from talk.services.callback_requests import (
            callback_agent_answered,
            callback_agent_leg_ended,
            callback_customer_result,
        )

        deadline = time.monotonic() + self.wait_placed
        while not self.stop.is_set() and time.monotonic() < deadline:
            attempt = (CallbackAttempt.objects.filter(account=self.s.account, request_id=request_id)
                       .order_by("-number").first())
            if attempt is not None and attempt.status not in ("queued", "calling_agent"):
                return  # given back or ended meanwhile (the reconciliation)
            if attempt is not None and (attempt.provider_call_sid or attempt.pk in self.carrier.placed()):
                callback_agent_answered(account=self.s.account, attempt=attempt)
                callback_customer_result(account=self.s.account, attempt=attempt, result="completed", seconds=30)
                callback_agent_leg_ended(account=self.s.account, attempt_id=attempt.pk, status="completed")
                return
            self.stop.wait(0.05)


def placements(s, carrier: CarrierLog, accepted: set[int]) -> dict:
    """Each accepted request's attempts and the calls the carrier placed for them."""
    from django_scopes import scopes_disabled

    from talk.models import CallbackAttempt, CallbackRequest

    placed = carrier.placed()
    with scopes_disabled():
        attempts = list(CallbackAttempt.objects.filter(account=s.account).values(
            "pk", "request_id", "status", "provider_call_sid", "number"))
        numbers = list(CallbackRequest.objects.filter(account=s.account).values_list("number", flat=True))
    by_request: dict[int, list[dict]] = {}
    for a in attempts:
        by_request.setdefault(a["request_id"], []).append(a)
    stored, lost, extra, mismatched, unrecorded = 0, [], 0, [], []
    attempts_per_request: dict[int, int] = {}
    for request_id in accepted:
        rows = by_request.get(request_id, [])
        attempts_per_request[len(rows)] = attempts_per_request.get(len(rows), 0) + 1
        calls = [(a, sid) for a in rows for sid in placed.get(a["pk"], [])]
        extra += max(0, len(calls) - 1)
        recorded = [a for a, sid in calls if a["provider_call_sid"] == sid]
        for a, sid in calls:
            if a["provider_call_sid"] and a["provider_call_sid"] != sid:
                mismatched.append(a["pk"])
            if not a["provider_call_sid"]:
                unrecorded.append(a["pk"])
        if recorded:
            stored += 1
        else:
            lost.append(request_id)
    same_number = len(numbers) - len(set(numbers))
    return {"stored": stored, "lost": lost, "extra_calls": extra, "same_number": same_number,
            "mismatched": mismatched, "unrecorded": unrecorded, "attempts_per_request": attempts_per_request,
            "placed_total": sum(len(v) for v in placed.values())}


# --- HTTP -------------------------------------------------------------------------------------
def capture_requests(s, base: str, n: int) -> tuple[list[tuple[str, bytes, dict]], list[str]]:
    """``n`` calls at the confirmation (bench/webhooks.py), and their signed ``/confirm/`` (Digits=1)."""
    confirm_path = wh.confirming_template(base, s)
    calls = wh.confirming_calls(s, n)
    return ([wh.sign(confirm_path, wh.call_params(sid, number, Digits="1")) for sid, number in calls],
            [sid for sid, _number in calls])


@dataclass
class Answer:
    index: int
    scheduled: float  # seconds from the stream's start
    status: int | None = None  # the last try's HTTP status; None: no answer (connection error, time-out)
    text: str = ""
    latency: float = 0.0  # from the scheduled start to the final answer (or giving up)
    tries: list[str] = field(default_factory=list)  # "<port>:<status or error>" per try

    @property
    def retried(self) -> bool:
        return len(self.tries) > 1


async def stream(bases: list[str], requests: list, rate: float, *, timeout: float, failover: bool,
                 events: list[tuple[float, object]] = (), max_tries: int = 4, clock: dict | None = None) -> list[Answer]:
    """Open loop: request i starts at ``i / rate`` s on ``bases[i % len(bases)]``. With ``failover``,
    a request without an answer (connection refused or reset, time-out) or with a 5xx is sent again,
    the same signed request, to the next base (as the provider retries). ``events``: (seconds, function)
    run in a thread at that time of the stream (a kill, a restart). ``clock["start"]``: the stream's
    time zero, on ``time.monotonic()``."""
    import aiohttp

    loop = asyncio.get_running_loop()
    answers = [Answer(i, i / rate) for i in range(len(requests))]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64, force_close=False),
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        start = loop.time() + 0.05  # the loop's clock is time.monotonic()
        if clock is not None:
            clock["start"] = start

        async def one(i: int) -> None:
            path, body, headers = requests[i]
            answer = answers[i]
            for attempt in range(max_tries if failover else 1):
                base = bases[(i + attempt) % len(bases)]
                port = base.rsplit(":", 1)[1]
                try:
                    async with session.post(base + path, data=body, headers=headers, allow_redirects=False) as response:
                        answer.status, answer.text = response.status, await response.text()
                        answer.tries.append(f"{port}:{response.status}")
                        if response.status < 500:
                            break
                except (TimeoutError, aiohttp.ClientError, OSError) as error:
                    answer.status, answer.text = None, type(error).__name__
                    answer.tries.append(f"{port}:{type(error).__name__}")
                if failover:
                    await asyncio.sleep(0.1)
            answer.latency = loop.time() - (start + answer.scheduled)

        async def event(at: float, function) -> None:
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            await loop.run_in_executor(None, function)

        pending = [asyncio.create_task(event(at, function)) for at, function in events]
        for i in range(len(requests)):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(one(i)))
        await asyncio.gather(*pending)
    return answers


def is_apology(text: str) -> bool:
    return "cannot take your call" in text


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


def main(module) -> None:
    """Run one drill alone: ``python -m bench.faults.<drill> [--quick]``."""
    parser = argparse.ArgumentParser(description=(module.__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with environment():
        try:
            r = module.run(args.quick)
        except BaseException as error:  # noqa: BLE001 - reported as the drill's failure
            r = crashed(module.NAME, error)
    show(r)
    sys.exit(0 if r["ok"] else 1)
