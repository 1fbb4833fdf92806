"""The call and callback lifecycle under real concurrency on PostgreSQL: the agents' races
(SPEC R1, R2, R5, O2). Agents change their status while routing passes run, and accept live
calls while the callers hang up; the method is test_lifecycle_stress.py's (threads released
together, every round checked, problems counted per kind; ``SC_STRESS_ROUNDS``), with the
shared machinery in lifecycle_stress_support.py. PostgreSQL only (set DATABASE_URL).
"""
from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from callsim.engine import SimulatedCall
from supportcenter.errors import ServiceError
from talk import routing
from talk.models import AgentPresence, Offer
from talk.services.agents import agent_status_set

try:
    from talk.services.callback_requests import callback_request_create
    from talk.services.offers import offer_accept
except ImportError:  # before the lifecycle rewrite (issue 10)
    from talk.services.calls import callback_request_create
    from talk.services.routing import offer_accept
from tests.conftest import api_client
from tests.postgres import needs_postgresql
from tests.talk.calls_support import Phone, make_line, set_presence
from tests.talk.lifecycle_stress_support import (
    EXTRA_ROUNDS,
    FLIPS,
    ONLINE,
    ROUNDS,
    ClientTransport,
    Crash,
    Problems,
    apology_texts,
    bad_answers,
    call_row,
    failed_tasks,
    logged_errors,
    offer_invariant_problems,
    queued,
    quick_deadlock_detection,  # noqa: F401
    quiet,
    race,
)
from tests.talk.test_console_support import inline_tasks  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("quick_deadlock_detection"),
    needs_postgresql(),
]


# =====================================================================================
# 2. Agents' status changes while routing passes run (R1, O2; defect 6)
# =====================================================================================
def test_it_survives_status_changes_during_routing(acme, bob, dave, caplog):  # SPEC R1, R2, O2
    caplog.set_level(logging.ERROR, logger="talk")
    line = make_line(acme)
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, ONLINE)
    phone = Phone(line)
    dave_api = quiet(api_client(acme, dave))
    apologies = apology_texts()
    problems = Problems("status changes during routing")
    started = timezone.now()
    caplog.clear()

    def flip_bob(status: str):
        def job():
            with scope(account=acme):
                agent_status_set(account=acme, user=bob, status=status, actor=bob)
            return "ok"
        return job

    def flip_dave_by_api(status: str):
        def job():
            response = dave_api.put(
                f"/api/v2/channels/voice/availabilities/{dave.pk}.json",
                {"availability": {"agent_state": status}}, content_type="application/json",
            )
            if response.status_code != 200:
                return f"availability API answered {response.status_code}: {response.content[:200]!r}"
            if response.json()["availability"]["agent_state"] != status:
                return f"availability API answered {response.json()}"
            return "ok"
        return job

    def route(now=None):
        def job():
            with scope(account=acme):
                routing.route_account(acme, now=now)
            return "ok"
        return job

    def callback_by_service(number: str):
        def job():
            with scope(account=acme):
                callback_request_create(line=line, number=number, actor=None)
            return "ok"
        return job

    holding: list[SimulatedCall] = []  # callers who arrived in the previous round

    def arrive(number: str):
        def job():
            transport = ClientTransport()
            call = queued(phone, number, transport)
            holding.append(call)
            answers = bad_answers(transport, apologies)
            return "ok" if not answers else "webhook answered badly: " + "; ".join(answers)
        return job

    def leave(calls: list[SimulatedCall], keys: str):
        """Last round's callers leave: a key first (the menu, or a confirmed request), then
        the hang-up (Enqueue action and status callback)."""
        def job():
            transport = ClientTransport()
            for call in calls:
                if keys and call.status == "in-progress":
                    call.press(transport, keys)
                if call.status == "in-progress":
                    call.hangup(transport)
            answers = bad_answers(transport, apologies)
            return "ok" if not answers else "webhook answered badly: " + "; ".join(answers)
        return job

    for round_ in range(ROUNDS):
        rng = random.Random(round_)
        leaving, holding[:] = list(holding), []
        jobs = {
            "bob status (service)": flip_bob(rng.choice(FLIPS)),
            "dave availability (API)": flip_dave_by_api(rng.choice(FLIPS)),
            "routing pass": route(),
            # A worker's clock ahead of the others: offers time out, requests expire or are
            # declined by all, so every pass writes (offers, tickets, comments).
            "routing pass, later clock": route(started + timedelta(seconds=45 * round_)),
            "callback request": callback_by_service(f"+1415557{round_ % 10000:04d}"),
            "caller arrives": arrive(f"+1415559{round_ % 10000:04d}"),
            "caller leaves": leave(leaving, rng.choice(["", "", "2", "211"])),
        }
        results = race(list(jobs.values()))
        for name, result in zip(jobs, results):
            if result == "ok":
                continue
            if isinstance(result, Crash):
                text = repr(result)
                kind = f"{name} raised {type(result.error).__name__}"
                if "deadlock detected" in str(result.error):
                    kind += " (deadlock detected)"
                problems.add(round_, kind, text)
            else:
                problems.add(round_, f"{name}: {str(result).split(':')[0]}", result)
        for problem in offer_invariant_problems(acme):
            problems.add(round_, "offer invariant broken", problem)
        logged_errors(caplog, problems, round_)
    with scope(account=acme):
        routing.route_account(acme)
    for problem in offer_invariant_problems(acme):
        problems.add(ROUNDS, "offer invariant broken at the end", problem)
    problems.check()


# =====================================================================================
# 4. Agents accept live calls while the callers hang up (R1; defect 1)
# =====================================================================================
@pytest.mark.usefixtures("inline_tasks")  # the accept's connect task runs inline (TASKS_SYNC)
def test_it_frees_agents_after_concurrent_calls(acme, bob, dave, caplog, settings):  # SPEC R1, R3, R5, O2
    settings.ROUTE_INLINE = True  # every wake-up routes at once, in the thread that woke it
    caplog.set_level(logging.ERROR, logger="talk")
    line = make_line(acme)
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, ONLINE)
    agents = {bob.pk: bob, dave.pk: dave}
    phone = Phone(line)
    apologies = apology_texts()
    problems = Problems("agents freed after concurrent calls", EXTRA_ROUNDS)
    seen_tasks: set[str] = set()
    outcomes: Counter[str] = Counter()
    caplog.clear()

    def accept(offer: Offer):
        def job():
            with scope(account=acme):
                try:
                    offer_accept(account=acme, offer_id=offer.pk, agent=agents[offer.agent_id])
                except ServiceError as error:
                    if getattr(error, "code", "") == "offer_gone":
                        return "gone"
                    return f"refused: {error.message}"
            return "won"
        return job

    def hang_up(call: SimulatedCall):
        def job():
            transport = ClientTransport()
            call.hangup(transport)  # the Enqueue action (hangup), then the status callback
            return bad_answers(transport, apologies)
        return job

    for round_ in range(EXTRA_ROUNDS):
        # An offer left open by a lost accept times out (30 s call offer time) before the
        # round: as the sweep would, a pass with its clock past the deadline.
        with scope(account=acme):
            if Offer.objects.filter(account=acme, state=Offer.State.OFFERED).exists():
                routing.route_account(acme, now=timezone.now() + timedelta(seconds=line.call_offer_seconds + 1))
        calls = [queued(phone, f"+14155{50 + i}{round_ % 10000:04d}", ClientTransport()) for i in range(2)]
        sids = [c.call_sid for c in calls]
        with scope(account=acme):
            offers = list(Offer.objects.filter(account=acme, state=Offer.State.OFFERED, entry__call__provider_call_sid__in=sids))
            if len(offers) < 2:  # the inline wake-up routed before the other agent was free
                routing.route_account(acme)
                offers = list(Offer.objects.filter(
                    account=acme, state=Offer.State.OFFERED, entry__call__provider_call_sid__in=sids
                ))
        if len(offers) < 2:
            problems.add(round_, f"setup: {len(offers)} live offers for 2 callers and 2 free agents")
        if any(not c.in_queue for c in calls):
            problems.add(round_, "setup: a caller is not in the queue")
            continue
        results = race([accept(o) for o in offers] + [hang_up(c) for c in calls])
        for result in results[: len(offers)]:
            if isinstance(result, Crash) or result == "hung":
                problems.add(round_, "accept raised", result)
            else:
                outcomes[str(result)] += 1
                if result not in ("won", "gone"):
                    problems.add(round_, "accept refused", result)
        for result in results[len(offers):]:
            if isinstance(result, Crash) or result == "hung":
                problems.add(round_, "hang-up webhooks raised", result)
            else:
                for answer in result:
                    problems.add(round_, "hang-up webhook answered badly", answer)
        for sid in sids:
            record = call_row(acme, sid)
            if record is None or record.ended_at is None:
                problems.add(round_, "status lost: Call.ended_at empty", sid)
        with scope(account=acme):
            busy = list(AgentPresence.objects.filter(account=acme, busy=True).values_list("user__email", flat=True))
        if busy:
            problems.add(round_, "an agent is still busy after every call ended (R1)", busy)
            with scope(account=acme):  # free them for the next round (the failure is counted)
                AgentPresence.objects.filter(account=acme).update(busy=False)
        for problem in offer_invariant_problems(acme):
            problems.add(round_, "offer invariant broken", problem)
        logged_errors(caplog, problems, round_)
        failed_tasks(seen_tasks, problems, round_)
    print(f"accept outcomes: {dict(outcomes)}")
    problems.check()
