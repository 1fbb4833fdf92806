"""Reads for the agent console and the queue (SPEC R1, R13). Every one takes the account."""
from __future__ import annotations

from django.db.models import Count, Q

from supportcenter.models import Account, User
from talk.models import AgentPresence, CallbackRequest, Line, Offer, QueueEntry


def agent_presence(*, account: Account, user: User) -> AgentPresence | None:
    return AgentPresence.objects.filter(account=account, user=user).first()


def current_offer(*, account: Account, agent: User) -> Offer | None:
    """The agent's open offer (at most one, R2), with what the console shows."""
    return (
        Offer.objects.filter(account=account, agent=agent, state=Offer.State.OFFERED)
        .select_related("entry__line", "entry__call", "entry__callback_request")
        .first()
    )


def queue_counts(*, account: Account) -> list[dict]:
    """Per line: live callers and callbacks waiting now (SPEC D1, R13)."""
    # distinct: the two reverse joins multiply each other's rows.
    rows = Line.objects.filter(account=account).annotate(
        calls_waiting=Count(
            "queue_entries",
            filter=Q(queue_entries__state=QueueEntry.State.WAITING, queue_entries__kind=QueueEntry.Kind.LIVE,
                     queue_entries__call__ended_at__isnull=True),
            distinct=True,
        ),
        callbacks_waiting=Count(
            "callback_requests", filter=Q(callback_requests__state=CallbackRequest.State.PENDING), distinct=True
        ),
    ).order_by("name")
    return [
        {"line": line.pk, "name": line.name, "calls_waiting": line.calls_waiting, "callbacks_waiting": line.callbacks_waiting}
        for line in rows
    ]


def available_agent_count(*, account: Account) -> int:
    """Agents online or away: while there is one, callback is offered (SPEC C2)."""
    from talk.models.agents import CALLBACK_AVAILABLE_STATUSES

    return AgentPresence.objects.filter(account=account, status__in=CALLBACK_AVAILABLE_STATUSES).count()
