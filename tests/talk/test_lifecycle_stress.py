"""The call and callback lifecycle under real concurrency on PostgreSQL (SPEC O2, C8, C15, R1).

Each test repeats one race many times (``SC_STRESS_ROUNDS``; 200 by default, 60 for the
two costlier races): threads,
each with its own database connection and its own test client, released together by a
``threading.Barrier``, as the provider's webhooks, the routing workers, the API and the
agents' consoles hit the product at the same instant in production. Every round is
checked; problems are counted per kind and the test fails at the end with the counts, so
one run tells how often each defect shows (issue 10, defects 1, 5, 6, 7; Deliver 5).

SQLite serialises every writer on one database lock, so none of these races can happen
there: the module runs on PostgreSQL only (set DATABASE_URL).
"""
from __future__ import annotations

import logging
import os
import random
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import timedelta
from typing import Callable

import pytest
from django.db import connection
from django.db.models import Count, F
from django.test import Client
from django.utils import timezone
from django_scopes import scope
from twilio.request_validator import RequestValidator

from callsim.engine import SimulatedCall
from supportcenter.errors import ServiceError
from talk import routing, twiml
from talk.models import AgentPresence, Call, CallbackRequest, Offer, QueueEntry
from talk.services.agents import agent_status_set

try:
    from talk.services.callback_requests import callback_request_create
    from talk.services.offers import offer_accept
except ImportError:  # before the lifecycle rewrite (issue 10)
    from talk.services.calls import callback_request_create
    from talk.services.routing import offer_accept
from tests.conftest import api_client
from tests.talk.calls_support import LINE_NUMBER, Phone, make_line, set_presence
from tests.talk.calls_support import ClientTransport as _ClientTransport
from tests.talk.test_console_support import inline_tasks  # noqa: F401
from tests.postgres import needs_postgresql

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("quick_deadlock_detection"),
    needs_postgresql(),
]

ROUNDS = int(os.environ.get("SC_STRESS_ROUNDS", "200"))
# The API race and the accept-while-hanging-up race cost several times a round of the
# others: fewer by default, to keep the suite's time (SC_STRESS_ROUNDS raises all).
EXTRA_ROUNDS = int(os.environ.get("SC_STRESS_ROUNDS", "60"))
ONLINE = AgentPresence.Status.ONLINE
AWAY = AgentPresence.Status.AWAY
OFFLINE = AgentPresence.Status.OFFLINE
FLIPS = (ONLINE, AWAY, OFFLINE)


@pytest.fixture
def quick_deadlock_detection():
    """PostgreSQL looks for a deadlock after ``deadlock_timeout`` (1 s): a round that
    deadlocks would cost a second. Connections made during the test look after 100 ms
    instead; a deadlock is a deadlock either way, the run is just shorter."""
    from django.db.backends.signals import connection_created

    def shorten(sender, connection, **kwargs):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET deadlock_timeout = '100ms'")

    connection_created.connect(shorten, weak=False, dispatch_uid="stress-deadlock-timeout")
    yield
    connection_created.disconnect(dispatch_uid="stress-deadlock-timeout")


# --- The race ----------------------------------------------------------------------
def quiet(client: Client) -> Client:
    """A test client that returns a 500 instead of raising what the view raised.

    Django's test client hears a view's exception through the process-wide
    ``got_request_exception`` signal, so with several threads in requests at once a
    client would raise *another* thread's exception (and its own request's answer
    would be lost). Each thread must see its own answer: 500s are counted from the
    status code, and the exception is in the log (django.request).
    """
    client.raise_request_exception = False
    return client


class ClientTransport(_ClientTransport):
    """The simulator's transport (calls_support), with a quiet client of its own."""

    def __init__(self) -> None:
        super().__init__()
        quiet(self.client)


class Crash:
    """What a thread raised: a result too, which must fail the round."""

    def __init__(self, error: BaseException):
        self.error = error

    def __repr__(self) -> str:
        return f"{type(self.error).__name__}: {str(self.error).strip().splitlines()[0] if str(self.error).strip() else ''}"


def race(jobs: list[Callable[[], object]]) -> list[object]:
    """Run every job in its own thread (its own database connection) at the same instant.

    Returns each job's result in order; a job that raised gives a ``Crash``, one that
    never finished gives the string "hung".
    """
    barrier = threading.Barrier(len(jobs))
    results: list[object] = ["hung"] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as error:  # noqa: BLE001 - a crash is a result
            results[index] = Crash(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return results


class Problems:
    """Everything that went wrong, by kind, with a few examples of each."""

    def __init__(self, test: str, rounds: int = ROUNDS):
        self.test = test
        self.rounds = rounds
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}
        self.bad_rounds: set[int] = set()
        self.started = time.monotonic()

    def add(self, round_: int, kind: str, detail: object = "") -> None:
        self.counts[kind] += 1
        self.bad_rounds.add(round_)
        examples = self.examples.setdefault(kind, [])
        if len(examples) < 3:
            examples.append(f"round {round_}: {detail}"[:600])

    def report(self) -> str:
        lines = [
            f"{self.test}: {len(self.bad_rounds)} of {self.rounds} rounds went wrong"
            f" ({time.monotonic() - self.started:.1f} s)"
        ]
        for kind, count in self.counts.most_common():
            lines.append(f"  {count:5d} x {kind}")
            lines.extend(f"          {example}" for example in self.examples[kind])
        return "\n".join(lines)

    def check(self) -> None:
        print(self.report())
        assert not self.counts, self.report()


# --- Logs and failed inline tasks ------------------------------------------------
def logged_errors(caplog, problems: Problems, round_: int) -> None:
    """Any ERROR logged during the round (the webhooks' edge logs what it turned into an
    apology; django.request logs a 500; django-q logs a failed inline task)."""
    for record in caplog.records:
        if record.levelno < logging.ERROR:
            continue
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" | {type(record.exc_info[1]).__name__}: {str(record.exc_info[1]).strip().splitlines()[0]}"
        if "deadlock detected" in text + (record.exc_text or ""):
            kind = f"logged ERROR on {record.name}: deadlock detected"
        else:
            kind = f"logged ERROR on {record.name}"
        problems.add(round_, kind, text)
    caplog.clear()


def failed_tasks(seen: set[str], problems: Problems, round_: int) -> None:
    """Inline tasks (TASKS_SYNC) that raised: django-q stores them as failures."""
    from django_q.models import Task

    for task_id, name, result in Task.objects.filter(success=False).values_list("id", "func", "result"):
        if task_id in seen:
            continue
        seen.add(task_id)
        last = str(result or "").strip().splitlines()
        problems.add(round_, f"inline task {name} failed", last[-1] if last else "")


# --- Webhooks as Twilio sends them -------------------------------------------------
def apology_texts() -> set[str]:
    texts = set()
    for language in ("en", *getattr(twiml, "APOLOGY", {}).keys()):
        say = ET.fromstring(twiml.apology(language)).find("Say")
        if say is not None and say.text:
            texts.add(say.text.strip())
    return texts


def twiml_problem(status: int, body: str, apologies: set[str]) -> str | None:
    """None when the answer is a 200 with a valid TwiML document that is not the apology (C11)."""
    if status != 200:
        return f"HTTP {status}: {body[:200]}"
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        return f"not XML ({error}): {body[:200]}"
    if root.tag != "Response":
        return f"root <{root.tag}>: {body[:200]}"
    said = {(say.text or "").strip() for say in root.iter("Say")}
    if said & apologies:
        return "the apology"
    return None


def signed_post(url: str, params: dict[str, str], token: str) -> tuple[int, str]:
    """One webhook, signed as Twilio signs it, through a test client of this thread's own."""
    signature = RequestValidator(token).compute_signature(url, params)
    return ClientTransport().post(url, params, {"X-Twilio-Signature": signature})


def hang_up_requests(call: SimulatedCall, duration: int) -> tuple[tuple[str, dict], tuple[str, dict]]:
    """The two webhooks Twilio sends when a queued caller hangs up, built as the simulator
    builds them: the Enqueue action (QueueResult=hangup) and the status callback."""
    queue = call.queue
    assert queue is not None and queue.action, "the caller is not in the queue"
    exit_params = {
        **call.base_params(),
        "QueueResult": "hangup",
        "QueueSid": queue.sid,
        "QueueTime": str(max(0, int(time.time() - queue.entered_at))),
    }
    call.status = "completed"
    call.queue = None
    call.pending = None
    status_params = {
        **call.base_params(),
        "CallDuration": str(duration),
        "Duration": str((duration + 59) // 60),
        "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
        "CallbackSource": "call-progress-events",
        "SequenceNumber": "0",
    }
    assert call.status_callback_url
    return (queue.action, exit_params), (call.status_callback_url, status_params)


def new_call(phone: Phone, from_: str) -> SimulatedCall:
    return SimulatedCall(
        account_sid="AC" + "1" * 32, auth_token=phone.token, voice_url=phone.urls["voice_url"],
        status_callback_url=phone.urls["status_callback_url"], from_=from_, to=LINE_NUMBER,
    )


def queued(phone: Phone, from_: str, transport: ClientTransport) -> SimulatedCall:
    """A caller who let the greeting pass and holds in the queue (as ``Phone.queued``),
    on the given transport (so each thread has its own client)."""
    call = new_call(phone, from_)
    call.dial(transport)
    if call.pending is not None and not call.in_queue:
        call.silence(transport)
    return call


def bad_answers(transport: ClientTransport, apologies: set[str]) -> list[str]:
    found = []
    for path, status, body in transport.responses:
        problem = twiml_problem(status, body, apologies)
        if problem:
            found.append(f"{path.rsplit('/', 2)[-2] if path.count('/') > 1 else path}: {problem}")
    return found


def call_row(account, sid: str) -> Call | None:
    with scope(account=account):
        return Call.objects.filter(account=account, provider_call_sid=sid).first()


def left_caller_still_waiting(account, call: Call) -> str | None:
    """C15: a caller who has left is not waiting, unless their entry is now a pending callback (C8)."""
    with scope(account=account):
        entry = QueueEntry.objects.filter(account=account, call=call).first()
        if entry is None or entry.state != QueueEntry.State.WAITING:
            return None
        request = CallbackRequest.objects.filter(account=account, queue_entry=entry).first()
        if entry.kind == QueueEntry.Kind.CALLBACK and request is not None and request.state == CallbackRequest.State.PENDING:
            return None
        return f"entry {entry.pk} kind={entry.kind} still waiting, request={request and request.state}"


# --- Offer invariants (R2, R5) -----------------------------------------------------
def offer_invariant_problems(account) -> list[str]:
    with scope(account=account):
        offers = Offer.objects.filter(account=account).order_by()
        open_ = offers.filter(state=Offer.State.OFFERED)
        found = []
        for row in open_.values("agent_id").annotate(n=Count("id")).filter(n__gt=1):
            found.append(f"agent {row['agent_id']} holds {row['n']} open offers")
        for row in open_.values("entry_id").annotate(n=Count("id")).filter(n__gt=1):
            found.append(f"entry {row['entry_id']} has {row['n']} open offers")
        for row in offers.filter(state=Offer.State.ACCEPTED).values("entry_id").annotate(n=Count("id")).filter(n__gt=1):
            found.append(f"entry {row['entry_id']} was accepted {row['n']} times")
        for offer_id, kind, entry_kind in open_.exclude(kind=F("entry__kind")).values_list("id", "kind", "entry__kind"):
            found.append(f"open offer {offer_id} is {kind} but its entry is {entry_kind}")
        return found


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
