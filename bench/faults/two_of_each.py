"""Drill two_of_each: two routers and two dialers at once during a drain.

    .venv/bin/python -m bench.faults.two_of_each [--quick]

Two ``manage.py router`` and two dialers (the product's, with the fake carrier of
bench/drain_worker.py, 100 ms an answer) serve one account while callback requests drain:
simulated agents (threads here) accept each offer at once and, once its call is placed,
play the provider's events through the services the webhooks call.

Checked afterwards, from the database and the carrier's log: no agent ever held two open
offers at once (and no entry was open with two agents at once), no attempt was placed
twice, each accepted request got exactly one call. Both routers' and dialers' logs are
read for failures (e.g. a unique-constraint violation from a double offer).

acknowledged: callback requests accepted; stored: with their placed call recorded;
duplicates: overlapping offers + calls beyond the first per request + numbers with two requests.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c
from bench.faults.kill9_router_dialer import open_requests

NAME = "two_of_each"


def overlaps(s) -> tuple[int, int, int]:
    """(offers overlapping another open offer of the same agent, of the same entry, offers in all)."""
    from django_scopes import scopes_disabled

    from talk.models import Offer

    with scopes_disabled():
        offers = list(Offer.objects.filter(account=s.account).values(
            "pk", "agent_id", "entry_id", "state", "created_at", "responded_at", "expires_at"))

    def count(key: str) -> int:
        by: dict[int, list[dict]] = {}
        for offer in offers:
            by.setdefault(offer[key], []).append(offer)
        bad = 0
        for rows in by.values():
            rows.sort(key=lambda o: (o["created_at"], o["pk"]))
            open_until = None
            for offer in rows:
                if open_until is not None and offer["created_at"] < open_until:
                    bad += 1
                end = offer["responded_at"] or offer["expires_at"]
                open_until = end if open_until is None else max(open_until, end)
        return bad

    return count("agent_id"), count("entry_id"), len(offers)


def run(quick: bool) -> dict:
    n_agents, n_callbacks = (8, 80) if quick else (12, 200)
    failures, notes = [], []
    stop = threading.Event()
    workers: list[c.AgentWorker] = []
    with c.time_limit(240):
        try:
            s = c.scratch()
            c.reset(s)
            users = c.agents(s, n_agents)
            carrier = c.CarrierLog(c.LOG_DIR / f"carrier-{NAME}.log")
            routers = [c.spawn_router(f"router-{i}") for i in (1, 2)]
            dialers = [c.spawn_dialer(carrier.path, name=f"dialer-{i}", provider_ms=100) for i in (1, 2)]
            c.set_status(s, users, "online")
            c.callback_requests(s, n_callbacks)
            started = time.monotonic()
            workers = [c.AgentWorker(s, user, carrier, stop) for user in users]
            for worker in workers:
                worker.start()
            deadline = started + (60 if quick else 170)
            while time.monotonic() < deadline and open_requests(s):
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            stop.set()
            for worker in workers:
                worker.join(timeout=15)
            remaining = open_requests(s)
            accepted = {r for worker in workers for r in worker.accepted}
            p = c.placements(s, carrier, accepted)
            by_agent, by_entry, offers = overlaps(s)
            per_dialer: dict[int, int] = {}
            for _at, event, _attempt, _sid, pid in carrier.read():
                if event == "placed":
                    per_dialer[pid] = per_dialer.get(pid, 0) + 1
            notes.append(f"{len(accepted)} accepted in {elapsed:.1f} s, {offers} offers, {p['placed_total']} calls "
                         f"placed (per dialer process: {sorted(per_dialer.values(), reverse=True)}); attempts per "
                         f"request {dict(sorted(p['attempts_per_request'].items()))}")
            if len(per_dialer) < 2:
                notes.append("only one dialer process placed calls")
            if by_agent or by_entry:
                failures.append(f"overlapping open offers: {by_agent} with the same agent, {by_entry} for the same entry")
            if remaining:
                failures.append(f"{remaining} callback requests still open after {elapsed:.0f} s")
            if len(accepted) < n_callbacks:
                failures.append(f"only {len(accepted)} of {n_callbacks} requests accepted")
            if p["mismatched"]:
                failures.append(f"attempts whose recorded call id is not the carrier's: {p['mismatched'][:5]}")
            for proc in routers + dialers:
                errors = c.tracebacks(proc.text())
                if not proc.alive():
                    failures.append(f"{proc.name} died: {c.summarise(errors, 1)}")
                elif errors:
                    failures.append(f"{proc.name} logged {len(errors)} failures: {c.summarise(errors, 1)}")
            duplicates = by_agent + by_entry + p["extra_calls"] + p["same_number"]
            return c.result(NAME, acknowledged=len(accepted), stored=p["stored"], lost=len(p["lost"]),
                            duplicates=duplicates, failures=failures, notes=notes)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=5)
            c.stop_all()


if __name__ == "__main__":
    c.main(sys.modules[__name__])
