"""Drill lost_status_callback: a callback whose provider events never come is reconciled.

    .venv/bin/python -m bench.faults.lost_status_callback [--quick]

Three agents accept a callback each (a routing pass and the dialer's job run here, the
dialer with the fake carrier of bench/drain_worker.py); then one provider event stream is
cut short for each:

- A: nothing after the call was placed (the agent's device never reported);
- B: the customer's dial ended (answered), the agent leg's end never heard;
- C: the agent answered, nothing after (neither the customer's dial nor the leg's end).

``agents_reconcile`` (talk/services/reconcile.py; the routers run it every 5 s) is run here
with ``now`` moved ahead instead of waiting: at +1 min nobody may be freed yet; at +3 min
A and B must be (A's request back to its place in the queue, pending, and offered again;
B's request completed); at +4 h 5 min C must be. Each freeing leaves an audit entry.

acknowledged: attempts whose events were lost; stored: those reconciled as the code
documents (docs/lifecycle.md, Agent); lost: not reconciled.
"""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c

NAME = "lost_status_callback"


def run(quick: bool) -> dict:
    from django.utils import timezone
    from django_scopes import scope, scopes_disabled

    from bench.drain_worker import install_carrier
    from supportcenter.models import AuditEntry
    from talk import dialer, routing
    from talk.models import AgentPresence, CallbackAttempt, Offer
    from talk.services import callback_calls
    from talk.services import offers as offers_service
    from talk.services.callback_requests import (
        callback_agent_answered,
        callback_customer_result,
    )
    from talk.services.reconcile import agents_reconcile

    failures, notes = [], []
    gateway_for = callback_calls.gateway_for
    with c.time_limit(120):
        try:
            s = c.scratch()
            c.reset(s)
            users = c.agents(s, 3)
            c.set_status(s, users, "online")
            c.callback_requests(s, 3)
            with scope(account=s.account):
                routing.route_account(s.account)
                attempts = {}
                for label, user in zip("ABC", users):
                    offer = Offer.objects.get(account=s.account, agent=user, state="offered")
                    offers_service.offer_accept(account=s.account, offer_id=offer.pk, agent=user)
                    attempts[label] = CallbackAttempt.objects.get(account=s.account, request__queue_entry=offer.entry_id)
            install_carrier(0)  # the dialer's job, run here with the fake carrier
            dialer.jobs_run_due()
            with scope(account=s.account):
                for label, attempt in attempts.items():
                    attempt.refresh_from_db()
                    if not attempt.provider_call_sid:
                        raise RuntimeError(f"attempt {label} was not placed")
                callback_agent_answered(account=s.account, attempt=attempts["B"])
                callback_customer_result(account=s.account, attempt=attempts["B"], result="completed", seconds=30)
                callback_agent_answered(account=s.account, attempt=attempts["C"])
            start = timezone.now()

            def state(label: str) -> tuple[bool, str, str, str]:
                with scopes_disabled():
                    attempt = CallbackAttempt.objects.select_related("request__queue_entry").get(pk=attempts[label].pk)
                    presence = AgentPresence.objects.get(account=s.account, user_id=attempt.agent_id)
                return (presence.busy, attempt.request.state, attempt.request.queue_entry.state, attempt.status)

            early = agents_reconcile(now=start + timedelta(minutes=1))
            if early:
                failures.append(f"{early} agents freed 1 min after the call (too early: ring time + 2 min grace)")
            freed_3min = agents_reconcile(now=start + timedelta(minutes=3))
            after = {label: state(label) for label in "ABC"}
            freed_4h = agents_reconcile(now=start + timedelta(hours=4, minutes=5))
            final = {label: state(label) for label in "ABC"}
            with scope(account=s.account):
                routing.route_account(s.account)
                again = Offer.objects.filter(account=s.account, entry_id=attempts["A"].request.queue_entry_id,
                                             state="offered").exists()
            with scopes_disabled():
                reasons = list(AuditEntry.objects.filter(account=s.account, action="agent_presence.reconcile")
                               .values_list("data", flat=True))
            resolved = 0
            a_busy, a_request, a_entry, a_status = after["A"]
            if not a_busy and a_request == "pending" and a_entry == "waiting" and again:
                resolved += 1
            else:
                failures.append(f"A (device never reported) at +3 min: agent busy={a_busy}, request {a_request}, "
                                f"entry {a_entry}, attempt {a_status}, offered again={again}")
            b_busy, b_request, _b_entry, b_status = after["B"]
            if not b_busy and b_request == "completed":
                resolved += 1
            else:
                failures.append(f"B (leg end never heard) at +3 min: agent busy={b_busy}, request {b_request}, "
                                f"attempt {b_status}")
            c_busy_3, *_ = after["C"]
            c_busy, c_request, _c_entry, c_status = final["C"]
            if not c_busy_3:
                failures.append("C (customer's dial going on) was freed at +3 min")
            if not c_busy:
                resolved += 1
            else:
                failures.append(f"C (nothing heard for 4 h) not freed at +4 h 5 min: request {c_request}, attempt {c_status}")
            notes.append(f"freed: {early} at +1 min, {freed_3min} at +3 min, {freed_4h} at +4 h 5 min; "
                         f"A: request {a_request}, entry {a_entry}, attempt {a_status}, offered again: {again}; "
                         f"B: request {b_request}, attempt {b_status}; C at +4 h: request {c_request}, attempt {c_status}")
            if c_request == "in_progress":
                notes.append("C's request stays in_progress after its agent is freed (no end of the customer's dial "
                             "was ever heard; the code documents only the agent's freeing)")
            notes.append(f"{len(reasons)} audit entries agent_presence.reconcile: "
                         + "; ".join(str((r or {}).get("reason", r)) for r in reasons))
            if len(reasons) != 3:
                failures.append(f"{len(reasons)} audit entries for 3 freed agents")
            return c.result(NAME, acknowledged=3, stored=resolved, lost=3 - resolved,
                            duplicates=c.duplicate_numbers(s), failures=failures, notes=notes)
        finally:
            callback_calls.gateway_for = gateway_for
            from django.db import connection

            connection.close()


if __name__ == "__main__":
    c.main(sys.modules[__name__])
