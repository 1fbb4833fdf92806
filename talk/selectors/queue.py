"""What "waiting" means (SPEC C15, R2): one definition for routing, the queue figures,
position announcements and the order-kept metric."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Case, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from talk.models import Call, CallbackRequest, Offer, QueueEntry

# A caller in these stages is choosing a callback: still in line, but not offered as
# a live call (R2): they are not listening for an agent.
MENU_STAGES = (Call.Stage.MENU, Call.Stage.NUMBER_ENTRY, Call.Stage.CONFIRMING)


def waiting_q(prefix: str = "", now: datetime | None = None) -> Q:
    """Entries waiting now: a live caller still on the line, or a pending callback request
    that is due (not scheduled for a later time: it left the queue until then, R16).

    Every exit path closes its entry (talk.services), so ``state = waiting`` alone
    should say it; the rest keeps a lost provider event from counting a caller who left.
    ``prefix`` applies it across a relation (``"queue_entries__"``).
    """
    p = prefix
    return Q(**{f"{p}state": QueueEntry.State.WAITING}) & (
        Q(**{f"{p}kind": QueueEntry.Kind.LIVE, f"{p}call__isnull": False, f"{p}call__ended_at__isnull": True})
        | (Q(**{f"{p}kind": QueueEntry.Kind.CALLBACK, f"{p}callback_request__state": CallbackRequest.State.PENDING})
           & ~scheduled_later_q(f"{p}callback_request__", now))
    )


def scheduled_later_q(prefix: str = "", now: datetime | None = None) -> Q:
    """Callback requests scheduled for a time still to come (R16): not in the queue yet.
    ``prefix``: across a relation (``"callback_request__"`` from a queue entry)."""
    return Q(**{f"{prefix}scheduled_for__gt": Now() if now is None else now})


def routable_q(now: datetime | None = None) -> Q:
    """Waiting entries an agent may be offered now: not a caller in the callback menu (R2),
    not a callback scheduled for later (R16)."""
    return waiting_q(now=now) & ~Q(kind=QueueEntry.Kind.LIVE, call__stage__in=MENU_STAGES)


def waiting_or_scheduled_q(now: datetime | None = None) -> Q:
    """Waiting entries (``waiting_q``) and the pending callbacks scheduled for later: what a
    supervisor sees of the queue (S1)."""
    later = Q(state=QueueEntry.State.WAITING, kind=QueueEntry.Kind.CALLBACK,
              callback_request__state=CallbackRequest.State.PENDING) & scheduled_later_q("callback_request__", now)
    return waiting_q(now=now) | later


def routing_order() -> tuple:
    """``order_by`` arguments for routable entries in the order routing offers them (R2, R16):
    first the due scheduled callbacks by their time (it was promised: ahead of the queue),
    then everyone else by their original place (entered_at, pk)."""
    return (
        Case(When(callback_request__scheduled_for__isnull=False, then=Value(0)), default=Value(1),
             output_field=IntegerField()),
        F("callback_request__scheduled_for").asc(nulls_last=True),
        "entered_at",
        "pk",
    )


def with_first_offer(requests: QuerySet[CallbackRequest]) -> QuerySet[CallbackRequest]:
    """Annotate ``first_offered_at``: the first offer of a scheduled request at or after its
    time (R16's lateness); None when not scheduled or not offered since."""
    first = (Offer.objects.filter(entry_id=OuterRef("queue_entry_id"), created_at__gte=OuterRef("scheduled_for"))
             .order_by("created_at").values("created_at")[:1])
    return requests.annotate(first_offered_at=Subquery(first))


def late_seconds(request: CallbackRequest, now: datetime | None = None) -> int | None:
    """How late a scheduled callback was offered (R16): its first offer at or after its time
    minus that time; while still waiting past its time, how late it is so far; None when it
    is not scheduled, not due yet, or ended without an offer."""
    if request.scheduled_for is None:
        return None
    offered = getattr(request, "first_offered_at", None)
    if offered is None:
        now = now or timezone.now()
        if request.state != CallbackRequest.State.PENDING or now < request.scheduled_for:
            return None
        offered = now
    return max(0, int((offered - request.scheduled_for).total_seconds()))
