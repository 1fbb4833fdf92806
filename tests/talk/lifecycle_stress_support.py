"""What the lifecycle stress tests share (test_lifecycle_stress.py, test_lifecycle_stress_agents.py):
the race (threads released together, each with its own connection and test client), the
problems counted per kind, the webhooks as Twilio sends them and the checks of their answers,
and the invariants of the offers. No tests here."""
from __future__ import annotations

import logging
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Callable

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import Count, F
from django.test import Client
from django_q.models import Task
from django_scopes import scope
from twilio.request_validator import RequestValidator

from callsim.engine import SimulatedCall
from talk import twiml
from talk.models import AgentPresence, Call, CallbackRequest, Offer, QueueEntry
from tests.talk.calls_support import LINE_NUMBER, Phone
from tests.talk.calls_support import ClientTransport as _ClientTransport


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
