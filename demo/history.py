"""Realistic Talk history for the dashboard and its benchmark (seed_history).

Calls arrive mostly in the account's business hours over the last ``days``; every
outcome occurs (answered, abandoned, callback requested, captured C8, ended before
the queue, failed, outbound) and callback requests end every way D5 knows. Rows
are written with bulk inserts in chunks, ids chosen up front (TenantModel ids are
random), so a million calls take minutes, not hours.
"""
from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, connections, transaction
from django.utils import timezone

from dashboards.timeframes import UTC, account_zone, local_midnight
from supportcenter.models import Account
from talk.models import Call, CallbackAttempt, CallbackRequest, Line, Offer, QueueEntry

CHUNK = 5000
# Calls per local hour of the day, relative: quiet nights, busy mornings and afternoons.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 18, 16, 12, 15, 17, 16, 13, 9, 6, 4, 3, 2, 2, 1]
# How calls end (weights): the rest of the product's outcomes, and outbound calls.
OUTCOMES = [
    ("answered", 52), ("abandoned", 11), ("callback_requested", 13), ("callback_captured", 4),
    ("ended_before_queue", 6), ("failed", 1), ("in_progress", 1), ("outbound", 12), ("already_waiting", 1),
]
CALLBACK_ENDINGS = [
    ("answered", 66), ("no_answer", 12), ("busy", 5), ("failed", 3), ("declined", 6), ("expired", 8),
    ("cancelled", 3),
]
END_STATE = {
    "answered": CallbackRequest.State.COMPLETED, "no_answer": CallbackRequest.State.FAILED,
    "busy": CallbackRequest.State.FAILED, "failed": CallbackRequest.State.FAILED,
    "declined": CallbackRequest.State.DECLINED, "expired": CallbackRequest.State.EXPIRED,
    "cancelled": CallbackRequest.State.CANCELLED,
}
ATTEMPT_STATUS = {
    "answered": CallbackAttempt.Status.COMPLETED, "no_answer": CallbackAttempt.Status.NO_ANSWER,
    "busy": CallbackAttempt.Status.BUSY, "failed": CallbackAttempt.Status.FAILED,
}


@dataclass
class Batch:
    calls: list = field(default_factory=list)
    entries: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    attempts: list = field(default_factory=list)
    offers: list = field(default_factory=list)

    def save(self) -> None:
        with transaction.atomic():
            for model, rows in (
                (Call, self.calls), (QueueEntry, self.entries), (CallbackRequest, self.requests),
                (CallbackAttempt, self.attempts), (Offer, self.offers),
            ):
                if connection.vendor == "postgresql":
                    _copy(model, rows)
                else:
                    model.objects.bulk_create(rows, batch_size=CHUNK)

    def rows(self) -> int:
        return sum(map(len, (self.calls, self.entries, self.requests, self.attempts, self.offers)))


def _plain(value):
    # TextChoices members are str subclasses; hand the driver plain values.
    return str(value) if isinstance(value, str) else value


def _copy(model, rows: list) -> None:
    """PostgreSQL's COPY: about ten times the rows per second of INSERTs built by the ORM.

    The rows are complete model instances (defaults applied, ids chosen), so the
    columns are exactly the model's concrete fields.
    """
    if not rows:
        return
    fields = model._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_plain(getattr(row, f.attname)) for f in fields])


@contextmanager
def history_timestamps() -> Iterator[None]:
    """Let bulk inserts keep the history's times instead of "now" (auto_now_add)."""
    fields = [Call._meta.get_field("started_at"), Offer._meta.get_field("created_at")]
    saved = [f.auto_now_add for f in fields]
    try:
        for f in fields:
            f.auto_now_add = False
        yield
    finally:
        for f, value in zip(fields, saved):
            f.auto_now_add = value


class HistoryMaker:
    def __init__(self, *, account: Account, lines: list[Line], agents: list[int], days: int, seed: int | None,
                 total: int):
        self.account = account
        self.total = total
        self.lines = lines
        self.agents = agents
        self.random = random.Random(seed)
        self.now = timezone.now()
        self.zone = account_zone(account)
        self.days = days
        self.run = secrets.token_hex(4)
        self.serial = 0
        # A queue holds a few callers at a time, not a share of all history.
        self.live_waiting_left = 12
        self.callbacks_waiting_left = 8
        self._outcomes = [o for o, _ in OUTCOMES], [w for _, w in OUTCOMES]
        self._endings = [o for o, _ in CALLBACK_ENDINGS], [w for _, w in CALLBACK_ENDINGS]
        local_today = self.now.astimezone(self.zone).date()
        self._first_day = local_today - timedelta(days=days - 1)

    def _moment(self) -> datetime:
        r = self.random
        # History is written in time order, as it happens: day by day from the first.
        day = self._first_day + timedelta(days=min(self.days - 1, self.serial * self.days // max(self.total, 1)))
        hour = r.choices(range(24), HOUR_WEIGHTS)[0]
        local = datetime(day.year, day.month, day.day, hour, r.randrange(60), r.randrange(60), r.randrange(1_000_000),
                         tzinfo=self.zone)
        moment = local.astimezone(UTC)
        if moment > self.now - timedelta(seconds=30):  # today's future hours: somewhere in today's past
            midnight = local_midnight(self.now.astimezone(self.zone).date(), self.zone)
            moment = midnight + (self.now - timedelta(seconds=30) - midnight) * r.random()
        return moment

    def _number(self) -> str:
        return f"+1{self.random.randrange(201, 990)}555{self.random.randrange(10_000):04d}"

    def chunk(self, size: int) -> Batch:
        batch = Batch()
        for _ in range(size):
            self._one(batch)
        return batch

    def _one(self, batch: Batch) -> None:
        r = self.random
        self.serial += 1
        account_id = self.account.pk
        line = self.lines[r.randrange(len(self.lines))]
        started = self._moment()
        outcome = r.choices(*self._outcomes)[0]
        if outcome == "in_progress" and self.live_waiting_left <= 0:
            outcome = "answered"
        if outcome.startswith("callback") and self.callbacks_waiting_left > 0 and r.random() < 0.01:
            self.callbacks_waiting_left -= 1
            started = self.now - timedelta(seconds=r.randrange(60, 900))  # waiting for an agent right now
        call = Call(
            account_id=account_id, line=line, provider_call_sid=f"SH{self.run}{self.serial:012d}",
            from_raw=self._number(), to_raw=str(line.number), started_at=started, stage=Call.Stage.ENDED,
            provider_status="completed",
        )
        call.caller_number = call.from_raw
        call.caller_number_source = Call.NumberSource.CALLER_ID
        batch.calls.append(call)
        if outcome == "outbound":
            call.direction = Call.Direction.OUTBOUND
            call.outcome = Call.Outcome.ANSWERED
            call.answered_by_id = r.choice(self.agents)
            call.answered_at = started + timedelta(seconds=r.randrange(3, 25))
            call.duration_seconds = r.randrange(20, 900)
            call.ended_at = started + timedelta(seconds=call.duration_seconds)
            return
        if outcome in ("ended_before_queue", "failed"):
            call.outcome = outcome
            call.duration_seconds = r.randrange(2, 40)
            call.ended_at = started + timedelta(seconds=call.duration_seconds)
            return
        greeting = r.randrange(8, 25)
        entered = started + timedelta(seconds=greeting)
        entry = QueueEntry(account_id=account_id, line=line, call=call, entered_at=entered)
        batch.entries.append(entry)
        if outcome == "in_progress":  # still holding now
            self.live_waiting_left -= 1
            call.stage, call.provider_status = Call.Stage.QUEUED, "in-progress"
            call.started_at = self.now - timedelta(seconds=r.randrange(30, 900))
            entry.entered_at = call.started_at + timedelta(seconds=greeting)
            return
        if outcome == "answered":
            wait = int(r.expovariate(1 / 70)) + 3
            agent = r.choice(self.agents)
            entry.state, entry.left_at = QueueEntry.State.SERVED, entered + timedelta(seconds=wait)
            call.outcome, call.answered_by_id, call.answered_at = Call.Outcome.ANSWERED, agent, entry.left_at
            call.duration_seconds = greeting + wait + r.randrange(30, 1200)
            call.ended_at = started + timedelta(seconds=call.duration_seconds)
            self._offers(batch, entry, agent, entry.left_at, "live")
            return
        if outcome in ("abandoned", "already_waiting"):  # left the queue unserved (C7: a callback was waiting)
            wait = int(r.expovariate(1 / 120)) + 5
            entry.left_at = entered + timedelta(seconds=wait)
            entry.state = QueueEntry.State.ABANDONED if outcome == "abandoned" else QueueEntry.State.CANCELLED
            call.outcome, call.duration_seconds = outcome, greeting + wait
            call.ended_at = entry.left_at
            return
        self._callback(batch, call, entry, confirmed=outcome == "callback_requested")

    def _offers(self, batch: Batch, entry: QueueEntry, agent: int, accepted_at: datetime, kind: str) -> None:
        r = self.random
        # Sometimes another agent declined or let it ring first.
        if len(self.agents) > 1 and r.random() < 0.25:
            other = r.choice([a for a in self.agents if a != agent])
            state = r.choice([Offer.State.DECLINED, Offer.State.TIMED_OUT])
            at = accepted_at - timedelta(seconds=r.randrange(20, 45))
            batch.offers.append(Offer(account_id=entry.account_id, entry=entry, agent_id=other, kind=kind, state=state,
                                      created_at=at, expires_at=at + timedelta(seconds=30),
                                      responded_at=at + timedelta(seconds=r.randrange(2, 30))))
        at = accepted_at - timedelta(seconds=r.randrange(2, 15))
        batch.offers.append(Offer(account_id=entry.account_id, entry=entry, agent_id=agent, kind=kind,
                                  state=Offer.State.ACCEPTED, created_at=at, expires_at=at + timedelta(seconds=40),
                                  responded_at=accepted_at))

    def _callback(self, batch: Batch, call: Call, entry: QueueEntry, *, confirmed: bool) -> None:
        r = self.random
        requested = entry.entered_at + timedelta(seconds=r.randrange(10, 240))
        call.outcome = Call.Outcome.CALLBACK_REQUESTED if confirmed else Call.Outcome.CALLBACK_CAPTURED
        call.duration_seconds = int((requested - call.started_at).total_seconds()) + r.randrange(5, 20)
        call.ended_at = call.started_at + timedelta(seconds=call.duration_seconds)
        entry.kind = QueueEntry.Kind.CALLBACK
        request = CallbackRequest(
            account_id=entry.account_id, line=entry.line, queue_entry=entry, call=call, number=call.caller_number,
            number_source=Call.NumberSource.CALLER_ID, language="en", confirmed=confirmed, requested_at=requested,
            queue_entered_at=entry.entered_at, expires_at=requested + timedelta(minutes=60),
        )
        batch.requests.append(request)
        wait = int(r.expovariate(1 / 600)) + 20
        if requested > self.now - timedelta(minutes=20):  # recent: still waiting for an agent
            request.state = CallbackRequest.State.PENDING
            request.number = f"+1{self.serial:010d}"[:12]  # C7: one pending request per number and line
            return
        ending = r.choices(*self._endings)[0]
        request.state, request.outcome = END_STATE[ending], ending
        if ending in ("declined", "expired", "cancelled"):
            ended = requested + (timedelta(minutes=60) if ending == "expired" else timedelta(seconds=wait))
            entry.state, entry.left_at = QueueEntry.State.CANCELLED, ended
            request.ended_at = ended
            if ending == "cancelled":  # S2, C13: a supervisor with a reason, or the caller by phone
                by_caller = r.random() < 0.4
                request.cancelled_by = CallbackRequest.CancelledBy.CALLER if by_caller else CallbackRequest.CancelledBy.SUPERVISOR
                request.cancel_reason = "Cancelled by the caller by phone" if by_caller else "Solved by e-mail meanwhile"
            return
        agent = r.choice(self.agents)
        request.started_at = entry.entered_at + timedelta(seconds=max(wait, int((requested - entry.entered_at).total_seconds()) + 5))
        entry.state, entry.left_at = QueueEntry.State.SERVED, request.started_at
        request.accepted_by_id = agent
        request.first_attempt_at = request.started_at + timedelta(seconds=r.randrange(3, 20))
        if r.random() < 0.05:  # R16: promised for a time; most are called within 2 minutes of it
            request.scheduled_for = request.first_attempt_at - timedelta(seconds=r.choice([10, 45, 90, 200, 600]))
        request.attempts = 1
        request.served_in_order = r.random() > 0.04
        talk = r.randrange(40, 900) if ending == "answered" else None
        request.duration_seconds = talk
        request.ended_at = request.first_attempt_at + timedelta(seconds=(talk or 30))
        self._offers(batch, entry, agent, request.started_at, "callback")
        batch.attempts.append(CallbackAttempt(
            account_id=entry.account_id, request=request, number=1, agent_id=agent, status=ATTEMPT_STATUS[ending],
            provider_call_sid=f"SA{self.run}{self.serial:012d}", scheduled_for=request.started_at,
            started_at=request.first_attempt_at, answered_at=request.first_attempt_at + timedelta(seconds=8)
            if talk else None, ended_at=request.ended_at, duration_seconds=talk,
        ))


def seed_history(*, account: Account, lines: list[Line], agents: list[int], calls: int, days: int = 90,
                 seed: int | None = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Write ``calls`` calls (and their queue entries, requests, attempts, offers); returns rows written."""
    maker = HistoryMaker(account=account, lines=lines, agents=agents, days=days, seed=seed, total=calls)
    done = written = 0
    # On PostgreSQL one thread writes a chunk while this one makes the next (the
    # database's work and Python's overlap); SQLite has one writer, so in turn.
    # Inside a caller's transaction (tests) another connection could not see its
    # rows, so then in turn too.
    threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
    pool = ThreadPoolExecutor(max_workers=1) if threaded else None
    saving = None
    try:
        with history_timestamps():
            while done < calls:
                size = min(CHUNK, calls - done)
                batch = maker.chunk(size)
                if saving is not None:
                    saving.result()
                if pool is None:
                    batch.save()
                else:
                    saving = pool.submit(_save_in_thread, batch)
                done += size
                written += batch.rows()
                if progress and pool is None:
                    progress(done, calls)
                elif progress:
                    progress(done - size, calls)
            if saving is not None:
                saving.result()
                if progress:
                    progress(done, calls)
    finally:
        if pool is not None:
            pool.submit(connections.close_all).result()
            pool.shutdown()
    return written


def _save_in_thread(batch: Batch) -> None:
    batch.save()
