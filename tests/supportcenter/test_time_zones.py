"""One time zone rule, labelled (issue 13, item 3; docs/conventions.md, "Times").

Every page shows times in the account's zone with a "Times in <zone>" caption and
``<time datetime="…+09:00" title="<zone>">``; the console's state sends ISO-8601 in the
account's offset and the zone's name; the API keeps UTC "Z" times, never naive ones.
acme is moved to Asia/Tokyo here: AT (23:05 UTC on the 14th) is 08:05 on the 15th there.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from django_scopes import scope

from callsim.models import SimulatorCall
from supportcenter import services
from supportcenter.models import Account, ApiToken
from talk.models import Offer
from tests.conftest import page_client
from tests.dashboards.history import History
from tests.talk.calls_support import main_line  # noqa: F401  (fixture)
from tests.talk.test_console_support import live_offer
from tests.tickets.helpers import add_comment, make_ticket
from tickets.models import Comment, Ticket

AT = datetime(2026, 1, 14, 23, 5, tzinfo=UTC)
TOKYO_ISO = "2026-01-15T08:05:00+09:00"
CAPTION = "Times in Asia/Tokyo"
# An ISO-8601 date-time and whatever follows it: "Z", an offset, or (wrongly) nothing.
ISO_TIME = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?([^"]*)"')


def tokyo_time(text: str) -> str:
    """The element every page writes for AT, in Tokyo."""
    return f'<time datetime="{TOKYO_ISO}" title="Asia/Tokyo">{text}</time>'


@pytest.fixture
def tokyo(acme) -> Account:
    Account.objects.filter(pk=acme.pk).update(time_zone="Asia/Tokyo")
    acme.refresh_from_db()
    return acme


def assert_offsets_everywhere(body: str) -> None:
    suffixes = ISO_TIME.findall(body)
    assert suffixes, body
    assert all(s == "Z" or re.fullmatch(r"[+-]\d\d:\d\d", s) for s in suffixes), suffixes


def test_the_tickets_list_shows_the_accounts_time_labelled(bob_client, tokyo, bob):
    ticket = make_ticket(tokyo)
    with scope(account=tokyo):
        Ticket.objects.filter(pk=ticket.pk).update(created_at=AT, updated_at=AT)
    html = bob_client.get("/tickets/").content.decode()
    assert tokyo_time("2026-01-15 08:05") in html and CAPTION in html


def test_a_ticket_shows_its_times_and_its_comments_in_the_accounts_zone(bob_client, tokyo, bob):
    ticket = make_ticket(tokyo)
    add_comment(tokyo, ticket, "Called back.", public=False, author=bob)
    with scope(account=tokyo):
        Ticket.objects.filter(pk=ticket.pk).update(created_at=AT, updated_at=AT)
        Comment.objects.filter(ticket=ticket).update(created_at=AT)
    html = bob_client.get(f"/tickets/{ticket.number}/").content.decode()
    assert html.count(tokyo_time("2026-01-15 08:05")) == 2 + 2  # created, updated, two comments
    assert CAPTION in html


def test_api_tokens_show_the_accounts_time_labelled(alice_client, tokyo, alice):
    with scope(account=tokyo):
        token, _raw = services.api_token_create(account=tokyo, user=alice, description="Zapier", actor=alice)
        ApiToken.objects.filter(pk=token.pk).update(created_at=AT, last_used_at=AT)
    html = alice_client.get("/admin-center/api-tokens/").content.decode()
    assert html.count(tokyo_time("2026-01-15 08:05")) == 2 and CAPTION in html  # created, last used
    with scope(account=tokyo):
        services.api_token_revoke(account=tokyo, token=token, actor=alice)
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=AT)
    html = alice_client.get("/admin-center/api-tokens/").content.decode()
    assert f"Revoked {tokyo_time('2026-01-15')}" in html


def test_the_console_shows_recent_activity_in_the_accounts_zone(bob_client, tokyo, main_line, bob):  # noqa: F811
    offer = live_offer(tokyo, main_line, bob)
    with scope(account=tokyo):
        Offer.objects.filter(pk=offer.pk).update(state=Offer.State.DECLINED, created_at=AT, responded_at=AT)
    html = bob_client.get("/talk/console/").content.decode()
    assert CAPTION in html
    assert f'<time class="muted" datetime="{TOKYO_ISO}" title="Asia/Tokyo">08:05</time>' in html


def test_the_console_state_carries_the_zone_and_its_offset(bob_client, tokyo, main_line, bob):  # noqa: F811
    offer = live_offer(tokyo, main_line, bob)
    with scope(account=tokyo):
        Offer.objects.filter(pk=offer.pk).update(state=Offer.State.DECLINED, created_at=AT, responded_at=AT)
    response = bob_client.get("/talk/console/state.json")
    state = response.json()
    assert state["time_zone"] == "Asia/Tokyo"
    assert state["recent"][0]["offered_at"] == state["recent"][0]["responded_at"] == TOKYO_ISO
    assert state["server_time"].endswith("+09:00")
    assert_offsets_everywhere(response.content.decode())


def test_the_dashboard_counts_and_labels_the_accounts_hours(alice_client, tokyo, alice, main_line):  # noqa: F811
    History(tokyo, main_line).call(AT)
    html = alice_client.get("/dashboard/talk/?start_date=2026-01-15&end_date=2026-01-15").content.decode()
    assert "08:00: 1 calls" in html  # the Tokyo hour, on the Tokyo day (the 14th in UTC)
    assert f"2026-01-15 – 2026-01-15 <small>{CAPTION}</small>" in html


def test_the_simulator_lists_its_calls_in_the_accounts_zone(bob_client, tokyo, bob, main_line):  # noqa: F811
    with scope(account=tokyo):
        row = SimulatorCall.objects.create(account=tokyo, line=main_line, placed_by=bob, state={"status": "completed"})
        SimulatorCall.objects.filter(pk=row.pk).update(created_at=AT)
    html = bob_client.get("/talk/simulator/").content.decode()
    assert tokyo_time("2026-01-15 08:05:00") in html and CAPTION in html


def test_the_api_keeps_utc_times_with_a_z(bob_api, tokyo, bob):
    ticket = make_ticket(tokyo)
    add_comment(tokyo, ticket, "Called back.", public=True, author=bob)
    with scope(account=tokyo):
        Ticket.objects.filter(pk=ticket.pk).update(created_at=AT, updated_at=AT)
    body = bob_api.get(f"/api/v2/tickets/{ticket.number}.json")
    assert body.json()["ticket"]["created_at"] == "2026-01-14T23:05:00Z"
    assert_offsets_everywhere(body.content.decode())
    assert_offsets_everywhere(bob_api.get(f"/api/v2/tickets/{ticket.number}/comments.json").content.decode())


def test_the_accounts_zone_ends_with_its_request(tokyo, bob, globex, charlie):
    assert CAPTION in page_client(tokyo, bob).get("/tickets/").content.decode()
    assert timezone.get_current_timezone_name() == "UTC"  # the thread serves another account next
    ticket = make_ticket(globex)
    with scope(account=globex):
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=AT)
    Account.objects.filter(pk=globex.pk).update(time_zone="Europe/Paris")
    html = page_client(globex, charlie).get("/tickets/").content.decode()
    assert "Times in Europe/Paris" in html and 'datetime="2026-01-15T00:05:00+01:00"' in html
