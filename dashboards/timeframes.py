"""Timeframes of the dashboard (SPEC D1-D6): "today" is since midnight in the
account's time zone, not the server's, and a day is not always 24 hours.

Every timeframe is a half-open interval ``[start, end)`` of aware UTC datetimes.
Selectors take ``now`` so tests can freeze it without patching the clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from supportcenter.models import Account
from supportcenter.tenancy import account_zone


@dataclass(frozen=True)
class Timeframe:
    start: datetime
    end: datetime
    # The local dates it covers (inclusive), for labels and links.
    first_day: date
    last_day: date

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


# The days the figures can be asked about (issue 14): outside them a date is refused with a
# clear error, never a 500 from arithmetic past the calendar's ends.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
LAST_TIMESTAMP = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())
DAY_RANGE_MESSAGE = f"Give a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}."
# The same days as a pattern, for the API schema (a schema cannot bound a date otherwise):
# 20YY-MM-DD with each month's length, and 29 February in the leap years (2000 is one).
DAY_PATTERN = (
    r"^(20\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
    r"|20\d\d-(0[13-9]|1[0-2])-(29|30)"
    r"|20\d\d-(0[13578]|1[02])-31"
    r"|20(0[048]|[2468][048]|[13579][26])-02-29)$"
)


def day_allowed(day: date | None) -> bool:
    """No day given, or one the figures can be asked about."""
    return day is None or FIRST_DAY <= day <= LAST_DAY

def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC.

    ``fold=0`` is right in both DST oddities: where midnight happens twice the
    day starts at the first one; where midnight is skipped (a zone that moves its
    clocks at 00:00) the wall time is read with the offset before the jump, which
    is exactly the instant of the jump, the day's real start.
    """
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def timeframe_today(*, account: Account, now: datetime | None = None) -> Timeframe:
    """Since midnight in the account's time zone until ``now`` (SPEC D: *today*)."""
    now = now or timezone.now()
    zone = account_zone(account)
    today = now.astimezone(zone).date()
    return Timeframe(start=local_midnight(today, zone), end=now, first_day=today, last_day=today)


def timeframe_for_days(*, account: Account, first_day: date, last_day: date, now: datetime | None = None) -> Timeframe:
    """Whole local days ``first_day``..``last_day`` (inclusive); a range reaching
    today ends at ``now``, since the rest of today has not happened."""
    if last_day < first_day:
        first_day, last_day = last_day, first_day
    zone = account_zone(account)
    now = now or timezone.now()
    end = min(local_midnight(last_day + timedelta(days=1), zone), max(now, local_midnight(first_day, zone)))
    return Timeframe(start=local_midnight(first_day, zone), end=end, first_day=first_day, last_day=last_day)
