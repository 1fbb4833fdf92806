"""The Talk metrics (SPEC D1-D5), each computed by database aggregates.

No function here loops over rows in Python: every figure is a COUNT/SUM/AVG/MAX
(or a window function) in SQL, so the cost does not grow with the Python side.
Every selector takes the account, the lines (None: all lines) and a timeframe or
``now``; tests pass ``now`` to freeze the clock. Agents' presence times (D4) come
from the presence history, also in one query (:func:`presence_times`).

Which rows belong to a timeframe ``[start, end)``:
- calls by ``started_at``; callback attempts (outbound calls) by ``started_at``;
- callback requests by ``requested_at`` (D2, D5); D3 by ``started_at`` (when an
  agent started the callback, the end of the wait);
- scheduled callbacks (R16, D5) by ``scheduled_for``, over the timeframe's whole local
  days: "due today" counts those still to come later today too (see
  :func:`_scheduled_q` for what is on time and what is late);
- queue waits by ``left_at`` (a wait is measured when it is over);
- max calls waiting over every wait that overlaps the timeframe.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Avg,
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from dashboards.sql import Epoch, at, max_concurrent, seconds_between, seconds_in_states, without_jit
from dashboards.timeframes import Timeframe, local_midnight
from supportcenter.models import Account, AuditEntry, Group
from supportcenter.tenancy import account_zone
from talk.models import (
    AgentPresence,
    Call,
    CallbackAttempt,
    CallbackRequest,
    Line,
    QueueEntry,
)
from talk.selectors.queue import waiting_q

# A wait longer than this is not a wait but a stale row; bounding it lets the
# max-waiting query use the queue's time index instead of reading all history.
# A callback request expires at most 1440 minutes after it is made (talk's line
# settings), and a live caller holds far less.
LONGEST_PLAUSIBLE_WAIT = timedelta(hours=25)

CALLBACK_OUTCOMES = [c for c in CallbackRequest.Outcome.values if c]

# A scheduled callback (R16) is on time when its first attempt after the promised time
# starts within this long of it (issue 16: "on-time rate (within 2 minutes)").
SCHEDULED_GRACE = timedelta(minutes=2)


def account_lines(*, account: Account, line_ids: list[int] | None) -> list[int] | None:
    """The ids of ``line_ids`` that are lines of ``account``; None means all lines.

    Security contract: an id of another account is dropped exactly like a missing
    one; callers compare the lengths to answer 404 for either (SPEC T3).
    """
    if line_ids is None:
        return None
    return list(Line.objects.filter(account=account, pk__in=line_ids).values_list("pk", flat=True))


def account_groups(*, account: Account, group_ids: list[int]) -> list[int]:
    """The ids of ``group_ids`` that are groups of ``account``: the same contract as
    :func:`account_lines` (another account's id is dropped like a missing one)."""
    return list(Group.objects.filter(account=account, pk__in=group_ids).values_list("pk", flat=True))


def for_lines(rows: QuerySet, line_ids: list[int] | None, field: str = "line_id") -> QuerySet:
    return rows if line_ids is None else rows.filter(**{f"{field}__in": line_ids})


def _seconds(value) -> int:
    return round(float(value)) if value is not None else 0


# --- D1, D4: what is happening now ("waiting" as routing means it, C15) -------
def current_queue_activity(*, account: Account, line_ids: list[int] | None = None, now: datetime | None = None) -> dict:
    """The reference's current queue activity: callers waiting now (calls and callbacks).

    D1 ``callbacks_waiting``: callback requests waiting for an agent (state pending).
    ``calls_waiting``: live calls holding in a queue. ``average_wait_time`` and
    ``longest_wait_time``: seconds since the original queue entry (R2) of everyone
    waiting now, callers and callback requesters alike. ``agents_online``: agents
    with status online (lines do not narrow it: agents serve every line).
    """
    now = now or timezone.now()
    waiting = for_lines(QueueEntry.objects.filter(account=account), line_ids).filter(waiting_q(now=now))
    figures = waiting.aggregate(
        calls=Count("pk", filter=Q(kind=QueueEntry.Kind.LIVE)),
        callbacks=Count("pk", filter=Q(kind=QueueEntry.Kind.CALLBACK)),
        oldest=Max(Epoch(at(now)) - Epoch(F("entered_at"))),
        average=Avg(Epoch(at(now)) - Epoch(F("entered_at"))),
    )
    agents_online = AgentPresence.objects.filter(account=account, status=AgentPresence.Status.ONLINE).count()
    return {
        "agents_online": agents_online,
        "calls_waiting": figures["calls"],
        "callbacks_waiting": figures["callbacks"],
        "embeddable_callbacks_waiting": 0,
        "average_wait_time": max(_seconds(figures["average"]), 0),
        "longest_wait_time": max(_seconds(figures["oldest"]), 0),
    }


# --- D2-D5: a timeframe --------------------------------------------------------
@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime

    def q(self, field: str) -> Q:
        return Q(**{f"{field}__gte": self.start, f"{field}__lt": self.end})


def _calls_figures(account: Account, line_ids, window: _Window) -> dict:
    calls = for_lines(Call.objects.filter(account=account), line_ids).filter(window.q("started_at"))
    return calls.aggregate(
        inbound=Count("pk", filter=Q(direction=Call.Direction.INBOUND)),
        outbound=Count("pk", filter=Q(direction=Call.Direction.OUTBOUND)),
        abandoned=Count("pk", filter=Q(outcome=Call.Outcome.ABANDONED)),
        duration=Sum("duration_seconds"),
        with_duration=Count("duration_seconds"),
        time_to_answer=Avg(seconds_between("started_at", "answered_at"), filter=Q(answered_at__isnull=False)),
    )


def _attempts_figures(account: Account, line_ids, window: _Window) -> dict:
    attempts = for_lines(CallbackAttempt.objects.filter(account=account), line_ids, "request__line_id")
    return attempts.filter(window.q("started_at")).aggregate(
        count=Count("pk"), duration=Sum("duration_seconds"), with_duration=Count("duration_seconds")
    )


def _queue_figures(account: Account, line_ids, window: _Window) -> dict:
    waits = for_lines(QueueEntry.objects.filter(account=account), line_ids).filter(
        window.q("left_at"), kind=QueueEntry.Kind.LIVE
    )
    wait = seconds_between("entered_at", "left_at")
    return waits.aggregate(average=Avg(wait), longest=Max(wait))


def _scheduled_q(days: _Window, now: datetime) -> tuple[Q, Q, Q]:
    """Which scheduled callbacks (R16) were due in ``days``, on time, late (D5).

    - **due**: ``scheduled_for`` within the days, unless the request ended before that
      time (cancelled, say, before it was due: it was never due). Only the latest
      time counts: a rescheduled callback is due at its new time.
    - **on time**: its first attempt at or after ``scheduled_for`` started within
      :data:`SCHEDULED_GRACE` of it, that is, an attempt started in
      ``[scheduled_for, scheduled_for + grace]`` (an attempt before a "call later" is
      not one at the promised time).
    - **late**: not on time, its grace is over by ``now``, and it was still open when the
      grace ended: attempted later, still waiting, or closed afterwards without a call
      (a supervisor cancelling it, say).
    A due callback whose grace has not ended yet, or that closed within it without an
    attempt, is neither. Needs the ``deadline`` annotation (``scheduled_for`` + grace).
    """
    due = days.q("scheduled_for") & (Q(ended_at__isnull=True) | Q(ended_at__gte=F("scheduled_for")))
    attempted_in_time = Exists(
        CallbackAttempt.objects.filter(
            request_id=OuterRef("pk"), started_at__gte=OuterRef("scheduled_for"),
            started_at__lte=ExpressionWrapper(OuterRef("scheduled_for") + SCHEDULED_GRACE, output_field=DateTimeField()),
        )
    )
    on_time = due & Q(attempted_in_time)
    late = (
        due & Q(deadline__lte=at(now))
        & (Q(ended_at__isnull=True) | Q(ended_at__gte=F("deadline")))
        & ~Q(attempted_in_time)
    )
    return due, on_time, late


def _callback_figures(account: Account, line_ids, window: _Window, days: _Window, now: datetime) -> dict:
    requests = for_lines(CallbackRequest.objects.filter(account=account), line_ids)
    # D2, D5 over the requests made in the timeframe: one row per combination of
    # outcome, confirmation, order and who cancelled (a few dozen groups), summed below.
    groups = (
        requests.filter(window.q("requested_at"))
        .values("outcome", "confirmed", "served_in_order", "cancelled_by")
        .annotate(
            n=Count("pk"),
            to_first=Sum(seconds_between("requested_at", "first_attempt_at")),
            attempted=Count("first_attempt_at"),
        )
        .order_by()
    )
    figures = {f"outcome_{outcome}": 0 for outcome in CALLBACK_OUTCOMES}
    figures.update(total=0, unconfirmed=0, open=0, in_order=0, out_of_order=0, by_caller=0, by_supervisor=0)
    to_first = attempted = 0.0
    for group in groups:  # the groups, not the rows
        n = group["n"]
        figures["total"] += n
        if group["outcome"] == CallbackRequest.Outcome.CANCELLED:
            # The service records who: the caller (C13), else a supervisor (or the system for them).
            by_caller = group["cancelled_by"] == CallbackRequest.CancelledBy.CALLER
            figures["by_caller" if by_caller else "by_supervisor"] += n
        figures["unconfirmed"] += n if not group["confirmed"] else 0
        figures["in_order"] += n if group["served_in_order"] is True else 0
        figures["out_of_order"] += n if group["served_in_order"] is False else 0
        key = f"outcome_{group['outcome']}" if group["outcome"] else "open"
        figures[key] += n
        to_first += group["to_first"] or 0
        attempted += group["attempted"]
    figures["to_first_attempt"] = to_first / attempted if attempted else None
    # D3: from entering the queue to an agent starting the callback, over the callbacks
    # started in the timeframe (greetings excluded: queue_entered_at is when the caller
    # joined the queue, after the greeting). In the same statement, D5's scheduled
    # callbacks due in the timeframe's days (no query more than before issue 16).
    started = window.q("started_at")
    due, on_time, late = _scheduled_q(days, now)
    later = (
        requests.filter(started | days.q("scheduled_for"))
        .annotate(deadline=ExpressionWrapper(F("scheduled_for") + SCHEDULED_GRACE, output_field=DateTimeField()))
        .aggregate(
            wait=Avg(seconds_between("queue_entered_at", "started_at"), filter=started),
            due=Count("pk", filter=due),
            on_time=Count("pk", filter=on_time),
            late=Count("pk", filter=late),
        )
    )
    figures["wait"] = later["wait"]
    figures.update(scheduled_due=later["due"], scheduled_on_time=later["on_time"], scheduled_late=later["late"])
    return figures


def _waits(account: Account, line_ids, tf: Timeframe) -> QuerySet:
    """One interval per caller who waited: entering the queue to leaving it.

    A callback requester waits from their original queue entry until an agent
    starts the callback (or the request ends); one still waiting waits until the
    end of the timeframe.
    """
    entries = for_lines(QueueEntry.objects.filter(account=account), line_ids).filter(
        entered_at__lt=tf.end, entered_at__gte=tf.start - LONGEST_PLAUSIBLE_WAIT
    )
    # COALESCE stops at the first value: the request is read only for entries
    # without left_at (a few), through its unique queue_entry index.
    request_end = CallbackRequest.objects.filter(queue_entry_id=OuterRef("pk")).order_by().values(
        end=Coalesce(
            "started_at", "ended_at",
            Case(When(state=CallbackRequest.State.PENDING, then=at(tf.end)), default=None),
        )
    )[:1]
    still_waiting = Case(
        When(state=QueueEntry.State.WAITING, kind=QueueEntry.Kind.LIVE, then=at(tf.end)), default=F("entered_at")
    )
    return entries.annotate(
        begins=F("entered_at"),
        ends=Coalesce("left_at", Subquery(request_end, output_field=DateTimeField()), still_waiting),
    )


def callback_outcomes(figures: dict) -> dict:
    """D5, from the callback aggregate: how requests of the timeframe ended."""
    return {
        "answered": figures["outcome_answered"],
        "no_answer": figures["outcome_no_answer"],
        "busy": figures["outcome_busy"],
        "failed": figures["outcome_failed"],
        "declined_by_all": figures["outcome_declined"],
        "expired": figures["outcome_expired"],
        "open": figures["open"],
        "unconfirmed": figures["unconfirmed"],
        "average_time_to_first_attempt": _seconds(figures["to_first_attempt"]),
        "served_in_order": figures["in_order"],
        "served_out_of_order": figures["out_of_order"],
        "cancelled_by_supervisor": figures["by_supervisor"],
        "cancelled_by_caller": figures["by_caller"],
        "scheduled_due": figures["scheduled_due"],
        "scheduled_on_time": figures["scheduled_on_time"],
        "scheduled_late": figures["scheduled_late"],
        "scheduled_on_time_rate": _rate(figures["scheduled_on_time"], figures["scheduled_late"]),
    }


def _rate(on_time: int, late: int) -> float | None:
    """Percent of the decided scheduled callbacks that were on time (one decimal); None
    when none is decided yet (the page shows a dash, not 0 %)."""
    decided = on_time + late
    return round(100 * on_time / decided, 1) if decided else None


def account_overview(
    *, account: Account, timeframe: Timeframe, line_ids: list[int] | None = None, now: datetime | None = None
) -> dict:
    """The reference's account overview for ``timeframe`` (D2, D3, D4) plus D5.

    Figures the product has no feature for (voicemail, hold, wrap-up, business
    hours, textback, embeddable callbacks) are 0 because nothing can produce them.
    ``now`` (default: the clock) decides which scheduled callbacks are late already.
    """
    now = now or timezone.now()
    window = _Window(timeframe.start, timeframe.end)
    zone = account_zone(account)
    days = _Window(
        local_midnight(timeframe.first_day, zone), local_midnight(timeframe.last_day + timedelta(days=1), zone)
    )
    with without_jit():
        calls = _calls_figures(account, line_ids, window)
        attempts = _attempts_figures(account, line_ids, window)
        queue = _queue_figures(account, line_ids, window)
        callbacks = _callback_figures(account, line_ids, window, days, now)
        max_waiting = max_concurrent(_waits(account, line_ids, timeframe), start=timeframe.start, end=timeframe.end)

    outbound = calls["outbound"] + attempts["count"]
    total_duration = (calls["duration"] or 0) + (attempts["duration"] or 0)
    with_duration = calls["with_duration"] + attempts["with_duration"]
    return {
        "total_calls": calls["inbound"] + outbound,
        "total_inbound_calls": calls["inbound"],
        "total_outbound_calls": outbound,
        "total_calls_abandoned_in_queue": calls["abandoned"],
        "average_queue_wait_time": _seconds(queue["average"]),
        "max_queue_wait_time": _seconds(queue["longest"]),
        "max_calls_waiting": max_waiting,
        "total_callback_calls": callbacks["total"],
        "average_callback_wait_time": _seconds(callbacks["wait"]),
        "total_call_duration": int(total_duration),
        "average_call_duration": _seconds(total_duration / with_duration) if with_duration else 0,
        "average_time_to_answer": _seconds(calls["time_to_answer"]),
        "total_calls_outside_business_hours": 0,
        "total_calls_with_exceeded_queue_wait_time": 0,
        "total_calls_with_requested_voicemail": 0,
        "total_voicemails": 0,
        "total_textback_requests": 0,
        "total_embeddable_callback_calls": 0,
        "average_hold_time": 0,
        "total_hold_time": 0,
        "average_wrap_up_time": 0,
        "total_wrap_up_time": 0,
        "callback_outcomes": callback_outcomes(callbacks),
    }


# --- D4: agents' presence over a timeframe ----------------------------------------
# What talk.services.agents.agent_status_set writes on every change of status.
STATUS_CHANGE_ACTION = "agent_presence.set_status"
PRESENCE_TARGET = AgentPresence._meta.label_lower

# The reference's names for the time in each status: its "available" is our online.
STATUS_TIMES = {
    AgentPresence.Status.ONLINE: "available_time",
    AgentPresence.Status.AWAY: "away_time",
    AgentPresence.Status.TRANSFERS_ONLY: "transfers_only_time",
}

def presence_times(*, account: Account, timeframe: Timeframe) -> dict[int, dict[str, int]]:
    """Seconds each agent of ``account`` spent online, away and transfers only in ``timeframe``.

    From the presence history: every change of status is an audit entry (its ``previous``
    and ``status``). An agent's status at the start of the timeframe is the ``previous``
    of their first change since then, or, with no change since, their status now. No
    presence row means offline all along. Keys: user ids; values: the reference's
    ``available_time``, ``away_time``, ``transfers_only_time`` and ``online_time`` (any
    status but offline: their sum).
    """
    changes = AuditEntry.objects.filter(account=account, action=STATUS_CHANGE_ACTION, target_type=PRESENCE_TARGET)
    first_since = (
        changes.filter(target_id=Cast(OuterRef("pk"), CharField()), created_at__gte=timeframe.start)
        .order_by("created_at", "pk")
        .annotate(previous=KeyTextTransform("previous", "data"))
        .values("previous")[:1]
    )
    starts = (
        AgentPresence.objects.filter(account=account)
        .annotate(p_key=F("user_id"), p_state=Coalesce(Subquery(first_since, output_field=CharField()), F("status")))
        .values("p_key", "p_state")
        .order_by()
    )
    whose = AgentPresence.objects.filter(account=account, pk=Cast(OuterRef("target_id"), BigIntegerField()))
    within = (
        changes.filter(created_at__gte=timeframe.start, created_at__lt=timeframe.end)
        .annotate(
            p_key=Subquery(whose.values("user_id")[:1], output_field=BigIntegerField()),
            p_state=KeyTextTransform("status", "data"),
            p_at=Epoch("created_at"),
            p_seq=F("pk"),
        )
        .values("p_key", "p_state", "p_at", "p_seq")
        .order_by()
    )
    times: dict[int, dict[str, int]] = {}
    for user_id, state, seconds in seconds_in_states(starts, within, start=timeframe.start, end=timeframe.end):
        name = STATUS_TIMES.get(state)
        if name is not None:  # one row per agent and status: a loop over groups, not history
            times.setdefault(int(user_id), {})[name] = round(seconds)
    for figures in times.values():
        figures["online_time"] = sum(figures.get(name, 0) for name in STATUS_TIMES.values())
    return times
