"""Talk stats API in the reference's paths and envelopes (SPEC A1, D1-D5).

Filters, on every endpoint: ``phone_number_ids=1,2`` (or ``line_id=1``) narrows to
those lines; a line that is not the account's answers 404 like a missing one (T3).
Timeframe (account_overview, agents_activity): today since midnight in the
account's time zone by default, or ``start_date``/``end_date`` (YYYY-MM-DD, local
days, inclusive).
"""
from __future__ import annotations

from datetime import UTC, datetime
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
from supportcenter.pagination import PageQuery, paginate
from supportcenter.queries import QuerySerializer, read_query
from supportcenter.tenancy import account_zone

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


class AgentsActivityQuery(StatsQuery, PageQuery):
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
                        "callback_outcomes": inline_serializer("CallbackOutcomes", _int_fields(*OUTCOME_FIELDS)),
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


class AgentsActivityView(APIView):
    permission_classes = [IsAccountMember]

    @extend_schema(
        parameters=[AgentsActivityQuery],
        summary="What each agent did in the timeframe (offers accepted, declined, missed; talk time)",
        responses=inline_serializer(
            "AgentsActivityPage",
            {
                "agents_activity": serializers.ListField(child=serializers.DictField()),
                # Offset pagination's fields, or cursor pagination's (page[...]): see supportcenter.pagination.
                "next_page": serializers.CharField(allow_null=True, required=False),
                "previous_page": serializers.CharField(allow_null=True, required=False),
                "count": serializers.IntegerField(required=False),
                "meta": serializers.DictField(required=False),
                "links": serializers.DictField(required=False),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        query = read_query(AgentsActivityQuery, request)
        rows = activity.agents_activity(account=request.account, timeframe=requested_timeframe(request, query),
                                        line_ids=requested_lines(request, query))
        return Response(paginate(request, rows, "agents_activity", activity.agent_activity_payload))


class IncrementalQuery(LinesQuery):
    start_time = serializers.IntegerField(
        min_value=0, max_value=LAST_TIMESTAMP, help_text="Unix time; calls updated since."
    )


class IncrementalCallsView(APIView):
    permission_classes = [IsAccountMember]

    @extend_schema(
        parameters=[IncrementalQuery],
        summary="Calls created or updated since start_time (incremental export); follow next_page, stop when count is 0",
        responses=inline_serializer(
            "IncrementalCalls",
            {
                "calls": serializers.ListField(child=serializers.DictField()),
                "next_page": serializers.CharField(),
                "count": serializers.IntegerField(),
                "end_time": serializers.IntegerField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        query = read_query(IncrementalQuery, request)
        start = datetime.fromtimestamp(query["start_time"], tz=UTC)
        calls, end_time = activity.incremental_calls(account=request.account, start_time=start, now=timezone.now(),
                                                     line_ids=requested_lines(request, query))
        # Like the reference, next_page is never null: it is where to poll next.
        lines = {k: v for k, v in query.items() if k in ("phone_number_ids", "line_id")}
        next_page = request.build_absolute_uri(f"{request.path}?{urlencode({'start_time': end_time, **lines})}")
        return Response(
            {
                "calls": [activity.call_export_payload(call) for call in calls],
                "next_page": next_page,
                "count": len(calls),
                "end_time": end_time,
            }
        )
