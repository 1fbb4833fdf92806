"""Small SQL building blocks the metrics need on both PostgreSQL and SQLite."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import (
    DateTimeField,
    Expression,
    F,
    FloatField,
    Func,
    QuerySet,
    Value,
)
from django.db.models.functions import Greatest, Least


class Epoch(Func):
    """Seconds since 1970 (float) of a datetime expression.

    Differences of two ``Epoch`` are durations in seconds that average and sum the
    same way on both databases (Django's DurationField arithmetic does not).
    """

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):
        # date_part returns double precision; EXTRACT returns numeric (slower to aggregate).
        return super().as_sql(compiler, connection, template="date_part('epoch', %(expressions)s)", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)", **extra
        )


@contextmanager
def without_jit(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block's queries without PostgreSQL's JIT compiler.

    The planner prices the correlated lookups of the max-waiting query by its row
    estimate, crosses jit_above_cost, and then spends ~250 ms compiling a query
    that runs in a few (measured on 1M calls). SET LOCAL ends with the block.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def seconds_between(start: str | Expression, end: str | Expression) -> Expression:
    start = F(start) if isinstance(start, str) else start
    end = F(end) if isinstance(end, str) else end
    return Epoch(end) - Epoch(start)


def at(moment: datetime) -> Value:
    return Value(moment, output_field=DateTimeField())


def max_concurrent(intervals: QuerySet, *, start: datetime, end: datetime) -> int:
    """The most intervals open at once within ``[start, end)``.

    ``intervals`` is a queryset with ``begins`` and ``ends`` annotations (one row
    per caller). Every interval becomes a +1 event at its (clamped) beginning and
    a -1 at its end; a running sum ordered by time is the number waiting at each
    moment, and its maximum is the answer. A -1 sorts before a +1 at the same
    instant: one caller leaving as another arrives is not two waiting at once.
    All of it runs in the database, whatever the number of rows.
    """
    clamped = (
        intervals.filter(begins__lt=at(end), ends__gt=at(start)).filter(ends__gt=F("begins"))
        .annotate(ev_begin=Greatest("begins", at(start)), ev_end=Least("ends", at(end)))
        .values("ev_begin", "ev_end")
        .order_by()  # the window orders the events; a sort here would be wasted
    )
    connection = connections[clamped.db]
    sql, params = clamped.query.get_compiler(using=clamped.db).as_sql()
    query = (
        f"WITH w AS ({sql}) "
        "SELECT COALESCE(MAX(level), 0) FROM ("
        "  SELECT SUM(delta) OVER (ORDER BY moment, delta ROWS UNBOUNDED PRECEDING) AS level FROM ("
        "    SELECT ev_begin AS moment, 1 AS delta FROM w"
        "    UNION ALL SELECT ev_end AS moment, -1 AS delta FROM w"
        "  ) events"
        ") levels"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        (value,) = cursor.fetchone()
    return int(value or 0)


def seconds_in_states(starts: QuerySet, changes: QuerySet, *, start: datetime, end: datetime) -> list[tuple]:
    """Seconds each key spent in each state within ``[start, end)``: ``[(key, state, seconds)]``.

    ``starts`` gives each key's state at ``start`` (columns ``p_key``, ``p_state``);
    ``changes`` the changes within the timeframe (``p_key``, ``p_state``, ``p_at``: the
    moment as :class:`Epoch`, and ``p_seq``: an order among changes of one moment). Every
    row opens a segment that lasts until the key's next row (LEAD), the last one until
    ``end``; the start rows sort first at their instant, so a change made exactly at
    ``start`` wins. One query, whatever the number of changes: the rows returned are one
    per key and state.
    """
    connection = connections[starts.db]
    starts_sql, starts_params = starts.query.get_compiler(using=starts.db).as_sql()
    changes_sql, changes_params = changes.query.get_compiler(using=changes.db).as_sql()
    begin, finish = start.timestamp(), end.timestamp()
    query = (
        f"WITH s AS ({starts_sql}), c AS ({changes_sql}) "
        "SELECT p_key, p_state, SUM(COALESCE(p_next, %s) - p_at) FROM ("
        "  SELECT p_key, p_state, p_at,"
        "         LEAD(p_at) OVER (PARTITION BY p_key ORDER BY p_at, p_seq) AS p_next FROM ("
        "    SELECT p_key, p_state, %s AS p_at, 0 AS p_seq FROM s"
        # A change at the very start is no earlier than the start row (SQLite's julianday
        # arithmetic can put it a hair before), so the start row still sorts first.
        "    UNION ALL SELECT p_key, p_state, CASE WHEN p_at < %s THEN %s ELSE p_at END, p_seq FROM c"
        "  ) segments_begin"
        ") segments WHERE p_key IS NOT NULL GROUP BY p_key, p_state"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*starts_params, *changes_params, finish, begin, begin, begin])
        return [(key, state, max(float(seconds or 0), 0.0)) for key, state, seconds in cursor.fetchall()]
