"""The dashboard page (SPEC D6): tiles, chart, line filter, date range, plan gating."""
from __future__ import annotations

import re

import pytest

from supportcenter.models import Account
from tests.conftest import page_client
from tests.isolation import assert_isolated, missing_id

URL = "/dashboard/talk/"


def tile(html: str, name: str) -> int:
    match = re.search(rf'data-(?:tile|figure)="{name}"[^>]*>(\d+)<', html)
    assert match, name
    return int(match.group(1))


def test_alice_sees_the_tiles_and_a_server_drawn_chart(alice_client, day):  # SPEC D6
    response = alice_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Callbacks in queue", "Total callback calls", "Average callback wait time", "Max calls waiting",
                  "Agents online", "Abandoned in queue"):
        assert label in html
    assert tile(html, "callbacks_waiting") == 1
    assert "<svg" in html and 'class="bar-calls"' in html
    # The chart's bars are inbound calls (the Inbound tile), and say so: "Total calls" counts outbound too.
    assert "Inbound calls</span>" in html and "<title id=\"chart-title\">Inbound calls," in html
    assert "js/dashboard.js" in html and "/ws/" not in html.split("<main", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("who", ["alice_client", "bob_client"])
def test_the_live_tiles_read_the_queue_activity_api(who, request, lines):  # SPEC D6 (issue 16: not the queue page)
    html = request.getfixturevalue(who).get(URL).content.decode()
    assert 'id="queue-tiles" data-url="/api/v2/channels/voice/stats/current_queue_activity.json"' in html
    main, _ = lines
    html = request.getfixturevalue(who).get(f"{URL}?line={main.pk}").content.decode()
    assert f'data-url="/api/v2/channels/voice/stats/current_queue_activity.json?phone_number_ids={main.pk}"' in html


def test_agents_see_it_too(bob_client):  # SPEC D: dashboard viewers
    assert bob_client.get(URL).status_code == 200


def test_a_date_range_and_a_line(alice_client, day, lines):  # SPEC D6
    _main, sales = lines
    html = alice_client.get(f"{URL}?start_date=2026-06-10&end_date=2026-06-10").content.decode()
    assert tile(html, "total_inbound_calls") == 8 and tile(html, "total_callback_calls") == 3
    assert tile(html, "average_callback_wait_time") == 1080 and tile(html, "max_calls_waiting") == 3
    html = alice_client.get(f"{URL}?start_date=2026-06-10&end_date=2026-06-10&line={sales.pk}").content.decode()
    assert tile(html, "total_inbound_calls") == 1
    html = alice_client.get(f"{URL}?start_date=2026-06-09&end_date=2026-06-11").content.decode()
    assert tile(html, "total_inbound_calls") == 9  # the day before's late call too
    assert "06-09" in html and "06-11" in html  # one bar per local day


def test_a_bad_date_shows_today_with_a_message(alice_client):
    response = alice_client.get(f"{URL}?start_date=10/06/2026")
    assert response.status_code == 200 and "YYYY-MM-DD" in response.content.decode()


@pytest.mark.parametrize("plan,gated", [("team", True), ("professional", False), ("enterprise", False)])
def test_plans(acme, alice, plan, gated):  # SPEC D6: professional and above
    Account.objects.filter(pk=acme.pk).update(plan=plan)
    html = page_client(acme, alice).get(URL).content.decode()
    assert ("Upgrade to see the Talk dashboard" in html) is gated
    assert ('data-tile="callbacks_waiting"' in html) is not gated


def test_it_needs_a_login(acme, client):  # SPEC T4
    response = client.get(URL, HTTP_HOST="acme.localhost")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_another_accounts_line_answers_like_a_missing_one(charlie_client, lines):  # SPEC T3
    main, _ = lines
    assert_isolated(charlie_client, f"{URL}?line={main.pk}", f"{URL}?line={missing_id()}")


def test_globex_sees_none_of_acmes_figures(charlie_client, day):  # SPEC T3
    html = charlie_client.get(f"{URL}?start_date=2026-06-10&end_date=2026-06-10").content.decode()
    assert tile(html, "total_inbound_calls") == 0 and tile(html, "callbacks_waiting") == 0


