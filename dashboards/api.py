"""Talk stats API in the reference's paths and envelopes (SPEC A1, D1-D5).

Filters, on every endpoint: ``phone_number_ids=1,2`` (or ``line_id=1``) narrows to
those lines; a line that is not the account's answers 404 like a missing one (T3).
agents_activity and agents_overview also take ``group_ids=1,2``: only those groups'
agents (another account's group: 404 too).
Timeframe (account_overview, agents_activity, agents_overview): today since midnight
in the account's time zone by default, or ``start_date``/``end_date`` (YYYY-MM-DD,
local days, inclusive). Presence times (online, available, away, transfers only) are
the agent's whatever the line: lines narrow calls and offers, not agents.
"""
from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from urllib.parse import urlencode

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards import activity, selectors
from dashboards.timeframes import (
    DAY_PATTERN,
    DAY_RANGE_MESSAGE,
    FIRST_DAY,
    LAST_DAY,
    LAST_TIMESTAMP,
    Timeframe,
    day_allowed,
    timeframe_for_days,
    timeframe_today,
)
from supportcenter.auth import IsAccountMember
from supportcenter.pagination import PageQuery, page_serializer, paginate
from supportcenter.queries import QuerySerializer, read_query
from supportcenter.tenancy import account_zone
from talk.models import AgentPresence

class LinesQuery(QuerySerializer):
    phone_number_ids = serializers.RegexField(
        r"^[1-9]\d{0,17}(,[1-9]\d{0,17})*$", required=False, help_text="Comma-separated line (phone number) ids."
    )
    line_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="One line id (alternative to phone_number_ids)."
    )


@extend_schema_field({"type": "string", "format": "date", "pattern": DAY_PATTERN})
class DayField(serializers.DateField):
    """A local day the figures can be asked about: in the schema, the days' pattern."""


class StatsQuery(LinesQuery):
    start_date = DayField(
        required=False, help_text=f"First local day (YYYY-MM-DD, {FIRST_DAY} to {LAST_DAY}); default today."
    )
    end_date = DayField(required=False, help_text="Last local day (YYYY-MM-DD, inclusive; same range); default today.")

    def _day(self, value):
        if not day_allowed(value):
            raise serializers.ValidationError(DAY_RANGE_MESSAGE)
        return value

    validate_start_date = validate_end_date = _day


GROUPS_LIMIT = 100


class AgentsQuery(StatsQuery):
    group_ids = serializers.RegexField(
        r"^[1-9]\d{0,17}(,[1-9]\d{0,17}){0,%d}$" % (GROUPS_LIMIT - 1), required=False,
        error_messages={"invalid": f"Give group ids separated by commas (at most {GROUPS_LIMIT})."},
        help_text=f"Comma-separated group ids (at most {GROUPS_LIMIT}): only the agents of these groups.",
    )


class AgentsActivityQuery(AgentsQuery, PageQuery):
    pass


def requested_lines(request: Request, query: dict) -> list[int] | None:
    """The lines asked for, all of the account's, or 404 (another account's id too)."""
    wanted: list[int] = []
    if query.get("phone_number_ids"):
        wanted += [int(part) for part in query["phone_number_ids"].split(",")]
    if query.get("line_id"):
        wanted.append(query["line_id"])
    if not wanted:
        return None
    found = selectors.account_lines(account=request.account, line_ids=wanted)
    if len(set(found)) != len(set(wanted)):
        raise Http404
    return found


def requested_groups(request: Request, query: dict) -> list[int] | None:
    """The groups asked for, or 404 when one is not the account's (another account's too)."""
    if not query.get("group_ids"):
        return None
    wanted = {int(part) for part in query["group_ids"].split(",")}
    found = selectors.account_groups(account=request.account, group_ids=list(wanted))
    if len(found) != len(wanted):
        raise Http404
    return found


def requested_timeframe(request: Request, query: dict, now: datetime | None = None) -> Timeframe:
    account = request.account
    now = now or timezone.now()
    if not query.get("start_date") and not query.get("end_date"):
        return timeframe_today(account=account, now=now)
    today = now.astimezone(account_zone(account)).date()
    first = query.get("start_date") or query.get("end_date")
    last = query.get("end_date") or today
    return timeframe_for_days(account=account, first_day=first, last_day=last, now=now)


def _int_fields(*names: str) -> dict:
    return {name: serializers.IntegerField() for name in names}


QUEUE_FIELDS = (
    "agents_online", "calls_waiting", "callbacks_waiting", "embeddable_callbacks_waiting",
    "average_wait_time", "longest_wait_time",
)
OVERVIEW_FIELDS = (
    "total_calls", "total_inbound_calls", "total_outbound_calls", "total_calls_abandoned_in_queue",
    "average_queue_wait_time", "max_queue_wait_time", "max_calls_waiting", "total_callback_calls",
    "average_callback_wait_time", "total_call_duration", "average_call_duration", "average_time_to_answer",
    "total_calls_outside_business_hours", "total_calls_with_exceeded_queue_wait_time",
    "total_calls_with_requested_voicemail", "total_voicemails", "total_textback_requests",
    "total_embeddable_callback_calls", "average_hold_time", "total_hold_time", "average_wrap_up_time",
    "total_wrap_up_time",
)
OUTCOME_FIELDS = (
    "answered", "no_answer", "busy", "failed", "declined_by_all", "expired", "open", "unconfirmed",
    "average_time_to_first_attempt", "served_in_order", "served_out_of_order",
)
# Issue 16 (SPEC D5, S2, R16, C13): cancellations and scheduled callbacks, documented.
SUPERVISION_OUTCOMES = {
    "cancelled_by_supervisor": "Of the requests made in the timeframe, those a supervisor cancelled.",
    "cancelled_by_caller": "Of the requests made in the timeframe, those the caller cancelled on calling again.",
    "scheduled_due": (
        "Scheduled callbacks due on the timeframe's local days (today: the whole day, later today included), "
        "by their latest time; one that ended before its time (cancelled, say) was never due."
    ),
    "scheduled_on_time": (
        "Of scheduled_due, those whose first attempt at or after the promised time started within 2 minutes of it."
    ),
    "scheduled_late": (
        "Of scheduled_due, those not on time once their 2 minutes were over: attempted later, still not "
        "attempted, or closed after that without an attempt. Those within their 2 minutes are neither."
    ),
}


def _outcome_fields() -> dict:
    return {
        **_int_fields(*OUTCOME_FIELDS),
        **{name: serializers.IntegerField(help_text=text) for name, text in SUPERVISION_OUTCOMES.items()},
        "scheduled_on_time_rate": serializers.FloatField(
            allow_null=True, min_value=0, max_value=100,
            help_text="scheduled_on_time as a percentage of scheduled_on_time + scheduled_late (one decimal); "
            "null when both are 0.",
        ),
    }


class CurrentQueueActivityView(APIView):
    permission_classes = [IsAccountMember]

    @extend_schema(
        parameters=[LinesQuery],
        summary="Callers waiting now: calls, callbacks, agents online, average and longest wait",
        responses=inline_serializer(
            "CurrentQueueActivityEnvelope",
            {"current_queue_activity": inline_serializer("CurrentQueueActivity", _int_fields(*QUEUE_FIELDS))},
        ),
    )
    def get(self, request: Request) -> Response:
        lines = requested_lines(request, read_query(LinesQuery, request))
        figures = selectors.current_queue_activity(account=request.account, line_ids=lines)
        return Response({"current_queue_activity": figures})


class AccountOverviewView(APIView):
    permission_classes = [IsAccountMember]

    @extend_schema(
        parameters=[StatsQuery],
        summary="Totals and averages of a timeframe (D2-D5); today by default",
        responses=inline_serializer(
            "AccountOverviewEnvelope",
            {
                "account_overview": inline_serializer(
                    "AccountOverview",
                    {
                        **_int_fields(*OVERVIEW_FIELDS),
                        "callback_outcomes": inline_serializer("CallbackOutcomes", _outcome_fields()),
                    },
                )
            },
        ),
    )
    def get(self, request: Request) -> Response:
        query = read_query(StatsQuery, request)
        lines = requested_lines(request, query)
        timeframe = requested_timeframe(request, query)
        figures = selectors.account_overview(account=request.account, timeframe=timeframe, line_ids=lines)
        return Response({"account_overview": figures})


_PRESENCE_HELP = {
    "online_time": "Seconds signed in with any status but offline (available, away or transfers only).",
    "available_time": "Seconds with status online (available for calls).",
    "away_time": "Seconds with status away.",
    "transfers_only_time": "Seconds with status transfers only.",
}


def _seconds_fields(help_texts: dict[str, str]) -> dict:
    return {name: serializers.IntegerField(help_text=text) for name, text in help_texts.items()}


class _AgentActivityFields(serializers.Serializer):
    agent_id = serializers.IntegerField()
    name = serializers.CharField()
    avatar_url = serializers.CharField(allow_null=True, help_text="Always null: agents have no picture here.")
    via = serializers.CharField(help_text="client: agents take calls in the browser console.")
    status = serializers.CharField(help_text="The agent's Talk status now: online, away, transfers_only or offline.")
    agent_state = serializers.ChoiceField(choices=AgentPresence.Status.values)
    call_status = serializers.ChoiceField(choices=["on_call"], allow_null=True, help_text="on_call while busy.")
    forwarding_number = serializers.CharField(
        allow_null=True, help_text="The phone number the agent's callbacks ring first (R5), if it is one."
    )
    calls_accepted = serializers.IntegerField(help_text="Offers (calls and callbacks) the agent accepted.")
    calls_denied = serializers.IntegerField(help_text="Offers the agent declined.")
    calls_missed = serializers.IntegerField(help_text="Offers the agent let time out.")
    callbacks_accepted = serializers.IntegerField(help_text="Of calls_accepted, the callbacks.")
    total_call_duration = serializers.IntegerField(help_text="Seconds of the calls and callbacks the agent took.")
    total_talk_time = serializers.IntegerField(help_text="Seconds talking on calls answered and callbacks made.")
    average_talk_time = serializers.IntegerField(help_text="total_talk_time per call talked on.")


# The presence times and what the product does not do (0), as fields of the schema too.
AgentActivityOutput = type("AgentActivityOutput", (_AgentActivityFields,), {
    **_seconds_fields(_PRESENCE_HELP), **_int_fields(*activity.NEVER_COUNTS),
})


AgentsActivityPage = page_serializer("AgentsActivityPage", "agents_activity", AgentActivityOutput)


class AgentsActivityView(APIView):
    permission_classes = [IsAccountMember]

    @extend_schema(
        parameters=[AgentsActivityQuery],
        summary="What each agent did in the timeframe: presence times, offers accepted, declined, missed; talk time",
        description="Transfers, hold, wrap-up and conferences are not features of this product: they are 0.",
        responses=AgentsActivityPage,
    )
    def get(self, request: Request) -> Response:
        query = read_query(AgentsActivityQuery, request)
        timeframe = requested_timeframe(request, query)
        rows = activity.agents_activity(account=request.account, timeframe=timeframe,
                                        line_ids=requested_lines(request, query),
                                        group_ids=requested_groups(request, query))
        times = selectors.presence_times(account=request.account, timeframe=timeframe)
        payload = partial(activity.agent_activity_payload, times=times)
        return Response(paginate(request, rows, "agents_activity", payload))


class AgentsOverviewView(APIView):
    permission_classes = [IsAccountMember]

    @extend_schema(
        parameters=[AgentsQuery],
        summary="Totals and per-agent averages of agents_activity's figures over the account's agents",
        description=(
            "total_<figure> sums the figure over the account's agents (its members); average_<figure> is that "
            "total divided by their number. talk_time is total_talk_time. Transfers, hold and wrap-up are 0."
        ),
        responses=inline_serializer(
            "AgentsOverviewEnvelope",
            {"agents_overview": inline_serializer("AgentsOverview", _int_fields(
                *(f"{kind}_{name}" for name in activity.OVERVIEW_TOTALS for kind in ("total", "average"))
            ))},
        ),
    )
    def get(self, request: Request) -> Response:
        query = read_query(AgentsQuery, request)
        figures = activity.agents_overview(account=request.account, timeframe=requested_timeframe(request, query),
                                           line_ids=requested_lines(request, query),
                                           group_ids=requested_groups(request, query))
        return Response({"agents_overview": figures})


class IncrementalQuery(LinesQuery):
    start_time = serializers.IntegerField(
        min_value=0, max_value=LAST_TIMESTAMP, help_text="Unix time; what was created or updated since."
    )


def _export(request: Request, query: dict, key: str, items: list[dict], end_time: int) -> Response:
    # Like the reference, next_page is never null: it is where to poll next.
    lines = {k: v for k, v in query.items() if k in ("phone_number_ids", "line_id")}
    next_page = request.build_absolute_uri(f"{request.path}?{urlencode({'start_time': end_time, **lines})}")
    return Response({key: items, "next_page": next_page, "count": len(items), "end_time": end_time})


def _export_envelope(name: str, key: str, item) -> serializers.Serializer:
    return inline_serializer(name, {
        key: item,
        "next_page": serializers.CharField(help_text="Where to poll next (start_time=end_time); never null."),
        "count": serializers.IntegerField(help_text="Items in this page: 0 means nothing new yet."),
        "end_time": serializers.IntegerField(help_text="Unix time the next page starts at."),
    })


class IncrementalCallsView(APIView):
    permission_classes = [IsAccountMember]

    @extend_schema(
        parameters=[IncrementalQuery],
        summary="Calls created or updated since start_time (incremental export); follow next_page, stop when count is 0",
        responses=_export_envelope("IncrementalCalls", "calls", serializers.ListField(child=serializers.DictField())),
    )
    def get(self, request: Request) -> Response:
        query = read_query(IncrementalQuery, request)
        start = datetime.fromtimestamp(query["start_time"], tz=UTC)
        calls, end_time = activity.incremental_calls(account=request.account, start_time=start, now=timezone.now(),
                                                     line_ids=requested_lines(request, query))
        return _export(request, query, "calls", [activity.call_export_payload(call) for call in calls], end_time)


class _LegFields(serializers.Serializer):
    id = serializers.IntegerField(help_text="The leg's id: unique among legs, the same in every export.")
    call_id = serializers.IntegerField(
        allow_null=True, help_text="The call (calls.json) the leg belongs to; for a callback, the call that asked "
        "for it (null for a callback requested through the API)."
    )
    type = serializers.CharField(help_text="customer: the caller's leg of a call; agent: an agent's.")
    agent_id = serializers.IntegerField(allow_null=True, help_text="The agent of an agent leg.")
    user_id = serializers.IntegerField(allow_null=True, help_text="The agent of an agent leg; null for a customer's.")
    available_via = serializers.CharField(
        allow_null=True, help_text="client: the agent's console (calls, offers); phone: their own phone, rung "
        "first for a callback (R5); null for a customer leg."
    )
    created_at = serializers.DateTimeField(help_text="Customer: the call began; agent: answered, offered, or "
                                           "the callback placed.")
    updated_at = serializers.DateTimeField(help_text="Its last change; the export's order.")
    completion_status = serializers.CharField(help_text=(
        "Customer legs: as calls.json's completion_status. Agent legs: completed or in_progress (a call "
        "answered, a callback made), agent_declined or agent_missed (an offer declined or let time out; a "
        "callback whose agent did not answer their phone), customer_no_answer, customer_busy or failed (a "
        "callback that did not reach the customer)."
    ))
    duration = serializers.IntegerField(help_text="Seconds: the call; an offer's ringing; a callback placed.")
    talk_time = serializers.IntegerField(help_text="Seconds talking with the customer.")
    callback_request_id = serializers.IntegerField(allow_null=True, help_text="The callback request of a callback leg.")
    call_charge = serializers.CharField(help_text="Always 0.0: the provider bills, not this product.")
    quality_issues = serializers.ListField(child=serializers.CharField(), help_text="Always empty.")


# What the product does not do: 0 (times, minutes) or null (the other parties of transfers).
LegOutput = type("LegOutput", (_LegFields,), {
    **_int_fields("hold_time", "wrap_up_time", "conference_time", "consultation_time", "minutes_billed"),
    **{name: serializers.IntegerField(allow_null=True, help_text="Always null: no transfers or conferences here.")
       for name in ("conference_from", "conference_to", "consultation_from", "consultation_to", "transferred_from",
                    "transferred_to")},
    "forwarded_to": serializers.CharField(allow_null=True, help_text="Always null: calls are not forwarded here."),
})


class IncrementalLegsView(APIView):
    permission_classes = [IsAccountMember]

    @extend_schema(
        parameters=[IncrementalQuery],
        summary="Call legs created or updated since start_time (incremental export); follow next_page until count is 0",
        description=(
            "A customer leg per call; an agent leg per call an agent answered, per offer an agent declined or let "
            "time out, and per callback an agent placed. Transfers, hold, wrap-up and conferences are not "
            "features of this product: 0 or null."
        ),
        responses=_export_envelope("IncrementalLegs", "legs", LegOutput(many=True)),
    )
    def get(self, request: Request) -> Response:
        query = read_query(IncrementalQuery, request)
        start = datetime.fromtimestamp(query["start_time"], tz=UTC)
        legs, end_time = activity.incremental_legs(account=request.account, start_time=start, now=timezone.now(),
                                                   line_ids=requested_lines(request, query))
        return _export(request, query, "legs", legs, end_time)
