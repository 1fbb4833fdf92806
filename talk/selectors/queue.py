"""What "waiting" means (SPEC C15, R2): one definition for routing, the queue figures,
position announcements and the order-kept metric."""
from __future__ import annotations

from django.db.models import Q

from talk.models import Call, CallbackRequest, QueueEntry

# A caller in these stages is choosing a callback: still in line, but not offered as
# a live call (R2): they are not listening for an agent.
MENU_STAGES = (Call.Stage.MENU, Call.Stage.NUMBER_ENTRY, Call.Stage.CONFIRMING)


def waiting_q(prefix: str = "") -> Q:
    """Entries waiting now: a live caller still on the line, or a pending callback request.

    Every exit path closes its entry (talk.services), so ``state = waiting`` alone
    should say it; the rest keeps a lost provider event from counting a caller who left.
    ``prefix`` applies it across a relation (``"queue_entries__"``).
    """
    p = prefix
    return Q(**{f"{p}state": QueueEntry.State.WAITING}) & (
        Q(**{f"{p}kind": QueueEntry.Kind.LIVE, f"{p}call__isnull": False, f"{p}call__ended_at__isnull": True})
        | Q(**{f"{p}kind": QueueEntry.Kind.CALLBACK, f"{p}callback_request__state": CallbackRequest.State.PENDING})
    )


def routable_q() -> Q:
    """Waiting entries an agent may be offered now: not a caller in the callback menu (R2)."""
    return waiting_q() & ~Q(kind=QueueEntry.Kind.LIVE, call__stage__in=MENU_STAGES)
