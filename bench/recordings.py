"""Benchmark: what reading callers' recordings with the queue costs (issue 16, item 5; SPEC C14).

    .venv/bin/python bench/recordings.py [--quick] [--callbacks 5000] [--rounds 30]

(``DATABASE_URL`` defaults to the bench's database, bench/common.py.)

Side by side in one run, alternating:

- the supervisors' queue page reads one page of 100 rows, then the recordings of that page
  in one query: **product**, as ``talk.selectors.supervision.queue_rows`` does, against the
  rows' query joined with the recordings (the join comes before the page is cut: every
  waiting entry is joined);
- a routing pass reads the head of the queue without the recordings, and each offer it
  makes reads its own for the payload: **product**, the head (``talk.routing._waiting_entries``)
  then four recordings, against the head joined with the recordings. A scratch account
``bench-recordings`` holds the callbacks, one in five with a stored recording (made once,
reused); never point it at data you keep.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Figure, django_setup, scratch_account, show  # noqa: E402

django_setup()

from django_scopes import scope  # noqa: E402

from talk import routing  # noqa: E402
from talk.models import CallbackRequest, CallerRecording  # noqa: E402
from talk.selectors.supervision import supervision_queue  # noqa: E402
from talk.services.callback_requests import callback_request_create  # noqa: E402

SUBDOMAIN = "bench-recordings"
HEAD = 200  # entries of the queue's head a pass reads in one chunk
OFFERS = 4  # offers one pass makes (free agents at once)
PAGE = 100  # rows of the queue page


def seed(account, line, count: int) -> None:
    have = CallbackRequest.objects.filter(account=account, state=CallbackRequest.State.PENDING).count()
    for n in range(have, count):
        callback_request_create(line=line, number=f"+1415555{n:04d}")
    without = CallbackRequest.objects.filter(account=account, recording__isnull=True).order_by("pk")
    CallerRecording.objects.bulk_create([
        CallerRecording(account=account, request=request, state=CallerRecording.State.STORED, duration_seconds=4,
                        audio=f"recordings/{account.pk}/{request.pk}-bench.wav", content_type="audio/wav")
        for index, request in enumerate(without) if index % 5 == 0
    ])


def timed(read) -> float:
    start = time.perf_counter()
    read()
    return (time.perf_counter() - start) * 1000


def figures(quick: bool, callbacks: int = 5000, rounds: int = 30) -> list[Figure]:
    account, line, _users = scratch_account(SUBDOMAIN, "Bench recordings")
    with scope(account=account):
        seed(account, line, 500 if quick else callbacks)
        head = routing._waiting_entries(account)

        def head_then_offers() -> None:
            """As shipped: the head without the recording, then each offer's payload reads its own."""
            entries = list(head[:HEAD])
            for entry in entries[:OFFERS]:
                CallerRecording.objects.filter(request__queue_entry_id=entry.pk).first()

        def page_then_recordings() -> None:
            """As shipped (talk.selectors.supervision.queue_rows): the page, then its recordings."""
            entries = list(supervision_queue(account=account)[:PAGE])
            ids = [entry.callback_request.pk for entry in entries if entry.kind == "callback"]
            list(CallerRecording.objects.filter(account=account, request_id__in=ids))

        reads = {
            f"routing: the head, then {OFFERS} offers' recordings": (
                head_then_offers,
                lambda: list(head.select_related("callback_request__recording")[:HEAD]),
                "the head joined with the recordings", 1.1,
            ),
            "queue page: 100 rows, then their recordings": (
                page_then_recordings,
                lambda: list(supervision_queue(account=account).select_related("callback_request__recording")[:PAGE]),
                "the rows joined with the recordings", 1.1,
            ),
        }
        results = []
        for name, (product, reference, reference_name, goal) in reads.items():
            product(), reference()  # warm the plans and the cache
            mine, theirs = [], []
            for _ in range(5 if quick else rounds):
                mine.append(timed(product))
                theirs.append(timed(reference))
            p50, r50 = statistics.median(mine), statistics.median(theirs)
            results.append(Figure(
                name=f"{name} (p50)", unit="ms", product=p50, reference=r50, reference_name=reference_name,
                goal=f"≤ {goal}× reference", met=p50 <= goal * r50, repeats=mine,
            ))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--callbacks", type=int, default=5000, help="at most 10,000")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    show(figures(args.quick, args.callbacks, args.rounds))


if __name__ == "__main__":
    main()
