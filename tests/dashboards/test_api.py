"""The stats endpoints in the reference's shapes (SPEC A1, D1-D5)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards.timeframes import DAY_RANGE_MESSAGE
from talk.models import Call, QueueEntry
from tests.dashboards.history import History
from tests.isolation import assert_isolated, missing_id
from tests.talk.calls_support import make_line

STATS = "/api/v2/channels/voice/stats"
QUEUE_KEYS = {
    "agents_online", "calls_waiting", "callbacks_waiting", "embeddable_callbacks_waiting",
    "average_wait_time", "longest_wait_time",
}


@pytest.fixture
def today(acme, lines, bob):
    """A little of today, relative to the real clock (the API has no ``now``)."""
    main, sales = lines
    h = History(acme, main)
    now = timezone.now()
    start = max(now - timedelta(minutes=30), timezone.localtime(now, acme_zone(acme)).replace(hour=0, minute=0, second=1))
    h.call(start, outcome=Call.Outcome.ABANDONED, queued=start, left=start + timedelta(seconds=40),
           entry_state=QueueEntry.State.ABANDONED)
    h.call(start, outcome=Call.Outcome.ANSWERED, duration=90, answered_by=bob, answer_after=5, line=sales)
    waiting = h.call(start, outcome=Call.Outcome.CALLBACK_REQUESTED, queued=start)
    h.callback(waiting, requested=start + timedelta(seconds=20), state="pending")
    return h


def acme_zone(account):
    from zoneinfo import ZoneInfo

    return ZoneInfo(account.time_zone)


def test_current_queue_activity_shape(alice_api, today):  # SPEC A1, D1
    response = alice_api.get(f"{STATS}/current_queue_activity.json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"current_queue_activity"}
    figures = body["current_queue_activity"]
    assert set(figures) == QUEUE_KEYS
    assert figures["callbacks_waiting"] == 1 and figures["calls_waiting"] == 0
    assert all(isinstance(v, int) for v in figures.values())


def test_agents_may_read_the_stats(bob_api, today):  # SPEC T4: dashboard viewers are members
    assert bob_api.get(f"{STATS}/current_queue_activity.json").status_code == 200
    assert bob_api.get(f"{STATS}/account_overview.json").status_code == 200


def test_account_overview_shape_and_figures(alice_api, today):  # SPEC A1, D2, D4, D5
    body = alice_api.get(f"{STATS}/account_overview.json").json()
    assert set(body) == {"account_overview"}
    figures = body["account_overview"]
    for key in (
        "total_calls", "total_inbound_calls", "total_outbound_calls", "total_calls_abandoned_in_queue",
        "average_queue_wait_time", "max_calls_waiting", "total_callback_calls", "average_callback_wait_time",
        "total_call_duration", "average_call_duration", "total_calls_outside_business_hours",
    ):
        assert isinstance(figures[key], int), key
    assert (figures["total_calls"], figures["total_calls_abandoned_in_queue"]) == (3, 1)
    assert figures["average_queue_wait_time"] == 40 and figures["total_callback_calls"] == 1
    assert figures["callback_outcomes"]["open"] == 1


def test_account_overview_line_filter_and_date_range(alice_api, today, lines):  # SPEC D6
    main, sales = lines
    by_ids = alice_api.get(f"{STATS}/account_overview.json?phone_number_ids={sales.pk}").json()["account_overview"]
    assert (by_ids["total_calls"], by_ids["total_call_duration"]) == (1, 90)
    by_line = alice_api.get(f"{STATS}/account_overview.json?line_id={main.pk}").json()["account_overview"]
    assert by_line["total_calls"] == 2
    both = alice_api.get(f"{STATS}/account_overview.json?phone_number_ids={main.pk},{sales.pk}").json()
    assert both["account_overview"]["total_calls"] == 3
    long_ago = alice_api.get(f"{STATS}/account_overview.json?start_date=2020-01-01&end_date=2020-01-31").json()
    assert long_ago["account_overview"]["total_calls"] == 0
    bad = alice_api.get(f"{STATS}/account_overview.json?start_date=yesterday")
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidRequest"
    assert alice_api.get(f"{STATS}/account_overview.json?phone_number_ids=1,x").status_code == 400


def test_agents_activity_shape(alice_api, today, bob):  # SPEC A1, D4
    body = alice_api.get(f"{STATS}/agents_activity.json").json()
    assert set(body) == {"agents_activity", "next_page", "previous_page", "count"}
    assert body["count"] == 2  # alice and bob are the members here
    row = next(r for r in body["agents_activity"] if r["agent_id"] == bob.pk)
    assert row["name"] == "Bob Agent" and row["total_talk_time"] == 90
    for key in ("calls_accepted", "calls_denied", "calls_missed", "status", "total_call_duration"):
        assert key in row
    paged = alice_api.get(f"{STATS}/agents_activity.json?per_page=1").json()
    assert len(paged["agents_activity"]) == 1 and "page=2" in paged["next_page"]


def test_incremental_calls_export(alice_api, acme, lines):  # SPEC A1
    main, _ = lines
    h = History(acme, main)
    old = timezone.now() - timedelta(hours=3)
    first = h.call(old, outcome=Call.Outcome.ANSWERED, duration=30, answer_after=4)
    second = h.call(old + timedelta(minutes=5), outcome=Call.Outcome.ABANDONED, queued=old + timedelta(minutes=5),
                    left=old + timedelta(minutes=6), entry_state=QueueEntry.State.ABANDONED)
    start = int((old - timedelta(minutes=1)).timestamp())
    body = alice_api.get(f"{STATS}/incremental/calls.json?start_time={start}").json()
    assert set(body) == {"calls", "next_page", "count", "end_time"}
    assert body["count"] == 2 and [c["id"] for c in body["calls"]] == [first.pk, second.pk]
    assert body["calls"][0]["completion_status"] == "completed" and body["calls"][0]["time_to_answer"] == 4
    assert body["calls"][1]["completion_status"] == "abandoned_in_queue" and body["calls"][1]["wait_time"] == 60
    # The cursor: next_page asks from end_time on, and then nothing is new.
    assert body["next_page"].endswith(f"/incremental/calls.json?start_time={body['end_time']}")
    later = alice_api.get("/api/v2/" + body["next_page"].split("/api/v2/", 1)[1]).json()
    assert later["count"] == 0 and later["end_time"] == body["end_time"] and later["next_page"] == body["next_page"]
    assert alice_api.get(f"{STATS}/incremental/calls.json").status_code == 400


def test_incremental_pages_never_split_a_second(alice_api, acme, lines, monkeypatch):  # SPEC A1
    from dashboards import activity

    monkeypatch.setattr(activity, "EXPORT_PAGE_SIZE", 2)
    main, _ = lines
    h = History(acme, main)
    moment = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    ids = [h.call(moment + timedelta(milliseconds=i)).pk for i in range(3)] + [h.call(moment + timedelta(seconds=5)).pk]
    body = alice_api.get(f"{STATS}/incremental/calls.json?start_time={int(moment.timestamp())}").json()
    # Page size 2, but all three calls of that second come together, and the cursor moves past it.
    assert [c["id"] for c in body["calls"]] == ids[:3] and body["end_time"] == int(moment.timestamp()) + 1
    rest = alice_api.get(f"{STATS}/incremental/calls.json?start_time={body['end_time']}").json()
    assert [c["id"] for c in rest["calls"]] == ids[3:]


ROUTES = ["current_queue_activity", "account_overview", "agents_activity", "incremental/calls"]


@pytest.mark.parametrize("route", ROUTES)
def test_it_needs_a_member(route, acme, client):  # SPEC T4
    response = client.get(f"{STATS}/{route}.json?start_time=0", HTTP_HOST="acme.localhost")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize("route", ["current_queue_activity", "account_overview"])
def test_another_accounts_line_answers_like_a_missing_one(route, charlie_api, lines):  # SPEC T3
    main, _ = lines
    assert_isolated(
        charlie_api, f"{STATS}/{route}.json?phone_number_ids={main.pk}", f"{STATS}/{route}.json?line_id={missing_id()}"
    )


@pytest.mark.parametrize("route", ROUTES)
def test_globex_sees_none_of_acmes_figures(route, charlie_api, today, charlie):  # SPEC T3
    body = charlie_api.get(f"{STATS}/{route}.json?start_time=0").json()
    if route == "current_queue_activity":
        assert body["current_queue_activity"]["callbacks_waiting"] == 0
    elif route == "account_overview":
        assert body["account_overview"]["total_calls"] == 0
        assert body["account_overview"]["total_callback_calls"] == 0
    elif route == "agents_activity":
        assert [r["agent_id"] for r in body["agents_activity"]] == [charlie.pk]
    else:
        assert body["count"] == 0 and body["calls"] == []


def test_acme_token_on_globex_host_is_refused(acme, alice, globex):  # SPEC T3
    from tests.conftest import api_client

    client = api_client(acme, alice, host=globex)
    assert client.get(f"{STATS}/account_overview.json").status_code in (401, 403)


@pytest.mark.parametrize("query", ["start_date=9999-12-31&end_date=9999-12-31", "start_date=0001-01-01&end_date=0001-01-01",
                                   "end_date=9999-12-31"])
def test_days_past_the_calendars_ends_are_refused_with_the_field_named(alice_api, query):  # issue 14
    response = alice_api.get(f"{STATS}/account_overview.json?{query}")
    assert response.status_code == 400, response.content
    field = "start_date" if "start_date" in query else "end_date"
    assert response.json()["details"][field][0]["description"] == DAY_RANGE_MESSAGE


@pytest.mark.parametrize("start_time", ["253402300800", "1" * 20, "-1"])
def test_a_start_time_past_the_calendars_ends_is_refused(alice_api, start_time):  # issue 14
    response = alice_api.get(f"{STATS}/incremental/calls.json?start_time={start_time}")
    assert response.status_code == 400 and "start_time" in response.json()["details"]


def test_the_dashboard_page_says_so_and_shows_today(alice_client):  # issue 14
    response = alice_client.get("/dashboard/talk/?start_date=9999-12-31&end_date=9999-12-31")
    assert response.status_code == 200 and DAY_RANGE_MESSAGE in response.content.decode()


@pytest.mark.parametrize("endpoint", ["incremental/calls.json?start_time=0&", "agents_activity.json?"])
def test_a_line_filter_is_honoured_and_another_accounts_line_is_a_404(alice_api, acme, globex, lines, endpoint):  # issue 14; SPEC T3
    foreign = make_line(globex, "Theirs", number="+14155550999")
    assert alice_api.get(f"{STATS}/{endpoint}line_id={foreign.pk}").status_code == 404
    assert alice_api.get(f"{STATS}/{endpoint}phone_number_ids={missing_id()}").status_code == 404
    main, _sales = lines
    assert alice_api.get(f"{STATS}/{endpoint}line_id={main.pk}").status_code == 200


def test_the_incremental_export_of_one_line_has_only_its_calls(alice_api, day, lines):  # issue 14; SPEC A1
    main, sales = lines
    everything = alice_api.get(f"{STATS}/incremental/calls.json?start_time=0").json()["calls"]
    assert {call["phone_number_id"] for call in everything} == {main.pk, sales.pk}
    body = alice_api.get(f"{STATS}/incremental/calls.json?start_time=0&line_id={sales.pk}").json()
    assert body["calls"] and {call["phone_number_id"] for call in body["calls"]} == {sales.pk}
    assert f"line_id={sales.pk}" in body["next_page"]  # the next page keeps the filter
