"""Benchmark: fast webhooks (issue 11, item 3; SPEC C1, C6, C9).

    .venv/bin/python bench/webhooks.py [--quick] [--servers daphne,uvicorn,gunicorn] [--conn-max-age N]

The product's webhooks against a **bare view** (``bench/bench_urls.py``: same server, same
middleware, same request body, a constant TwiML answer, no database, no signature check),
on the same server, in the same run, in alternating slices:

1. max throughput, closed loop (``CONCURRENCY`` clients, a fixed time per slice): the
   incoming-call webhook (``/talk/webhooks/<token>/voice/``, a new CallSid each) against
   the bare view. Goal: ≥ 0.5× the bare view.
2. latency, open loop at half the bare view's measured maximum: the capture webhook
   (``/confirm/`` with Digits=1, which turns the caller's queue entry into a confirmed
   callback request, C6) against the bare view at the same rate. Start times are fixed
   in advance and latency runs from the scheduled start (no coordinated omission).
   Goal: p99 ≤ 50 ms.

Each server setup is started here as a subprocess on a free port of 127.0.0.1 with
production settings (``SC_ENV=production``, bench-only secrets, ``bench.bench_settings``),
and stopped (its process group) at the end. Requests are signed as Twilio signs them,
over the public URL the server reconstructs (``SC_PUBLIC_BASE_URL``, behind a TLS proxy:
``X-Forwarded-Proto: https``); every answer is checked (status 200 and the expected TwiML)
and anything else is counted and reported.

Calls for the capture slices are brought to the confirming stage before the timed slice:
one call through the real webhooks (incoming → wait → hold key → menu 1), checked in the
database, then cloned row for row (call and queue entry) with its own CallSid and caller
number, so the timed slice hits only ``/confirm/``. After each slice the database must
hold one confirmed callback request per answered capture request.

Uses a scratch account ``bench-webhooks`` in ``sc_bench`` (its calls are deleted after
every slice); never point it at data you keep. The load generator runs in this process
(aiohttp) on the same 2-core machine as the server: its CPU share is in the notes.
"""
from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BENCH_DATABASE, BENCH_REDIS, Figure, percentile, show, stop_process  # noqa: E402

SUBDOMAIN = "bench-webhooks"
BASE_DOMAIN = "bench-webhooks.test"  # webhooks go to the bare base domain (SPEC T5)
PUBLIC_BASE_URL = f"https://{BASE_DOMAIN}"
TWILIO_SID = "AC" + "b3" * 16
AUTH_TOKEN = "5eb1c0de" * 4  # bench-only, 32 hex characters
CONCURRENCY = 16  # closed-loop clients
OPEN_LOOP_CONNECTIONS = 64  # at most this many requests in flight in the open loop (PostgreSQL allows 100 clients)
REQUEST_TIMEOUT = 10.0  # seconds; a request that takes longer counts as an error
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
    import django

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


# --- requests ---------------------------------------------------------------------
_validator = None


def sign(path: str, params: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
    """A request as Twilio sends it: form body, signature over the public URL."""
    global _validator
    if _validator is None:
        from twilio.request_validator import RequestValidator

        _validator = RequestValidator(AUTH_TOKEN)
    headers = {
        "Host": BASE_DOMAIN,
        "X-Forwarded-Proto": "https",  # the TLS proxy in front (SC_BEHIND_PROXY)
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": _validator.compute_signature(PUBLIC_BASE_URL + path, params),
    }
    return path, urlencode(params).encode(), headers


def call_params(call_sid: str, caller: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": TWILIO_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Called": "+14155550142",
        "Caller": caller,
        "Direction": "inbound",
        "From": caller,
        "FromCountry": "US",
        "To": "+14155550142",
        "ToCountry": "US",
        **extra,
    }


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def hook(s: Scratch, name: str) -> str:
    return f"/talk/webhooks/{s.token}/{name}/"


BARE_PATH = "/bench/bare-twiml/"


def incoming_request(s: Scratch, bare: bool) -> tuple[str, bytes, dict[str, str]]:
    params = call_params(new_sid(), "+14155551234", CallStatus="ringing")
    return sign(BARE_PATH if bare else hook(s, "voice"), params)


# Answer checks: a bench that measures 403s or apologies is worthless.
def ok_bare(status: int, text: str) -> bool:
    return status == 200 and "<Say>Hi</Say>" in text


def ok_incoming(status: int, text: str) -> bool:
    return status == 200 and "<Enqueue" in text


def ok_capture(status: int, text: str) -> bool:
    return status == 200 and "<Hangup" in text and "cannot take your call" not in text  # not the apology (C11)


# --- load -------------------------------------------------------------------------
@dataclass
class Slice:
    kind: str
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: dict[str, int] = field(default_factory=dict)  # anything but a good answer: count by status
    good: int = 0
    elapsed: float = 0.0
    client_cpu: float = 0.0  # share of one core
    server_cpu: float = 0.0
    lag_max: float = 0.0  # open loop: latest start past its schedule
    connections: int = 0  # database connections the server opened during the slice

    @property
    def sent(self) -> int:
        return self.good + sum(self.statuses.values())

    @property
    def throughput(self) -> float:
        return self.good / self.elapsed if self.elapsed else 0.0

    def bad(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1


async def _post(session, base: str, request, check, result: Slice) -> None:
    path, body, headers = request
    try:
        async with session.post(base + path, data=body, headers=headers, allow_redirects=False) as response:
            text = await response.text()
            status = response.status
    except asyncio.TimeoutError:
        result.bad("timeout")
        return
    except Exception as error:  # noqa: BLE001 - counted, not raised: the slice goes on
        result.bad(type(error).__name__)
        return
    if check(status, text):
        result.good += 1
    else:
        result.bad(str(status) if status != 200 else "200, unexpected TwiML")


async def closed_loop(base: str, make_request, check, seconds: float, kind: str) -> Slice:
    import aiohttp

    result = Slice(kind)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
        start = loop.time()
        end = start + seconds

        async def client() -> None:
            while loop.time() < end:
                request = make_request()
                began = loop.time()
                await _post(session, base, request, check, result)
                result.latencies.append(loop.time() - began)

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        result.elapsed = loop.time() - start
    return result


async def open_loop(base: str, requests: list, check, rate: float, kind: str) -> Slice:
    """Start request i at ``start + i / rate`` whatever happened before; latency from that time."""
    import aiohttp

    result = Slice(kind)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=OPEN_LOOP_CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
        start = loop.time() + 0.05

        async def one(request, scheduled: float) -> None:
            await _post(session, base, request, check, result)
            result.latencies.append(loop.time() - scheduled)

        tasks = []
        for i, request in enumerate(requests):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                result.lag_max = max(result.lag_max, -delay)
            tasks.append(asyncio.create_task(one(request, scheduled)))
        await asyncio.gather(*tasks)
        result.elapsed = loop.time() - start
    return result


class CpuMeter:
    """CPU seconds of this process and of the server's process tree, as a share of one core."""

    def __init__(self, server_pid: int):
        import psutil

        self.me = psutil.Process()
        self.server = psutil.Process(server_pid)

    def _server_seconds(self) -> float:
        total = 0.0
        for process in [self.server, *self.server.children(recursive=True)]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except Exception:  # noqa: BLE001 - a process gone between listing and reading
                pass
        return total

    def __enter__(self):
        times = self.me.cpu_times()
        self.start = (time.monotonic(), times.user + times.system, self._server_seconds())
        return self

    def read(self) -> tuple[float, float]:
        times = self.me.cpu_times()
        wall = time.monotonic() - self.start[0]
        return ((times.user + times.system - self.start[1]) / wall, (self._server_seconds() - self.start[2]) / wall)

    def __exit__(self, *exc):
        return False


def measured(server: subprocess.Popen, conn_dir: Path, coroutine) -> Slice:
    opened = connections_opened(conn_dir)
    with CpuMeter(server.pid) as meter:
        result = asyncio.run(coroutine)
        result.client_cpu, result.server_cpu = meter.read()
    result.connections = connections_opened(conn_dir) - opened
    return result


# --- capture: calls brought to the confirming stage --------------------------------
def confirming_template(base: str, s: Scratch) -> str:
    """One call through the real webhooks up to the confirmation; the confirm URL its TwiML names."""
    import urllib.request

    from django_scopes import scopes_disabled

    from talk.models import Call

    sid, caller = new_sid(), "+14155557000"

    def post(path: str, check_text: str, **extra: str) -> str:
        request_path, body, headers = sign(path, call_params(sid, caller, **extra))
        request = urllib.request.Request(base + request_path, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            text = response.read().decode()
            if response.status != 200 or check_text not in text:
                raise RuntimeError(f"{path}: {response.status} {text[:300]}")
        return text

    post(hook(s, "voice"), "<Enqueue", CallStatus="ringing")
    post(hook(s, "wait"), "<Gather", QueueTime="0")  # hold loop, the callback message offered (C3)
    menu = post(hook(s, "hold-key"), "<Gather", Digits=s.key)
    action = html.unescape(re.search(r'action="([^"]+)"', menu).group(1))
    confirm = post(action, "<Gather", Digits="1")  # 1: call me back at this number (C5)
    confirm_url = html.unescape(re.search(r'action="([^"]+)"', confirm).group(1))
    with scopes_disabled():
        call = Call.objects.select_related("queue_entry").get(account=s.account, provider_call_sid=sid)
    if call.stage != Call.Stage.CONFIRMING or call.pending_number != caller or call.queue_entry.state != "waiting":
        raise RuntimeError(f"template call not confirming: {call.stage} {call.pending_number!r}")
    if "/confirm/" not in confirm_url:
        raise RuntimeError(f"unexpected confirm URL {confirm_url}")
    return confirm_url


_caller_counter = [0]


def confirming_calls(s: Scratch, n: int) -> list[tuple[str, str]]:
    """``n`` calls in the confirming stage, each with its own caller number: (CallSid, number)."""
    from django.db import transaction
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from talk.models import Call, QueueEntry

    with scopes_disabled():
        template = Call.objects.filter(account=s.account, stage=Call.Stage.CONFIRMING).select_related("queue_entry").first()
    now = timezone.now()
    calls, entries, out = [], [], []
    for _ in range(n):
        _caller_counter[0] += 1
        number = f"+1415{3000000 + _caller_counter[0] % 6000000}"
        sid = new_sid()
        call = Call(account_id=s.account.pk, line_id=s.line.pk, provider_call_sid=sid, from_raw=number,
                    to_raw=template.to_raw, caller_number=number, caller_number_source=template.caller_number_source,
                    stage=Call.Stage.CONFIRMING, callback_offered=template.callback_offered,
                    callback_key_pressed_at=now, pending_number=number,
                    pending_number_source=template.pending_number_source)
        calls.append(call)
        entries.append(QueueEntry(account_id=s.account.pk, line_id=s.line.pk, call=call,
                                  kind=template.queue_entry.kind, state=template.queue_entry.state, entered_at=now))
        out.append((sid, number))
    with scopes_disabled(), transaction.atomic():
        Call.objects.bulk_create(calls, batch_size=500)
        QueueEntry.objects.bulk_create(entries, batch_size=500)
    return out


def captured(s: Scratch) -> int:
    from django_scopes import scopes_disabled

    from talk.models import CallbackRequest

    with scopes_disabled():
        return CallbackRequest.objects.filter(account=s.account, confirmed=True, call__outcome="callback_requested").count()


# --- one server setup -------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(server: subprocess.Popen, port: int, log: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited ({server.returncode}):\n{log.read_text()[-2000:]}")
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}{BARE_PATH}", data=b"x=1",
                                             headers={"Host": BASE_DOMAIN, "X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server not ready in 60 s:\n{log.read_text()[-2000:]}")


def forged(base: str, s: Scratch) -> None:
    """The signature is really checked: a request signed with another token must get 403 (C9)."""
    import urllib.error
    import urllib.request

    path, body, headers = incoming_request(s, False)
    headers = {**headers, "X-Twilio-Signature": "bm90IHRoZSBzaWduYXR1cmU="}
    try:
        urllib.request.urlopen(urllib.request.Request(base + path, data=body, headers=headers), timeout=REQUEST_TIMEOUT)
    except urllib.error.HTTPError as error:
        if error.code == 403:
            return
        raise RuntimeError(f"a forged signature got {error.code}, not 403") from None
    raise RuntimeError("a forged signature was accepted: the bench would not measure the real check")


def stop(server: subprocess.Popen) -> None:
    stop_process(server, timeout=10)


def progress(name: str, x: Slice, rate: float | None = None) -> None:
    ms = sorted(x.latencies)
    where = f"open loop {rate:,.0f}/s" if rate else "closed loop"
    print(f"[{name}] {x.kind:8} {where}: {x.throughput:7.1f} req/s, p50 {percentile(ms, 50) * 1000:7.1f} ms, "
          f"p99 {percentile(ms, 99) * 1000:7.1f} ms, bad {x.statuses or 0}, db conns {x.connections}", file=sys.stderr)


@dataclass
class Outcome:
    name: str
    throughput: dict[str, list[Slice]] = field(default_factory=lambda: {"bare": [], "incoming": []})
    latency: dict[str, list[Slice]] = field(default_factory=lambda: {"bare": [], "capture": []})
    rate: float = 0.0
    capture_missing: int = 0  # good capture answers without their confirmed request in the database


def run_server(name: str, s: Scratch, *, repeats: int, seconds: float, conn_max_age: int | None) -> Outcome:
    port = free_port()
    conn_dir = Path(tempfile.mkdtemp(prefix=f"bench-webhooks-{name}-conns-"))
    env = {**os.environ, **SERVER_ENV, "SC_BENCH_CONN_DIR": str(conn_dir)}
    if conn_max_age is not None:  # Django's persistent connections instead of the pool
        env["SC_DB_CONN_MAX_AGE"] = str(conn_max_age)
        env["SC_DB_POOL"] = "false"
    log = Path(tempfile.mkstemp(prefix=f"bench-webhooks-{name}-", suffix=".log")[1])
    with log.open("w") as out:
        server = subprocess.Popen(SERVER_COMMANDS[name](port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    result = Outcome(name)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, port, log)
        forged(base, s)
        empty(s.account)
        # Warm-up (every worker process imports and connects): not measured.
        asyncio.run(closed_loop(base, lambda: incoming_request(s, True), ok_bare, 0.5, "bare"))
        asyncio.run(closed_loop(base, lambda: incoming_request(s, False), ok_incoming, 1.0, "incoming"))
        empty(s.account)

        makers = {"bare": (lambda: incoming_request(s, True), ok_bare),
                  "incoming": (lambda: incoming_request(s, False), ok_incoming)}
        for repeat in range(repeats):
            for kind in (("bare", "incoming") if repeat % 2 == 0 else ("incoming", "bare")):
                make, check = makers[kind]
                result.throughput[kind].append(measured(server, conn_dir, closed_loop(base, make, check, seconds, kind)))
                progress(name, result.throughput[kind][-1])
                empty(s.account)

        result.rate = statistics.median(x.throughput for x in result.throughput["bare"]) / 2
        n = max(20, int(result.rate * seconds))
        # Warm-up of the capture path, at a low rate.
        confirm_path = confirming_template(base, s)
        warm = [sign(confirm_path, call_params(sid, number, Digits="1")) for sid, number in confirming_calls(s, 40)]
        asyncio.run(open_loop(base, warm, ok_capture, 50.0, "capture"))
        empty(s.account)
        for repeat in range(repeats):
            for kind in (("bare", "capture") if repeat % 2 == 0 else ("capture", "bare")):
                confirm_path = confirming_template(base, s)
                before = captured(s)
                calls = confirming_calls(s, n)
                requests = [sign(confirm_path, call_params(sid, number, Digits="1")) for sid, number in calls]
                if kind == "bare":  # the same bodies, to the bare view
                    requests = [(BARE_PATH, body, headers) for _path, body, headers in requests]
                check = ok_bare if kind == "bare" else ok_capture
                slice_ = measured(server, conn_dir, open_loop(base, requests, check, result.rate, kind))
                result.latency[kind].append(slice_)
                progress(name, slice_, result.rate)
                if kind == "capture":
                    result.capture_missing += max(0, slice_.good - (captured(s) - before))
                empty(s.account)
    finally:
        stop(server)
        text = log.read_text()
        if "Traceback" in text or "ERROR" in text:
            print(f"[{name}] server log has errors: {log}", file=sys.stderr)
        else:
            log.unlink()
        shutil.rmtree(conn_dir, ignore_errors=True)
    return result


# --- figures ----------------------------------------------------------------------
def _bad(slices: list[Slice]) -> str:
    counts: dict[str, int] = {}
    for x in slices:
        for key, value in x.statuses.items():
            counts[key] = counts.get(key, 0) + value
    sent = sum(x.sent for x in slices)
    if not counts:
        return f"0 of {sent:,} not 200 + expected TwiML"
    return f"{sum(counts.values()):,} of {sent:,} bad ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})"


def _cpu(slices: list[Slice]) -> str:
    return (f"client {statistics.mean(x.client_cpu for x in slices):.0%} of a core, "
            f"server {statistics.mean(x.server_cpu for x in slices):.0%}")


def outcome_figures(o: Outcome, conn_max_age: int | None) -> list[Figure]:
    label = SERVER_LABELS[o.name]
    bare, product = o.throughput["bare"], o.throughput["incoming"]
    bare_tput = statistics.median(x.throughput for x in bare)
    product_tput = statistics.median(x.throughput for x in product)
    per_request = {k: sum(x.connections for x in v) / max(1, sum(x.sent for x in v)) for k, v in o.throughput.items()}
    lat_bare, lat_capture = o.latency["bare"], o.latency["capture"]
    ms = lambda slices, p: percentile([v for x in slices for v in x.latencies], p) * 1000  # noqa: E731
    p99 = ms(lat_capture, 99)
    conn = "production settings (psycopg pool, SC_DB_POOL)" if conn_max_age is None else f"SC_DB_CONN_MAX_AGE={conn_max_age}"
    return [
        Figure(
            name=f"incoming-call webhook max throughput ({label})", unit="req/s",
            product=product_tput, reference=bare_tput, reference_name="bare TwiML view",
            goal="≥ 0.5× reference", met=product_tput >= 0.5 * bare_tput,
            repeats=[x.throughput for x in product] if len(product) > 1 else [],
            note=(f"{CONCURRENCY} closed-loop clients; webhook {_bad(product)}, bare {_bad(bare)}; "
                  f"CPU during webhook slices: {_cpu(product)}; bare slices: {_cpu(bare)}"),
        ),
        Figure(
            name=f"capture webhook p99 at half the bare maximum ({label})", unit="ms",
            product=p99, reference=ms(lat_bare, 99), reference_name="bare view, same rate",
            goal="≤ 50 ms", met=p99 <= 50,
            repeats=[ms([x], 99) for x in lat_capture] if len(lat_capture) > 1 else [],
            note=(f"open loop at {o.rate:,.0f} req/s offered, capture served "
                  f"{statistics.median(x.throughput for x in lat_capture):,.0f} req/s (the excess queues: p99 grows "
                  f"with the slice's length); p50 {ms(lat_capture, 50):.1f} ms (bare {ms(lat_bare, 50):.1f}), "
                  f"max {ms(lat_capture, 100):.0f} ms; capture {_bad(lat_capture)}, bare {_bad(lat_bare)}; "
                  f"answered captures without their confirmed request in the DB: {o.capture_missing}; "
                  f"latest client start past schedule {max(x.lag_max for x in lat_capture + lat_bare) * 1000:.1f} ms; "
                  f"CPU during capture slices: {_cpu(lat_capture)}"),
        ),
        Figure(
            name=f"DB connections opened per request, incoming-call webhook ({label})", unit="conn/req",
            product=per_request["incoming"], reference=per_request["bare"], reference_name="bare view",
            goal="≈ 0 (persistent connections)", met=per_request["incoming"] < 0.05,
            note=f"{conn}; counted by a connection_created hook in bench_settings, throughput slices",
        ),
    ]


def figures(quick: bool, servers: list[str] | None = None, conn_max_age: int | None = None) -> list[Figure]:
    servers = servers or ["daphne", "uvicorn", "gunicorn"]
    createdb()
    django_ready()
    s = scratch()
    out: list[Figure] = []
    skipped: list[str] = []
    for name in servers:
        if name == "gunicorn" and not (ROOT / "supportcenter" / "wsgi.py").exists():
            skipped.append("gunicorn sync WSGI: the project has no supportcenter/wsgi.py")
            continue
        outcome = run_server(name, s, repeats=1 if quick else 3, seconds=2.5 if quick else 5.0,
                             conn_max_age=conn_max_age)
        out += outcome_figures(outcome, conn_max_age)
    empty(s.account)
    if out and skipped:
        out[-1].note += "; skipped: " + "; ".join(skipped)
    elif skipped:
        print("skipped: " + "; ".join(skipped), file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one slice of each (about a minute)")
    parser.add_argument("--servers", default="daphne,uvicorn,gunicorn",
                        help="comma-separated: daphne, uvicorn (gunicorn + uvicorn workers), gunicorn (sync WSGI)")
    parser.add_argument("--conn-max-age", type=int, default=None,
                        help="SC_DB_CONN_MAX_AGE for the servers (settings read it; default: unset, i.e. 0)")
    args = parser.parse_args()
    servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = set(servers) - set(SERVER_COMMANDS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    show(figures(args.quick, servers, args.conn_max_age))
    print(f"\n({time.monotonic() - started:.0f} s; load generated in this process with aiohttp, on the same "
          f"2 cores as the server: see the CPU shares in the notes)")


if __name__ == "__main__":
    main()
