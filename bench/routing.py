"""Benchmark: how soon routing acts on a commit and on a deadline (SPEC O4; issue 11, item 1).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sc_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/routing.py [--rounds 60]

Side by side in one run, alternating slices (the machine is shared: compare ratios):

- **router**: ``manage.py router`` processes, woken by the writes' ``NOTIFY``;
- **task queue**: the previous path, a django-q2 task per wake-up through the database
  broker, run by ``manage.py qcluster`` (its 0.5 s poll);
- **inline**: the pass run right after the commit, in the writing process: the floor.

Each round commits a callback request while one agent is free and measures commit → the
offer's row (its ``created_at``, stamped by the process that made it, same clock). Then
offers with a 1 s time-out measure deadline lateness (``responded_at - expires_at``).
Uses a scratch account ``bench-routing`` (made and emptied here); never point it at data
you keep.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportcenter.settings")
os.environ["SC_ROUTE_NOTIFY"] = "true"  # this process writes as production does; slices switch it

import django

django.setup()

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportcenter import services as core
from supportcenter.models import Account, User
from talk import routing
from talk.models import AgentPresence, CallbackRequest, Line, Offer, QueueEntry
from talk.services.callback_requests import callback_request_create
from talk.services.lines import line_create
from talk.services.offers import offer_decline
from talk.services.telephony import telephony_settings_ensure

SUBDOMAIN = "bench-routing"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def setup() -> tuple[Account, Line, User]:
    call_command("migrate", interactive=False, verbosity=0)
    with scopes_disabled():
        account = Account.objects.filter(subdomain=SUBDOMAIN).first() or Account.objects.create(
            subdomain=SUBDOMAIN, name="Bench routing", time_zone="UTC", region="US"
        )
        user = User.objects.filter(email="agent@bench-routing.test").first() or User.objects.create_user(
            "agent@bench-routing.test", "bench-password-1", name="Bench agent"
        )
    with scope(account=account):
        core.membership_grant(account=account, user=user, role="agent")
        telephony_settings_ensure(account=account)
        line = Line.objects.filter(account=account).first() or line_create(
            account=account, actor=None, name="Bench line", kind="phone", number="+14155550100", callback_enabled=True
        )
        AgentPresence.objects.update_or_create(account=account, user=user, defaults={"status": "online", "busy": False})
    return account, line, user


def empty(account: Account) -> None:
    with scope(account=account):
        Offer.objects.filter(account=account).delete()
        CallbackRequest.objects.filter(account=account).delete()
        QueueEntry.objects.filter(account=account).delete()


def start(command: str, notify: bool) -> subprocess.Popen:
    env = {**os.environ, "SC_ROUTE_NOTIFY": "true" if notify else "false"}
    process = subprocess.Popen([sys.executable, "manage.py", command], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(4 if command == "qcluster" else 1.5)  # started and listening / polling
    return process


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # django-q2's cluster may hang on SIGTERM (issue 11)
        process.wait()


def one_wake(account: Account, line: Line, user: User, n: int, *, inline: bool) -> float:
    """Commit a request with the agent free; seconds from the commit to its offer's row."""
    with scope(account=account):
        request = callback_request_create(line=line, number=f"+1415556{n:04d}")
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
        out = []
        for _ in range(rounds):
            counter[0] += 1
            out.append(one_wake(account, line, user, counter[0], inline=mode == "inline"))
        return out
    finally:
        if process is not None:
            stop(process)
        empty(account)


def lateness_slice(mode: str, account, line, user, offers: int, counter: list[int]) -> list[float]:
    """Offers with a 1 s time-out, one after the other: seconds past ``expires_at`` each was timed out."""
    settings.ROUTE_NOTIFY = mode == "router"
    with scope(account=account):
        Line.objects.filter(pk=line.pk).update(callback_offer_seconds=1)
        line.refresh_from_db()
    process = start("router" if mode == "router" else "qcluster", mode == "router")
    late = []
    try:
        with scope(account=account):
            for _ in range(offers):
                counter[0] += 1
                request = callback_request_create(line=line, number=f"+1415557{counter[0]:04d}")
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    offer = Offer.objects.filter(entry_id=request.queue_entry_id, state="timed_out").first()
                    if offer is not None:
                        late.append((offer.responded_at - offer.expires_at).total_seconds())
                        break
                    time.sleep(0.01)
                CallbackRequest.objects.filter(pk=request.pk).update(state="expired")
                QueueEntry.objects.filter(pk=request.queue_entry_id).update(state="cancelled")
                Offer.objects.filter(entry_id=request.queue_entry_id, state="offered").update(state="withdrawn")
    finally:
        stop(process)
        with scope(account=account):
            Line.objects.filter(pk=line.pk).update(callback_offer_seconds=40)
        empty(account)
    return late


def row(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {percentile(ms, 99):.1f} | {max(ms):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60, help="commits per mode (in slices of 20)")
    parser.add_argument("--offers", type=int, default=6, help="time-outs per mode")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("bench/routing.py needs PostgreSQL (DATABASE_URL): routers LISTEN for NOTIFY")
    account, line, user = setup()
    empty(account)
    counter = [0]
    wakes: dict[str, list[float]] = {"router": [], "task queue": [], "inline": []}
    for _ in range(max(1, args.rounds // 20)):  # alternating slices
        for mode in wakes:
            wakes[mode] += wake_slice(mode.split()[0], account, line, user, 20, counter)
    late = {mode: lateness_slice(mode, account, line, user, args.offers, counter) for mode in ("router", "task")}
    print("commit → offer (ms)\n\n| path | n | p50 | p99 | max |\n|---|---:|---:|---:|---:|")
    for mode, values in wakes.items():
        print(row(mode, values))
    print(f"\nrouter p50 / task-queue p50: {statistics.median(wakes['router']) / statistics.median(wakes['task queue']):.3f}")
    print("\noffer time-out lateness (ms past expires_at)\n\n| path | n | p50 | p99 | max |\n|---|---:|---:|---:|---:|")
    for mode, values in late.items():
        print(row("router" if mode == "router" else "task queue (sweep)", values))


if __name__ == "__main__":
    main()
