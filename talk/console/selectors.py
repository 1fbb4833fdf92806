"""Reads of the agent console and its API (SPEC R1, R5, R6, R13). Every one takes the account."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from supportcenter.models import Account, User
from supportcenter.tenancy import account_zone
from talk.models import AgentPresence, CallbackAttempt, CallbackRequest, Offer
from talk.routing import offer_payload
from talk.selectors.routing import agent_presence, current_offer, queue_counts
from talk.services.supervision import CALL_LATER_WINDOW, FAILED_REACHABLE_OUTCOMES, MAX_SCHEDULE_AHEAD

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
        .select_related("entry__line", "entry__call", "entry__callback_request__ticket", "entry__callback_request__recording")
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


# --- "Call later" (R16): an offered callback, or one the agent just could not reach ----------
def access_agent_callback(*, account: Account, agent: User, request_id: int) -> CallbackRequest | None:
    """The callback request ``request_id`` of ``account`` that was offered to ``agent`` or
    that ``agent`` tried to call, or None.

    Security contract: another account's request, and a request that never came to this
    agent, answer None exactly as a missing one (SPEC T3). Whether the agent may still
    reschedule it is not decided here (``may_call_later``, and the service again).
    """
    mine = Q(Exists(Offer.objects.filter(account=account, agent=agent, entry_id=OuterRef("queue_entry_id")))) | Q(
        Exists(CallbackAttempt.objects.filter(account=account, agent=agent, request_id=OuterRef("pk"))))
    return (CallbackRequest.objects.filter(mine, account=account, pk=request_id)
            .select_related("line").first())


def not_reached(*, account: Account, agent: User, now: datetime | None = None) -> list[dict]:
    """Callbacks ``agent`` just tried and could not reach (no answer, busy) with no retry
    left, newest first: the ones they may still "Call later" (R16), for CALL_LATER_WINDOW
    after the attempt ended."""
    now = now or timezone.now()
    zone = account_zone(account)
    latest = (CallbackAttempt.objects.filter(account=account, request_id=OuterRef("request_id"))
              .order_by("-number").values("pk")[:1])
    attempts = (
        CallbackAttempt.objects.filter(
            account=account, agent=agent, ended_at__gte=now - CALL_LATER_WINDOW, pk=Subquery(latest),
            request__state=CallbackRequest.State.FAILED, request__outcome__in=FAILED_REACHABLE_OUTCOMES,
        )
        .select_related("request__line", "request__ticket")
        .order_by("-ended_at", "-pk")[:RECENT_OFFERS]
    )
    return [
        {
            "callback_request_id": attempt.request_id,
            "number": attempt.request.number,
            "line": {"id": attempt.request.line_id, "name": attempt.request.line.name},
            "result": attempt.request.outcome,
            "result_label": attempt.request.get_outcome_display(),
            "ended_at": _local_iso(attempt.ended_at, zone),
            "call_later_until": _local_iso(attempt.ended_at + CALL_LATER_WINDOW, zone),
            "ticket": attempt.request.ticket.number if attempt.request.ticket_id else None,
        }
        for attempt in attempts
    ]


def scheduled_for_agent(*, account: Account, agent: User, now: datetime | None = None, limit: int = RECENT_OFFERS) -> list[dict]:
    """Pending callbacks assigned to ``agent`` that are due later (R15, R16), soonest first:
    what they said they would call later, so the console can remind them."""
    now = now or timezone.now()
    zone = account_zone(account)
    rows = (
        CallbackRequest.objects.filter(account=account, assignee=agent, state=CallbackRequest.State.PENDING,
                                       scheduled_for__gt=now)
        .select_related("line").order_by("scheduled_for", "pk")[:limit]
    )
    return [
        {
            "callback_request_id": request.pk,
            "number": request.number,
            "line": {"id": request.line_id, "name": request.line.name},
            "scheduled_for": _local_iso(request.scheduled_for, zone),
        }
        for request in rows
    ]


def may_call_later(*, account: Account, agent: User, request: CallbackRequest, now: datetime | None = None) -> bool:
    """The console's own rule (the service checks agents again): the request is offered to
    ``agent`` now, or is one of the callbacks they just could not reach. Admins and
    supervisors are held to it here too: the console acts on the agent's own work."""
    if request.state == CallbackRequest.State.PENDING:
        return Offer.objects.filter(account=account, agent=agent, entry_id=request.queue_entry_id,
                                    state=Offer.State.OFFERED).exists()
    return any(item["callback_request_id"] == request.pk for item in not_reached(account=account, agent=agent, now=now))


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
        "not_reached": not_reached(account=account, agent=user),
        "scheduled": scheduled_for_agent(account=account, agent=user),
        "call_later_max_days": MAX_SCHEDULE_AHEAD.days,
        "server_time": _local_iso(timezone.now(), zone),
        # The console formats times in this zone, whatever the browser's (docs/conventions.md, "Times").
        "time_zone": zone.key,
    }
