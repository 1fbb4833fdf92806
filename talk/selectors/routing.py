"""Reads for the agent console and the queue (SPEC R1, R13). Every one takes the account."""
from __future__ import annotations

from django.db.models import Count, Q

from supportcenter.models import Account, User
from talk.models import AgentPresence, Line, Offer, QueueEntry
from talk.models.agents import CALLBACK_AVAILABLE_STATUSES
from talk.selectors.queue import waiting_q


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
    """Per line: live callers and callbacks waiting now (SPEC D1, R13; "waiting" as routing means it, C15)."""
    counts = {
        row["line_id"]: row
        for row in QueueEntry.objects.filter(waiting_q(), account=account)
        .values("line_id")
        .annotate(
            calls=Count("pk", filter=Q(kind=QueueEntry.Kind.LIVE)),
            callbacks=Count("pk", filter=Q(kind=QueueEntry.Kind.CALLBACK)),
        )
        .order_by()
    }
    return [
        {
            "line": line.pk,
            "name": line.name,
            "calls_waiting": counts.get(line.pk, {}).get("calls", 0),
            "callbacks_waiting": counts.get(line.pk, {}).get("callbacks", 0),
        }
        for line in Line.objects.filter(account=account).order_by("name")
    ]


def available_agent_count(*, account: Account) -> int:
    """Agents online or away: while there is one, callback is offered (SPEC C2)."""
    return AgentPresence.objects.filter(account=account, status__in=CALLBACK_AVAILABLE_STATUSES).count()
