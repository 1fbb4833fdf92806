"""Callback outcomes for supervision (issue 16, item 7; SPEC D5 with S2, R16, C13):
cancelled by a supervisor or by the caller, scheduled callbacks due in the timeframe
and how many were called on time (within 2 minutes of the promised time).

Every figure is computed by hand from rows written with the ORM (tests/dashboards/history.py).
acme is America/New_York (EDT, UTC-4 in June): 2026-06-10 local is 04:00Z to 04:00Z the next day.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from dashboards import selectors
from dashboards.timeframes import timeframe_for_days, timeframe_today
from talk.models import CallbackAttempt, CallbackRequest
from tests.dashboards.conftest import NOW
from tests.dashboards.history import History, utc
from tests.talk.calls_support import make_line

STATS = "/api/v2/channels/voice/stats"
PAGE = "/dashboard/talk/"
Req, By = CallbackRequest.State, CallbackRequest.CancelledBy
CANCELLED = CallbackRequest.Outcome.CANCELLED
NO_ANSWER = CallbackAttempt.Status.NO_ANSWER
SUPERVISION_KEYS = {
    "cancelled_by_supervisor", "cancelled_by_caller", "scheduled_due", "scheduled_on_time", "scheduled_late",
    "scheduled_on_time_rate",
}


def cancelled(h: History, *, requested, ended, by, scheduled_for=None, line=None) -> CallbackRequest:
    return h.callback(None, requested=requested, state=Req.CANCELLED, outcome=CANCELLED, ended=ended,
                      cancelled_by=by, scheduled_for=scheduled_for, line=line)


def scheduled(h: History, when, *, requested, attempts=(), state=Req.PENDING, outcome="", ended=None, agent=None,
              line=None) -> CallbackRequest:
    """A callback promised for ``when``; ``attempts``: the times its attempts started."""
    request = h.callback(None, requested=requested, state=state, outcome=outcome, ended=ended, scheduled_for=when,
                         first_attempt=attempts[0] if attempts else None, line=line)
    for started in attempts:
        h.attempt(request, started=started, agent=agent, duration=None, status=NO_ANSWER)
    return request


@pytest.fixture
def supervised(acme, lines, bob):
    """Cancellations and scheduled callbacks around 2026-06-10 at acme (UTC times)."""
    main, _sales = lines
    h = History(acme, main)
    d = lambda *p: utc(2026, 6, 10, *p)  # noqa: E731
    # Cancelled, requested today: three by a supervisor, one by the caller (C13).
    cancelled(h, requested=d(10, 0), ended=d(10, 5), by=By.SUPERVISOR)
    cancelled(h, requested=d(11, 0), ended=d(11, 1), by=By.SUPERVISOR)
    cancelled(h, requested=d(12, 0), ended=d(12, 2), by=By.CALLER)
    # Cancelled by a supervisor at 12:30Z before its time (17:00Z): cancelled, never due.
    cancelled(h, requested=d(12, 20), ended=d(12, 30), by=By.SUPERVISOR, scheduled_for=d(17, 0))
    # Cancelled by a supervisor at 11:10Z, 10 minutes after its time and never called: due and late.
    cancelled(h, requested=d(8, 0), ended=d(11, 10), by=By.SUPERVISOR, scheduled_for=d(11, 0))
    # Cancelled by a supervisor at 17:31Z, a minute after its time, not called: due, neither on time nor late.
    cancelled(h, requested=d(12, 10), ended=d(17, 31), by=By.SUPERVISOR, scheduled_for=d(17, 30))
    # Requested yesterday for 13:00Z today, first attempt exactly 120 s after: on time (not a request of today).
    scheduled(h, d(13, 0), requested=utc(2026, 6, 9, 20, 0), attempts=[d(13, 2)], state=Req.COMPLETED,
              outcome=CallbackRequest.Outcome.ANSWERED, ended=d(13, 6), agent=bob)
    # Tried at 09:05Z (no answer), "call later" for 14:00Z, called 5 minutes after: late (the
    # attempt before the promise is not one at the promised time).
    scheduled(h, d(14, 0), requested=d(9, 0), attempts=[d(9, 5), d(14, 5)], state=Req.FAILED,
              outcome=CallbackRequest.Outcome.NO_ANSWER, ended=d(14, 6), agent=bob)
    # Called 121 s after its time: late.
    scheduled(h, d(15, 0), requested=utc(2026, 6, 9, 21, 0), attempts=[d(15, 2, 1)], state=Req.FAILED,
              outcome=CallbackRequest.Outcome.NO_ANSWER, ended=d(15, 3), agent=bob)
    # Due 16:00Z, still waiting at NOW (19:00Z): late.
    scheduled(h, d(16, 0), requested=d(10, 30))
    # Due 18:59Z, waiting: within its 2 minutes at NOW, neither on time nor late yet.
    scheduled(h, d(18, 59), requested=d(11, 30))
    # Due 23:30 local (03:30Z tomorrow in UTC): due today, still to come.
    scheduled(h, utc(2026, 6, 11, 3, 30), requested=d(12, 40))
    # Due at local midnight of 2026-06-11 (04:00Z): tomorrow's.
    scheduled(h, utc(2026, 6, 11, 4, 0), requested=d(12, 50))
    # Due 23:59 local on 2026-06-09 (03:59Z today in UTC), called on time: yesterday's.
    scheduled(h, d(3, 59), requested=utc(2026, 6, 9, 12, 0), attempts=[d(4, 0)], state=Req.COMPLETED,
              outcome=CallbackRequest.Outcome.ANSWERED, ended=d(4, 5), agent=bob)
    return h


# Due today: 11:00Z (cancelled late), 13:00Z, 14:00Z, 15:00Z, 16:00Z, 17:30Z (cancelled within its
# two minutes), 18:59Z, 03:30Z+1 = 8;
# on time: 13:00Z = 1; late: 11:00Z, 14:00Z, 15:00Z, 16:00Z = 4; rate 1 / 5 = 20 %.
TODAY = {
    "cancelled_by_supervisor": 5,
    "cancelled_by_caller": 1,
    "scheduled_due": 8,
    "scheduled_on_time": 1,
    "scheduled_late": 4,
    "scheduled_on_time_rate": 20.0,
}


def overview(account, timeframe=None, now=NOW, line_ids=None) -> dict:
    with scope(account=account):
        timeframe = timeframe or timeframe_today(account=account, now=now)
        return selectors.account_overview(account=account, timeframe=timeframe, line_ids=line_ids, now=now)


def supervision(figures: dict) -> dict:
    return {key: figures["callback_outcomes"][key] for key in SUPERVISION_KEYS}


def test_cancellations_and_scheduled_callbacks_of_today(acme, supervised):  # SPEC D5, S2, R16, C13
    assert supervision(overview(acme)) == TODAY


def test_every_request_of_the_timeframe_has_one_outcome_or_is_open(acme, supervised):  # SPEC D5
    figures = overview(acme)
    outcomes = figures["callback_outcomes"]
    ended = ("answered", "no_answer", "busy", "failed", "declined_by_all", "expired",
             "cancelled_by_supervisor", "cancelled_by_caller", "open")
    # Requested today: the six cancelled, the 09:00Z no-answer and four waiting (16:00Z, 18:59Z, 03:30Z+1, tomorrow's).
    assert figures["total_callback_calls"] == 11
    assert sum(outcomes[key] for key in ended) == 11
    assert (outcomes["no_answer"], outcomes["open"]) == (1, 4)


@pytest.mark.parametrize("minutes_later,expected", [
    # 19:00:59Z: 18:59Z's two minutes are not over; 19:01Z: they are (late, not called).
    (0.98, (1, 4, 20.0)),
    (1, (1, 5, 16.7)),
])
def test_a_waiting_callback_becomes_late_when_its_two_minutes_are_over(acme, supervised, minutes_later, expected):  # SPEC R16
    now = NOW + timedelta(minutes=minutes_later)
    figures = supervision(overview(acme, now=now))
    assert (figures["scheduled_on_time"], figures["scheduled_late"], figures["scheduled_on_time_rate"]) == expected
    assert figures["scheduled_due"] == 8


def test_the_days_are_the_accounts_local_days(acme, supervised):  # SPEC D (today), D5
    with scope(account=acme):
        yesterday = timeframe_for_days(account=acme, first_day=NOW.date() - timedelta(days=1),
                                       last_day=NOW.date() - timedelta(days=1), now=NOW)
        tomorrow = timeframe_for_days(account=acme, first_day=NOW.date() + timedelta(days=1),
                                      last_day=NOW.date() + timedelta(days=1), now=NOW)
    # 2026-06-09 local: the 23:59 one, called at 00:00 local, on time. No cancellation was requested then.
    assert supervision(overview(acme, yesterday)) == {
        "cancelled_by_supervisor": 0, "cancelled_by_caller": 0,
        "scheduled_due": 1, "scheduled_on_time": 1, "scheduled_late": 0, "scheduled_on_time_rate": 100.0,
    }
    # 2026-06-11 local, asked at NOW: the one due at midnight is due, its time has not come.
    assert supervision(overview(acme, tomorrow))["scheduled_due"] == 1
    assert supervision(overview(acme, tomorrow))["scheduled_on_time_rate"] is None


def test_a_line_filter_narrows_them(acme, supervised, lines):  # SPEC D6
    main, sales = lines
    assert supervision(overview(acme, line_ids=[main.pk])) == TODAY
    assert supervision(overview(acme, line_ids=[sales.pk])) == {
        "cancelled_by_supervisor": 0, "cancelled_by_caller": 0,
        "scheduled_due": 0, "scheduled_on_time": 0, "scheduled_late": 0, "scheduled_on_time_rate": None,
    }


@pytest.fixture
def globex_rows(globex):
    """globex's own cancellations and scheduled callbacks at the same instants (UTC)."""
    theirs = make_line(globex, "Theirs", number="+14155550999")
    h = History(globex, theirs)
    d = lambda *p: utc(2026, 6, 10, *p)  # noqa: E731
    cancelled(h, requested=d(10, 0), ended=d(10, 5), by=By.SUPERVISOR)
    cancelled(h, requested=d(10, 1), ended=d(10, 6), by=By.CALLER)
    scheduled(h, d(13, 0), requested=d(9, 0), attempts=[d(13, 0, 30)], state=Req.COMPLETED,
              outcome=CallbackRequest.Outcome.ANSWERED, ended=d(13, 5))
    scheduled(h, d(14, 0), requested=d(9, 1))
    return h


def test_globexs_rows_are_never_counted_at_acme(acme, globex, supervised, globex_rows):  # SPEC T3
    assert supervision(overview(acme)) == TODAY
    # globex (Asia/Tokyo, UTC+9): 2026-06-10 local is 2026-06-09 15:00Z to 2026-06-10 15:00Z; none of acme's.
    with scope(account=globex):
        day = timeframe_for_days(account=globex, first_day=NOW.date(), last_day=NOW.date(), now=NOW)
    assert supervision(overview(globex, day)) == {
        "cancelled_by_supervisor": 1, "cancelled_by_caller": 1,
        "scheduled_due": 2, "scheduled_on_time": 1, "scheduled_late": 1, "scheduled_on_time_rate": 50.0,
    }


def test_the_query_count_is_unchanged_and_does_not_grow(acme, lines, bob):  # SPEC D5; issue 7's budget
    main, _ = lines
    h = History(acme, main)
    base = NOW - timedelta(hours=6)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            overview(acme)
        return len(captured)

    before = queries()
    for i in range(8):
        at = base + timedelta(minutes=10 * i)
        scheduled(h, at, requested=at - timedelta(hours=1), attempts=[at + timedelta(seconds=30 * i)],
                  state=Req.COMPLETED, outcome=CallbackRequest.Outcome.ANSWERED, ended=at + timedelta(minutes=5),
                  agent=bob)
        cancelled(h, requested=at, ended=at + timedelta(minutes=1), by=[By.SUPERVISOR, By.CALLER][i % 2])
    # Calls, attempts, waits, callback groups, callbacks started and scheduled (one statement),
    # max waiting: six, as before issue 16; on PostgreSQL also savepoint, SET LOCAL jit, release.
    assert queries() == before == (9 if connection.vendor == "postgresql" else 6)
    figures = supervision(overview(acme))
    # Attempts 0, 30, ..., 210 s after their time: 0-120 s on time (5), 150-210 s late (3).
    assert (figures["scheduled_due"], figures["scheduled_on_time"], figures["scheduled_late"]) == (8, 5, 3)
    assert (figures["cancelled_by_supervisor"], figures["cancelled_by_caller"]) == (4, 4)


# --- the API and the page (the real clock: the API has no ``now``) ----------------------
@pytest.fixture
def today_rows(acme, lines, bob):
    """Two scheduled callbacks of today: one called 30 s after its time, one 5 minutes after;
    a cancellation by a supervisor and one by the caller."""
    main, _ = lines
    h = History(acme, main)
    now = timezone.now()
    with scope(account=acme):
        start = max(now - timedelta(minutes=30), timeframe_today(account=acme, now=now).start + timedelta(seconds=1))
    if now - start < timedelta(minutes=6):
        pytest.skip("within 6 minutes of acme's midnight: today has no room for a late callback yet")
    scheduled(h, start, requested=start, attempts=[start + timedelta(seconds=30)], state=Req.COMPLETED,
              outcome=CallbackRequest.Outcome.ANSWERED, ended=start + timedelta(minutes=2), agent=bob)
    scheduled(h, start, requested=start, attempts=[start + timedelta(minutes=5)], state=Req.COMPLETED,
              outcome=CallbackRequest.Outcome.ANSWERED, ended=start + timedelta(minutes=7), agent=bob)
    cancelled(h, requested=start, ended=start + timedelta(seconds=5), by=By.SUPERVISOR)
    cancelled(h, requested=start, ended=start + timedelta(seconds=5), by=By.CALLER)
    return h


def test_the_api_answers_them_in_callback_outcomes(alice_api, today_rows):  # SPEC A1, D5
    outcomes = alice_api.get(f"{STATS}/account_overview.json").json()["account_overview"]["callback_outcomes"]
    assert {key: outcomes[key] for key in SUPERVISION_KEYS} == {
        "cancelled_by_supervisor": 1, "cancelled_by_caller": 1,
        "scheduled_due": 2, "scheduled_on_time": 1, "scheduled_late": 1, "scheduled_on_time_rate": 50.0,
    }


def test_the_api_answers_null_when_nothing_is_decided(alice_api, charlie_api, today_rows):  # SPEC D5, T3
    body = charlie_api.get(f"{STATS}/account_overview.json").json()["account_overview"]["callback_outcomes"]
    assert {key: body[key] for key in SUPERVISION_KEYS} == {
        "cancelled_by_supervisor": 0, "cancelled_by_caller": 0,
        "scheduled_due": 0, "scheduled_on_time": 0, "scheduled_late": 0, "scheduled_on_time_rate": None,
    }


def cell(html: str, name: str) -> str:
    match = re.search(rf'<td data-outcome="{name}">(.*?)</td>', html)
    assert match, name
    return match.group(1)


def test_the_page_shows_them_plainly(alice_client, today_rows):  # SPEC D5, D6
    html = alice_client.get(PAGE).content.decode()
    for label in ("Cancelled by a supervisor", "Cancelled by the caller", "Scheduled callbacks", "Due today",
                  "Called on time", "On-time rate", "within 2 minutes of the promised time"):
        assert label in html, label
    assert (cell(html, "cancelled_by_supervisor"), cell(html, "cancelled_by_caller")) == ("1", "1")
    assert (cell(html, "scheduled_due"), cell(html, "scheduled_on_time"), cell(html, "scheduled_late")) == ("2", "1", "1")
    assert cell(html, "scheduled_on_time_rate") == "50 %"


def test_the_page_shows_a_dash_when_nothing_is_decided(charlie_client, today_rows):  # SPEC D5, T3
    html = charlie_client.get(PAGE).content.decode()
    assert cell(html, "scheduled_due") == "0" and cell(html, "cancelled_by_supervisor") == "0"
    rate = cell(html, "scheduled_on_time_rate")
    assert "—" in rate and "%" not in rate and "none called or late yet" in rate


def test_a_past_day_on_the_page_uses_the_accounts_days(alice_client, supervised):  # SPEC D5, D6
    # Asked long after 2026-06-10: the 18:59Z and 03:30Z+1 callbacks, never called, are late by now.
    html = alice_client.get(f"{PAGE}?start_date=2026-06-10&end_date=2026-06-10").content.decode()
    assert "Due on these days" in html
    assert (cell(html, "scheduled_due"), cell(html, "scheduled_on_time"), cell(html, "scheduled_late")) == ("8", "1", "6")
    assert cell(html, "scheduled_on_time_rate") == "14.3 %"
    assert (cell(html, "cancelled_by_supervisor"), cell(html, "cancelled_by_caller")) == ("5", "1")
