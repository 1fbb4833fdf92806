"""The call and callback lifecycle under real concurrency on PostgreSQL (SPEC O2, C8, C15, R1).

Each test repeats one race many times (``SC_STRESS_ROUNDS``; 200 by default, 60 for the
two costlier races): threads,
each with its own database connection and its own test client, released together by a
``threading.Barrier``, as the provider's webhooks, the routing workers, the API and the
agents' consoles hit the product at the same instant in production. Every round is
checked; problems are counted per kind and the test fails at the end with the counts, so
one run tells how often each defect shows (issue 10, defects 1, 5, 6, 7; Deliver 5).

SQLite serialises every writer on one database lock, so none of these races can happen
there: the module runs on PostgreSQL only (set DATABASE_URL). Here the caller's webhooks
race each other and the API; the agents' races (status changes during routing, accepts
while the callers hang up) are in test_lifecycle_stress_agents.py, and what both share in
lifecycle_stress_support.py.
"""
from __future__ import annotations

import logging

import pytest
from django_scopes import scope

from callsim.engine import SimulatedCall
from talk.models import CallbackRequest
from tests.conftest import api_client
from tests.postgres import needs_postgresql
from tests.talk.calls_support import Phone, make_line, set_presence
from tests.talk.lifecycle_stress_support import (
    AWAY,
    EXTRA_ROUNDS,
    ROUNDS,
    ClientTransport,
    Crash,
    Problems,
    apology_texts,
    bad_answers,
    call_row,
    hang_up_requests,
    left_caller_still_waiting,
    logged_errors,
    queued,
    quick_deadlock_detection,  # noqa: F401
    quiet,
    race,
    signed_post,
    twiml_problem,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("quick_deadlock_detection"),
    needs_postgresql(),
]


# =====================================================================================
# 1. The two hang-up webhooks of one call at the same instant (C15, O2; defect 5)
# =====================================================================================
def test_it_survives_both_hang_up_webhooks_at_once(acme, bob, caplog):  # SPEC C15, C8, C11, O2
    caplog.set_level(logging.ERROR, logger="talk")
    line = make_line(acme)
    set_presence(acme, bob, AWAY)  # callback available (C2), nobody routed: the race is the webhooks'
    phone = Phone(line)
    apologies = apology_texts()
    problems = Problems("hang-up webhooks at once")
    caplog.clear()
    for round_ in range(ROUNDS):
        number = f"+1415556{round_ % 10000:04d}"
        pressed = round_ % 2 == 1  # every other caller pressed the callback key first: capture (C8)
        transport = ClientTransport()
        call = queued(phone, number, transport)
        if pressed:
            call.press(transport, "2")
        for answer in bad_answers(transport, apologies):
            problems.add(round_, "setup webhook answered badly", answer)
        if not call.in_queue or (pressed and call.pending is None):
            problems.add(round_, "setup: the caller is not in the queue / menu", call.transcript[-3:])
            continue
        duration = 10 + round_ % 50
        (exit_url, exit_params), (status_url, status_params) = hang_up_requests(call, duration)
        exit_result, status_result = race([
            lambda: signed_post(exit_url, exit_params, phone.token),
            lambda: signed_post(status_url, status_params, phone.token),
        ])
        for name, result in (("queue exit", exit_result), ("status callback", status_result)):
            if isinstance(result, Crash) or result == "hung":
                problems.add(round_, f"{name} raised", result)
                continue
            problem = twiml_problem(*result, apologies)
            if problem:
                problems.add(round_, f"{name} answered {problem.split(':')[0]}", problem)
        record = call_row(acme, call.call_sid)
        if record is None:
            problems.add(round_, "no Call row")
        else:
            if record.ended_at is None:
                problems.add(round_, "status lost: Call.ended_at empty", call.call_sid)
            if record.duration_seconds != duration:
                problems.add(round_, "status lost: Call.duration_seconds wrong",
                             f"{record.duration_seconds!r} != {duration}")
            waiting = left_caller_still_waiting(acme, record)
            if waiting:
                problems.add(round_, "the caller left but is still waiting (C15)", waiting)
            if pressed:
                with scope(account=acme):
                    captured = CallbackRequest.objects.filter(account=acme, call=record).first()
                if captured is None or captured.state != CallbackRequest.State.PENDING or captured.number != number:
                    problems.add(round_, "capture lost (C8): no pending request at the caller id",
                                 captured and (captured.state, captured.number))
        logged_errors(caplog, problems, round_)
    problems.check()


# =====================================================================================
# 3. An API callback request racing a caller's capture or confirm (C7, C8; defect 7)
# =====================================================================================
def test_it_answers_already_waiting_when_an_api_request_races_a_capture(acme, alice, bob, caplog, monkeypatch):  # SPEC C7, C8, A1
    from talk.services import callback_requests

    # The race is the one-pending-per-number rule, not the A3 rate limit (30 per 10 minutes).
    monkeypatch.setattr(callback_requests, "API_CALLBACK_LIMIT", 10**6)
    caplog.set_level(logging.ERROR, logger="talk")
    line = make_line(acme)
    set_presence(acme, bob, AWAY)  # callback available (C2), nobody routed
    phone = Phone(line)
    alice_api = quiet(api_client(acme, alice))
    apologies = apology_texts()
    problems = Problems("API request racing a capture", EXTRA_ROUNDS)
    caplog.clear()

    def api_request(number: str):
        def job():
            response = alice_api.post(
                "/api/v2/channels/voice/callback_requests.json",
                {"callback_request": {"phone_number_id": line.pk, "requester_phone_number": number}},
                content_type="application/json",
            )
            return response.status_code, response.content.decode()
        return job

    def hang_up(exit_request, status_request):
        def job():
            return [signed_post(*exit_request, phone.token), signed_post(*status_request, phone.token)]
        return job

    def confirm(call: SimulatedCall):
        def job():
            transport = ClientTransport()
            call.press(transport, "1")  # confirms (C6); its goodbye ends the call: status callback
            return [(status, body) for _path, status, body in transport.responses]
        return job

    for round_ in range(EXTRA_ROUNDS):
        number = f"+1415558{round_ % 10000:04d}"
        capture = round_ % 4 != 3  # else the caller confirms with 1 at the same instant (C6, C7)
        transport = ClientTransport()
        call = queued(phone, number, transport)
        call.press(transport, "2" if capture else "21")
        for answer in bad_answers(transport, apologies):
            problems.add(round_, "setup webhook answered badly", answer)
        if call.pending is None:
            problems.add(round_, "setup: the caller is not in the menu", call.transcript[-3:])
            continue
        caller_job = (
            hang_up(*hang_up_requests(call, 20)) if capture else confirm(call)
        )
        api_result, caller_result = race([api_request(number), caller_job])
        label = "capture" if capture else "confirm"
        if isinstance(api_result, Crash) or api_result == "hung":
            problems.add(round_, f"API request raised (a 500) racing a {label}", api_result)
        else:
            status, body = api_result
            if status == 422:
                if "already waiting" not in body.lower():
                    problems.add(round_, f"API 422 that is not 'already waiting' racing a {label}", body[:300])
            elif status != 201:
                problems.add(round_, f"API answered {status} racing a {label}", body[:300])
        if isinstance(caller_result, Crash) or caller_result == "hung":
            problems.add(round_, f"{label} webhooks raised", caller_result)
        else:
            for status, body in caller_result:
                problem = twiml_problem(status, body, apologies)
                if problem:
                    problems.add(round_, f"{label} webhook answered {problem.split(':')[0]}", problem)
        with scope(account=acme):
            pending = CallbackRequest.objects.filter(
                account=acme, line=line, number=number, state=CallbackRequest.State.PENDING
            ).count()
        if pending != 1:
            problems.add(round_, f"{pending} pending requests for the number after a {label} race (want 1)")
        record = call_row(acme, call.call_sid)
        if record is None or record.ended_at is None:
            problems.add(round_, f"status lost after a {label} race", call.call_sid)
        else:
            waiting = left_caller_still_waiting(acme, record)
            if waiting:
                problems.add(round_, f"the caller left but is still waiting after a {label} race (C15)", waiting)
        logged_errors(caplog, problems, round_)
    problems.check()
