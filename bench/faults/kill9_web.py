"""Drill kill9_web: kill -9 one of two web processes during a stream of capture webhooks.

    .venv/bin/python -m bench.faults.kill9_web [--quick]

Two ``daphne`` processes serve the webhooks. Calls are brought to the confirmation
(bench/webhooks.py), then their ``/confirm/`` (Digits=1) requests are sent round-robin to
the two processes at a steady rate; a third of the way in, one process is killed with
SIGKILL. A request that gets no answer (refused, reset) or a 5xx is sent again, the same
signed request, to the other process, as the provider retries; the webhook is idempotent
per request (WebhookReceipt), so a request that was done before the kill cut its answer
gets the same answer again and writes nothing twice.

acknowledged: captures answered 200 with the confirmation TwiML; stored: their confirmed
callback requests; duplicates: more than one request for a call or for a number.
"""
from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c

NAME = "kill9_web"


def run(quick: bool) -> dict:
    rate, seconds = (40.0, 6.0) if quick else (60.0, 12.0)
    kill_at = seconds / 3
    failures, notes = [], []
    with c.time_limit(170):
        try:
            s = c.scratch()
            c.reset(s)
            c.set_status(s, [c.webhook_agent(s)], "online")  # callback offered (C2); no router runs here
            a, b = c.spawn_web("daphne-a"), c.spawn_web("daphne-b")
            bases = [f"http://127.0.0.1:{a.port}", f"http://127.0.0.1:{b.port}"]
            n = int(rate * seconds)
            requests, sids = c.capture_requests(s, bases[1], n)
            killed = {}

            def kill() -> None:
                killed["at"] = time.monotonic()
                c.kill9(a)

            c.log(NAME, f"{n} captures at {rate:.0f}/s over 2 daphne processes; kill -9 daphne-a at {kill_at:.1f} s")
            answers = asyncio.run(c.stream(bases, requests, rate, timeout=5.0, failover=True,
                                           events=[(kill_at, kill)]))
            time.sleep(0.5)
            good = [x for x in answers if x.status == 200 and c.wh.ok_capture(x.status, x.text)]
            apologies = [x for x in answers if x.status == 200 and c.is_apology(x.text)]
            unanswered = [x for x in answers if x not in good and x not in apologies]
            stored_by_sid = c.confirmed_for(s, sids)
            acked = [sids[x.index] for x in good]
            stored = sum(1 for sid in acked if stored_by_sid.get(sid))
            lost = len(acked) - stored
            duplicates = sum(n - 1 for n in stored_by_sid.values() if n > 1) + c.duplicate_numbers(s)
            retried = [x for x in answers if x.retried]
            notes.append(f"{len(answers)} captures sent, {len(good)} answered with the confirmation, "
                         f"{len(retried)} retried on daphne-b after no answer from daphne-a "
                         f"({sum(1 for x in retried if x in good)} of them then confirmed); first try's failure: "
                         f"{c.summarise([x.tries[0].split(':', 1)[1] for x in retried], 3) or 'none'}")
            if a.alive():
                failures.append("daphne-a survived kill -9?")
            if not b.alive():
                failures.append("daphne-b (not killed) exited")
            stored_unacked = sum(1 for i, sid in enumerate(sids) if stored_by_sid.get(sid) and answers[i] not in good)
            if stored_unacked:
                notes.append(f"{stored_unacked} requests stored whose capture got no good answer")
            if apologies:
                failures.append(f"{len(apologies)} captures answered with the apology (caller hears an error)")
            if unanswered:
                failures.append(f"{len(unanswered)} captures got no answer even after retries: "
                                f"{c.summarise([' '.join(x.tries) for x in unanswered], 3)}")
            errors = c.tracebacks(b.text())
            if errors:
                failures.append(f"tracebacks in the surviving web process: {c.summarise(errors)}")
            p99 = sorted(x.latency for x in good)[int(0.99 * (len(good) - 1))] if good else float("nan")
            notes.append(f"latency incl. retries p99 {p99 * 1000:.0f} ms, max "
                         f"{max((x.latency for x in answers), default=0) * 1000:.0f} ms")
            return c.result(NAME, acknowledged=len(acked), stored=stored, lost=lost, duplicates=duplicates,
                            failures=failures, notes=notes)
        finally:
            c.stop_all()


if __name__ == "__main__":
    c.main(sys.modules[__name__])
