"""The Talk dashboard page (SPEC D6): tiles, a chart over time, a line filter and
a date range. Queue tiles refresh over HTTP when the socket says the queue moved."""
from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from dashboards import selectors
from dashboards.series import call_series, series_svg
from dashboards.timeframes import DAY_RANGE_MESSAGE, day_allowed, timeframe_for_days, timeframe_today
from supportcenter.tenancy import account_zone
from supportcenter.auth import member_required
from supportcenter.models import Account
from supportcenter.tenancy import not_found
from talk.models import Line

DASHBOARD_PLANS = (Account.Plan.PROFESSIONAL, Account.Plan.ENTERPRISE)
UPGRADE_MESSAGE = "The Talk dashboard is part of the Professional and Enterprise plans."
BAD_DATE_MESSAGE = "Dates are written YYYY-MM-DD; showing today instead."


def _day(value: str | None) -> date | None:
    if not value:
        return None
    return date.fromisoformat(value)


@require_GET
@member_required
def talk_dashboard(request: HttpRequest) -> HttpResponse:
    account = request.account
    if account.plan not in DASHBOARD_PLANS:
        return render(request, "dashboards/upgrade.html", {"message": UPGRADE_MESSAGE})

    lines = list(Line.objects.filter(account=account).order_by("name", "created_at"))
    line_ids = None
    selected = request.GET.get("line") or ""
    if selected:
        if not selected.isdigit() or not selectors.account_lines(account=account, line_ids=[int(selected)]):
            return not_found(request)  # another account's line answers like a missing one (T3)
        line_ids = [int(selected)]

    now = timezone.now()
    today = now.astimezone(account_zone(account)).date()
    error = ""
    try:
        first, last = _day(request.GET.get("start_date")), _day(request.GET.get("end_date"))
    except ValueError:
        first = last = None
        error = BAD_DATE_MESSAGE
    if not (day_allowed(first) and day_allowed(last)):
        first = last = None
        error = f"{DAY_RANGE_MESSAGE} Showing today instead."
    if first or last:
        timeframe = timeframe_for_days(account=account, first_day=first or last, last_day=last or today, now=now)
    else:
        timeframe = timeframe_today(account=account, now=now)

    queue = selectors.current_queue_activity(account=account, line_ids=line_ids, now=now)
    overview = selectors.account_overview(account=account, timeframe=timeframe, line_ids=line_ids)
    buckets = call_series(account=account, timeframe=timeframe, line_ids=line_ids)
    context = {
        "lines": lines,
        "selected_line": selected,
        "timeframe": timeframe,
        "is_today": timeframe.first_day == timeframe.last_day == today,
        "queue": queue,
        "overview": overview,
        "outcomes": overview["callback_outcomes"],
        # series_svg escapes every text it writes; the rest is numbers it formats.
        "chart": mark_safe(series_svg(buckets)),
        "error": error,
        # Not "queue_url": base.html's nav sets that name ({% url 'talk:queue' as queue_url %}).
        "queue_activity_url": "/api/v2/channels/voice/stats/current_queue_activity.json"
        + (f"?phone_number_ids={selected}" if selected else ""),
    }
    return render(request, "dashboards/talk.html", context)
