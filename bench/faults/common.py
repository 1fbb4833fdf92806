"""What every fault drill shares: a private PostgreSQL and Redis, the processes under test,
the scratch account, simulated agents and a fake carrier's log, and the closing line.

Everything runs against services this module starts and owns: a PostgreSQL cluster in
``/tmp/faults-pg`` on port 5433 (run as the ``postgres`` user: initdb refuses root) and a
``redis-server`` on port 6380, both on 127.0.0.1. The shared PostgreSQL (5432) and Redis
(6379) are never touched: a router started against a shared database would route other
people's accounts, and a push on a shared Redis could reach their sockets.

Web processes, routers, dialers and task clusters are started as subprocesses in their
own session (process group), with production settings (``SC_ENV=production``, the
bench-only secrets of ``bench/webhook_setup.py``); their output goes to ``/tmp/faults-logs``.
``stop_all`` (called in every drill's ``finally``) ends exactly the processes started here.

A drill is a module with ``NAME`` and ``run(quick) -> dict`` (``result``); ``main`` runs
one alone. Its closing line: ``<name>: acknowledged N, stored N, lost N, duplicates N``.

The parts: bench/faults/services.py (the private PostgreSQL and Redis), processes.py (the
processes under test), account.py (the scratch account and its rows), workers.py (simulated
agents, the carrier's log) and streams.py (webhook streams). Drills use them through this
module, as ``c.<name>`` (``__all__``).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import webhook_setup
from bench import webhooks as wh  # the drills use its answer checks and requests as c.wh
from bench.faults.account import (
    HOST,
    agents,
    callback_requests,
    confirmed_for,
    db_retry,
    duplicate_numbers,
    reset,
    scratch,
    set_status,
    webhook_agent,
)
from bench.faults.processes import (
    PYTHON,
    kill9,
    spawn,
    spawn_dialer,
    spawn_router,
    spawn_web,
    stop_all,
    stop_proc,
    summarise,
    tracebacks,
)
from bench.faults.services import LOG_DIR, PG_DIR, PG_PORT, POSTGRES, REDIS, REDIS_PORT, port_open
from bench.faults.streams import capture_requests, is_apology, stream
from bench.faults.workers import AgentWorker, CarrierLog, placements

__all__ = [
    # defined here
    "DrillTimeout", "closing_line", "crashed", "environment", "log", "main", "result", "show", "time_limit", "_depth",
    # the parts
    "wh", "HOST", "agents", "callback_requests", "confirmed_for", "db_retry", "duplicate_numbers", "reset",
    "scratch", "set_status", "webhook_agent", "PYTHON", "kill9", "spawn", "spawn_dialer", "spawn_router",
    "spawn_web", "stop_all", "stop_proc", "summarise", "tracebacks", "LOG_DIR", "PG_PORT", "POSTGRES", "REDIS",
    "REDIS_PORT", "port_open", "capture_requests", "is_apology", "stream", "AgentWorker", "CarrierLog", "placements",
]


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


# --- the private services, Django on them ----------------------------------------------
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
            webhook_setup.django_ready()  # django.setup() on the private DATABASE_URL (services), then migrate
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
