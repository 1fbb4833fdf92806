"""Benchmark: the accept race, exactly one winner in 1,000 rounds (SPEC R5, O2; issue 11, item 5).

    .venv/bin/python bench/races.py [--quick] [--rounds 1000]

(``DATABASE_URL`` / ``REDIS_URL`` default to the bench's, bench/common.py; PostgreSQL only:
SQLite runs one writer at a time, so nothing here could race there.)

Each round makes one offer the way production does (a callback request, then
``routing.route_account``), then threads, each with its own database connection, act on
that offer at the same instant (a ``threading.Barrier``):

- **accept ×2**, **accept ×3**: the agent's Call clicked twice or three times (two consoles,
  a double click): ``offer_accept`` from every thread;
- **accept vs decline**: Call and Don't answer at once;
- **accept vs time-out**: Call, and a routing pass whose clock is past the offer's deadline.
  In every other cycle of rounds the decline or the pass starts 0–80 ms after the accept
  (at the same instant, its single UPDATE of the offer always beats the accept, which moves
  the entry and the request first): both sides win some.

After each round: every thread either won or got a ``ServiceError`` (no other exception, no
deadlock error escaping, no thread hung); exactly one side won (one accept, or else the
decline or the time-out); the offer is in the winner's state; the request has exactly one
CallbackAttempt and one "place attempt" ProviderJob if an accept won, none otherwise; the
request and its queue entry are in progress / served (else pending / waiting); the agent is
busy with that very attempt (else free). Rows are deleted in bulk between rounds in a
scratch account ``bench-races``; never point it at data you keep.
"""
from __future__ import annotations

import argparse
import logging
import queue
import random
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from collections.abc import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Figure, django_setup, percentile, scratch_account, show  # noqa: E402

try:
    django_setup(SC_ROUTE_NOTIFY="true")
except Exception as error:  # noqa: BLE001 - settings refuse what is not PostgreSQL (SC_ROUTE_NOTIFY)
    sys.exit(f"bench/races.py needs PostgreSQL (DATABASE_URL=postgres://...): {error}")

from django.conf import settings  # noqa: E402
from django.db import IntegrityError, OperationalError, connection, transaction  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django_scopes import scope  # noqa: E402

from supportcenter.errors import ServiceError  # noqa: E402
from supportcenter.models import Account, AuditEntry, User  # noqa: E402
from talk import routing  # noqa: E402
from talk.models import AgentPresence, CallbackAttempt, CallbackRequest, Line, Offer, ProviderJob, QueueEntry  # noqa: E402
from talk.services.callback_requests import callback_request_create  # noqa: E402
from talk.services.offers import offer_accept, offer_decline  # noqa: E402
from tickets.models import Ticket  # noqa: E402

SUBDOMAIN = "bench-races"
NUMBER = "+14155550142"  # one request at a time: the same caller every round
VARIANTS = ("accept ×2", "accept ×3", "accept vs decline", "accept vs time-out")
WEIGHTS = (2, 1, 1, 1)  # of every 5 rounds: two double clicks, one of each other race
MAX_DELAY = 0.08  # seconds: about an accept's transaction here


# --- the database ------------------------------------------------------------------------
def needs_postgresql() -> None:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("bench/races.py needs PostgreSQL (DATABASE_URL=postgres://...): "
                 "SQLite serialises writers, so the accept race cannot happen there")
    try:
        connection.ensure_connection()
    except OperationalError as error:
        sys.exit(f"bench/races.py needs PostgreSQL, and {settings.DATABASES['default'].get('HOST') or 'it'} "
                 f"cannot be reached: {error}")


def quick_deadlock_detection(sender, connection, **kwargs) -> None:
    """A deadlock is found after ``deadlock_timeout`` (1 s): look after 100 ms, so a round
    that deadlocks costs little (run_atomic runs the loser again; we count those)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET deadlock_timeout = '100ms'")


class Retries(logging.Handler):
    """Counts the transactions run again after losing a lock conflict (supportcenter.db)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "lost a lock conflict" in record.getMessage():
            self.count += 1


# --- the scratch account -----------------------------------------------------------------
def setup() -> tuple[Account, Line, User]:
    account, line, [user] = scratch_account(SUBDOMAIN, "Bench races", number="+14155550142")
    with scope(account=account):
        # Deadlines far off: only the time-out variant's pass (its clock moved on) times an offer out.
        Line.objects.filter(pk=line.pk).update(callback_offer_seconds=60, callback_expiry_minutes=600)
        line.refresh_from_db()
        AgentPresence.objects.update_or_create(account=account, user=user, defaults={"status": "online", "busy": False})
    empty(account, tickets=True)
    return account, line, user


def empty(account: Account, *, tickets: bool = False) -> None:
    """The last round's rows, in bulk, children first; the agent free again. One transaction
    (the foreign keys are checked at its commit), run again if a dialer of another run on this
    database took one of our jobs meanwhile and pointed the agent at an attempt we deleted."""
    for attempt in range(5):
        try:
            with transaction.atomic(), scope(account=account):
                ProviderJob.objects.filter(account=account).delete()
                AgentPresence.objects.filter(account=account).update(
                    status="online", busy=False, busy_since=None, busy_call=None, busy_attempt=None,
                    last_offered_at=None,
                )
                Offer.objects.filter(account=account).delete()
                CallbackAttempt.objects.filter(account=account).delete()
                CallbackRequest.objects.filter(account=account).delete()
                QueueEntry.objects.filter(account=account).delete()
                if tickets:  # one per accepted request, with its comments; and the audit trail
                    Ticket.objects.filter(account=account).delete()
                    AuditEntry.objects.filter(account=account).delete()
            return
        except IntegrityError:
            if attempt == 4:
                raise
            time.sleep(0.05)


# --- one round -----------------------------------------------------------------------------
class Crash:
    def __init__(self, error: BaseException):
        self.error = error

    def __repr__(self) -> str:
        text = str(self.error).strip().splitlines()
        return f"{type(self.error).__name__}: {text[0] if text else ''}"


class Hung(RuntimeError):
    pass


class Racers:
    """Threads kept across rounds, each with its own database connection (opened once: a
    connection per thread per round would cost more than the race). ``race`` hands one job
    to each of the first ``len(jobs)`` threads; they are released together by a barrier."""

    def __init__(self, account: Account, size: int) -> None:
        self.account = account
        self.inboxes = [queue.Queue() for _ in range(size)]
        self.threads = [threading.Thread(target=self._serve, args=(inbox,), daemon=True) for inbox in self.inboxes]
        for thread in self.threads:
            thread.start()

    def _serve(self, inbox: queue.Queue) -> None:
        try:
            while (work := inbox.get()) is not None:
                job, barrier, delay, results, index, done = work
                try:
                    with scope(account=self.account):  # scopes live in a context variable: per thread
                        barrier.wait(timeout=30)
                        if delay:
                            time.sleep(delay)
                        try:
                            results[index] = job()
                        except ServiceError as error:
                            results[index] = error
                except BaseException as error:  # noqa: BLE001 - a crash is a result
                    results[index] = Crash(error)
                    connection.close()  # whatever state it was left in: a fresh one next round
                finally:
                    done.release()
        finally:
            connection.close()

    def race(self, jobs: list[Callable[[], object]], delays: list[float]) -> list[object]:
        """Each job's result: what it returned, the ``ServiceError`` it raised, a ``Crash`` for
        anything else it raised, or "hung" if it did not finish within 60 s."""
        barrier = threading.Barrier(len(jobs))
        results: list[object] = ["hung"] * len(jobs)
        done = threading.Semaphore(0)
        for index, job in enumerate(jobs):
            self.inboxes[index].put((job, barrier, delays[index], results, index, done))
        deadline = time.monotonic() + 60
        for _ in jobs:
            if not done.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise Hung(f"a racer hung (60 s): {results}")  # its thread is stuck: no next round
        return list(results)

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join(timeout=10)


def one_round(racers: Racers, variant: str, account: Account, line: Line, user: User, delay: float) -> tuple[list[str], str]:
    """Make an offer, race on it, check; the problems found (none: the round is OK) and who won."""
    empty(account)
    with scope(account=account):
        request = callback_request_create(line=line, number=NUMBER)
        routing.route_account(account, push=False)
        # Read, not taken from the pass's answer: a router of another bench on this database
        # hears the request's NOTIFY and may have made the offer first (its pass then ours).
        offer = Offer.objects.filter(entry_id=request.queue_entry_id, state=Offer.State.OFFERED).first()
        if offer is None:
            return ["no offer made"], "none"

    def accept():
        return ("accept", offer_accept(account=account, offer_id=offer.pk, agent=user))

    def decline():
        return ("decline", offer_decline(account=account, offer_id=offer.pk, agent=user))

    def time_out():  # a routing pass whose clock is just past the offer's deadline
        return ("pass", routing.route_account(account, now=offer.expires_at + timedelta(milliseconds=1), push=False))

    jobs = {
        "accept ×2": [accept, accept],
        "accept ×3": [accept, accept, accept],
        "accept vs decline": [accept, decline],
        "accept vs time-out": [accept, time_out],
    }[variant]
    # The accept's transaction moves the entry and the request before it reaches the offer's row:
    # released at the same instant, a decline or a pass (one quick UPDATE of that row) wins
    # every time. Half of these rounds start the other side ``delay`` later, into that window.
    delays = [0.0] * len(jobs)
    if variant in ("accept vs decline", "accept vs time-out"):
        delays[1] = delay
    results = racers.race(jobs, delays)
    return check(variant, results, account, request, offer, user)


def check(variant: str, results: list[object], account: Account, request: CallbackRequest, offer: Offer,
          user: User) -> tuple[list[str], str]:
    problems = []
    for result in results:
        if isinstance(result, Crash):
            problems.append(f"crash {result!r}")
        elif result == "hung":
            problems.append("a thread hung (60 s)")
        elif isinstance(result, ServiceError) and getattr(result, "code", None) != "offer_gone":
            problems.append(f"unexpected refusal: {result}")
    wins = Counter(r[0] for r in results if isinstance(r, tuple))
    with scope(account=account):
        state = Offer.objects.filter(pk=offer.pk).values_list("state", flat=True).first()
        timed_out = state == Offer.State.TIMED_OUT
        winners = wins["accept"] + wins["decline"] + (1 if variant == "accept vs time-out" and timed_out else 0)
        if winners != 1:
            problems.append(f"{winners} winners (accepts {wins['accept']}, declines {wins['decline']}, "
                            f"timed out {timed_out})")
        accepted = wins["accept"] == 1
        expected = ("accepted" if accepted else "declined" if wins["decline"] else
                    "timed_out" if variant == "accept vs time-out" else "offered")
        if state != expected:
            problems.append(f"offer {state}, expected {expected}")
        attempts = list(CallbackAttempt.objects.filter(request_id=request.pk).values_list("pk", flat=True))
        jobs = list(ProviderJob.objects.filter(account=account).values_list("kind", "object_id"))
        if len(attempts) != (1 if accepted else 0):
            problems.append(f"{len(attempts)} attempts")
        expected_jobs = [(ProviderJob.Kind.PLACE_ATTEMPT, attempts[0])] if accepted and len(attempts) == 1 else []
        if accepted and len(attempts) != 1:
            expected_jobs = None
        if expected_jobs is not None and sorted(jobs) != sorted(expected_jobs):
            problems.append(f"provider jobs {jobs}")
        request_row = CallbackRequest.objects.filter(pk=request.pk).values_list("state", "accepted_by_id").first()
        entry_state = QueueEntry.objects.filter(pk=request.queue_entry_id).values_list("state", flat=True).first()
        if accepted and (request_row != ("in_progress", user.pk) or entry_state != "served"):
            problems.append(f"request {request_row}, entry {entry_state} after an accept")
        # Declined by its only agent, the next pass cancels the request (R8): a router of another
        # bench may have run it already.
        allowed = {("pending", "waiting")} | ({("declined", "cancelled")} if wins["decline"] else set())
        if not accepted and (request_row[0], entry_state) not in allowed:
            problems.append(f"request {request_row}, entry {entry_state} without an accept")
        busy = AgentPresence.objects.filter(account=account, user=user).values_list("busy", "busy_attempt_id").first()
        want = (True, attempts[0]) if accepted and len(attempts) == 1 else (False, None)
        if busy != want:
            problems.append(f"agent busy {busy}, expected {want}")
    return problems, ("accept" if accepted else "decline" if wins["decline"] else
                      "time-out" if timed_out else "nobody")


# --- figures ---------------------------------------------------------------------------------
def others() -> int:
    """Routers and dialers of other runs LISTENing on this database: they route this account
    and run its provider jobs too, between a round's steps (the checks allow for a pass, not
    for a dialer freeing or re-busying the agent)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND query IN ('LISTEN talk_route', 'LISTEN talk_dial')")
        return cursor.fetchone()[0]


def wait_quiet(seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while (found := others()) and time.monotonic() < deadline:
        time.sleep(2)
    return found


def figures(quick: bool = False, *, rounds: int | None = None) -> list[Figure]:
    rounds = rounds or (100 if quick else 1000)
    needs_postgresql()
    logging.getLogger("django-q").setLevel(logging.WARNING)
    connection_created.connect(quick_deadlock_detection, weak=False, dispatch_uid="bench-races-deadlock-timeout")
    retries = Retries()
    logging.getLogger("supportcenter.db").addHandler(retries)
    logging.getLogger("supportcenter.db").setLevel(logging.INFO)
    connection.close()  # the next connection gets the shorter deadlock_timeout too
    account, line, user = setup()
    schedule = [v for v, w in zip(VARIANTS, WEIGHTS) for _ in range(w)]
    jitter = random.Random(11)
    ok: Counter = Counter()
    run: Counter = Counter()
    outcomes: Counter = Counter()
    failures: list[tuple[int, str, list[str]]] = []
    walls: list[float] = []
    foreign = wait_quiet(30.0 if quick else 60.0)
    racers = Racers(account, 3)
    try:
        for n in range(rounds):
            variant = schedule[n % len(schedule)]
            started = time.perf_counter()
            try:
                delay = 0.0 if n // len(schedule) % 2 == 0 else jitter.uniform(0.0, MAX_DELAY)
                problems, winner = one_round(racers, variant, account, line, user, delay)
            except Hung as error:  # a deadlock nobody broke, say: the run stops here
                failures.append((n, variant, [str(error)]))
                run[variant] += 1
                break
            except Exception as error:  # noqa: BLE001 - the round's own setup failed: a defect too
                problems, winner = [f"round crashed: {type(error).__name__}: {error}"], "crash"
            walls.append((time.perf_counter() - started) * 1000)
            run[variant] += 1
            if problems:
                failures.append((n, variant, problems))
            else:
                ok[variant] += 1
            outcomes[(variant, winner)] += 1
            if n % 100 == 99:
                empty(account, tickets=True)
                foreign = max(foreign, others())
    finally:
        racers.close()
        empty(account, tickets=True)
        logging.getLogger("supportcenter.db").removeHandler(retries)
    total_ok = sum(ok.values())
    per_variant = "; ".join(
        f"{v}: {ok[v]}/{run[v]} OK (won: " + ", ".join(f"{w} {c}" for (vv, w), c in sorted(outcomes.items()) if vv == v) + ")"
        for v in VARIANTS
    )
    note = f"{per_variant}; transactions run again after a lock conflict: {retries.count}"
    if foreign:
        note += (f"; NOT CLEAN: {foreign} router/dialer connection(s) of another run used this database meanwhile "
                 "(they route this account and run its jobs too)")
    if failures:
        shown = "; ".join(f"round {n} ({v}): {', '.join(p)}" for n, v, p in failures[:5])
        note += f"; FAILED ROUNDS {len(failures)}, first: {shown}"
    ran = sum(run.values())
    return [
        Figure("accept race rounds with exactly one winner", "rounds", total_ok, ran, "rounds run",
               f"{rounds:,} of {rounds:,}", total_ok == rounds, note=note),
        Figure("accept race round wall time p50 (offer, race, checks)", "ms", percentile(walls, 50),
               note=f"p99 {percentile(walls, 99):.0f} ms, max {max(walls):.0f} ms, {sum(walls) / 1000:.0f} s in all"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100 rounds instead of 1,000")
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    show(figures(args.quick, rounds=args.rounds))


if __name__ == "__main__":
    main()
