"""Benchmark: pushes that scale (issue 11, item 4): agents' sockets over several web processes.

    .venv/bin/python bench/pushes.py [--quick] [--sockets 500] [--processes 2]

(``bench/run.py`` calls ``figures(quick)``: 500 sockets, or 100 with ``quick``; 2 web processes.)
It creates the database ``sc_bench`` if missing (``createdb -h 127.0.0.1 -U postgres sc_bench``)
and migrates it; Redis db 3 with its own channel prefix. Never point it at data you keep: it
uses a scratch account ``bench-pushes`` (made here, emptied before and after each run).

What runs, production-like (``SC_ENV=production``, bench-only secrets, TLS behind a proxy:
the client sends ``X-Forwarded-Proto: https``):

- ``--processes`` web processes, ``daphne supportcenter.asgi:application`` on free ports;
- one router, ``manage.py router``'s command run by this file (``--router-process``), which
  only counts the routing passes (``talk.routing.route_account`` wrapped) into a file;
- in this process, an asyncio client: one ``/ws/agent/`` socket per agent (Host
  ``bench-pushes.localhost``, Origin ``https://bench-pushes.localhost``, the session cookie of
  a Django session made here with the auth keys), spread round-robin over the web processes;
  a socket closed by the server is counted and reconnected (then the agent reloads its open
  offer over HTTP, as the console does);
- a thread commits callback requests through ``talk.services.callback_requests`` at a steady
  rate (0.6 per agent over the load phase, so free agents remain); the router offers them;
  each agent answers each ``offer.new`` after a human delay (0.3-1.2 s) over the HTTP API
  the console uses: Don't answer (decline) 1 time in 5, else Call (accept; the agent then
  stays busy: no dialer runs here);
- the reference, in the same run and loop: a bare ``group_send`` of the channel layer from
  this process to one agent's user group, a few times a second → the frame on the socket.

Then it drains (no offer open, nothing waiting), and accounts for every offer the run made
(database): received as an ``offer.new`` frame on that agent's socket, or else found in the
agent's console state (``GET /talk/console/state.json``: the open offer or the recent ones)
with the agent's session; neither is a lost offer.

Figures: consumer crashes (tracebacks in the web processes' stderr + sockets closed by the
server), lost offers, commit → ``offer.new`` latency (first offer of each request; the commit
is stamped here when the service returns) against the bare ``group_send``, ``queue.changed``
frames per socket, per routing pass and per second, sockets connected, web processes' RSS.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Figure, django_setup, show
from bench.push_client import drive
from bench.push_processes import DropCounter, dropped, free_port, listening, log, rss, start, stop, wait_ready
from bench.push_report import report
from bench.push_setup import bench_env, empty, ensure_database, forget_groups, setup

# The parts: bench/push_setup.py (environment, scratch account, rows), push_processes.py (web
# processes and router, their logs), push_client.py (the agents' sockets, the run) and
# push_report.py (the figures). Django is imported inside the functions, after django_setup().


# --- the router, counting its passes ------------------------------------------------------
def router_process(pass_log: str) -> None:
    """``manage.py router`` as is, with each routing pass written to ``pass_log``."""
    django_setup(**bench_env())
    from django.core.management import call_command

    from talk import routing

    original = routing.route_account
    out = open(pass_log, "a", buffering=1)  # noqa: SIM115 (open while the router runs)

    def counted(account, *args, **kwargs):
        started = time.time()
        made = original(account, *args, **kwargs)
        out.write(f"{started:.6f} {time.time():.6f} {account.pk} {len(made)}\n")
        return made

    routing.route_account = counted
    call_command("router")


# --- the figures --------------------------------------------------------------------------
def figures(quick: bool, sockets: int | None = None, processes: int = 2) -> list[Figure]:
    n = sockets or (100 if quick else 500)
    load_seconds, drain_seconds = (20.0, 12.0) if quick else (45.0, 25.0)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n * 2 + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    os.environ.update(bench_env())
    ensure_database()
    django_setup(**bench_env())
    from django.conf import settings

    if not settings.ROUTE_NOTIFY or "Redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        raise RuntimeError("bench/pushes.py needs PostgreSQL, Redis and SC_ROUTE_NOTIFY")
    log(f"setting up {n} agents")
    account, line, user_ids, cookies, session_keys = setup(n)
    forget_groups(account)
    drops = DropCounter()
    layer_log = logging.getLogger("channels_redis")
    layer_log.addHandler(drops)
    layer_log.propagate = False  # counted, not printed
    logs = Path(tempfile.mkdtemp(prefix="bench-pushes-"))
    pass_log = logs / "passes.log"
    webs: list[subprocess.Popen] = []
    router = None
    try:
        ports = [free_port() for _ in range(processes)]
        for i, port in enumerate(ports):
            webs.append(start([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "supportcenter.asgi:application"], logs / f"web{i}.out", logs / f"web{i}.err"))
        router = start([sys.executable, str(Path(__file__).resolve()), "--router-process", str(pass_log)],
                       logs / "router.out", logs / "router.err")
        for i, (web, port) in enumerate(zip(webs, ports)):
            wait_ready(web, listening(port), f"web process {i}")
        wait_ready(router, lambda: "router listening" in (logs / "router.out").read_text(), "router")
        baseline = [rss(p) for p in webs]
        log(f"{processes} web processes and the router started")
        out = asyncio.run(drive(account=account, line=line, user_ids=user_ids, cookies=cookies, ports=ports,
                                load_seconds=load_seconds, drain_seconds=drain_seconds, webs=webs, logs=logs))
    finally:
        stop(webs + ([router] if router else []))
        try:
            from django.contrib.sessions.models import Session
            from django.db import connection

            connection.close()
            Session.objects.filter(session_key__in=session_keys).delete()
            empty(account)
            forget_groups(account)
        except Exception as error:  # noqa: BLE001
            print(f"bench/pushes.py: cleanup failed: {error}", file=sys.stderr)
    layer_log.removeHandler(drops)
    layer_log.propagate = True
    out["bench_drops"] = dropped("\n".join(drops.text))
    return report(out, n, processes, ports, baseline, logs, pass_log, account.pk, load_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 sockets, 20 s of load")
    parser.add_argument("--sockets", type=int, default=None, help="agents' sockets (default 500, quick 100)")
    parser.add_argument("--processes", type=int, default=2, help="web processes (daphne)")
    args = parser.parse_args()
    show(figures(args.quick, sockets=args.sockets, processes=args.processes))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--router-process":
        router_process(sys.argv[2])
    else:
        main()
