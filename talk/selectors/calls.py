"""Reads of calls and callback requests. Every one takes the account."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Avg, F, QuerySet
from django.utils import timezone

from supportcenter.models import Account
from talk.models import Call, CallbackRequest, CallerRecording, QueueEntry
from talk.selectors.queue import waiting_q


def callback_request_list(*, account: Account, state: str | None = None, newest_first: bool = False) -> QuerySet[CallbackRequest]:
    rows = CallbackRequest.objects.filter(account=account).select_related("call")
    if state:
        rows = rows.filter(state=state)
    order = ("-queue_entered_at", "-pk") if newest_first else ("queue_entered_at", "pk")
    return rows.order_by(*order)


def access_callback_request(*, account: Account, request_id: int) -> CallbackRequest | None:
    """The callback request ``request_id`` of ``account``, or None.

    Security contract: another account's id answers None, exactly as a missing one (SPEC T3).
    """
    return CallbackRequest.objects.filter(account=account, pk=request_id).select_related("call").first()


def recording_awaited(*, call: Call) -> bool:
    """Whether the caller's name and reason are still to be recorded on this call (C14)."""
    return CallerRecording.objects.filter(
        account_id=call.account_id, request__call_id=call.pk, state=CallerRecording.State.AWAITED
    ).exists()


ESTIMATE_WINDOW = timedelta(hours=4)


def queue_position(*, entry: QueueEntry) -> tuple[int, int | None]:
    """(1-based place among everyone waiting on the line, estimated minutes or None) (C12).

    The estimate is the place times the average time callers of the last hours
    waited before being served; None when nobody was served lately.
    """
    waiting = QueueEntry.objects.filter(waiting_q(), account_id=entry.account_id, line_id=entry.line_id)
    position = waiting.filter(entered_at__lt=entry.entered_at).count() + 1
    average = (
        QueueEntry.objects.filter(
            account_id=entry.account_id, line_id=entry.line_id, state=QueueEntry.State.SERVED,
            left_at__gte=timezone.now() - ESTIMATE_WINDOW,
        )
        .aggregate(wait=Avg(F("left_at") - F("entered_at")))["wait"]
    )
    if average is None:
        return position, None
    return position, max(1, round(average.total_seconds() * position / 60))

