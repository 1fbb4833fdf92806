"""Benchmark: accept → call placed while callbacks drain (SPEC R5; issue 11, item 2).

    .venv/bin/python bench/drain.py [--callbacks 1000] [--agents 20] [--provider-ms 100] [--quick]

N pending callback requests, M agents online; a router (``manage.py router``) offers
them; each agent (a thread here) accepts its offer as soon as it sees it, waits for its
call to be placed, then ends the callback as the provider's webhooks would (answered,
completed, the agent's leg ended) and is free for the next. Figure: from the accept's
commit to the provider's answer to "place this call" (the fake carrier of
``bench/drain_worker.py`` stamps it), p50/p99/max, and accepts per second.

Side by side, alternating slices in one run:

- **dialer**: the product, ``talk.dialer`` (jobs written with the accept, taken oldest
  first with ``SKIP LOCKED``, woken by ``NOTIFY``), 4 threads;
- **django-q2**: the same service run as a django-q2 task enqueued on commit, by a
  ``qcluster`` of 3 workers on the database broker (the path before the dialer).

Scratch account ``bench-drain``; never point it at data you keep.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Figure, django_setup, percentile, scratch_account, show, stop_process  # noqa: E402

django_setup(SC_ROUTE_NOTIFY="true")

from django.db import connection, transaction  # noqa: E402
from django_q.tasks import async_task  # noqa: E402
from django_scopes import scope  # noqa: E402

from supportcenter.errors import ServiceError  # noqa: E402
from supportcenter.models import Account, User  # noqa: E402
from talk.enqueue import wake_router  # noqa: E402
from talk.models import AgentPresence, CallbackAttempt, CallbackRequest, Line, Offer, ProviderJob, QueueEntry  # noqa: E402
from talk.services import callback_requests as requests_service  # noqa: E402
from talk.services import offers as offers_service  # noqa: E402
from talk.services.callback_requests import (  # noqa: E402
    callback_agent_answered,
    callback_agent_leg_ended,
    callback_customer_result,
    callback_request_create,
)

SUBDOMAIN = "bench-drain"
PROVIDER_JOB_ADD = offers_service.provider_job_add


def setup(agents: int) -> tuple[Account, Line, list[User]]:
    account, line, users = scratch_account(SUBDOMAIN, "Bench drain", agents=agents)
    with scope(account=account):
        Line.objects.filter(pk=line.pk).update(callback_offer_seconds=600, callback_expiry_minutes=600)
        line.refresh_from_db()
    return account, line, users


def empty(account: Account) -> None:
    with scope(account=account):
        ProviderJob.objects.filter(account=account).delete()
        Offer.objects.filter(account=account).delete()
        CallbackAttempt.objects.filter(account=account).delete()
        CallbackRequest.objects.filter(account=account).delete()
        QueueEntry.objects.filter(account=account).delete()
        AgentPresence.objects.filter(account=account).update(status="offline", busy=False, busy_since=None,
                                                              busy_call=None, busy_attempt=None)


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=open(f"/tmp/bench-{Path(args[0]).stem}-{args[1]}.log", "a"),
                            start_new_session=True)


def by_task_queue(*, account_id: int, kind: str, object_id: int, run_at=None) -> None:
    """The reference path: the service run by a django-q2 task enqueued on commit."""
    transaction.on_commit(lambda: async_task("drain_worker.run_job", kind, object_id, group="talk"))


def agent_loop(account: Account, user: User, stop_at: float, accepted: list) -> None:
    try:
        with scope(account=account):
            while time.monotonic() < stop_at:
                offer = Offer.objects.filter(account=account, agent=user, state="offered").first()
                if offer is None:
                    if not CallbackRequest.objects.filter(account=account, state__in=("pending", "in_progress")).exists():
                        return
                    time.sleep(0.02)
                    continue
                clicked = time.time()
                try:
                    offers_service.offer_accept(account=account, offer_id=offer.pk, agent=user)
                except ServiceError:
                    continue
                committed = time.time()
                attempt = None
                while time.monotonic() < stop_at:
                    attempt = CallbackAttempt.objects.filter(account=account, request__queue_entry=offer.entry_id).first()
                    if attempt is not None and attempt.provider_call_sid:
                        break
                    time.sleep(0.01)
                else:
                    return
                placed = int(attempt.provider_call_sid[len("CAbench"):]) / 1e9
                accepted.append((placed - clicked, placed - committed))
                callback_agent_answered(account=account, attempt=attempt)
                callback_customer_result(account=account, attempt=attempt, result="completed", seconds=30)
                callback_agent_leg_ended(account=account, attempt_id=attempt.pk, status="completed")
    finally:
        connection.close()


def drain_slice(mode: str, account: Account, line: Line, users: list[User], callbacks: int,
                provider_ms: float, counter: list[int]) -> tuple[list[float], float, int]:
    """Seconds from each accept to its placed call; accepts per second; callbacks left."""
    empty(account)
    with scope(account=account):  # online first: requests nobody could take are cancelled (declined by all)
        for user in users:
            AgentPresence.objects.update_or_create(account=account, user=user, defaults={"status": "online"})
        for _ in range(callbacks):
            counter[0] += 1
            callback_request_create(line=line, number=f"+1415{2_000_000 + counter[0] % 8_000_000:07d}")
    patch = PROVIDER_JOB_ADD if mode == "dialer" else by_task_queue
    offers_service.provider_job_add = requests_service.provider_job_add = patch
    worker = start(["bench/drain_worker.py", "dialer" if mode == "dialer" else "qcluster",
                    "--provider-ms", str(provider_ms)], {"SC_Q_WORKERS": "3"})
    router = start(["manage.py", "router"])
    time.sleep(4)  # both listening / polling
    accepted: list[int] = []
    started = time.monotonic()
    stop_at = started + max(120.0, callbacks * 0.5)
    with transaction.atomic():
        wake_router(account.pk)
    threads = [threading.Thread(target=agent_loop, args=(account, user, stop_at, accepted)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    stop_process(router)
    stop_process(worker)
    with scope(account=account):
        left = CallbackRequest.objects.filter(account=account, state__in=("pending", "in_progress")).count()
    empty(account)
    return accepted, len(accepted) / elapsed, left


def figures(quick: bool = False, *, callbacks: int | None = None, agents: int = 20, provider_ms: float = 100.0,
            repeats: int | None = None) -> list[Figure]:
    callbacks = callbacks or (200 if quick else 1000)
    repeats = repeats or (1 if quick else 2)
    account, line, users = setup(agents)
    counter = [int(time.time()) % 1_000_000]
    results: dict[str, list[tuple[list[tuple[float, float]], float, int]]] = {"dialer": [], "django-q2": []}
    for _ in range(repeats):
        for mode in results:  # alternating slices
            results[mode].append(drain_slice(mode, account, line, users, callbacks, provider_ms, counter))
    offers_service.provider_job_add = requests_service.provider_job_add = PROVIDER_JOB_ADD

    def ms(mode, which, run=None):
        runs = results[mode] if run is None else [run]
        return [pair[which] * 1000 for accepted, _rate, _left in runs for pair in accepted]

    left = {mode: sum(r[2] for r in results[mode]) for mode in results}
    note = (f"{callbacks} callbacks × {repeats} slices each, {agents} agents, carrier answers in {provider_ms:.0f} ms; "
            f"left undrained: dialer {left['dialer']}, django-q2 {left['django-q2']}. The click: just before the "
            "accept's service call; the commit: just after it returned; placed: the carrier's answer")
    out = []
    for which, label in ((0, "click"), (1, "commit")):
        for p in (50, 99):
            d, q = percentile(ms("dialer", which), p), percentile(ms("django-q2", which), p)
            goal = "≤ 1,000 ms" if (which, p) == (0, 99) else ""
            out.append(Figure(
                f"accept ({label}) → call placed p{p}, draining callbacks", "ms", d, q, "django-q2 tasks",
                goal, (d <= 1000) if goal else None,
                [percentile(ms("dialer", which, run), p) for run in results["dialer"]],
                note if (which, p) == (0, 99) else "",
            ))
    out.append(Figure("accepts per second while draining", "/s",
                      sum(r[1] for r in results["dialer"]) / repeats, sum(r[1] for r in results["django-q2"]) / repeats,
                      "django-q2 tasks", repeats=[r[1] for r in results["dialer"]]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--callbacks", type=int)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--provider-ms", type=float, default=100.0)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    show(figures(args.quick, callbacks=args.callbacks, agents=args.agents, provider_ms=args.provider_ms,
                 repeats=args.repeats))


if __name__ == "__main__":
    main()
