"""Every benchmark, one command: figures side by side with their references, in
``bench/results/latest.md`` (issue 11, item 5).

    .venv/bin/python bench/run.py [--quick] [--only drain,webhooks] [--faults]

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (starts them when they are
down, as ``.ci/run`` does) and uses a database of its own, ``sc_bench`` (made and migrated
here; never a test database, never your data). Each benchmark runs in a process of its
own (``figures(quick)`` of ``bench/<name>.py``), measuring product and reference in
alternating slices of the same run and repeating them; the table gives figure, product,
reference, ratio and the spread over the repeats. ``--faults`` adds the fault drills of
``bench/faults/`` (each ends "acknowledged N, stored N, lost 0, duplicates 0").
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH_DATABASE, BENCH_REDIS, ROOT, Figure, table  # noqa: E402

BENCHES = ["routing", "drain", "races", "webhooks", "pushes", "memory", "search", "recordings"]
MARK = "FIGURES-JSON:"
RESULTS = ROOT / "bench" / "results" / "latest.md"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def services_up() -> None:
    """PostgreSQL and Redis, started the way .ci/run starts them when they are down."""
    if not port_open(5432):
        clusters = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        if clusters:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", clusters[0], "main", "start"], check=False)
    if not port_open(6379):
        os.makedirs("/var/lib/redis", exist_ok=True)
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
                        "--appendonly", "no", "--dir", "/var/lib/redis"], check=False)
    for _ in range(30):
        if port_open(5432) and port_open(6379):
            break
        time.sleep(1)
    else:
        sys.exit("bench: PostgreSQL (5432) and Redis (6379) are needed and did not come up")
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "sc_bench"], capture_output=True, check=False)
    env = {**os.environ, "DATABASE_URL": BENCH_DATABASE, "REDIS_URL": BENCH_REDIS}
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)


def run_bench(name: str, quick: bool) -> tuple[list[Figure], str]:
    """One benchmark in a process of its own; its figures, or an error to report."""
    code = (
        "import json, sys, dataclasses; sys.path.insert(0, 'bench'); "
        f"import {name} as bench; figures = bench.figures({quick!r}); "
        f"print({MARK!r} + json.dumps([dataclasses.asdict(f) for f in figures]))"
    )
    env = {**os.environ, "DATABASE_URL": BENCH_DATABASE, "REDIS_URL": BENCH_REDIS}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return [], f"{name}: failed (exit {done.returncode}) after {took:.0f} s: " + " / ".join(tail)
    return [Figure(**row) for row in json.loads(lines[-1][len(MARK):])], f"{name}: {took:.0f} s"


# Why a goal is not met, where we know: keyed by a part of the figure's name. Kept here so
# every run's results say it next to the figure (docs/production.md has the longer story).
WHY_NOT_MET = {
    "webhook max throughput": (
        "the webhook does real work a bare view does not: six statements in one transaction "
        "(line check, call insert, receipt, commit with its fsync) and the ORM building them; "
        "the connection, the line lookup and the receipt look-up were cut (issue 11)"
    ),
    "call placed p99": (
        "from the accept's commit the call is placed within the goal (see the commit rows); the time "
        "from the click to the commit is the accept's own transaction waiting for the locks of the "
        "routing passes that every accept wakes, over a queue of 1,000 (not yet cut)"
    ),
    "pushes dropped": (
        "500 sockets on 2 web processes of a 2-core machine shared with PostgreSQL, Redis, the router "
        "and the bench's client: the processes fall behind fanning pushes out (a bare group_send takes "
        "seconds to reach a socket here too) and channels_redis drops what passes 100 waiting per "
        "socket; no offer is lost (the console's reload shows it)"
    ),
    "capture webhook p99": (
        "at half the bare view's maximum the capture is past its own maximum (about 13 statements: "
        "the request, its queue entry, open offers, audit, receipt), so requests queue and p99 "
        "measures the queue (its latency at a rate it can serve is not in this table)"
    ),
}


def why_not_met(figures: list[Figure]) -> list[str]:
    lines = []
    for figure in figures:
        if figure.met is False:
            why = next((text for key, text in WHY_NOT_MET.items() if key in figure.name), "not analysed yet")
            lines.append(f"- **{figure.name}**: {why}.")
    return lines


def run_faults(quick: bool) -> list[str]:
    command = [sys.executable, "bench/faults/run.py"] + (["--quick"] if quick else [])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if "acknowledged" in line or "failed" in line.lower()]
    return lines or [f"fault drills: exit {done.returncode}: " + " / ".join(done.stderr.strip().splitlines()[-3:])]


def machine() -> str:
    load = os.getloadavg()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return (f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, commit {commit}, "
            f"load average at the start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and repeats (minutes, not tens of minutes)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--faults", action="store_true", help="also run the fault drills (bench/faults)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else BENCHES
    unknown = set(names) - set(BENCHES)
    if unknown:
        sys.exit(f"bench: unknown benchmark(s) {sorted(unknown)}; choose from {BENCHES}")
    services_up()
    started = dt.datetime.now(dt.timezone.utc)
    header = machine()
    figures: list[Figure] = []
    log: list[str] = []
    for name in names:
        print(f"bench: {name} ...", flush=True)
        got, line = run_bench(name, args.quick)
        figures += got
        log.append(line)
        print(f"bench: {line}", flush=True)
    drills = run_faults(args.quick) if args.faults else []
    text = "\n".join([
        f"# Benchmarks: {started:%Y-%m-%d %H:%M} UTC{' (quick)' if args.quick else ''}",
        "",
        f"Machine: {header}. The machine is shared: compare ratios (product and reference ran in",
        "alternating slices of the same run), not absolute times. Written by `bench/run.py`.",
        "",
        table(figures),
        *(["", "## Goals not met, and why", "", *why_not_met(figures)] if why_not_met(figures) else []),
        "",
        "## Runs",
        "",
        *[f"- {line}" for line in log],
        *(["", "## Fault drills", "", *[f"- {line}" for line in drills]] if drills else []),
        "",
    ])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
