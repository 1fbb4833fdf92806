"""Each metric against the hand-computed day in conftest.py (SPEC D1-D5)."""
from __future__ import annotations

import pytest
from django_scopes import scope

from dashboards import selectors
from dashboards.timeframes import timeframe_today
from tests.dashboards.conftest import NOW


def overview(account, line_ids=None, now=NOW):
    with scope(account=account):
        return selectors.account_overview(
            account=account, timeframe=timeframe_today(account=account, now=now), line_ids=line_ids
        )


def queue(account, line_ids=None, now=NOW):
    with scope(account=account):
        return selectors.current_queue_activity(account=account, line_ids=line_ids, now=now)


def test_it_counts_callers_waiting_now(acme, day):  # SPEC D1, D4
    assert queue(acme) == {
        "agents_online": 1,  # bob online; dave away does not count
        "calls_waiting": 1,
        "callbacks_waiting": 1,
        "embeddable_callbacks_waiting": 0,
        "average_wait_time": (300 + 1790) // 2,
        "longest_wait_time": 1790,
    }


def test_it_totals_calls_since_local_midnight(acme, day):  # SPEC D4
    figures = overview(acme)
    # Inbound today: midnight, abandoned, two callbacks' calls, abandoned_2, sales, pending, waiting.
    assert figures["total_inbound_calls"] == 8
    # Outbound: one outbound call and two callback attempts.
    assert figures["total_outbound_calls"] == 3
    assert figures["total_calls"] == 11
    assert figures["total_calls_abandoned_in_queue"] == 2


def test_it_averages_queue_waits_of_callers_who_left(acme, day):  # SPEC D4
    figures = overview(acme)
    assert figures["average_queue_wait_time"] == round((20 + 120 + 60) / 3)
    assert figures["max_queue_wait_time"] == 120


def test_it_finds_the_most_callers_waiting_at_once(acme, day):  # SPEC D4 (calls and callbacks)
    # 14:05:00-14:06:00: the answered callback, the captured one and abandoned_2.
    assert overview(acme)["max_calls_waiting"] == 3


def test_callback_figures(acme, day):  # SPEC D2, D3
    figures = overview(acme)
    assert figures["total_callback_calls"] == 3  # answered, no answer, pending: successful or not
    assert figures["average_callback_wait_time"] == (600 + 1560) // 2


def test_callback_outcomes(acme, day):  # SPEC D5
    assert overview(acme)["callback_outcomes"] == {
        "answered": 1,
        "no_answer": 1,
        "busy": 0,
        "failed": 0,
        "declined_by_all": 0,
        "expired": 0,
        "open": 1,
        "unconfirmed": 1,
        "average_time_to_first_attempt": (550 + 1550) // 2,
        "served_in_order": 1,
        "served_out_of_order": 1,
        # Issue 16: nothing cancelled or scheduled that day (tests/dashboards/test_supervision_outcomes.py).
        "cancelled_by_supervisor": 0,
        "cancelled_by_caller": 0,
        "scheduled_due": 0,
        "scheduled_on_time": 0,
        "scheduled_late": 0,
        "scheduled_on_time_rate": None,
    }


def test_call_durations_and_time_to_answer(acme, day):  # SPEC D4
    figures = overview(acme)
    assert figures["total_call_duration"] == 120 + 60 + 30 + 300
    assert figures["average_call_duration"] == round(510 / 4)
    assert figures["average_time_to_answer"] == (30 + 10) // 2


def test_a_line_filter_narrows_every_figure(acme, day, lines):  # SPEC D6
    main, sales = lines
    figures = overview(acme, line_ids=[sales.pk])
    assert (figures["total_calls"], figures["total_inbound_calls"], figures["total_call_duration"]) == (1, 1, 30)
    assert figures["total_callback_calls"] == 0 and figures["max_calls_waiting"] == 0
    assert overview(acme, line_ids=[main.pk])["total_inbound_calls"] == 7
    assert queue(acme, line_ids=[sales.pk])["calls_waiting"] == 0
    assert queue(acme, line_ids=[main.pk])["callbacks_waiting"] == 1


def test_a_quiet_account_answers_zeros(globex):  # SPEC D4
    figures = overview(globex)
    assert figures["total_calls"] == 0 and figures["max_calls_waiting"] == 0
    assert figures["average_callback_wait_time"] == 0
    assert queue(globex)["longest_wait_time"] == 0


@pytest.mark.parametrize("minutes,expected", [(0, 0), (1, 1), (60 * 11, 5)])
def test_today_grows_from_local_midnight(acme, day, minutes, expected):  # SPEC D (today)
    from datetime import timedelta

    from tests.dashboards.history import utc

    now = utc(2026, 6, 10, 4, 0) + timedelta(minutes=minutes)
    # 04:00Z is local midnight: at that instant nothing has happened yet today;
    # a minute later the midnight call counts, and by 15:00Z five inbound calls.
    assert overview(acme, now=now)["total_inbound_calls"] == expected


def test_per_agent_activity(acme, day, alice, bob, dave):  # SPEC D4
    from dashboards.activity import agent_activity_payload, agents_activity

    with scope(account=acme):
        rows = {
            r.user_id: agent_activity_payload(r)
            for r in agents_activity(account=acme, timeframe=timeframe_today(account=acme, now=NOW))
        }
    assert set(rows) == {alice.pk, bob.pk, dave.pk}
    b, d = rows[bob.pk], rows[dave.pk]
    # bob: accepted the midnight call and a callback, declined one, missed one (yesterday's not counted).
    assert (b["calls_accepted"], b["callbacks_accepted"], b["calls_denied"], b["calls_missed"]) == (2, 1, 1, 1)
    # bob talked 120 s on the midnight call and 300 s on the callback (yesterday's 500 s not counted).
    assert (b["total_talk_time"], b["average_talk_time"], b["status"]) == (420, 210, "online")
    assert (d["calls_accepted"], d["calls_denied"], d["total_talk_time"], d["status"]) == (0, 1, 30, "away")
    assert rows[alice.pk]["status"] == "offline" and rows[alice.pk]["total_talk_time"] == 0
