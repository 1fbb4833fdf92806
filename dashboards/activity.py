"""Per-agent activity and its overview (SPEC D4), and the incremental exports (SPEC A1).

Activity is a queryset the API paginates; each figure is a correlated subquery
(COUNT/SUM per agent), never a Python loop over offers or calls. Presence times
come from :func:`dashboards.selectors.presence_times`.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from dashboards.selectors import STATUS_TIMES, for_lines, presence_times
from dashboards.timeframes import Timeframe
from supportcenter.models import Account, GroupMembership, Membership
from supportcenter.selectors import active_memberships
from talk.models import AgentPresence, Call, CallbackAttempt, Offer
from talk.phone import is_sip_uri

# The reference leaves out what changed in the last minute so a row is not
# exported before it settles; it also means "start_time = end_time + 1" never
# skips a row written later in the same second.
EXPORT_SETTLE = timedelta(minutes=1)
EXPORT_PAGE_SIZE = 1000

# What the product does not do (transfers, hold, wrap-up, conferences): always 0.
NEVER_COUNTS = (
    "accepted_transfers", "started_transfers", "accepted_third_party_conferences", "started_third_party_conferences",
    "calls_put_on_hold", "total_hold_time", "average_hold_time", "total_wrap_up_time", "average_wrap_up_time",
)


def _per_agent(rows: QuerySet, agent_field: str, aggregate) -> Coalesce:
    per = rows.filter(**{agent_field: OuterRef("user_id")}).order_by().values(agent_field)
    return Coalesce(Subquery(per.annotate(v=aggregate).values("v")[:1], output_field=IntegerField()), Value(0))


def agents_activity(*, account: Account, timeframe: Timeframe, line_ids: list[int] | None = None,
                    group_ids: list[int] | None = None) -> QuerySet[Membership]:
    """Every active member (of ``group_ids``, if given), with what they did in ``timeframe``.

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
    members = active_memberships(account=account)
    if group_ids is not None:
        in_groups = GroupMembership.objects.filter(account=account, group_id__in=group_ids).values("user_id")
        members = members.filter(user_id__in=in_groups)
    return (
        members
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
            presence_device=Subquery(presence.values("device")[:1]),
        )
        .order_by("user__name", "user_id")
    )


NO_PRESENCE = {"online_time": 0, **{name: 0 for name in STATUS_TIMES.values()}}


def agent_activity_payload(row: Membership, times: dict[int, dict[str, int]] | None = None) -> dict:
    """One agent in the reference's shape. ``times``: :func:`presence_times` of the same timeframe."""
    talk_time = row.live_talk + row.callback_talk
    talked = row.live_calls + row.callback_calls
    device = row.presence_device or ""
    return {
        "agent_id": row.user_id,
        "name": row.user.name,
        "avatar_url": None,
        "via": "client",
        "status": row.presence_status,
        "agent_state": row.presence_status,
        "call_status": "on_call" if row.presence_busy else None,
        # Where the agent's callbacks ring first (R5), when it is a phone number.
        "forwarding_number": device if device and not is_sip_uri(device) else None,
        **NO_PRESENCE,
        **(times or {}).get(row.user_id, {}),
        "calls_accepted": row.calls_accepted,
        "calls_denied": row.calls_denied,
        "calls_missed": row.calls_missed,
        "callbacks_accepted": row.callbacks_accepted,
        "total_call_duration": talk_time,
        "total_talk_time": talk_time,
        "average_talk_time": round(talk_time / talked) if talked else 0,
        **{name: 0 for name in NEVER_COUNTS},
    }


# --- Agents overview ---------------------------------------------------------------
OVERVIEW_TOTALS = (
    "calls_accepted", "calls_denied", "calls_missed", "calls_put_on_hold", "accepted_transfers",
    "started_transfers", "talk_time", "hold_time", "wrap_up_time", "online_time", "available_time",
    "away_time", "transfers_only_time",
)


def agents_overview(*, account: Account, timeframe: Timeframe, line_ids: list[int] | None = None,
                    group_ids: list[int] | None = None) -> dict:
    """The reference's agents overview: ``total_<x>`` is the sum of :func:`agents_activity`'s
    figure over the account's active members (of ``group_ids``), ``average_<x>`` that
    total divided by their number (0 with none). Talk time is ``total_talk_time``; what the product does not do
    (transfers, hold, wrap-up) is 0. Three queries, whatever the number of agents or calls.
    """
    rows = agents_activity(account=account, timeframe=timeframe, line_ids=line_ids, group_ids=group_ids).order_by()
    # Aggregate names other than the annotations' (Django cannot sum an annotation into its own name).
    sums = rows.aggregate(
        agents=Count("pk"), sum_accepted=Sum("calls_accepted"), sum_denied=Sum("calls_denied"),
        sum_missed=Sum("calls_missed"), sum_talk=Sum(F("live_talk") + F("callback_talk")),
    )
    members = set(rows.values_list("user_id", flat=True)) if sums["agents"] else set()
    times = presence_times(account=account, timeframe=timeframe)
    totals = dict.fromkeys(OVERVIEW_TOTALS, 0)
    totals.update(calls_accepted=sums["sum_accepted"] or 0, calls_denied=sums["sum_denied"] or 0,
                  calls_missed=sums["sum_missed"] or 0, talk_time=int(sums["sum_talk"] or 0))
    for user_id in members:  # the agents, not their history
        for name, seconds in times.get(user_id, {}).items():
            totals[name] += seconds
    agents = sums["agents"]
    figures: dict[str, int] = {}
    for name in OVERVIEW_TOTALS:
        figures[f"total_{name}"] = totals[name]
        figures[f"average_{name}"] = round(totals[name] / agents) if agents else 0
    return figures


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


# --- Incremental legs export -------------------------------------------------------
# A leg is one party's part in a call, as the reference exports them:
# - a customer leg per call (``Call``): the caller's, or the customer's on an outbound call;
# - an agent leg per call an agent answered (``Call.answered_by``), from answer to hang-up;
# - an agent leg per offer an agent declined or let time out (``Offer``), live or callback;
# - an agent leg per callback attempt (``CallbackAttempt``): the callback the agent placed,
#   their own phone rung first (R5), then the customer.
# An accepted offer is not a leg of its own: the call it connected (live) or the attempts
# it placed (callback) are. Ids: a customer leg and an offer's or attempt's leg have the
# id of their row (random 53-bit ids, unique across tables); an answered call's agent leg
# has the call's id with AGENT_LEG_MASK flipped in (still below 2**53, stable, distinct).
AGENT_LEG_MASK = 2**52


def _legs_sources(account: Account, line_ids: list[int] | None) -> dict[str, QuerySet]:
    """Each source of legs with its ``updated`` time (what the export orders and pages on)."""
    calls = for_lines(Call.objects.filter(account=account), line_ids).annotate(updated=_updated())
    unanswered = Offer.objects.filter(account=account, state__in=(Offer.State.DECLINED, Offer.State.TIMED_OUT))
    offers = for_lines(unanswered, line_ids, "entry__line_id").annotate(
        updated=F("responded_at"), call_id=F("entry__call_id")
    )
    attempts = (
        for_lines(CallbackAttempt.objects.filter(account=account, started_at__isnull=False), line_ids,
                  "request__line_id")
        .annotate(updated=Coalesce("ended_at", "answered_at", "started_at"), call_id=F("request__call_id"))
    )
    return {"call": calls, "offer": offers, "attempt": attempts}


def incremental_legs(*, account: Account, start_time: datetime, now: datetime,
                     line_ids: list[int] | None = None) -> tuple[list[dict], int]:
    """Legs updated at or after ``start_time`` (oldest first), and the next start time.

    Each source is read like :func:`incremental_calls` (EXPORT_PAGE_SIZE rows, then the
    rest of the last second). When a source filled its page, the page stops at the end of
    the earliest such last second, and later rows of the other sources wait for the next
    page: nothing is skipped, no second is split. At most six queries.
    """
    pages: dict[str, list] = {}
    full_seconds: list[int] = []
    for kind, rows in _legs_sources(account, line_ids).items():
        rows = rows.filter(updated__gte=start_time, updated__lt=now - EXPORT_SETTLE).order_by("updated", "pk")
        page = list(rows[:EXPORT_PAGE_SIZE])
        if len(page) == EXPORT_PAGE_SIZE:
            last_second = int(page[-1].updated.timestamp())
            full_seconds.append(last_second)
            seen = {row.pk for row in page}
            boundary = datetime.fromtimestamp(last_second + 1, tz=start_time.tzinfo)
            page += [r for r in rows.filter(updated__gte=page[-1].updated, updated__lt=boundary) if r.pk not in seen]
        pages[kind] = page
    cutoff = min(full_seconds) if full_seconds else None
    legs: list[tuple] = []
    for kind, page in pages.items():
        for row in page:
            if cutoff is None or int(row.updated.timestamp()) <= cutoff:
                legs.extend((row.updated, kind, row.pk, leg) for leg in LEG_PAYLOADS[kind](row))
    if not legs:
        return [], int(start_time.timestamp())
    legs.sort(key=lambda item: item[:3])
    last_second = cutoff if cutoff is not None else int(legs[-1][0].timestamp())
    return [leg for *_key, leg in legs], last_second + 1


def _leg(**fields) -> dict:
    """A leg with the reference's fields; what the product does not do is 0, none or empty."""
    return {
        "id": None, "call_id": None, "type": "agent", "agent_id": None, "user_id": None,
        "available_via": None, "created_at": None, "updated_at": None, "completion_status": None,
        "duration": 0, "talk_time": 0, "hold_time": 0, "wrap_up_time": 0, "conference_time": 0,
        "consultation_time": 0, "conference_from": None, "conference_to": None, "consultation_from": None,
        "consultation_to": None, "transferred_from": None, "transferred_to": None, "forwarded_to": None,
        "minutes_billed": 0, "call_charge": "0.0", "quality_issues": [], "callback_request_id": None,
        **fields,
    }


def _call_legs(call: Call) -> list[dict]:
    legs = [_leg(
        id=call.pk, call_id=call.pk, type="customer", created_at=call.started_at, updated_at=call.updated,
        completion_status=COMPLETION_STATUS.get(call.outcome, call.outcome), duration=call.duration_seconds or 0,
        talk_time=(call.duration_seconds or 0) if call.answered_by_id else 0,
    )]
    if call.answered_by_id:
        legs.append(_leg(
            id=call.pk ^ AGENT_LEG_MASK, call_id=call.pk, agent_id=call.answered_by_id, user_id=call.answered_by_id,
            available_via="client", created_at=call.answered_at or call.started_at, updated_at=call.updated,
            completion_status="completed" if call.ended_at else "in_progress",
            duration=call.duration_seconds or 0, talk_time=call.duration_seconds or 0,
        ))
    return legs


OFFER_STATUS = {Offer.State.DECLINED: "agent_declined", Offer.State.TIMED_OUT: "agent_missed"}


def _offer_legs(offer: Offer) -> list[dict]:
    return [_leg(
        id=offer.pk, call_id=offer.call_id, agent_id=offer.agent_id, user_id=offer.agent_id, available_via="client",
        created_at=offer.created_at, updated_at=offer.updated, completion_status=OFFER_STATUS[offer.state],
        duration=_seconds_between(offer.created_at, offer.responded_at) or 0,
    )]


ATTEMPT_STATUS = {
    CallbackAttempt.Status.COMPLETED: "completed",
    CallbackAttempt.Status.AGENT_UNREACHED: "agent_missed",
    CallbackAttempt.Status.NO_ANSWER: "customer_no_answer",
    CallbackAttempt.Status.BUSY: "customer_busy",
    CallbackAttempt.Status.FAILED: "failed",
}


def _attempt_legs(attempt: CallbackAttempt) -> list[dict]:
    return [_leg(
        id=attempt.pk, call_id=attempt.call_id, agent_id=attempt.agent_id, user_id=attempt.agent_id,
        available_via="phone", created_at=attempt.started_at, updated_at=attempt.updated,
        completion_status=ATTEMPT_STATUS.get(attempt.status, "in_progress"),
        duration=_seconds_between(attempt.started_at, attempt.ended_at) or 0,
        talk_time=attempt.duration_seconds or 0, callback_request_id=attempt.request_id,
    )]


LEG_PAYLOADS = {"call": _call_legs, "offer": _offer_legs, "attempt": _attempt_legs}
