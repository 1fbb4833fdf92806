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
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Figure, percentile, show, stop_process  # noqa: E402
from bench.webhook_load import CONCURRENCY, Slice, closed_loop, measured, open_loop  # noqa: E402
from bench.webhook_requests import (  # noqa: E402
    BARE_PATH,
    REQUEST_TIMEOUT,
    call_params,
    captured,
    confirming_calls,
    confirming_template,
    incoming_request,
    ok_bare,
    ok_capture,
    ok_incoming,
    sign,
)
from bench.webhook_setup import (  # noqa: E402
    BASE_DOMAIN,
    SERVER_COMMANDS,
    SERVER_ENV,
    SERVER_LABELS,
    Scratch,
    createdb,
    django_ready,
    empty,
    scratch,
)

# The parts: bench/webhook_setup.py (the servers' settings and commands, the scratch account),
# webhook_requests.py (signed requests, answer checks, calls at the confirmation) and
# webhook_load.py (closed and open loops). The fault drills reach this module's answer checks
# and requests as c.wh (bench/faults/common.py).


# --- one server setup -------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(server: subprocess.Popen, port: int, log: Path) -> None:
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
