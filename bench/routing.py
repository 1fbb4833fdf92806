"""Benchmark: how soon routing acts on a commit and on a deadline (SPEC O4, R9; issue 11, item 1).

    .venv/bin/python bench/routing.py [--quick] [--rounds 60] [--offers 8] [--expiries 15]

(``DATABASE_URL`` / ``REDIS_URL`` default to the bench's, bench/common.py.)

Side by side in one run, alternating slices (the machine is shared: compare ratios):

- **router**: ``manage.py router`` processes, woken by the writes' ``NOTIFY``;
- **task queue**: the previous path, a django-q2 task per wake-up through the database
  broker, run by ``manage.py qcluster`` (its 0.5 s poll), and its sweep for deadlines;
- **inline**: the pass run right after the commit, in the writing process: the floor.

Each round commits a callback request while one agent is free and measures commit → the
offer's row (its ``created_at``, stamped by the process that made it, same clock). Then,
with the same router or cluster: offers with a 1 s time-out measure time-out lateness
(``responded_at - expires_at``), and callback requests expiring a second after they are
made (the agent away, so nobody is offered them) measure expiry lateness
(``ended_at - expires_at``, both stamped by the pass). Uses a scratch account
``bench-routing`` (made and emptied here); never point it at data you keep.
"""
from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Figure, django_setup, percentile, scratch_account, show, stop_process  # noqa: E402

django_setup(SC_ROUTE_NOTIFY="true")  # this process writes as production does; slices switch it

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scope  # noqa: E402

from supportcenter.models import Account, User  # noqa: E402
from talk import routing  # noqa: E402
from talk.models import AgentPresence, CallbackRequest, Line, Offer, QueueEntry  # noqa: E402
from talk.services.callback_requests import callback_request_create  # noqa: E402
from talk.services.offers import offer_decline  # noqa: E402

SUBDOMAIN = "bench-routing"
GOAL_MS = 1000.0


def others() -> tuple[int, int]:
    """Routers and task clusters of other runs on this database (ours are stopped between
    slices): they would route this account too, and a cluster may run the scheduled sweep."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE query LIKE 'LISTEN talk_route%%'),"
            " count(*) FILTER (WHERE query LIKE '%%django_q_%%') FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()


def wait_quiet(seconds: float) -> tuple[int, int]:
    """Wait up to ``seconds`` for other runs' routers and clusters to leave; what is left."""
    deadline = time.monotonic() + seconds
    while True:
        found = others()
        if found == (0, 0) or time.monotonic() >= deadline:
            return found
        time.sleep(2)


def setup() -> tuple[Account, Line, User]:
    account, line, [user] = scratch_account(SUBDOMAIN, "Bench routing")
    with scope(account=account):
        Line.objects.filter(pk=line.pk).update(callback_offer_seconds=40)
        line.refresh_from_db()
        presence(account, user, "online")
    return account, line, user


def presence(account: Account, user: User, status: str) -> None:
    AgentPresence.objects.update_or_create(account=account, user=user, defaults={"status": status, "busy": False})


def empty(account: Account) -> None:
    with scope(account=account):
        Offer.objects.filter(account=account).delete()
        CallbackRequest.objects.filter(account=account).delete()
        QueueEntry.objects.filter(account=account).delete()


def start(command: str, notify: bool) -> subprocess.Popen:
    """A router or a cluster of our own. A router counts as started once its LISTEN shows in
    pg_stat_activity (a commit before that would be routed by its catch-up pass, seconds
    late: the start, not the wake-up); a cluster is given 4 s to start polling."""
    listening = others()[0]
    env = {**os.environ, "SC_ROUTE_NOTIFY": "true" if notify else "false"}
    process = subprocess.Popen([sys.executable, "manage.py", command], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    if command == "qcluster":
        time.sleep(4)
        return process
    deadline = time.monotonic() + 30
    while others()[0] <= listening and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # its catch-up pass done
    return process


def stop(process: subprocess.Popen) -> None:
    stop_process(process, timeout=5)


def number(prefix: str, counter: list[int]) -> str:
    counter[0] += 1
    return f"+1415{prefix}{counter[0] % 1_000_000:06d}"


# --- commit → offer -------------------------------------------------------------------
def one_wake(account: Account, line: Line, user: User, counter: list[int], *, inline: bool) -> float:
    """Commit a request with the agent free; seconds from the commit to its offer's row."""
    with scope(account=account):
        request = callback_request_create(line=line, number=number("5", counter))
        committed = timezone.now()
        if inline:
            routing.route_account(account)
        deadline = time.monotonic() + 10
        offer = None
        while offer is None and time.monotonic() < deadline:
            offer = Offer.objects.filter(account=account, entry_id=request.queue_entry_id).first()
            if offer is None:
                time.sleep(0.002)
        if offer is None:
            raise RuntimeError("no offer within 10 s")
        offer_decline(account=account, offer_id=offer.pk, agent=user)
        CallbackRequest.objects.filter(pk=request.pk).update(state="expired")  # out of the way
        QueueEntry.objects.filter(pk=request.queue_entry_id).update(state="cancelled")
        return (offer.created_at - committed).total_seconds()


def wake_slice(mode: str, account, line, user, rounds: int, counter: list[int]) -> list[float]:
    # inline: the wake-up is a NOTIFY nobody hears; the pass runs here, right after the commit.
    settings.ROUTE_NOTIFY = mode in ("router", "inline")
    process = None if mode == "inline" else start("router" if mode == "router" else "qcluster", mode == "router")
    try:
        return [one_wake(account, line, user, counter, inline=mode == "inline") for _ in range(rounds)]
    finally:
        if process is not None:
            stop(process)
        empty(account)


# --- deadlines: offer time-outs and request expiries ---------------------------------------
def timeouts(account, line, user, offers: int, counter: list[int], wait: float) -> tuple[list[float], int]:
    """Offers with a 1 s time-out, one after the other: seconds past ``expires_at`` each was
    timed out; and how many were not within the wait (counted at the wait, a lower bound)."""
    late, missed = [], 0
    with scope(account=account):
        presence(account, user, "online")
        Line.objects.filter(pk=line.pk).update(callback_offer_seconds=1)
        line.refresh_from_db()
        try:
            for _ in range(offers):
                request = callback_request_create(line=line, number=number("6", counter))
                deadline = time.monotonic() + wait
                while True:
                    offer = Offer.objects.filter(entry_id=request.queue_entry_id, state="timed_out").first()
                    if offer is not None:
                        late.append((offer.responded_at - offer.expires_at).total_seconds())
                        break
                    if time.monotonic() >= deadline:
                        missed += 1
                        late.append(wait)
                        break
                    time.sleep(0.01)
                CallbackRequest.objects.filter(pk=request.pk).update(state="expired")
                QueueEntry.objects.filter(pk=request.queue_entry_id).update(state="cancelled")
                Offer.objects.filter(entry_id=request.queue_entry_id, state="offered").update(state="withdrawn")
        finally:
            Line.objects.filter(pk=line.pk).update(callback_offer_seconds=40)
            line.refresh_from_db()
    return late, missed


def expiries(account, line, user, requests: int, counter: list[int], wait: float) -> tuple[list[float], int]:
    """Requests made 0.1 s apart, each expiring 1 s after it was made, the agent away (nobody
    is offered them, nobody declines them): seconds from ``expires_at`` to the pass that
    expired each (its ``ended_at``); and how many were not expired within the wait."""
    with scope(account=account):
        presence(account, user, "away")
        made = []
        for _ in range(requests):
            with transaction.atomic():  # the NOTIFY goes on commit, with the short expiry already set
                request = callback_request_create(line=line, number=number("7", counter))
                CallbackRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() + timedelta(seconds=1))
            made.append(request.pk)
            time.sleep(0.1)
        deadline = time.monotonic() + 1 + wait
        rows: list[tuple] = []
        while time.monotonic() < deadline:
            rows = list(CallbackRequest.objects.filter(pk__in=made, state="expired").values_list("ended_at", "expires_at"))
            if len(rows) == len(made):
                break
            time.sleep(0.02)
        late = [(ended - expires).total_seconds() for ended, expires in rows]
        missed = len(made) - len(rows)
        late += [wait] * missed
        CallbackRequest.objects.filter(pk__in=made, state="pending").update(state="expired")
        QueueEntry.objects.filter(account=account, state="waiting").update(state="cancelled")
        presence(account, user, "online")
    return late, missed


def deadline_slice(mode: str, account, line, user, offers: int, requests: int, counter: list[int],
                   wait: float) -> dict:
    """One router (or one cluster with its sweep) for both kinds of deadline."""
    settings.ROUTE_NOTIFY = mode == "router"
    process = start("router" if mode == "router" else "qcluster", mode == "router")
    try:
        timed_out, timeouts_missed = timeouts(account, line, user, offers, counter, wait)
        expired, expiries_missed = expiries(account, line, user, requests, counter, wait)
    finally:
        stop(process)
        empty(account)
    return {"timeout": (timed_out, timeouts_missed), "expiry": (expired, expiries_missed)}


# --- figures -------------------------------------------------------------------------------
def ms(values: list[float]) -> list[float]:
    return [v * 1000 for v in values]


def figures(quick: bool = False, *, rounds: int | None = None, offers: int | None = None,
            expiries_per_slice: int | None = None, repeats: int | None = None) -> list[Figure]:
    rounds = rounds or (20 if quick else 60)
    offers = offers or (4 if quick else 8)
    expiries_per_slice = expiries_per_slice or (10 if quick else 15)
    repeats = repeats or (1 if quick else 2)  # deadline slices per mode
    wait = 10.0 if quick else 30.0  # past this a deadline not acted on counts at this: a lower bound
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("bench/routing.py needs PostgreSQL (DATABASE_URL): routers LISTEN for NOTIFY")
    logging.getLogger("django-q").setLevel(logging.WARNING)  # not a line per enqueued task
    seen = list(wait_quiet(30.0 if quick else 60.0))
    account, line, user = setup()
    empty(account)
    counter = [int(time.time()) % 1_000_000]
    wakes: dict[str, list[list[float]]] = {"router": [], "task": [], "inline": []}
    try:
        for _ in range(max(1, rounds // 20)):  # alternating slices of 20 commits
            for mode in wakes:
                seen = [max(a, b) for a, b in zip(seen, others())]
                wakes[mode].append(ms(wake_slice(mode, account, line, user, 20, counter)))
        deadlines: dict[str, list[dict]] = {"router": [], "task": []}
        for _ in range(repeats):
            for mode in deadlines:
                seen = [max(a, b) for a, b in zip(seen, others())]
                deadlines[mode].append(deadline_slice(mode, account, line, user, offers, expiries_per_slice, counter,
                                                      wait))
    finally:
        settings.ROUTE_NOTIFY = True
        with scope(account=account):
            presence(account, user, "online")
        empty(account)

    flat = {mode: [v for s in slices for v in s] for mode, slices in wakes.items()}
    out = []
    for p in (50, 99):
        router, task, inline = (percentile(flat[m], p) for m in ("router", "task", "inline"))
        out.append(Figure(
            f"commit → offer p{p}, routers", "ms", router, task, "task queue",
            repeats=[percentile(s, p) for s in wakes["router"]],
            note=(f"{len(flat['router'])} commits per path in slices of 20, one free agent; inline pass in the "
                  f"writing process (the floor): p{p} {inline:.1f} ms, router / inline {router / inline:.2f}"),
        ))
    for kind, name, what in (
        ("timeout", "offer time-out lateness p99, routers", "offers with a 1 s time-out, one at a time"),
        ("expiry", "callback request expiry lateness p99, routers", "requests expiring 1 s after they were made, 0.1 s apart, agent away"),
    ):
        values = {m: ms([v for s in deadlines[m] for v in s[kind][0]]) for m in deadlines}
        missed = {m: sum(s[kind][1] for s in deadlines[m]) for m in deadlines}
        router, task = percentile(values["router"], 99), percentile(values["task"], 99)
        note = (f"{what}; n = {len(values['router'])} per path; p50 router {percentile(values['router'], 50):.0f} ms, "
                f"sweep {percentile(values['task'], 50):.0f} ms; max router {max(values['router']):.0f} ms, "
                f"sweep {max(values['task']):.0f} ms")
        if any(missed.values()):
            note += (f"; not acted on within {wait:.0f} s (counted at {wait:.0f} s, a lower bound): "
                     f"router {missed['router']}, sweep {missed['task']}")
        if any(seen):
            note += (f"; NOT CLEAN: other runs used this database meanwhile ({seen[0]} router(s), {seen[1]} task "
                     "cluster connection(s)): they route this account too and may run the sweep, so the task-queue "
                     "figures are not the task queue's alone")
        out.append(Figure(
            name, "ms", router, task, "task-queue sweep", "≤ 1,000 ms", router <= GOAL_MS and not missed["router"],
            repeats=[percentile(ms(s[kind][0]), 99) for s in deadlines["router"]], note=note,
        ))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, help="commits per path (in slices of 20)")
    parser.add_argument("--offers", type=int, help="time-outs per path and slice")
    parser.add_argument("--expiries", type=int, help="request expiries per path and slice")
    parser.add_argument("--repeats", type=int, help="deadline slices per path")
    args = parser.parse_args()
    show(figures(args.quick, rounds=args.rounds, offers=args.offers, expiries_per_slice=args.expiries,
                 repeats=args.repeats))


if __name__ == "__main__":
    main()
