"""Run the fault drills (issue 11, item 6) and print each one's closing line.

    .venv/bin/python bench/faults/run.py [--quick] [--only NAME[,NAME]]

One private PostgreSQL (5433) and Redis (6380) serve every drill (bench/faults/common.py);
each drill starts and stops its own processes. Exit status 1 if any drill failed.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c

DRILLS = [
    "kill9_web",
    "redis_down",
    "postgres_restart",
    "kill9_router_dialer",
    "two_of_each",
    "qcluster_sigterm",
    "carrier_refuses",
    "lost_status_callback",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter streams and outages")
    parser.add_argument("--only", default="", help="comma-separated drill names")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or DRILLS
    unknown = set(names) - set(DRILLS)
    if unknown:
        parser.error(f"unknown drills: {', '.join(sorted(unknown))} (known: {', '.join(DRILLS)})")
    results = []
    started = time.monotonic()
    with c.environment():
        for name in names:
            module = importlib.import_module(f"bench.faults.{name}")
            began = time.monotonic()
            c.log(name, "start")
            try:
                r = module.run(args.quick)
            except BaseException as error:
                r = c.crashed(name, error)
                if isinstance(error, KeyboardInterrupt):
                    c.show(r)
                    raise
            finally:
                c.stop_all()
            r["seconds"] = round(time.monotonic() - began, 1)
            c.show(r)
            results.append(r)
    print(f"\n{len(results)} drills in {time.monotonic() - started:.0f} s; "
          f"private PostgreSQL {'up' if c.port_open(c.PG_PORT) else 'stopped'}, "
          f"private Redis {'up' if c.port_open(c.REDIS_PORT) else 'stopped'}")
    for r in results:
        print(c.closing_line(r) + ("" if r["ok"] else "   <- FAILED"))
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
