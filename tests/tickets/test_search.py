"""search.json (issue 15, item 3; SPEC A1, K1, T3): the reference's query language over the
account's tickets and users, in its envelope; full-text on PostgreSQL through its indexes."""
from __future__ import annotations

import datetime as dt
import zoneinfo
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from supportcenter.models import Group
from tests.isolation import assert_isolated, missing_id
from tests.postgres import needs_postgresql
from tests.tickets.helpers import add_comment, make_ticket
from tickets import search, search_language
from tickets.models import Comment, EndUser, Ticket

URL = "/api/v2/search.json"


def _set(account, ticket, **fields) -> Ticket:
    """Fields the ticket services may not take yet (priority, tags, group...), and dates."""
    with scope(account=account):
        Ticket.objects.filter(account=account, pk=ticket.pk).update(**fields)
        ticket.refresh_from_db()
    return ticket


def _ids(response) -> list:
    assert response.status_code == 200, response.content[:500]
    return [(r["result_type"], r["id"]) for r in response.json()["results"]]


def _numbers(client, query: str, **params) -> list[int]:
    return [number for kind, number in _ids(client.get(URL, {"query": query, **params})) if kind == "ticket"]


def _refusal(client, query: str) -> str:
    response = client.get(URL, {"query": query})
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["error"] == "InvalidRequest"
    return body["details"]["query"][0]["description"]


# --- The language -------------------------------------------------------------------------
@pytest.mark.parametrize("query, reason", [
    ("foo:bar", "Unknown field 'foo' in 'foo:bar'"),
    ("created>2026-02-30", "Not a date in 'created>2026-02-30'"),
    ("updated<yesterday", "Not a date in 'updated<yesterday'"),
    ("status:bogus", "Unknown status 'bogus' in 'status:bogus'"),
    ("priority>none", "Unknown priority 'none' in 'priority>none'"),
    ("assignee>bob", "'assignee' takes ':' only"),
    ('"on fire', "Close the quote"),
    ("-", "Put one '-'"),
    ("status:", "Give a value after 'status:'"),
])
def test_it_refuses_a_bad_query_naming_the_term(bob_api, query, reason):  # SPEC A1
    assert reason in _refusal(bob_api, query)


def test_it_refuses_an_empty_or_missing_query(bob_api):  # SPEC A1
    assert "empty" in _refusal(bob_api, "   ")
    for params in ({}, {"query": ""}):
        response = bob_api.get(URL, params)
        assert response.status_code == 400 and "query" in response.json()["details"]


_TEXT = st.text(alphabet=st.sampled_from(list(' "-:<>abstuo0123TZ\t\u3042')), max_size=30)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.from_regex(search_language.QUERY_PATTERN), _TEXT, st.text(max_size=20)))
def test_it_accepts_exactly_what_its_published_pattern_matches(text):  # SPEC A1 (the schema is the product's)
    pattern = search_language.QUERY_PATTERN.removesuffix("$") + r"\Z"  # "$" as JSON Schema reads it
    matches = re.search(pattern, text) is not None and len(text) <= search_language.MAX_QUERY_LENGTH
    try:
        search_language.parse(text)
        accepted = True
    except search_language.SearchError:
        accepted = False
    assert accepted == matches, text


def test_it_reads_the_reference_forms():
    query = search_language.parse('Printer "on fire" -status:closed Status:OPEN created>2015-08-29T00:00:00Z '
                         'updated<4hours tags:vip priority:"high" ticket_type:incident type:ticket')
    assert query.types == {"ticket"}
    assert [(t.kind, t.field, t.op, t.value, t.negated) for t in query.terms][:4] == [
        ("word", "", ":", "Printer", False), ("phrase", "", ":", "on fire", False),
        ("field", "status", ":", "closed", True), ("field", "status", ":", "open", False)]
    assert search_language.parse("role:agent").types == {"user"}
    assert search_language.parse("printer").types == {"ticket", "user"}
    assert search_language.parse("type:user -type:user").types == set()


# --- Tickets ------------------------------------------------------------------------------
@pytest.fixture
def printers(acme, alice, bob):
    on_fire = make_ticket(acme, subject="Printer on fire", description="Smoke everywhere")
    jammed = make_ticket(acme, subject="Paper jammed", description="The printing tray is stuck")
    quiet = make_ticket(acme, subject="Phone line quiet", description="No dial tone")
    add_comment(acme, quiet, "Internal: it was the printer cable after all", public=False, author=bob)
    return on_fire, jammed, quiet


def test_it_answers_in_the_reference_envelope(bob_api, printers):  # SPEC A1
    body = bob_api.get(URL, {"query": "type:ticket printer"}).json()
    assert list(body) == ["results", "facets", "next_page", "previous_page", "count"]
    assert body["facets"] is None and body["count"] == 2 and body["next_page"] is None
    result = body["results"][0]
    assert result["result_type"] == "ticket"
    assert result["url"].endswith(f"/api/v2/tickets/{result['id']}.json")
    assert {"subject", "status", "priority", "tags", "requester_id"} <= set(result)


def test_it_finds_words_in_subjects_and_comments_internal_notes_included(bob_api, printers):  # SPEC K1, K2
    on_fire, jammed, quiet = printers
    assert sorted(_numbers(bob_api, "printer")) == [on_fire.number, quiet.number]
    # A word matches the start of a longer one ("print" → printer, printing), as the reference's.
    assert sorted(_numbers(bob_api, "print")) == [on_fire.number, jammed.number, quiet.number]
    assert _numbers(bob_api, "smoke printer") == [on_fire.number]  # every word, anywhere in the ticket
    assert _numbers(bob_api, '"printer cable"') == [quiet.number]
    assert _numbers(bob_api, '"cable printer"') == []
    assert sorted(_numbers(bob_api, "print -smoke")) == [jammed.number, quiet.number]
    if connection.vendor == "postgresql":  # words; the SQLite demo matches substrings
        assert _numbers(bob_api, "rinter") == []  # not inside a word
        assert _numbers(bob_api, "inter") == [quiet.number]  # "Internal: ..." starts with it
    assert _numbers(bob_api, str(jammed.number)) == [jammed.number]  # a number is a ticket id


def test_it_finds_japanese_text_by_substring(bob_api, acme):  # SPEC K1
    ticket = make_ticket(acme, subject="コールバックの設定について", description="折り返し電話が来ません")
    make_ticket(acme, subject="Other", description="Nothing")
    assert _numbers(bob_api, "設定") == [ticket.number]
    assert _numbers(bob_api, "電話") == [ticket.number]


def test_it_filters_by_status_priority_and_type(bob_api, printers):  # SPEC K1
    on_fire, jammed, quiet = printers
    _set(on_fire.account, on_fire, status="open", priority="urgent", type="incident")
    _set(on_fire.account, jammed, status="pending", priority="normal")
    _set(on_fire.account, quiet, status="closed", priority="high")
    assert _numbers(bob_api, "status:open") == [on_fire.number]
    assert sorted(_numbers(bob_api, "status<solved")) == [on_fire.number, jammed.number]
    assert _numbers(bob_api, "status>=solved") == [quiet.number]
    assert sorted(_numbers(bob_api, "-status:closed")) == [on_fire.number, jammed.number]
    assert sorted(_numbers(bob_api, "status:open status:pending")) == [on_fire.number, jammed.number]  # zenpy's lists
    assert sorted(_numbers(bob_api, "priority>normal")) == [on_fire.number, quiet.number]
    assert _numbers(bob_api, "priority:high") == [quiet.number]
    assert _numbers(bob_api, "ticket_type:incident") == [on_fire.number]
    assert _numbers(bob_api, "status:hold") == []


def test_it_filters_by_people_group_tags_and_channel(bob_api, acme, alice, bob, printers):  # SPEC K1, R14
    on_fire, jammed, quiet = printers
    with scope(account=acme):
        level2 = Group.objects.create(account=acme, name="Level 2")
        caller = EndUser.objects.create(account=acme, name="Carol Caller", email="carol@example.com", phone="+14155550123")
    _set(acme, on_fire, assignee=bob, group=level2, tags=["printer", "vip"], requester=caller, via="voice")
    _set(acme, jammed, assignee=alice, tags=["paper"], via="api")
    for query in ("assignee:me", "assignee:bob@acme.test", 'assignee:"Bob Agent"', f"assignee:{bob.pk}"):
        assert _numbers(bob_api, query) == [on_fire.number], query
    assert _numbers(bob_api, "assignee:none") == [quiet.number]
    for query in ("requester:carol@example.com", "requester:+14155550123", "requester:4155550123",
                  f"requester:{caller.pk}", "requester:Carol"):
        assert _numbers(bob_api, query) == [on_fire.number], query
    for query in ('group:"level 2"', f"group:{level2.pk}"):
        assert _numbers(bob_api, query) == [on_fire.number], query
    assert sorted(_numbers(bob_api, "group:none")) == [jammed.number, quiet.number]
    assert _numbers(bob_api, "tags:vip") == [on_fire.number]
    assert _numbers(bob_api, "tags:vi") == []  # a tag is matched whole
    assert sorted(_numbers(bob_api, "tags:vip tags:paper")) == [on_fire.number, jammed.number]
    assert sorted(_numbers(bob_api, "-tags:vip")) == [jammed.number, quiet.number]
    assert _numbers(bob_api, "tags:none") == [quiet.number]
    assert _numbers(bob_api, "via:voice") == [on_fire.number]
    assert _numbers(bob_api, "via:phone") == [on_fire.number]
    assert _numbers(bob_api, "via:api") == [jammed.number]


def test_it_filters_by_dates_in_the_accounts_days(bob_api, acme, printers):  # SPEC K1
    on_fire, jammed, quiet = printers
    new_york = dt.timezone(dt.timedelta(hours=-5))  # acme's zone in January
    _set(acme, on_fire, created_at=dt.datetime(2026, 1, 1, 23, 30, tzinfo=new_york))  # 04:30 UTC on Jan 2
    _set(acme, jammed, created_at=dt.datetime(2026, 1, 3, 9, 0, tzinfo=new_york))
    _set(acme, quiet, updated_at=timezone.now() - dt.timedelta(days=3))
    assert _numbers(bob_api, "created:2026-01-01") == [on_fire.number]
    assert _numbers(bob_api, "created>2026-01-01 created<2026-01-04") == [jammed.number]
    assert _numbers(bob_api, "created<=2026-01-01") == [on_fire.number]
    assert _numbers(bob_api, "created>2026-01-02T04:00:00Z created<2026-01-02T05:00:00Z") == [on_fire.number]
    assert _numbers(bob_api, "updated<2days") == [quiet.number]
    assert sorted(_numbers(bob_api, "updated>2days")) == [on_fire.number, jammed.number]
    assert _numbers(bob_api, "created>9999-12-31") == []
    assert len(_numbers(bob_api, "created>0001-01-01")) == 3


def test_it_sorts_and_pages(bob_api, acme, printers):  # SPEC A1
    on_fire, jammed, quiet = printers
    _set(acme, on_fire, priority="low")
    _set(acme, jammed, priority="urgent")
    _set(acme, quiet, priority="normal")
    assert _numbers(bob_api, "print") == [quiet.number, jammed.number, on_fire.number]  # newest first
    assert _numbers(bob_api, "print", sort_by="created_at", sort_order="asc") == [
        on_fire.number, jammed.number, quiet.number]
    assert _numbers(bob_api, "print", sort_by="priority") == [jammed.number, quiet.number, on_fire.number]
    assert _numbers(bob_api, "print", sort_by="status", sort_order="asc")  # all new: by number
    first = bob_api.get(URL, {"query": "print", "per_page": 2, "sort_order": "asc"}).json()
    assert [r["id"] for r in first["results"]] == [on_fire.number, jammed.number] and first["count"] == 3
    second = bob_api.get(first["next_page"]).json()
    assert [r["id"] for r in second["results"]] == [quiet.number] and second["next_page"] is None
    assert second["previous_page"]
    # Cursor pages, as every list.
    cursor = bob_api.get(URL, {"query": "print", "page[size]": 2}).json()
    assert len(cursor["results"]) == 2 and cursor["meta"]["has_more"] is True
    rest = bob_api.get(cursor["links"]["next"]).json()
    assert [r["id"] for r in rest["results"]] == [on_fire.number]


# --- Users ----------------------------------------------------------------------------
def test_it_searches_members_by_name_and_email(bob_api, acme, alice, bob, dave, charlie):  # SPEC T4
    assert _ids(bob_api.get(URL, {"query": "type:user agent"})) == [("user", bob.pk), ("user", dave.pk)]
    assert _ids(bob_api.get(URL, {"query": "type:user role:admin"})) == [("user", alice.pk)]
    assert _ids(bob_api.get(URL, {"query": "dave@acme.test"})) == [("user", dave.pk)]
    assert _ids(bob_api.get(URL, {"query": "charlie"})) == []  # globex's admin is no member here
    result = bob_api.get(URL, {"query": "type:user email:alice@acme.test"}).json()["results"][0]
    assert (result["result_type"], result["email"], result["role"]) == ("user", "alice@acme.test", "admin")


def test_without_type_it_answers_tickets_then_users(bob_api, acme, bob):  # SPEC A1
    ticket = make_ticket(acme, subject="Bob's printer", description="Bob says it is broken")
    assert _ids(bob_api.get(URL, {"query": "bob"})) == [("ticket", ticket.number), ("user", bob.pk)]
    assert _ids(bob_api.get(URL, {"query": "bob", "filter[type]": "user"})) == [("user", bob.pk)]
    assert _ids(bob_api.get(URL, {"query": "bob status:new"})) == [("ticket", ticket.number)]


# --- Isolation (SPEC T2, T3) ------------------------------------------------------------
def test_another_accounts_tickets_and_comments_never_match(bob_api, acme, globex, charlie, printers):  # SPEC T3
    secret = make_ticket(globex, subject="Printer secret plans", description="printer printer")
    add_comment(globex, secret, "The printer cable is in the vault", public=False)
    on_fire, _jammed, quiet = printers
    assert sorted(_numbers(bob_api, "printer")) == [on_fire.number, quiet.number]
    assert _numbers(bob_api, "vault") == [] and _numbers(bob_api, '"secret plans"') == []


def test_another_accounts_ids_answer_like_missing_ones(bob_api, acme, globex, charlie):  # SPEC T3
    make_ticket(acme, subject="Printer on fire")
    with scope(account=globex):
        group = Group.objects.create(account=globex, name="Vault")
        end_user = EndUser.objects.create(account=globex, name="Eve", phone="+81312345678")
    foreign_ticket = make_ticket(globex, subject="Secret", description="Hidden")
    _set(globex, foreign_ticket, group=group, requester=end_user, assignee=charlie)
    for field, foreign in (("group", group.pk), ("requester", end_user.pk), ("assignee", charlie.pk)):
        assert_isolated(bob_api, f"{URL}?query={field}:{foreign}", f"{URL}?query={field}:{missing_id()}",
                        expected_status=200)


# --- PostgreSQL: the indexes are usable; the query count is bounded -----------------------
@needs_postgresql("the GIN indexes of migration 0003 exist only there")
def test_the_full_text_indexes_serve_the_search(acme):  # SPEC O2
    # The planner may pick any index for the account; with only the text condition and no
    # sequential scans allowed, the plan shows whether the expressions match the indexes.
    with scopes_disabled(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        tickets = Ticket.objects.filter(search.text_match("subject", "printer", phrase=False)).order_by()
        comments = Comment.objects.filter(search.text_match("body", "on fire", phrase=True)).order_by()
        tagged = Ticket.objects.filter(search.tags_match("vip")).order_by()
        assert "ticket_subject_fts" in tickets.explain()
        assert "comment_body_fts" in comments.explain()
        assert "ticket_tags_gin" in tagged.explain()


def test_the_query_count_does_not_grow_with_the_results(bob_api, acme, bob):  # SPEC O4
    def queries(count: int) -> int:
        for index in range(count):
            ticket = make_ticket(acme, subject=f"Budget printer {index}", description="x")
            _set(acme, ticket, tags=["budget"], assignee=bob)
        with CaptureQueriesContext(connection) as captured:
            response = bob_api.get(URL, {"query": "printer -status:closed tags:budget"})
        assert response.status_code == 200
        return len(captured)

    few = queries(2)
    assert queries(10) == few
    assert few <= 8, few


# --- zenpy, unpatched, against a live server (issue 15, item 7) ----------------------------
@pytest.mark.django_db(transaction=True)
def test_zenpy_searches_with_its_keywords_and_walks_the_pages(zendesk, acme, bob):  # SPEC A1
    with scope(account=acme):
        Ticket.objects.bulk_create(
            Ticket(account=acme, number=number, subject=f"Bulk printer {number}", status="open")
            for number in range(1, 102)
        )
        Ticket.objects.filter(account=acme, number=7).update(status="pending", tags=["vip"], assignee=bob)
    # A date is a day in the account's zone (the reference's rule): the day before today there,
    # whatever the day is in UTC (this once failed between midnight UTC and New York's).
    since = timezone.localdate(timezone=zoneinfo.ZoneInfo(acme.time_zone)) - dt.timedelta(days=1)
    found = zendesk.search("printer", type="ticket", created_greater_than=since,
                           sort_by="created_at", sort_order="asc")
    assert found.count == 101
    assert sorted(ticket.id for ticket in found) == list(range(1, 102))  # two pages, next_page followed
    assert [t.id for t in zendesk.search(type="ticket", status="pending", tags="vip", assignee="bob@acme.test")] == [7]
    assert [t.id for t in zendesk.search("bulk", type="ticket", minus="status:open")] == [7]
    assert [t.id for t in zendesk.search(type="ticket", status=["pending", "solved"])] == [7]  # zenpy's OR
    assert [u.email for u in zendesk.search("bob", type="user")] == ["bob@acme.test"]
