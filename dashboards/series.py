"""The dashboard's chart over time (SPEC D6): counts per local hour or day, one
GROUP BY query, drawn as server-rendered SVG (no chart library)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncHour
from django.utils.html import escape

from dashboards.selectors import for_lines
from dashboards.timeframes import Timeframe
from supportcenter.tenancy import account_zone
from supportcenter.models import Account
from talk.models import Call, CallbackRequest

HOURLY_UP_TO = timedelta(days=2)


@dataclass(frozen=True)
class Bucket:
    label: str
    calls: int
    callbacks: int
    abandoned: int


def _key(moment: datetime, hourly: bool) -> tuple:
    return (moment.year, moment.month, moment.day, moment.hour if hourly else 0)


def call_series(*, account: Account, timeframe: Timeframe, line_ids: list[int] | None = None) -> list[Bucket]:
    """Inbound calls, callback requests and abandoned calls per local hour (a
    timeframe up to two days) or per local day. On a DST day the hours are the
    day's real ones (23 or 25 labels; the repeated hour shares one bucket)."""
    zone = account_zone(account)
    hourly = timeframe.end - timeframe.start <= HOURLY_UP_TO
    trunc = TruncHour if hourly else TruncDay
    calls = (
        for_lines(Call.objects.filter(account=account), line_ids)
        .filter(started_at__gte=timeframe.start, started_at__lt=timeframe.end, direction=Call.Direction.INBOUND)
        .annotate(bucket=trunc("started_at", tzinfo=zone))
        .values("bucket")
        .annotate(n=Count("pk"), abandoned=Count("pk", filter=Q(outcome=Call.Outcome.ABANDONED)))
        .order_by()
    )
    callbacks = (
        for_lines(CallbackRequest.objects.filter(account=account), line_ids)
        .filter(requested_at__gte=timeframe.start, requested_at__lt=timeframe.end)
        .annotate(bucket=trunc("requested_at", tzinfo=zone))
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by()
    )
    per_call = {_key(r["bucket"].astimezone(zone), hourly): r for r in calls}
    per_callback = {_key(r["bucket"].astimezone(zone), hourly): r["n"] for r in callbacks}

    # One bucket per local hour or day of the timeframe (a loop over the buckets, not the rows).
    buckets: list[Bucket] = []
    seen: set[tuple] = set()
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    moment = timeframe.start
    last = max(timeframe.end, timeframe.start + step) if hourly else timeframe.start
    days = (timeframe.last_day - timeframe.first_day).days + 1
    for index in range(10_000):
        if hourly and moment >= last:
            break
        if not hourly and index >= days:
            break
        local = moment.astimezone(zone) if hourly else None
        key = _key(local, True) if hourly else _key(timeframe.first_day + timedelta(days=index), False)
        if hourly:
            moment += step
        if key in seen:
            continue
        seen.add(key)
        row = per_call.get(key, {})
        label = f"{key[3]:02d}:00" if hourly else f"{key[1]:02d}-{key[2]:02d}"
        buckets.append(Bucket(label, row.get("n", 0), per_callback.get(key, 0), row.get("abandoned", 0)))
    return buckets



WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 36, 24, 12


def series_svg(buckets: list[Bucket]) -> str:
    """Bars of calls and callback requests per bucket, a line of abandoned calls."""
    if not buckets:
        return ""
    peak = max(1, *(max(b.calls, b.callbacks, b.abandoned) for b in buckets))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / len(buckets)
    bar = max(1.0, slot * 0.38)

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / peak

    parts = [
        (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" '
            'xmlns="http://www.w3.org/2000/svg">'
            '<title id="chart-title">Inbound calls, callback requests and abandoned calls over time</title>'
        ),
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{peak}</text>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    every = max(1, len(buckets) // 12)
    points = []
    for i, b in enumerate(buckets):
        x = LEFT + i * slot + slot * 0.1
        tip = escape(f"{b.label}: {b.calls} calls, {b.callbacks} callback requests, {b.abandoned} abandoned")
        parts.append(f'<g><title>{tip}</title>')
        parts.append(f'<rect class="bar-calls" x="{x:.1f}" y="{y(b.calls):.1f}" width="{bar:.1f}" height="{TOP + plot_h - y(b.calls):.1f}"/>')
        parts.append(
            f'<rect class="bar-callbacks" x="{x + bar:.1f}" y="{y(b.callbacks):.1f}" width="{bar:.1f}" '
            f'height="{TOP + plot_h - y(b.callbacks):.1f}"/></g>'
        )
        points.append(f"{x + bar:.1f},{y(b.abandoned):.1f}")
        if i % every == 0:
            parts.append(
                f'<text class="tick" x="{x + bar:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(b.label)}</text>'
            )
    parts.append(f'<polyline class="line-abandoned" points="{" ".join(points)}"/>')
    parts.append("</svg>")
    return "".join(parts)
