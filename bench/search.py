"""Benchmark: search.json's ticket search on PostgreSQL (issue 15, item 3).

    .venv/bin/python bench/search.py [--quick] [--tickets 100000] [--rounds 15]

(``DATABASE_URL`` defaults to the bench's database, bench/common.py.)

Side by side in one run, alternating: **product**, ``tickets.search.search_tickets`` for
a parsed query (full-text search through the GIN indexes of migration 0003), against the
**reference**, the same rows found the plain way: a case-insensitive substring match on the
subject or on any comment of the ticket (what the SQLite demo does; no index can serve it).
Each query first checks that both find the same tickets, then times the count and the
first page of 25 (what one search.json answer reads). A scratch account ``bench-search``
holds the tickets (made once, reused); never point it at data you keep.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Figure, django_setup, scratch_account, show  # noqa: E402

django_setup()

from django.db import connection  # noqa: E402
from django.db.models import Exists, OuterRef, Q  # noqa: E402
from django_scopes import scope  # noqa: E402

from tickets import search  # noqa: E402
from tickets.models import Comment, Ticket  # noqa: E402
from tickets.search_language import parse  # noqa: E402

SUBDOMAIN = "bench-search"
WORDS = (
    "printer paper toner invoice refund password login account delivery parcel order screen "
    "battery charger cable router modem network wifi email calendar meeting license upgrade "
    "install crash error slow freeze backup restore payment card bank transfer address phone"
).split()
RARE = "zeppelin"  # in 1 ticket of 200: a selective search
QUERIES = {
    "rare word": RARE,
    "common word": "printer",
    "two words": "refund invoice",
    "word and status": "toner status:open",
}
GOAL_RATIO = 0.5


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def seed(account, count: int) -> None:
    """``count`` tickets with two comments each, made once (bulk, no audits: the bench reads)."""
    have = Ticket.objects.filter(account=account).count()
    if have >= count:
        return
    rng = random.Random(have)
    for start in range(have, count, 5000):
        end = min(count, start + 5000)
        tickets = [
            Ticket(account=account, number=n + 1, subject=_text(rng, 5) + (f" {RARE}" if n % 200 == 7 else ""),
                   status=rng.choice(["new", "open", "pending", "solved"]))
            for n in range(start, end)
        ]
        Ticket.objects.bulk_create(tickets)
        Comment.objects.bulk_create(
            Comment(account=account, ticket=ticket, body=_text(rng, 30) + (f" {RARE}" if ticket.number % 200 == 99 else ""))
            for ticket in tickets for _ in range(2)
        )
    with connection.cursor() as cursor:
        for table in (Ticket._meta.db_table, Comment._meta.db_table):
            cursor.execute(f"ANALYZE {table}")


def reference(account, text: str):
    """The same tickets by substring: every word in the subject or in one of its comments."""
    tickets = Ticket.objects.filter(account=account)
    for word in text.split():
        if ":" in word:
            field, value = word.split(":", 1)
            tickets = tickets.filter(**{field: value})
            continue
        in_comment = Comment.objects.filter(account=account, ticket=OuterRef("pk"), body__icontains=word)
        tickets = tickets.filter(Q(subject__icontains=word) | Exists(in_comment))
    return tickets.order_by("-created_at", "-number")


def run(queryset) -> tuple[int, list[int]]:
    return queryset.count(), [t.number for t in queryset[:25]]


def figures(quick: bool, tickets: int | None = None, rounds: int | None = None) -> list[Figure]:
    tickets = tickets or (20_000 if quick else 100_000)
    rounds = rounds or (5 if quick else 15)
    account, _line, [user] = scratch_account(SUBDOMAIN, "Bench search")
    results = []
    with scope(account=account):
        seed(account, tickets)
        for name, text in QUERIES.items():
            query = parse(text)
            product_rows = search.search_tickets(account=account, user=user, query=query)
            reference_rows = reference(account, text)
            found = set(product_rows.values_list("number", flat=True))
            assert found == set(reference_rows.values_list("number", flat=True)), f"{name}: not the same tickets"
            product_ms, reference_ms = [], []
            for _ in range(rounds):  # alternating: the machine is shared
                for times, rows in ((product_ms, product_rows), (reference_ms, reference_rows)):
                    start = time.perf_counter()
                    run(rows.all())
                    times.append((time.perf_counter() - start) * 1000)
            product, ref = statistics.median(product_ms), statistics.median(reference_ms)
            results.append(Figure(
                name=f"search {name!r} ({len(found):,} of {tickets:,} tickets)", unit="ms", product=product,
                reference=ref, reference_name="substring match", goal=f"≤ {GOAL_RATIO}× reference",
                met=product <= GOAL_RATIO * ref, repeats=product_ms,
            ))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tickets", type=int)
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    show(figures(args.quick, args.tickets, args.rounds))
