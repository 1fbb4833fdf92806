"""Drill postgres_restart: ``pg_ctl restart -m fast`` under a web process, a router and a dialer.

    .venv/bin/python -m bench.faults.postgres_restart [--quick]

A ``daphne`` web process, ``manage.py router`` and a dialer (the product's, with the fake
carrier) run against the private PostgreSQL. Captures (``/confirm/``) stream in at 20 a
second; three seconds in, PostgreSQL is restarted (fast: every connection is cut). Then:

- every request must be answered fast: a good answer, an apology TwiML or a 5xx within
  2.5 s ("~2 s"), none hanging;
- within 10 s of PostgreSQL being up (``pg_ctl -w`` returned): a capture succeeds again;
  the router routes (an agent goes online through the product's service; an offer must be
  made by the router process); the dialer dials (the agent accepts; the attempt's call
  must be placed by the dialer process);
- the web, router and dialer processes are still alive at the end.

acknowledged: captures answered 200 with the confirmation; stored: their confirmed requests.
"""
from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c

NAME = "postgres_restart"
RATE = 20.0
RESTART_AT = 3.0
BACK_WITHIN = 10.0
ANSWER_WITHIN = 2.5


def run(quick: bool) -> dict:
    seconds = 16.0 if quick else 30.0
    failures, notes = [], []
    with c.time_limit(170):
        try:
            s = c.scratch()
            c.reset(s)
            agent = c.agents(s, 1)[0]
            c.set_status(s, [c.webhook_agent(s)], "away")  # callbacks offered (C2), nothing routed to it
            carrier = c.CarrierLog(c.LOG_DIR / f"carrier-{NAME}.log")
            web = c.spawn_web("daphne-pg")
            router = c.spawn_router("router-pg")
            dialer = c.spawn_dialer(carrier.path, name="dialer-pg", provider_ms=50)
            requests, sids = c.capture_requests(s, f"http://127.0.0.1:{web.port}", int(RATE * seconds))
            marks: dict[str, float] = {}
            clock: dict[str, float] = {}
            checks: list[str] = []

            def restart_then_check() -> None:
                marks["begin"] = time.monotonic()
                c.POSTGRES.restart()
                marks["up"] = time.monotonic()
                c.log(NAME, f"PostgreSQL restarted in {marks['up'] - marks['begin']:.1f} s")
                try:
                    check_routing(s, agent, carrier, marks, checks, failures)
                finally:
                    from django.db import connection

                    connection.close()

            c.log(NAME, f"{len(requests)} captures at {RATE:.0f}/s; pg_ctl restart -m fast at {RESTART_AT:.0f} s")
            answers = asyncio.run(c.stream([f"http://127.0.0.1:{web.port}"], requests, RATE, timeout=8.0,
                                           failover=False, events=[(RESTART_AT, restart_then_check)], clock=clock))
            from django.db import connection

            connection.close()  # this thread's connection was cut by the restart
            up = marks["up"] - clock["start"]  # on the stream's clock
            begin = marks["begin"] - clock["start"]
            good = [x for x in answers if c.wh.ok_capture(x.status or 0, x.text)]
            bad = [x for x in answers if x not in good]
            slow_bad = [x for x in bad if x.latency > ANSWER_WITHIN or x.status is None]
            notes.append(f"restart took {up - begin:.1f} s; {len(bad)} of {len(answers)} captures not confirmed "
                         f"({c.summarise(['apology' if c.is_apology(x.text) else str(x.status or x.text) for x in bad], 3) or 'none'}), "
                         f"slowest of them {max((x.latency for x in bad), default=0) * 1000:.0f} ms, slowest answer "
                         f"{max(x.latency for x in answers) * 1000:.0f} ms")
            if slow_bad:
                failures.append(f"{len(slow_bad)} requests not answered within {ANSWER_WITHIN} s (hung or no answer)")
            after = [x for x in good if x.scheduled >= up]
            if not after:
                failures.append("no capture succeeded after PostgreSQL was up")
            else:
                back = min(x.scheduled + x.latency for x in after) - up
                failing_later = [x for x in bad if x.scheduled >= up + back]
                notes.append(f"captures back {back:.1f} s after PostgreSQL was up"
                             + (f", but {len(failing_later)} failed after that" if failing_later else ""))
                if back > BACK_WITHIN:
                    failures.append(f"captures back only {back:.1f} s after PostgreSQL was up (> {BACK_WITHIN:.0f} s)")
                if failing_later:
                    failures.append(f"{len(failing_later)} captures failed after captures were back")
            notes.extend(checks)
            for proc in (web, router, dialer):
                errors = c.tracebacks(proc.text())
                if not proc.alive():
                    failures.append(f"{proc.name} died (exit {proc.popen.returncode}): {c.summarise(errors, 1)}")
                elif errors:
                    notes.append(f"{proc.name} alive, logged {len(errors)} tracebacks: {c.summarise(errors, 1)}")
            stored_by_sid = c.confirmed_for(s, sids)
            acked = [sids[x.index] for x in good]
            stored = sum(1 for sid in acked if stored_by_sid.get(sid))
            duplicates = sum(k - 1 for k in stored_by_sid.values() if k > 1) + c.duplicate_numbers(s)
            return c.result(NAME, acknowledged=len(acked), stored=stored, lost=len(acked) - stored,
                            duplicates=duplicates, failures=failures, notes=notes)
        finally:
            c.stop_all()


def check_routing(s, agent, carrier, marks: dict, checks: list, failures: list) -> None:
    """After the restart: the router offers (an agent going online wakes it), the dialer places."""
    from django_scopes import scope

    from talk import tasks
    from talk.models import CallbackAttempt, Offer
    from talk.services import offers as offers_service

    up = marks["up"]
    deadline = up + BACK_WITHIN
    try:
        c.db_retry(lambda: c.set_status(s, [agent], "online"), until=deadline)
    except Exception as error:  # noqa: BLE001
        failures.append(f"this process could not write to PostgreSQL within {BACK_WITHIN:.0f} s: {error}")
        return
    online = time.monotonic() - up

    def open_offer():
        with scope(account=s.account):
            return Offer.objects.filter(account=s.account, agent=agent, state="offered").first()

    offer = None
    while time.monotonic() < deadline and offer is None:
        offer = c.db_retry(open_offer, until=deadline + 5)
        if offer is None:
            time.sleep(0.05)
    if offer is None:
        failures.append(f"the router made no offer within {BACK_WITHIN:.0f} s of PostgreSQL being up "
                        f"(agent online at +{online:.1f} s)")
        with scope(account=s.account):  # route here, to test the dialer anyway
            tasks.route(s.account.pk)
        offer = open_offer()
        if offer is None:
            failures.append("even a routing pass run here made no offer")
            return
        dial_deadline = time.monotonic() + BACK_WITHIN
    else:
        checks.append(f"router: agent online at +{online:.1f} s, offer made by the router at "
                      f"+{time.monotonic() - up:.1f} s after PostgreSQL was up")
        dial_deadline = deadline
    with scope(account=s.account):
        offers_service.offer_accept(account=s.account, offer_id=offer.pk, agent=agent)
        request_id = offer.entry.callback_request.pk
    accepted = time.monotonic()
    placed = None
    while time.monotonic() < dial_deadline:
        with scope(account=s.account):
            attempt = CallbackAttempt.objects.filter(account=s.account, request_id=request_id).first()
        if attempt is not None and attempt.provider_call_sid:
            placed = time.monotonic()
            break
        time.sleep(0.05)
    if placed is None:
        failures.append(f"the dialer placed no call within {dial_deadline - accepted:.1f} s of the accept "
                        f"({BACK_WITHIN:.0f} s after PostgreSQL was up)")
    else:
        checks.append(f"dialer: call placed +{placed - up:.1f} s after PostgreSQL was up "
                      f"({(placed - accepted) * 1000:.0f} ms after the accept)")


if __name__ == "__main__":
    c.main(sys.modules[__name__])
