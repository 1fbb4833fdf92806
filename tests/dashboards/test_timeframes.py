"""Today since midnight in the account's time zone, across DST changes (SPEC D)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scope

from dashboards import selectors
from dashboards.series import call_series
from dashboards.timeframes import local_midnight, timeframe_for_days, timeframe_today
from supportcenter.models import Account
from talk.models import Call
from tests.dashboards.history import History, utc

# America/New_York in 2026: clocks go forward on 8 March at 02:00 (a 23-hour day)
# and back on 1 November at 02:00 (a 25-hour day).


def test_midnight_is_the_accounts_not_the_servers(acme, globex):  # SPEC D
    now = utc(2026, 6, 10, 2, 0)
    assert timeframe_today(account=acme, now=now).start == utc(2026, 6, 9, 4, 0)  # New York: still the 9th
    assert timeframe_today(account=globex, now=now).start == utc(2026, 6, 9, 15, 0)  # Tokyo: the 10th began


def test_the_short_spring_day(acme):  # SPEC D, DST
    now = utc(2026, 3, 9, 3, 59, 30)  # 23:59:30 EDT on the 8th
    today = timeframe_today(account=acme, now=now)
    assert today.start == utc(2026, 3, 8, 5, 0)  # midnight EST
    assert today.seconds == 23 * 3600 - 30
    whole = timeframe_for_days(account=acme, first_day=date(2026, 3, 8), last_day=date(2026, 3, 8), now=utc(2027, 1, 1))
    assert (whole.start, whole.end) == (utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0))


def test_the_long_autumn_day(acme):  # SPEC D, DST
    whole = timeframe_for_days(account=acme, first_day=date(2026, 11, 1), last_day=date(2026, 11, 1), now=utc(2027, 1, 1))
    assert (whole.start, whole.end) == (utc(2026, 11, 1, 4, 0), utc(2026, 11, 2, 5, 0))
    assert whole.seconds == 25 * 3600


def test_calls_at_the_edges_of_dst_days(acme, lines):  # SPEC D, DST
    main, _ = lines
    h = History(acme, main)
    edges = [
        utc(2026, 3, 8, 4, 59, 59),   # 23:59:59 EST on the 7th: not the 8th
        utc(2026, 3, 8, 5, 0),        # 00:00 EST on the 8th
        utc(2026, 3, 9, 3, 59, 59),   # 23:59:59 EDT on the 8th
        utc(2026, 3, 9, 4, 0),        # 00:00 EDT on the 9th: not the 8th
        utc(2026, 11, 1, 5, 30),      # 01:30 EDT on 1 Nov (the first 01:30)
        utc(2026, 11, 1, 6, 30),      # 01:30 EST on 1 Nov (the second 01:30)
        utc(2026, 11, 2, 4, 30),      # 23:30 EST on 1 Nov, the 25th hour's day
        utc(2026, 11, 2, 5, 0),       # 00:00 EST on 2 Nov: not the 1st
    ]
    for moment in edges:
        h.call(moment, outcome=Call.Outcome.ANSWERED)
    with scope(account=acme):
        def inbound(day: date) -> int:
            tf = timeframe_for_days(account=acme, first_day=day, last_day=day, now=utc(2027, 1, 1))
            return selectors.account_overview(account=acme, timeframe=tf)["total_inbound_calls"]

        assert inbound(date(2026, 3, 8)) == 2
        assert inbound(date(2026, 11, 1)) == 3
        # "Today" on the 8th, a moment before its end, sees the same two.
        today = timeframe_today(account=acme, now=utc(2026, 3, 9, 3, 59, 59, 999999))
        assert selectors.account_overview(account=acme, timeframe=today)["total_inbound_calls"] == 2
        # The hourly chart of 1 November: both 01:30s in the 01:00 bucket, 23:30 in the last.
        tf = timeframe_for_days(account=acme, first_day=date(2026, 11, 1), last_day=date(2026, 11, 1), now=utc(2027, 1, 1))
        series = call_series(account=acme, timeframe=tf)
        assert [b.label for b in series][:3] == ["00:00", "01:00", "02:00"] and series[-1].label == "23:00"
        counts = {b.label: b.calls for b in series}
        assert counts["01:00"] == 2 and counts["23:00"] == 1 and sum(counts.values()) == 3
        # The spring day has no 02:00.
        tf = timeframe_for_days(account=acme, first_day=date(2026, 3, 8), last_day=date(2026, 3, 8), now=utc(2027, 1, 1))
        labels = [b.label for b in call_series(account=acme, timeframe=tf)]
        assert "02:00" not in labels and len(labels) == 23


def test_a_zone_that_skips_midnight():  # SPEC D, DST: some zones move their clocks at 00:00
    zone = ZoneInfo("America/Santiago")
    day = date(2026, 1, 1)
    skipped = None
    for _ in range(366):
        naive = datetime.combine(day, datetime.min.time())
        roundtrip = naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)
        if roundtrip.replace(tzinfo=None) != naive:
            skipped = day
            break
        day += timedelta(days=1)
    if skipped is None:
        pytest.skip("the time zone database has no skipped midnight for Santiago in 2026")
    start = local_midnight(skipped, zone)
    # The day starts at the jump: its first wall time is 01:00, and an instant before is the day before.
    assert start.astimezone(zone).date() == skipped and start.astimezone(zone).hour == 1
    assert (start - timedelta(microseconds=1)).astimezone(zone).date() == skipped - timedelta(days=1)


def test_a_range_reaching_today_ends_now(acme):
    now = utc(2026, 6, 10, 19, 0)
    tf = timeframe_for_days(account=acme, first_day=date(2026, 6, 1), last_day=date(2026, 6, 10), now=now)
    assert tf.end == now and tf.start == utc(2026, 6, 1, 4, 0)


def test_tokyo_has_no_dst(globex):
    account = Account(time_zone="Asia/Tokyo")
    tf = timeframe_for_days(account=account, first_day=date(2026, 3, 8), last_day=date(2026, 3, 8), now=utc(2027, 1, 1))
    assert tf.seconds == 24 * 3600
