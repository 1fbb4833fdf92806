"""Reads of the agent console and its API (SPEC R1, R5, R6, R13). Every one takes the account."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from supportcenter.models import Account, User
from supportcenter.tenancy import account_zone
from talk.models import AgentPresence, Offer
from talk.routing import offer_payload
from talk.selectors.routing import agent_presence, current_offer, queue_counts

RECENT_OFFERS = 10


def access_agent_offer(*, account: Account, agent: User, offer_id: int) -> Offer | None:
    """The offer ``offer_id`` made to ``agent`` in ``account`` (any state), or None.

    Security contract: another account's offer, and another agent's offer of the
    same account, answer None exactly as a missing one (SPEC T3, R5). The state is
    not checked here: the accept/decline services re-check it in their conditional
    UPDATE, so a stale offer answers "offer gone" (409), not 404.
    """
    return Offer.objects.filter(account=account, agent=agent, pk=offer_id).first()


def availability(*, account: Account, user: User) -> dict:
    """The agent's presence in the reference's availability shape (SPEC R1, A1). No row: offline."""
    presence = agent_presence(account=account, user=user)
    state = presence.status if presence else AgentPresence.Status.OFFLINE
    busy = bool(presence and presence.busy)
    return {
        "agent_state": state,
        "call_status": "on_call" if busy else None,
        "via": "client",
        "available": state == AgentPresence.Status.ONLINE and not busy,
    }


def agent_device(*, account: Account, user: User) -> str:
    presence = agent_presence(account=account, user=user)
    return presence.device if presence else ""


def current_offer_payload(*, account: Account, agent: User) -> dict | None:
    offer = current_offer(account=account, agent=agent)
    return offer_payload(offer) if offer is not None else None


def _local_iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """ISO-8601 with the account zone's offset: its wall time is the one the page shows."""
    return moment.astimezone(zone).isoformat() if moment is not None else None


def recent_activity(*, account: Account, agent: User, limit: int = RECENT_OFFERS) -> list[dict]:
    """The agent's last offers and what became of them, newest first, times in the account's zone."""
    zone = account_zone(account)
    rows = (
        Offer.objects.filter(account=account, agent=agent)
        .exclude(state=Offer.State.OFFERED)
        .select_related("entry__line", "entry__call", "entry__callback_request__ticket")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        {
            **offer_payload(offer),
            "ticket": _ticket_number(offer),
            "state": offer.state,
            "state_label": offer.get_state_display(),
            "offered_at": _local_iso(offer.created_at, zone),
            "responded_at": _local_iso(offer.responded_at, zone),
        }
        for offer in rows
    ]


def _ticket_number(offer: Offer) -> int | None:
    request = getattr(offer.entry, "callback_request", None) if offer.entry.kind == "callback" else None
    return request.ticket.number if request is not None and request.ticket_id else None


def console_state(*, account: Account, user: User) -> dict:
    """Everything the console shows, authoritative: what the page reloads after each hint (R13)."""
    zone = account_zone(account)
    return {
        "user": {"id": user.pk, "name": user.name},
        "availability": availability(account=account, user=user),
        "device": agent_device(account=account, user=user),
        "offer": current_offer_payload(account=account, agent=user),
        "queues": queue_counts(account=account),
        "recent": recent_activity(account=account, agent=user),
        "server_time": _local_iso(timezone.now(), zone),
        # The console formats times in this zone, whatever the browser's (docs/conventions.md, "Times").
        "time_zone": zone.key,
    }
