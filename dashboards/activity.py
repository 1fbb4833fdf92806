"""Per-agent activity (SPEC D4) and the incremental calls export (SPEC A1).

Both are querysets the API paginates; each figure is a correlated subquery
(COUNT/SUM per agent), never a Python loop over offers or calls.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from dashboards.selectors import for_lines
from dashboards.timeframes import Timeframe
from supportcenter.models import Account, Membership
from supportcenter.selectors import active_memberships
from talk.models import AgentPresence, Call, CallbackAttempt, Offer

# The reference leaves out what changed in the last minute so a row is not
# exported before it settles; it also means "start_time = end_time + 1" never
# skips a row written later in the same second.
EXPORT_SETTLE = timedelta(minutes=1)
EXPORT_PAGE_SIZE = 1000


def _per_agent(rows: QuerySet, agent_field: str, aggregate) -> Coalesce:
    per = rows.filter(**{agent_field: OuterRef("user_id")}).order_by().values(agent_field)
    return Coalesce(Subquery(per.annotate(v=aggregate).values("v")[:1], output_field=IntegerField()), Value(0))


def agents_activity(*, account: Account, timeframe: Timeframe, line_ids: list[int] | None = None) -> QuerySet[Membership]:
    """Every active member, with what they did in ``timeframe``.

    ``calls_accepted`` / ``calls_denied`` / ``calls_missed``: offers (live calls and
    callbacks) the agent accepted, declined, or let time out, by response time.
    ``total_talk_time``: seconds on live calls they answered (by call start) plus
    callback attempts they made (by attempt start). ``line_ids``: only these lines' work.
    """
    offers = for_lines(Offer.objects.filter(account=account, responded_at__gte=timeframe.start,
                                            responded_at__lt=timeframe.end), line_ids, "entry__line_id")
    calls = for_lines(Call.objects.filter(account=account, started_at__gte=timeframe.start,
                                          started_at__lt=timeframe.end), line_ids)
    attempts = for_lines(CallbackAttempt.objects.filter(
        account=account, started_at__gte=timeframe.start, started_at__lt=timeframe.end
    ), line_ids, "request__line_id")
    presence = AgentPresence.objects.filter(account=account, user_id=OuterRef("user_id"))
    return (
        active_memberships(account=account)
        .select_related("user")
        .annotate(
            calls_accepted=_per_agent(offers.filter(state=Offer.State.ACCEPTED), "agent_id", Count("pk")),
            calls_denied=_per_agent(offers.filter(state=Offer.State.DECLINED), "agent_id", Count("pk")),
            calls_missed=_per_agent(offers.filter(state=Offer.State.TIMED_OUT), "agent_id", Count("pk")),
            callbacks_accepted=_per_agent(
                offers.filter(state=Offer.State.ACCEPTED, kind="callback"), "agent_id", Count("pk")
            ),
            live_talk=_per_agent(calls.filter(duration_seconds__isnull=False), "answered_by_id", Sum("duration_seconds")),
            live_calls=_per_agent(calls.filter(duration_seconds__isnull=False), "answered_by_id", Count("pk")),
            callback_talk=_per_agent(attempts.filter(duration_seconds__isnull=False), "agent_id", Sum("duration_seconds")),
            callback_calls=_per_agent(attempts.filter(duration_seconds__isnull=False), "agent_id", Count("pk")),
            presence_status=Coalesce(Subquery(presence.values("status")[:1]), Value(AgentPresence.Status.OFFLINE)),
            presence_busy=Subquery(presence.values("busy")[:1]),
        )
        .order_by("user__name", "user_id")
    )


def agent_activity_payload(row: Membership) -> dict:
    talk_time = row.live_talk + row.callback_talk
    talked = row.live_calls + row.callback_calls
    return {
        "agent_id": row.user_id,
        "name": row.user.name,
        "avatar_url": None,
        "via": "client",
        "status": row.presence_status,
        "agent_state": row.presence_status,
        "call_status": "on_call" if row.presence_busy else None,
        "forwarding_number": None,
        "calls_accepted": row.calls_accepted,
        "calls_denied": row.calls_denied,
        "calls_missed": row.calls_missed,
        "callbacks_accepted": row.callbacks_accepted,
        "total_call_duration": talk_time,
        "total_talk_time": talk_time,
        "average_talk_time": round(talk_time / talked) if talked else 0,
        "accepted_transfers": 0,
        "started_transfers": 0,
        "calls_put_on_hold": 0,
        "total_hold_time": 0,
        "average_hold_time": 0,
        "total_wrap_up_time": 0,
        "average_wrap_up_time": 0,
    }


# --- Incremental calls export ----------------------------------------------------
def _updated(prefix: str = "") -> Coalesce:
    return Coalesce(f"{prefix}ended_at", f"{prefix}answered_at", f"{prefix}started_at")


def incremental_calls(*, account: Account, start_time: datetime, now: datetime,
                      line_ids: list[int] | None = None) -> tuple[list[Call], int]:
    """Calls updated at or after ``start_time`` (oldest first), and the next start time.

    A page holds EXPORT_PAGE_SIZE calls plus every further call updated in the same
    second as the last one, so the next page can start one second later: a page
    never ends inside a second, and an export never loops on one second (a known
    trap of the reference's clients).
    """
    rows = (
        for_lines(Call.objects.filter(account=account), line_ids)
        .annotate(updated=_updated())
        .filter(updated__gte=start_time, updated__lt=now - EXPORT_SETTLE)
        .select_related("queue_entry")
        .order_by("updated", "pk")
    )
    page = list(rows[:EXPORT_PAGE_SIZE])
    if not page:
        return [], int(start_time.timestamp())
    last_second = int(page[-1].updated.timestamp())
    if len(page) == EXPORT_PAGE_SIZE:
        seen = {call.pk for call in page}
        boundary = datetime.fromtimestamp(last_second + 1, tz=start_time.tzinfo)
        page += [c for c in rows.filter(updated__gte=page[-1].updated, updated__lt=boundary) if c.pk not in seen]
    return page, last_second + 1


COMPLETION_STATUS = {
    Call.Outcome.ANSWERED: "completed",
    Call.Outcome.ABANDONED: "abandoned_in_queue",
    Call.Outcome.ALREADY_WAITING: "callback_request",  # left: their callback was already waiting (C7)
    Call.Outcome.CALLBACK_REQUESTED: "callback_request",
    Call.Outcome.CALLBACK_CAPTURED: "callback_request",
    Call.Outcome.ENDED_BEFORE_QUEUE: "abandoned_in_ivr",
    Call.Outcome.FAILED: "failed",
    Call.Outcome.NONE: "in_progress",
}


def _seconds_between(start, end) -> int | None:
    return int((end - start).total_seconds()) if start and end else None


def call_export_payload(call: Call) -> dict:
    entry = getattr(call, "queue_entry", None) if _has_entry(call) else None
    return {
        "id": call.pk,
        "created_at": call.started_at,
        "updated_at": call.updated,
        "direction": call.direction,
        "phone_number_id": call.line_id,
        "phone_number": call.caller_number or None,
        "agent_id": call.answered_by_id,
        "duration": call.duration_seconds or 0,
        "talk_time": (call.duration_seconds or 0) if call.answered_by_id else 0,
        "time_to_answer": _seconds_between(call.started_at, call.answered_at),
        "wait_time": _seconds_between(entry.entered_at, entry.left_at) if entry else 0,
        "completion_status": COMPLETION_STATUS.get(call.outcome, call.outcome),
        "outcome": call.outcome or None,
        "callback": call.outcome in (Call.Outcome.CALLBACK_REQUESTED, Call.Outcome.CALLBACK_CAPTURED),
        "callback_source": "queue" if call.outcome in (Call.Outcome.CALLBACK_REQUESTED, Call.Outcome.CALLBACK_CAPTURED) else None,
        "voicemail": False,
        "customer_requested_voicemail": False,
        "outside_business_hours": False,
        "exceeded_queue_wait_time": False,
        "hold_time": 0,
        "wrap_up_time": 0,
        "ticket_id": None,
    }


def _has_entry(call: Call) -> bool:
    try:
        return call.queue_entry is not None
    except Call.queue_entry.RelatedObjectDoesNotExist:
        return False
