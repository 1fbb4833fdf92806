"""Drill carrier_refuses: the carrier refuses the first calls (cannot be reached): retried, not failed.

    .venv/bin/python -m bench.faults.carrier_refuses [--quick]

``manage.py router`` and a dialer (the product's) whose fake carrier refuses its first K
requests with ``GatewayError(..., retryable=True)``, as a carrier that cannot be reached.
Three agents each accept one callback request. Right after a refusal the attempt must be
queued again with a later time (``GATEWAY_RETRY_SECONDS``, 30 s), its job rescheduled, the
request still in progress and its agent still holding it (busy with that attempt); then,
when its time comes, the same attempt is placed (one attempt per request, no failed call).
The 30 s are the product's; the drill waits for them (no --quick shortcut).

acknowledged: requests accepted; stored: with their call placed and recorded;
duplicates: calls beyond the first per request (or attempt), numbers with two requests.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c

NAME = "carrier_refuses"
REFUSE = 2
REQUESTS = 3


def run(quick: bool) -> dict:
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from talk.models import AgentPresence, CallbackAttempt, CallbackRequest, ProviderJob
    from talk.services.callback_calls import GATEWAY_RETRY_SECONDS

    failures, notes = [], []
    stop = threading.Event()
    workers: list[c.AgentWorker] = []
    with c.time_limit(170):
        try:
            s = c.scratch()
            c.reset(s)
            users = c.agents(s, REQUESTS)
            carrier = c.CarrierLog(c.LOG_DIR / f"carrier-{NAME}.log")
            router = c.spawn_router("router-refuse")
            dialer = c.spawn_dialer(carrier.path, name="dialer-refuse", refuse=REFUSE, provider_ms=50)
            c.set_status(s, users, "online")
            c.callback_requests(s, REQUESTS)
            workers = [c.AgentWorker(s, user, carrier, stop, finish=False) for user in users]
            for worker in workers:
                worker.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (carrier.count("refused") >= REFUSE and carrier.count("placed") >= REQUESTS - REFUSE):
                time.sleep(0.05)
            refused = [e for e in carrier.read() if e[1] == "refused"]
            if len(refused) < REFUSE:
                raise RuntimeError(f"the carrier was asked {len(refused)} times in 20 s, expected {REFUSE} refusals")
            time.sleep(0.5)  # the dialer has written the job's next time
            with scopes_disabled():
                for _at, _event, attempt_id, _sid, _pid in refused:
                    attempt = CallbackAttempt.objects.select_related("request").get(pk=attempt_id)
                    job = ProviderJob.objects.filter(kind="place_attempt", object_id=attempt_id).first()
                    presence = AgentPresence.objects.get(account=s.account, user_id=attempt.agent_id)
                    wait = (attempt.scheduled_for - timezone.now()).total_seconds()
                    state = (f"attempt {attempt.status}, due in {wait:.0f} s, job "
                             f"{f'due in {(job.run_at - timezone.now()).total_seconds():.0f} s' if job else 'missing'}, "
                             f"request {attempt.request.state}, agent {'busy with it' if presence.busy_attempt_id == attempt.pk else 'free' if not presence.busy else 'busy with another'}")
                    notes.append(f"after the refusal of attempt {attempt_id}: {state}")
                    if attempt.status != "queued" or attempt.request.state != "in_progress":
                        failures.append(f"attempt {attempt_id} after a retryable refusal: {state} (expected queued, in progress)")
                    if job is None or job.run_at <= timezone.now():
                        failures.append(f"attempt {attempt_id}: its job was not rescheduled ({state})")
                    if presence.busy_attempt_id != attempt.pk:
                        failures.append(f"attempt {attempt_id}: its agent does not hold it ({state})")
            c.log(NAME, f"{REFUSE} refusals; waiting for the retries ({GATEWAY_RETRY_SECONDS} s)")
            deadline = time.monotonic() + GATEWAY_RETRY_SECONDS + 20
            while time.monotonic() < deadline and carrier.count("placed") < REQUESTS:
                time.sleep(0.2)
            time.sleep(0.5)
            stop.set()
            for worker in workers:
                worker.join(timeout=10)
            accepted = {r for worker in workers for r in worker.accepted}
            p = c.placements(s, carrier, accepted)
            with scopes_disabled():
                failed = CallbackRequest.objects.filter(account=s.account, state="failed").count()
                failed_attempts = CallbackAttempt.objects.filter(account=s.account, status="failed").count()
            retried_at = {e[2]: e[0] for e in carrier.read() if e[1] == "placed"}
            delays = [retried_at[a] - at for at, _e, a, _s, _p in refused if a in retried_at]
            notes.append(f"{len(accepted)} accepted; {carrier.count('refused')} refused, {p['placed_total']} placed; "
                         f"refused attempts placed {', '.join(f'{d:.1f}' for d in delays) or 'never'} s after their "
                         f"refusal; attempts per request {dict(sorted(p['attempts_per_request'].items()))}")
            if failed or failed_attempts:
                failures.append(f"{failed} requests / {failed_attempts} attempts failed after a retryable refusal")
            if len(delays) < len(refused):
                failures.append(f"{len(refused) - len(delays)} refused attempts never placed within "
                                f"{GATEWAY_RETRY_SECONDS + 20} s")
            if len(accepted) < REQUESTS:
                failures.append(f"only {len(accepted)} of {REQUESTS} requests accepted")
            for proc in (router, dialer):
                if not proc.alive():
                    failures.append(f"{proc.name} died: {c.summarise(c.tracebacks(proc.text()), 1)}")
            return c.result(NAME, acknowledged=len(accepted), stored=p["stored"], lost=len(p["lost"]),
                            duplicates=p["extra_calls"] + p["same_number"], failures=failures, notes=notes)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=5)
            c.stop_all()


if __name__ == "__main__":
    c.main(sys.modules[__name__])
