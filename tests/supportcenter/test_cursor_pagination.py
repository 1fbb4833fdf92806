"""The reference's cursor pagination on every list (issue 15, item 2; SPEC A1): ``page[size]``
(1..100), ``page[after]``, ``page[before]``, answered with ``meta`` and ``links``; offset
pagination (``page``/``per_page``) stays as it was for old clients (tests/tickets cover it)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.talk.factories import make_line
from tests.tickets.helpers import make_ticket

TICKETS = "/api/v2/tickets.json"
LINES = "/api/v2/channels/voice/phone_numbers.json"


def walk(client, url: str, key: str, *, direction: str = "next") -> tuple[list, list[dict]]:
    """Follow links[direction] to the end: the ids in the order served, and every page."""
    ids, pages = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {key, "meta", "links"}  # no offset fields in a cursor page
        assert set(body["meta"]) == {"has_more", "after_cursor", "before_cursor"}
        pages.append(body)
        page_ids = [row["id"] for row in body[key]]
        ids = ids + page_ids if direction == "next" else page_ids + ids
        url = body["links"][direction]
    return ids, pages


def test_tickets_forward_to_the_end_and_back(bob_api, acme, globex):  # SPEC A1, T3
    for i in range(5):
        make_ticket(acme, subject=f"T{i}")
    make_ticket(globex, subject="Not acme's")
    ids, pages = walk(bob_api, TICKETS + "?page[size]=2", "tickets")
    assert ids == [1, 2, 3, 4, 5]  # every row once, in order; globex's ticket 1 never
    assert [len(p["tickets"]) for p in pages] == [2, 2, 1]
    assert [p["meta"]["has_more"] for p in pages] == [True, True, False]
    assert pages[0]["links"]["prev"] is None and pages[-1]["links"]["next"] is None
    assert "page%5Bsize%5D=2" in pages[0]["links"]["next"] and "page%5Bafter%5D=" in pages[0]["links"]["next"]

    # Back from the last page with page[before], to the start.
    back, back_pages = walk(bob_api, pages[-1]["links"]["prev"], "tickets", direction="prev")
    assert back == [1, 2, 3, 4]
    assert [p["meta"]["has_more"] for p in back_pages] == [True, False]  # has_more: further back
    before = pages[-1]["meta"]["before_cursor"]
    assert [t["id"] for t in bob_api.get(f"{TICKETS}?page[size]=2&page[before]={before}").json()["tickets"]] == [3, 4]


def test_tickets_newest_first_with_cursors(bob_api, acme):  # SPEC A1
    for i in range(5):
        make_ticket(acme, subject=f"T{i}")
    ids, pages = walk(bob_api, TICKETS + "?page[size]=2&sort_order=desc", "tickets")
    assert ids == [5, 4, 3, 2, 1]
    assert all("sort_order=desc" in p["links"]["next"] for p in pages[:-1])
    back, _ = walk(bob_api, pages[-1]["links"]["prev"], "tickets", direction="prev")
    assert back == [5, 4, 3, 2]
    # A cursor of the ascending list is not one of the descending list.
    ascending = bob_api.get(TICKETS + "?page[size]=2").json()["meta"]["after_cursor"]
    assert bob_api.get(f"{TICKETS}?page[size]=2&sort_order=desc&page[after]={ascending}").status_code == 404


def test_page_size_defaults_to_100_and_the_list_fits(bob_api, acme):
    make_ticket(acme)
    body = bob_api.get(TICKETS + "?page[after]=").json()  # blank: refused, not read as absent
    assert body["error"] == "InvalidRequest" and "page[after]" in body["details"]
    body = bob_api.get(TICKETS + "?page[size]=100").json()
    assert [t["id"] for t in body["tickets"]] == [1]
    assert body["meta"]["has_more"] is False and body["links"] == {"next": None, "prev": None}


def test_a_talk_list_walks_both_ways(alice_api, acme, globex):  # SPEC A1, T3
    made = [make_line(acme, name=f"Line {i}", number=f"+1415555010{i}").pk for i in range(5)]
    foreign = make_line(globex, name="Line 0", number="+14155550109").pk
    ids, pages = walk(alice_api, LINES + "?page[size]=2", "phone_numbers")
    assert ids == made and foreign not in ids
    back, _ = walk(alice_api, pages[-1]["links"]["prev"], "phone_numbers", direction="prev")
    assert back == made[:4]
    # With page[size] alone, also newest-first lists (sort_order) walk with cursors.
    ids, _ = walk(alice_api, LINES + "?page[size]=3", "phone_numbers")
    assert ids == made


def test_a_ticket_s_comments_walk_newest_first(bob_api, acme, bob):  # SPEC A1
    from tests.tickets.helpers import add_comment

    ticket = make_ticket(acme)
    for i in range(4):
        add_comment(acme, ticket, f"note {i}", public=True, author=bob)
    url = f"/api/v2/tickets/{ticket.number}/comments.json"
    forward, _ = walk(bob_api, url + "?page[size]=2", "comments")
    newest, _ = walk(bob_api, url + "?page[size]=2&sort_order=desc", "comments")
    assert len(forward) == 5 and newest == list(reversed(forward))


def test_agents_activity_walks_with_cursors(alice_api, acme, alice, bob, dave):  # SPEC A1, D4
    url = "/api/v2/channels/voice/stats/agents_activity.json?page[size]=1"
    rows = []
    while url:
        body = alice_api.get(url).json()
        rows += [row["agent_id"] for row in body["agents_activity"]]
        url = body["links"]["next"]
    assert sorted(rows) == sorted([alice.pk, bob.pk, dave.pk]) and len(rows) == 3


@pytest.mark.parametrize("query", ["page[size]=0", "page[size]=101", "page[size]=x", "page[after]=not%20a%20cursor!",
                                   "page[before]=%25%25"])
def test_bad_cursor_parameters_answer_400_naming_them(bob_api, acme, query):
    response = bob_api.get(f"{TICKETS}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidRequest" and set(body["details"]) == {query.split("=")[0]}


def test_a_tampered_or_foreign_cursor_finds_nothing(bob_api, charlie_api, acme, globex):  # SPEC T3
    for i in range(3):
        make_ticket(acme, subject=f"T{i}")
        make_ticket(globex, subject=f"G{i}")
    cursor = bob_api.get(TICKETS + "?page[size]=1").json()["meta"]["after_cursor"]
    payload, _, signature = cursor.rpartition(":")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + signature
    for bad in (tampered, "abc", "abc:def", cursor + "x"):
        response = bob_api.get(f"{TICKETS}?page[size]=1&page[after]={bad}")
        assert response.status_code == 404, bad
    # A cursor of another list is not one of this list.
    line_cursor_list = bob_api.get(LINES + "?page[size]=1").json()["meta"]["after_cursor"]
    assert line_cursor_list is None or bob_api.get(f"{TICKETS}?page[after]={line_cursor_list}").status_code == 404
    # acme's cursor is not one of globex's list (it could only position within globex's
    # own tickets anyway: the keyset filter applies to the account's rows).
    assert charlie_api.get(f"{TICKETS}?page[size]=5&page[after]={cursor}").status_code == 404
    subjects = [t["subject"] for t in charlie_api.get(f"{TICKETS}?page[size]=5").json()["tickets"]]
    assert subjects == ["G0", "G1", "G2"]


def test_between_two_cursors(bob_api, acme):
    for i in range(6):
        make_ticket(acme, subject=f"T{i}")
    pages = walk(bob_api, TICKETS + "?page[size]=1", "tickets")[1]
    after, before = pages[0]["meta"]["after_cursor"], pages[4]["meta"]["before_cursor"]
    body = bob_api.get(f"{TICKETS}?page[size]=2&page[after]={after}&page[before]={before}").json()
    assert [t["id"] for t in body["tickets"]] == [2, 3] and body["meta"]["has_more"] is True
    last = bob_api.get(body["links"]["next"]).json()
    assert [t["id"] for t in last["tickets"]] == [4] and last["meta"]["has_more"] is False


def test_offset_pagination_is_unchanged_without_page_brackets(bob_api, acme):  # SPEC A1
    for i in range(3):
        make_ticket(acme, subject=f"T{i}")
    body = bob_api.get(TICKETS + "?per_page=2").json()
    assert set(body) == {"tickets", "next_page", "previous_page", "count"} and body["count"] == 3
    assert parse_qs(urlsplit(body["next_page"]).query) == {"page": ["2"], "per_page": ["2"]}


# --- zenpy, unpatched, follows our cursors ------------------------------------------
zenpy = pytest.importorskip("zenpy")


@pytest.mark.django_db(transaction=True)
def test_zenpy_iterates_tickets_with_cursor_pagination(zendesk, acme, globex):  # SPEC A1
    for i in range(5):
        make_ticket(acme, subject=f"T{i}")
    make_ticket(globex, subject="Not acme's")
    tickets = zendesk.tickets(cursor_pagination=2)
    assert type(tickets).__name__ == "GenericCursorResultsGenerator"  # it saw meta.has_more
    assert [t.subject for t in tickets] == [f"T{i}" for i in range(5)]


def test_a_plain_list_is_paged_with_an_offset_in_the_cursor(rf):
    # paginate() also takes a list (no keyset to build): the same envelope, both ways.
    from rest_framework.request import Request

    from supportcenter.pagination import paginate

    rows = [{"id": n} for n in range(1, 6)]

    def get(url: str) -> dict:
        return paginate(Request(rf.get(url, HTTP_HOST="acme.localhost")), rows, "things", dict)

    ids, url, pages = [], "/things.json?page[size]=2", []
    while url:
        page = get(url)
        pages.append(page)
        ids += [row["id"] for row in page["things"]]
        url = page["links"]["next"]
    assert ids == [1, 2, 3, 4, 5] and [p["meta"]["has_more"] for p in pages] == [True, True, False]
    back, url = [], pages[-1]["links"]["prev"]
    while url:
        page = get(url)
        back = [row["id"] for row in page["things"]] + back
        url = page["links"]["prev"]
    assert back == [1, 2, 3, 4]
