"""Drill kill9_router_dialer: kill -9 the router and the dialer mid-work, start them again.

    .venv/bin/python -m bench.faults.kill9_router_dialer [--quick]

Callback requests drain: ``manage.py router`` offers them, simulated agents (threads here)
accept each offer at once, the dialer (the product's, with the fake carrier of
bench/drain_worker.py answering in 300 ms) places each attempt's call, and the agent then
plays the provider's events (answered, completed, leg ended) through the services the
webhooks call. While calls are being placed (a job held by the dialer, calls already
placed), both processes are killed with SIGKILL; two seconds later they are started again.

A job the killed dialer held is taken again when its lease (60 s) ends; an attempt it had
claimed but whose call the carrier never placed is placed then. Should one be left claimed
with no job (a defect), the drill runs ``agents_reconcile`` with ``now`` 3 minutes ahead
rather than wait for it, and says so.

acknowledged: callback requests accepted; stored: accepted requests with a placed call
whose call id is recorded on its attempt; duplicates: calls beyond the first placed for
one request (or one attempt), and numbers with two requests.
"""
from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c

NAME = "kill9_router_dialer"


def open_states(s) -> list:
    """What each open request, its attempts, jobs, offers and agent were in (to tell why)."""
    from django_scopes import scopes_disabled

    from supportcenter.models import AuditEntry
    from talk.models import AgentPresence, CallbackAttempt, CallbackRequest, Offer, ProviderJob

    out = []
    with scopes_disabled():
        for r in CallbackRequest.objects.filter(account=s.account, state__in=("pending", "in_progress")):
            attempts = list(CallbackAttempt.objects.filter(request=r).values_list(
                "pk", "status", "provider_call_sid", "agent_id", "scheduled_for", "started_at"))
            jobs = list(ProviderJob.objects.filter(object_id__in=[a[0] for a in attempts]).values_list(
                "run_at", "taken_until", "failures"))
            offers = list(Offer.objects.filter(entry_id=r.queue_entry_id).values_list(
                "state", "agent_id", "created_at", "responded_at"))
            agents = list(AgentPresence.objects.filter(account=s.account, user_id__in=[a[3] for a in attempts])
                          .values_list("user_id", "status", "busy", "busy_attempt_id"))
            from django.db.models import Q

            presences = AgentPresence.objects.filter(account=s.account, user_id__in=[a[3] for a in attempts])
            targets = {str(r.pk), *(str(a[0]) for a in attempts), *(str(p.pk) for p in presences)}
            audit = list(AuditEntry.objects.filter(account=s.account).filter(
                Q(target_id__in=targets) | Q(actor_id__in=[a[3] for a in attempts])).order_by("created_at")
                .values_list("created_at", "action", "target_type", "target_id", "data"))
            out.append({"request": (r.pk, r.state, r.requested_at), "attempts": attempts, "jobs": jobs,
                        "offers": offers, "agents": agents, "audit": audit})
    return out


def open_requests(s) -> int:
    from django_scopes import scopes_disabled

    from talk.models import CallbackRequest

    with scopes_disabled():
        return CallbackRequest.objects.filter(account=s.account, state__in=("pending", "in_progress")).count()


def held_jobs(s) -> int:
    from django.utils import timezone

    from talk.models import ProviderJob

    return ProviderJob.objects.filter(account=s.account, taken_until__gt=timezone.now()).count()


def claimed_unplaced(s, carrier) -> int:
    from django_scopes import scopes_disabled

    from talk.models import CallbackAttempt

    placed = carrier.placed()
    with scopes_disabled():
        claimed = CallbackAttempt.objects.filter(account=s.account, status="calling_agent", provider_call_sid="")
        return sum(1 for a in claimed if a.pk not in placed)


def stuck_attempts(s, carrier) -> list[int]:
    """Claimed (calling the agent) with no call placed by the carrier and no job left to place it."""
    from django_scopes import scopes_disabled

    from talk.models import CallbackAttempt, ProviderJob

    placed = carrier.placed()
    with scopes_disabled():
        claimed = CallbackAttempt.objects.filter(account=s.account, status="calling_agent", provider_call_sid="")
        jobs = set(ProviderJob.objects.filter(account=s.account).values_list("object_id", flat=True))
        return [a.pk for a in claimed if a.pk not in placed and a.pk not in jobs]


def run(quick: bool) -> dict:
    n_agents, n_callbacks = (8, 60) if quick else (12, 150)
    failures, notes = [], []
    stop = threading.Event()
    workers: list[c.AgentWorker] = []
    with c.time_limit(250):
        try:
            s = c.scratch()
            c.reset(s)
            users = c.agents(s, n_agents)
            carrier = c.CarrierLog(c.LOG_DIR / f"carrier-{NAME}.log")
            router = c.spawn_router("router-k9")
            dialer = c.spawn_dialer(carrier.path, name="dialer-k9", provider_ms=300)
            c.set_status(s, users, "online")
            c.callback_requests(s, n_callbacks)
            workers = [c.AgentWorker(s, user, carrier, stop) for user in users]
            for worker in workers:
                worker.start()
            started = time.monotonic()
            while time.monotonic() < started + 60:
                if carrier.count("placed") >= 8 and held_jobs(s) > 0:
                    break
                time.sleep(0.02)
            else:
                raise RuntimeError("no calls being placed within 60 s: the drill could not start")
            c.kill9(dialer)
            c.kill9(router)
            killed = time.monotonic()
            held = held_jobs(s)  # as the dead dialer left them
            claimed = claimed_unplaced(s, carrier)
            placed_before = carrier.count("placed")
            left = open_requests(s)
            c.log(NAME, f"kill -9 dialer and router: {placed_before} calls placed, {held} jobs held by the dead dialer, "
                        f"{left} requests open")
            notes.append(f"killed after {killed - started:.1f} s with {placed_before} of {n_callbacks} calls placed, "
                         f"{held} jobs held (leased) by the dead dialer, {claimed} of their attempts claimed (calling "
                         f"the agent) with no call placed")
            if not held:
                failures.append("nothing was in flight at the kill (no job held): the drill tested nothing; run it again")
            time.sleep(2)
            router = c.spawn_router("router-k9-again")
            dialer = c.spawn_dialer(carrier.path, name="dialer-k9-again", provider_ms=300)
            reconciled = False
            deadline = killed + 60 + 100
            while time.monotonic() < deadline and open_requests(s):
                if not reconciled and time.monotonic() > killed + 62 and held_jobs(s) == 0:
                    stuck = stuck_attempts(s, carrier)
                    if stuck:
                        from django.utils import timezone

                        from talk.services.reconcile import agents_reconcile

                        freed = agents_reconcile(now=timezone.now() + timedelta(minutes=3))
                        reconciled = True
                        notes.append(f"{len(stuck)} attempts were claimed by the killed dialer but never placed "
                                     f"(the job, taken again after its lease, found them claimed and did nothing); "
                                     f"their agents stayed busy until agents_reconcile (run here with now +3 min, "
                                     f"i.e. ~2.5 min in production) freed {freed} and gave the requests back")
                time.sleep(0.2)
            recovered = time.monotonic() - killed
            stop.set()
            for worker in workers:
                worker.join(timeout=15)
            remaining = open_requests(s)
            accepted = {r for worker in workers for r in worker.accepted}
            p = c.placements(s, carrier, accepted)
            notes.append(f"{len(accepted)} accepted, {p['placed_total']} calls placed; attempts per accepted request "
                         f"{dict(sorted(p['attempts_per_request'].items()))}; drained {recovered:.0f} s after the kill")
            if remaining:
                failures.append(f"{remaining} callback requests still open at the end: {open_states(s)}")
            if len(accepted) < n_callbacks:
                failures.append(f"only {len(accepted)} of {n_callbacks} requests accepted")
            if p["unrecorded"]:
                notes.append(f"placed calls whose call id was never recorded (attempts {p['unrecorded'][:5]}): the dialer "
                             "died between the carrier's answer and the UPDATE")
            if p["mismatched"]:
                failures.append(f"attempts whose recorded call id is not the carrier's: {p['mismatched'][:5]}")
            for proc in (router, dialer):
                if not proc.alive():
                    failures.append(f"{proc.name} died after its restart: {c.summarise(c.tracebacks(proc.text()), 1)}")
                errors = c.tracebacks(proc.text())
                if errors:
                    notes.append(f"{proc.name}: {c.summarise(errors, 1)}")
            lost = len(p["lost"])
            duplicates = p["extra_calls"] + p["same_number"]
            return c.result(NAME, acknowledged=len(accepted), stored=p["stored"], lost=lost, duplicates=duplicates,
                            failures=failures, notes=notes)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=5)
            c.stop_all()


if __name__ == "__main__":
    c.main(sys.modules[__name__])
