"""Benchmark: the account_overview selector against one hand-written SQL query.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sc_bench .venv/bin/python bench/account_overview.py

Needs a database seeded with ``manage.py seed_demo`` and ``manage.py seed_history
--account acme --calls 1000000``. For each timeframe (today, the last 7 and 30
days, the whole history) it checks that both compute the same figures over the
same rows, then prints the median of several runs of each and their ratio.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportcenter.settings")

import django

django.setup()

from django.db import connection
from django.utils import timezone
from django_scopes import scope

from dashboards.selectors import LONGEST_PLAUSIBLE_WAIT, account_overview
from dashboards.sql import without_jit
from dashboards.timeframes import (
    Timeframe,
    account_zone,
    timeframe_for_days,
    timeframe_today,
)
from supportcenter.models import Account

# The same figures as dashboards.selectors.account_overview, in one statement.
HAND_WRITTEN = """
WITH calls AS (
    SELECT count(*) FILTER (WHERE direction = 'inbound') AS inbound,
           count(*) FILTER (WHERE direction = 'outbound') AS outbound,
           count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
           coalesce(sum(duration_seconds), 0) AS duration,
           count(duration_seconds) AS with_duration,
           avg(date_part('epoch', answered_at) - date_part('epoch', started_at))
               FILTER (WHERE answered_at IS NOT NULL) AS time_to_answer
    FROM talk_call
    WHERE account_id = %(account)s AND started_at >= %(start)s AND started_at < %(end)s
), attempts AS (
    SELECT count(*) AS n, coalesce(sum(duration_seconds), 0) AS duration, count(duration_seconds) AS with_duration
    FROM talk_callbackattempt
    WHERE account_id = %(account)s AND started_at >= %(start)s AND started_at < %(end)s
), waits AS (
    SELECT avg(date_part('epoch', left_at) - date_part('epoch', entered_at)) AS average,
           max(date_part('epoch', left_at) - date_part('epoch', entered_at)) AS longest
    FROM talk_queueentry
    WHERE account_id = %(account)s AND kind = 'live' AND left_at >= %(start)s AND left_at < %(end)s
), callbacks AS (
    SELECT count(*) FILTER (WHERE req) AS total,
           avg(date_part('epoch', started_at) - date_part('epoch', queue_entered_at)) FILTER (WHERE st) AS wait,
           count(*) FILTER (WHERE req AND NOT confirmed) AS unconfirmed,
           count(*) FILTER (WHERE req AND outcome = '') AS open,
           count(*) FILTER (WHERE req AND outcome = 'answered') AS answered,
           count(*) FILTER (WHERE req AND outcome = 'no_answer') AS no_answer,
           count(*) FILTER (WHERE req AND outcome = 'busy') AS busy,
           count(*) FILTER (WHERE req AND outcome = 'failed') AS failed,
           count(*) FILTER (WHERE req AND outcome = 'declined') AS declined,
           count(*) FILTER (WHERE req AND outcome = 'expired') AS expired,
           avg(date_part('epoch', first_attempt_at) - date_part('epoch', requested_at))
               FILTER (WHERE req AND first_attempt_at IS NOT NULL) AS to_first_attempt,
           count(*) FILTER (WHERE req AND served_in_order) AS in_order,
           count(*) FILTER (WHERE req AND NOT served_in_order) AS out_of_order
    FROM (
        SELECT *, (requested_at >= %(start)s AND requested_at < %(end)s) AS req,
                  coalesce(started_at >= %(start)s AND started_at < %(end)s, false) AS st
        FROM talk_callbackrequest
        WHERE account_id = %(account)s
          AND ((requested_at >= %(start)s AND requested_at < %(end)s)
               OR (started_at >= %(start)s AND started_at < %(end)s))
    ) r
), intervals AS (
    SELECT greatest(entered_at, %(start)s) AS b, least(ends, %(end)s) AS f
    FROM (
        SELECT q.entered_at,
               coalesce(q.left_at,
                        (SELECT coalesce(r.started_at, r.ended_at, CASE WHEN r.state = 'pending' THEN %(end)s END)
                         FROM talk_callbackrequest r WHERE r.queue_entry_id = q.id),
                        CASE WHEN q.state = 'waiting' AND q.kind = 'live' THEN %(end)s ELSE q.entered_at END) AS ends
        FROM talk_queueentry q
        WHERE q.account_id = %(account)s AND q.entered_at < %(end)s AND q.entered_at >= %(earliest)s
    ) raw
    WHERE ends > %(start)s AND ends > entered_at
), peak AS (
    SELECT coalesce(max(level), 0) AS n FROM (
        SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS level
        FROM (SELECT b AS t, 1 AS d FROM intervals UNION ALL SELECT f, -1 FROM intervals) events
    ) levels
)
SELECT calls.inbound, calls.outbound + attempts.n, calls.abandoned,
       waits.average, waits.longest, peak.n, callbacks.total, callbacks.wait,
       calls.duration + attempts.duration, calls.with_duration + attempts.with_duration, calls.time_to_answer,
       callbacks.answered, callbacks.no_answer, callbacks.busy, callbacks.failed, callbacks.declined,
       callbacks.expired, callbacks.open, callbacks.unconfirmed, callbacks.to_first_attempt,
       callbacks.in_order, callbacks.out_of_order
FROM calls, attempts, waits, callbacks, peak
"""


def _s(value) -> int:
    return round(float(value)) if value is not None else 0


def hand_written(account: Account, tf: Timeframe) -> dict:
    params = {"account": account.pk, "start": tf.start, "end": tf.end, "earliest": tf.start - LONGEST_PLAUSIBLE_WAIT}
    # The same session settings as the selector: JIT off (see dashboards.sql.without_jit).
    with without_jit(), connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, params)
        row = cursor.fetchone()
    (inbound, outbound, abandoned, avg_wait, max_wait, peak, callbacks, cb_wait, duration, with_duration, tta,
     answered, no_answer, busy, failed, declined, expired, open_, unconfirmed, first, in_order, out_of_order) = row
    return {
        "total_calls": inbound + outbound, "total_inbound_calls": inbound, "total_outbound_calls": outbound,
        "total_calls_abandoned_in_queue": abandoned, "average_queue_wait_time": _s(avg_wait),
        "max_queue_wait_time": _s(max_wait), "max_calls_waiting": peak, "total_callback_calls": callbacks,
        "average_callback_wait_time": _s(cb_wait), "total_call_duration": int(duration),
        "average_call_duration": _s(duration / with_duration) if with_duration else 0,
        "average_time_to_answer": _s(tta),
        "callback_outcomes": {
            "answered": answered, "no_answer": no_answer, "busy": busy, "failed": failed,
            "declined_by_all": declined, "expired": expired, "open": open_, "unconfirmed": unconfirmed,
            "average_time_to_first_attempt": _s(first), "served_in_order": in_order,
            "served_out_of_order": out_of_order,
        },
    }


def timed(function, runs: int) -> tuple[float, object]:
    result = function()  # warm-up: caches, plans
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--account", default="acme")
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        print("Set DATABASE_URL to a PostgreSQL database seeded with seed_history.", file=sys.stderr)
        return 2
    account = Account.objects.get(subdomain=options.account)
    now = timezone.now()
    today = now.astimezone(account_zone(account)).date()
    with scope(account=account):
        from talk.models import Call

        calls = Call.objects.filter(account=account).count()
        first = Call.objects.filter(account=account).order_by("started_at").values_list("started_at", flat=True).first()
        if first is None:
            print("No calls: run manage.py seed_history first.", file=sys.stderr)
            return 2
        frames = [
            ("today", timeframe_today(account=account, now=now)),
            ("last 7 days", timeframe_for_days(account=account, first_day=today - timedelta(days=6), last_day=today, now=now)),
            ("last 30 days", timeframe_for_days(account=account, first_day=today - timedelta(days=29), last_day=today, now=now)),
            ("all history", timeframe_for_days(account=account, first_day=first.astimezone(account_zone(account)).date(),
                                               last_day=today, now=now)),
        ]
        print(f"account {account.subdomain}: {calls:,} calls; PostgreSQL {connection.pg_version}; median of {options.runs} runs")
        print(f"{'timeframe':<14}{'calls in it':>12}{'selector ms':>14}{'hand SQL ms':>14}{'ratio':>8}")
        worst = 0.0
        for name, tf in frames:
            orm_time, orm = timed(lambda tf=tf: account_overview(account=account, timeframe=tf), options.runs)
            sql_time, sql = timed(lambda tf=tf: hand_written(account, tf), options.runs)
            same = {k: orm[k] for k in sql}
            # The hand-written statement computes the outcomes up to issue 15; the supervision
            # figures (issue 16: cancels, scheduled) are the selector's alone.
            same["callback_outcomes"] = {k: orm["callback_outcomes"][k] for k in sql["callback_outcomes"]}
            if same != sql:
                print(f"MISMATCH in {name}:\n  selector {same}\n  hand SQL {sql}", file=sys.stderr)
                return 1
            ratio = orm_time / sql_time
            worst = max(worst, ratio)
            print(f"{name:<14}{orm['total_calls']:>12,}{orm_time * 1000:>14.1f}{sql_time * 1000:>14.1f}{ratio:>8.2f}")
        print(f"same figures from both in every timeframe; worst ratio {worst:.2f} (goal: at most 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
