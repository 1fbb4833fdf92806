"""The rest of Talk's stats API as the reference documents it (issue 15, item 6; SPEC A1, D4):
agents_activity's presence times and counts, agents_overview, and the incremental legs export.

Figures are computed by hand from the ``day`` fixture (tests/dashboards/conftest.py) and
from a presence history written through the status service.
"""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from dashboards import activity, selectors
from dashboards.timeframes import timeframe_for_days, timeframe_today
from talk.models import AgentPresence, Call, CallbackAttempt, Offer
from talk.services.agents import agent_device_set
from tests.dashboards.conftest import NOW
from tests.dashboards.history import History, utc
from tests.isolation import assert_isolated, missing_id
from tests.talk.calls_support import make_line

STATS = "/api/v2/channels/voice/stats"
ONLINE, AWAY, TRANSFERS, OFFLINE = (AgentPresence.Status.ONLINE, AgentPresence.Status.AWAY,
                                    AgentPresence.Status.TRANSFERS_ONLY, AgentPresence.Status.OFFLINE)
REFERENCE_ACTIVITY_FIELDS = {
    "agent_id", "name", "avatar_url", "via", "status", "agent_state", "call_status", "forwarding_number",
    "online_time", "available_time", "away_time", "transfers_only_time", "calls_accepted", "calls_denied",
    "calls_missed", "calls_put_on_hold", "total_call_duration", "total_talk_time", "total_hold_time",
    "total_wrap_up_time", "average_talk_time", "average_hold_time", "average_wrap_up_time", "accepted_transfers",
    "started_transfers", "accepted_third_party_conferences", "started_third_party_conferences",
}
OVERVIEW_FIELDS = {
    f"{kind}_{name}"
    for kind in ("total", "average")
    for name in ("calls_accepted", "calls_denied", "calls_missed", "calls_put_on_hold", "accepted_transfers",
                 "started_transfers", "talk_time", "hold_time", "wrap_up_time", "online_time", "available_time",
                 "away_time", "transfers_only_time")
}
LEG_FIELDS = {
    "id", "call_id", "type", "agent_id", "user_id", "available_via", "created_at", "updated_at",
    "completion_status", "duration", "talk_time", "hold_time", "wrap_up_time", "conference_time",
    "consultation_time", "conference_from", "conference_to", "consultation_from", "consultation_to",
    "transferred_from", "transferred_to", "forwarded_to", "minutes_billed", "call_charge", "quality_issues",
    "callback_request_id",
}


def _times(account, timeframe) -> dict:
    with scope(account=account):
        return selectors.presence_times(account=account, timeframe=timeframe)


def _overview(account, timeframe, **lines) -> dict:
    with scope(account=account):
        return activity.agents_overview(account=account, timeframe=timeframe, **lines)


@pytest.fixture
def statuses(acme, lines, alice, bob, dave, globex, charlie):
    """A presence history at acme on 2026-06-10 (local midnight 04:00Z; NOW 19:00Z)."""
    h = History(acme, lines[0])
    h.status(bob, ONLINE, at=utc(2026, 6, 10, 2, 0))  # yesterday evening, local time
    h.status(bob, AWAY, at=utc(2026, 6, 10, 5, 0))
    h.status(bob, ONLINE, at=utc(2026, 6, 10, 5, 30))
    h.status(bob, TRANSFERS, at=utc(2026, 6, 10, 9, 0))
    h.status(bob, OFFLINE, at=utc(2026, 6, 10, 9, 15))
    h.status(bob, ONLINE, at=utc(2026, 6, 10, 18, 0))
    h.status(alice, ONLINE, at=utc(2026, 6, 10, 4, 0))  # exactly local midnight: online from then
    h.presence(dave, AWAY)  # no change recorded: away all along
    return h


@pytest.fixture
def globex_statuses(globex, charlie):
    theirs = History(globex, make_line(globex, "Theirs", number="+14155550999"))
    theirs.status(charlie, ONLINE, at=utc(2026, 6, 9, 0, 0))
    return theirs


def test_it_derives_presence_times_from_the_history(acme, statuses, globex_statuses, alice, bob, dave,
                                                    charlie):  # SPEC D4
    times = _times(acme, timeframe_today(account=acme, now=NOW))
    # bob: online at midnight (his 05:00 change says so), 04-05 and 05:30-09 and 18-19 online.
    assert times[bob.pk] == {"available_time": 3600 + 12600 + 3600, "away_time": 1800, "transfers_only_time": 900,
                             "online_time": 19800 + 1800 + 900}
    assert times[alice.pk] == {"available_time": 15 * 3600, "online_time": 15 * 3600}
    assert times[dave.pk] == {"away_time": 15 * 3600, "online_time": 15 * 3600}
    assert charlie.pk not in times  # globex's history is globex's


def test_a_past_day_ends_at_its_midnight_whatever_changed_after(acme, statuses, bob, alice):  # SPEC D4
    yesterday = timeframe_for_days(account=acme, first_day=date(2026, 6, 9), last_day=date(2026, 6, 9), now=NOW)
    times = _times(acme, yesterday)
    assert times[bob.pk] == {"available_time": 7200, "online_time": 7200}  # offline until 22:00 local
    assert alice.pk not in times or times[alice.pk]["online_time"] == 0


@pytest.fixture
def today_statuses(acme, lines, bob):
    """bob online, then away for the last sixth of the time since (at most an hour ago,
    never before local midnight: the API's today is the real one)."""
    now = timezone.now()
    midnight = now.astimezone(ZoneInfo(acme.time_zone)).replace(hour=0, minute=0, second=0, microsecond=0)
    span = min(timedelta(hours=1), now - midnight)
    h = History(acme, lines[0])
    h.status(bob, ONLINE, at=now - span)
    h.status(bob, AWAY, at=now - span / 6)
    with scope(account=acme):
        agent_device_set(account=acme, user=bob, device="+14155550123", actor=bob)
    return span.total_seconds()


def test_agents_activity_has_the_references_fields(alice_api, acme, today_statuses, bob):  # SPEC A1, D4
    body = alice_api.get(f"{STATS}/agents_activity.json").json()
    rows = {row["agent_id"]: row for row in body["agents_activity"]}
    assert REFERENCE_ACTIVITY_FIELDS <= set(rows[bob.pk])
    row = rows[bob.pk]
    span = today_statuses  # the clock is real here: a few seconds of slack
    assert span - 1 <= row["online_time"] <= span + 30
    assert span * 5 / 6 - 1 <= row["available_time"] <= span * 5 / 6 + 1
    assert span / 6 - 1 <= row["away_time"] <= span / 6 + 30 and row["transfers_only_time"] == 0
    assert row["status"] == row["agent_state"] == AWAY and row["call_status"] is None
    assert row["forwarding_number"] == "+14155550123" and row["via"] == "client" and row["avatar_url"] is None
    for name in ("calls_put_on_hold", "total_hold_time", "total_wrap_up_time", "accepted_transfers",
                 "started_transfers"):
        assert row[name] == 0, name


def test_an_agent_whose_day_began_before_midnight_local_counts_from_midnight(acme, statuses, bob):  # SPEC D4
    timeframe = timeframe_today(account=acme, now=NOW)
    times = _times(acme, timeframe)
    with scope(account=acme):
        rows = activity.agents_activity(account=acme, timeframe=timeframe)
        payload = {r.user_id: activity.agent_activity_payload(r, times) for r in rows}
    assert payload[bob.pk]["available_time"] == 19800  # not the two hours before midnight


def test_agents_overview_sums_and_averages_the_agents(acme, day, alice, bob, dave):  # SPEC A1, D4
    timeframe = timeframe_today(account=acme, now=NOW)
    figures = _overview(acme, timeframe)
    assert set(figures) == OVERVIEW_FIELDS
    # Three members (alice, bob, dave). Offers today: bob accepted 2, declined 1, missed 1; dave declined 1.
    assert (figures["total_calls_accepted"], figures["total_calls_denied"], figures["total_calls_missed"]) == (2, 2, 1)
    assert figures["average_calls_accepted"] == 1 and figures["average_calls_denied"] == 1
    # Talk: bob 120 (live) + 300 (callback); dave 30 (Sales). Yesterday's 500 is not today.
    assert figures["total_talk_time"] == 450 and figures["average_talk_time"] == 150
    # bob online and dave away all day (no change recorded): 15 h each since local midnight.
    assert figures["total_available_time"] == figures["total_away_time"] == 54000
    assert figures["total_online_time"] == 108000 and figures["average_online_time"] == 36000
    assert figures["total_hold_time"] == figures["total_accepted_transfers"] == figures["average_wrap_up_time"] == 0
    # The totals are the sums of agents_activity's rows.
    with scope(account=acme):
        rows = activity.agents_activity(account=acme, timeframe=timeframe)
        assert sum(r.calls_missed for r in rows) == figures["total_calls_missed"]


def test_agents_overview_of_one_line(acme, day, lines, alice):  # SPEC D4, D6
    _main, sales = lines
    figures = _overview(acme, timeframe_today(account=acme, now=NOW), line_ids=[sales.pk])
    assert figures["total_talk_time"] == 30 and figures["total_calls_accepted"] == 0
    assert figures["total_online_time"] == 108000  # presence is the agents', whatever the line


def test_agents_overview_api(alice_api, bob_api, acme, today_statuses, lines):  # SPEC A1
    body = alice_api.get(f"{STATS}/agents_overview.json").json()
    assert set(body) == {"agents_overview"} and set(body["agents_overview"]) == OVERVIEW_FIELDS
    assert today_statuses / 6 - 1 <= body["agents_overview"]["total_away_time"] <= today_statuses / 6 + 30
    assert bob_api.get(f"{STATS}/agents_overview.json").status_code == 200  # members read the stats (T4)
    long_ago = alice_api.get(f"{STATS}/agents_overview.json?start_date=2020-01-01&end_date=2020-01-02").json()
    assert long_ago["agents_overview"]["total_online_time"] == 0
    bad = alice_api.get(f"{STATS}/agents_overview.json?start_date=9999-12-31")
    assert bad.status_code == 400 and "start_date" in bad.json()["details"]
    assert alice_api.get(f"{STATS}/agents_overview.json?phone_number_ids={lines[1].pk}").status_code == 200


# --- Legs ---------------------------------------------------------------------------
def _all_legs(client, query: str = "") -> list[dict]:
    body = client.get(f"{STATS}/incremental/legs.json?start_time=0{query}").json()
    assert set(body) == {"legs", "next_page", "count", "end_time"} and body["count"] == len(body["legs"])
    return body["legs"]


def test_the_legs_of_a_day(alice_api, acme, day, bob, dave):  # SPEC A1
    legs = _all_legs(alice_api)
    assert all(set(leg) == LEG_FIELDS for leg in legs)
    customers = [leg for leg in legs if leg["type"] == "customer"]
    agents = [leg for leg in legs if leg["type"] == "agent"]
    # Ten calls, a customer leg each; three answered (yesterday's, midnight, Sales), three offers
    # declined or missed, two callbacks placed.
    assert len(customers) == 10 and len(agents) == 3 + 3 + 2
    assert len({leg["id"] for leg in legs}) == len(legs)
    by_call = {leg["call_id"]: leg for leg in customers}
    assert by_call[day["midnight"].pk]["completion_status"] == "completed"
    assert by_call[day["abandoned"].pk]["completion_status"] == "abandoned_in_queue"
    bobs = [leg for leg in agents if leg["agent_id"] == bob.pk]
    assert sorted(leg["completion_status"] for leg in bobs) == [
        "agent_declined", "agent_missed", "completed", "completed", "completed"
    ]
    assert sum(leg["talk_time"] for leg in bobs) == 500 + 120 + 300
    missed = next(leg for leg in bobs if leg["completion_status"] == "agent_missed")
    assert missed["call_id"] == day["abandoned"].pk and missed["duration"] == 5 and missed["talk_time"] == 0
    callback = next(leg for leg in bobs if leg["available_via"] == "phone")
    assert callback["callback_request_id"] == day["callback_answered"].pk and callback["talk_time"] == 300
    daves = sorted(leg["completion_status"] for leg in agents if leg["agent_id"] == dave.pk)
    assert daves == ["agent_declined", "completed", "customer_no_answer"]
    assert all(leg["hold_time"] == leg["wrap_up_time"] == leg["minutes_billed"] == 0 for leg in legs)
    updated = [leg["updated_at"] for leg in legs]
    assert updated == sorted(updated)  # oldest change first


def test_the_legs_of_one_line(alice_api, day, lines):  # SPEC A1
    _main, sales = lines
    legs = _all_legs(alice_api, f"&line_id={sales.pk}")
    assert {leg["call_id"] for leg in legs} == {day["sales"].pk} and len(legs) == 2
    body = alice_api.get(f"{STATS}/incremental/legs.json?start_time=0&line_id={sales.pk}").json()
    assert f"line_id={sales.pk}" in body["next_page"]


def test_legs_export_follows_next_page_and_never_splits_a_second(alice_api, acme, lines, bob, monkeypatch):  # A1
    main, _ = lines
    h = History(acme, main)
    moment = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    # Same second: three answered calls (six legs); ten seconds later a missed offer; then a call.
    calls = [h.call(moment + timedelta(milliseconds=i), outcome=Call.Outcome.ANSWERED, answered_by=bob,
                    queued=moment, left=moment) for i in range(3)]  # still talking: changed when they began
    offer = h.offer(calls[0].entry, agent=bob, state=Offer.State.TIMED_OUT, at=moment - timedelta(seconds=5))
    with scope(account=acme):
        Offer.objects.filter(pk=offer.pk).update(responded_at=moment + timedelta(seconds=10))
    later = h.call(moment + timedelta(seconds=30))
    everything = [leg["id"] for leg in _all_legs(alice_api)]
    assert len(everything) == 6 + 1 + 1

    # Pages of two rows per source: the calls' page fills at the busy second and takes all of
    # it; the offer, later than that second, waits for the next page with the later call.
    monkeypatch.setattr(activity, "EXPORT_PAGE_SIZE", 2)
    start, pages = 0, []
    while True:
        body = alice_api.get(f"{STATS}/incremental/legs.json?start_time={start}").json()
        if body["count"] == 0:
            break
        seconds = {int(timezone.datetime.fromisoformat(leg["updated_at"].replace("Z", "+00:00")).timestamp())
                   for leg in body["legs"]}
        assert max(seconds) < body["end_time"]
        pages.append([leg["id"] for leg in body["legs"]])
        start = body["end_time"]
    assert [len(page) for page in pages] == [6, 2] and offer.pk in pages[1]
    seen = [leg_id for page in pages for leg_id in page]
    assert sorted(seen) == sorted(everything)
    assert later.pk in seen


def test_a_leg_without_start_time_or_with_a_bad_one_is_refused(alice_api):  # SPEC A1; issue 14
    for query in ("", "?start_time=x", "?start_time=-1", f"?start_time={'1' * 20}"):
        response = alice_api.get(f"{STATS}/incremental/legs.json{query}")
        assert response.status_code == 400 and "start_time" in response.json()["details"], query


# --- Isolation and budgets -----------------------------------------------------------
@pytest.mark.parametrize("route", ["agents_overview.json?", "incremental/legs.json?start_time=0&",
                                   "agents_activity.json?"])
def test_another_accounts_line_answers_like_a_missing_one(route, charlie_api, alice_api, lines):  # SPEC T3
    main, _ = lines
    assert_isolated(charlie_api, f"{STATS}/{route}line_id={main.pk}", f"{STATS}/{route}line_id={missing_id()}")
    assert_isolated(charlie_api, f"{STATS}/{route}phone_number_ids={main.pk}",
                    f"{STATS}/{route}phone_number_ids={missing_id()}")


def test_globex_counts_and_lists_none_of_acmes(charlie_api, day, globex_statuses, charlie):  # SPEC T3
    assert charlie_api.get(f"{STATS}/incremental/legs.json?start_time=0").json()["count"] == 0
    day_query = "start_date=2026-06-10&end_date=2026-06-10"
    overview = charlie_api.get(f"{STATS}/agents_overview.json?{day_query}").json()["agents_overview"]
    assert overview["total_calls_accepted"] == overview["total_talk_time"] == overview["total_away_time"] == 0
    assert overview["total_calls_denied"] == overview["total_calls_missed"] == 0
    # charlie's own history counts for globex (Asia/Tokyo: 2026-06-10 is 15:00Z to 15:00Z).
    assert overview["total_online_time"] == 24 * 3600
    rows = charlie_api.get(f"{STATS}/agents_activity.json?{day_query}").json()["agents_activity"]
    assert [row["agent_id"] for row in rows] == [charlie.pk]


@pytest.mark.parametrize("route", ["agents_overview", "incremental/legs"])
def test_it_needs_a_member(route, acme, client):  # SPEC T4
    response = client.get(f"{STATS}/{route}.json?start_time=0", HTTP_HOST="acme.localhost")
    assert response.status_code in (401, 403)


def _more_history(acme, line, agent, n: int) -> None:
    h = History(acme, line)
    start = timezone.now() - timedelta(hours=3)
    for i in range(n):
        at = start + timedelta(minutes=i)
        call = h.call(at, outcome=Call.Outcome.ANSWERED, duration=10, answered_by=agent, queued=at, left=at)
        h.offer(call.entry, agent=agent, state=Offer.State.DECLINED, at=at)
        request = h.callback(None, requested=at, state="completed", started=at, first_attempt=at)
        h.attempt(request, started=at, agent=agent, duration=5, status=CallbackAttempt.Status.COMPLETED)
        h.status(agent, [AWAY, ONLINE][i % 2], at=at + timedelta(seconds=30))


@pytest.mark.parametrize("url", ["agents_activity.json", "agents_overview.json",
                                 "incremental/legs.json?start_time=0"])
def test_the_query_count_does_not_grow_with_the_rows(url, alice_api, acme, lines, bob, dave):  # SPEC D4; A1
    main, _ = lines
    _more_history(acme, main, bob, 2)
    with CaptureQueriesContext(connection) as few:
        assert alice_api.get(f"{STATS}/{url}").status_code == 200
    _more_history(acme, main, dave, 12)
    with CaptureQueriesContext(connection) as many:
        body = alice_api.get(f"{STATS}/{url}").json()
    assert len(many) == len(few), [q["sql"][:120] for q in many]
    if "legs" in url:
        # Each step: an answered call (two legs), a declined offer, a callback placed.
        assert body["count"] == (2 + 12) * (2 + 1 + 1)
    assert len(few) <= 12


# --- Groups (the reference's group_ids) ------------------------------------------------
@pytest.fixture
def sales_team(acme, dave, alice):
    from supportcenter import services

    with scope(account=acme):
        group = services.group_create(account=acme, actor=alice, name="Sales team")
        services.group_membership_create(account=acme, actor=alice, group_id=group.pk, user_id=dave.pk)
    return group


def test_agents_of_some_groups(alice_api, acme, day, sales_team, dave, bob):  # SPEC A1, D4
    rows = alice_api.get(f"{STATS}/agents_activity.json?group_ids={sales_team.pk}").json()["agents_activity"]
    assert [row["agent_id"] for row in rows] == [dave.pk]
    figures = _overview(acme, timeframe_today(account=acme, now=NOW), group_ids=[sales_team.pk])
    # dave alone: declined 1, talked 30 s, away all day.
    assert (figures["total_calls_denied"], figures["total_talk_time"], figures["total_away_time"]) == (1, 30, 54000)
    assert figures["total_calls_accepted"] == figures["total_available_time"] == 0
    assert alice_api.get(f"{STATS}/agents_overview.json?group_ids={sales_team.pk}").status_code == 200


@pytest.mark.parametrize("route", ["agents_activity", "agents_overview"])
def test_another_accounts_group_answers_like_a_missing_one(route, charlie_api, alice_api, sales_team):  # SPEC T3
    assert_isolated(charlie_api, f"{STATS}/{route}.json?group_ids={sales_team.pk}",
                    f"{STATS}/{route}.json?group_ids={missing_id()}")
    assert alice_api.get(f"{STATS}/{route}.json?group_ids={sales_team.pk},{missing_id()}").status_code == 404


@pytest.mark.parametrize("value", ["x", "1,,2", "0", ",".join(str(10**10 + i) for i in range(101))])
def test_malformed_group_ids_are_refused_with_the_field_named(alice_api, value):  # SPEC A1
    response = alice_api.get(f"{STATS}/agents_overview.json?group_ids={value}")
    assert response.status_code == 400 and "group_ids" in response.json()["details"]
