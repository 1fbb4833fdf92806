"""Writes of routing: an agent accepts or declines an offer; a request closes (SPEC R5-R12).

Every decision is a conditional UPDATE that must change exactly one row, so the
server re-checks each action whatever the console showed (R13) and concurrent
clicks have exactly one winner (R5).
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from supportcenter.realtime import account_group, push_on_commit, user_group
from talk.models import AgentPresence, Call, CallbackRequest, Offer, QueueEntry
from tickets import services as tickets
from tickets.models import Ticket, Via

OFFER_GONE_MESSAGE = "This offer is no longer yours: it was withdrawn, timed out or already answered."
TICKET_SUBJECT = "Callback request"  # the seed's subject (R8)

CLOSE_NOTES = {
    CallbackRequest.State.DECLINED: "Every agent declined the callback request (or was offline or on transfers only); it was cancelled.",
    CallbackRequest.State.EXPIRED: "No agent accepted the callback request within {minutes} minutes; it expired and was cancelled.",
}


def wake_router(account_id: int) -> None:
    """Route again after this transaction commits (the sweep catches a lost wake-up)."""
    from talk.tasks import enqueue_route

    transaction.on_commit(lambda: enqueue_route(account_id))


def _open_offer(account: Account, offer_id: int, agent: User) -> Offer:
    """Claim the agent's open offer: a conditional UPDATE that must change one row."""
    now = timezone.now()
    claimed = Offer.objects.filter(
        account=account, pk=offer_id, agent=agent, state=Offer.State.OFFERED, expires_at__gt=now
    ).update(state=Offer.State.ACCEPTED, responded_at=now)
    if claimed != 1:
        raise ServiceError(OFFER_GONE_MESSAGE, field="offer", code="offer_gone")
    return Offer.objects.select_related("entry__line", "entry__call", "entry__callback_request").get(pk=offer_id)


def _ticket_for(account: Account, request: CallbackRequest, actor: User | None, note: str) -> Ticket:
    """One ticket per request (R12): made on first need, then every event is a comment on it."""
    if request.ticket_id:
        ticket = Ticket.objects.get(account=account, pk=request.ticket_id)
        tickets.comment_add(account=account, ticket=ticket, body=note, public=False, author=None)
        return ticket
    requester = tickets.end_user_get_or_create_by_phone(account=account, phone=request.number)
    ticket = tickets.ticket_create(
        account=account,
        subject=TICKET_SUBJECT,
        description=(
            f"Callback requested on {request.line.name} for {request.number}"
            f" ({'confirmed by the caller' if request.confirmed else 'captured when the caller hung up after the key'})."
        ),
        requester=requester,
        via=Via.VOICE,
        actor=actor,
        assignee=actor,
        internal_note=note,
    )
    CallbackRequest.objects.filter(pk=request.pk).update(ticket=ticket)
    request.ticket = ticket
    return ticket


def callback_request_note(*, account: Account, request: CallbackRequest, note: str) -> None:
    """An internal comment on the request's ticket, making the ticket if it has none yet (R10, R12)."""
    _ticket_for(account, request, None, note)


@transaction.atomic
def offer_accept(*, account: Account, offer_id: int, agent: User) -> Offer:
    """The agent clicks Call (R5). Exactly one acceptance wins; a callback gets its
    ticket and its call is placed by a task; a live call is connected by a task."""
    offer = _open_offer(account, offer_id, agent)
    entry = offer.entry
    now = offer.responded_at
    served = QueueEntry.objects.filter(pk=entry.pk, state=QueueEntry.State.WAITING).update(
        state=QueueEntry.State.SERVED, left_at=now
    )
    if served != 1:  # the caller hung up or the request closed meanwhile
        raise ServiceError(OFFER_GONE_MESSAGE, field="offer", code="offer_gone")
    AgentPresence.objects.filter(account=account, user=agent).update(busy=True)
    if entry.kind == QueueEntry.Kind.CALLBACK:
        _start_callback(account, entry.callback_request, agent, now)
    else:
        Call.objects.filter(pk=entry.call_id).update(answered_by=agent, answered_at=now, outcome=Call.Outcome.ANSWERED)
        from talk.tasks import enqueue_connect_live_call

        transaction.on_commit(lambda: enqueue_connect_live_call(offer.pk))
    audit_record(account=account, actor=agent, action="talk.offer.accept", target=offer, kind=offer.kind)
    push_on_commit(user_group(account.pk, agent.pk), "offer.accepted", {"id": offer.pk})
    push_on_commit(account_group(account.pk), "queue.changed", {"line": entry.line_id})
    wake_router(account.pk)
    return offer


def _start_callback(account: Account, request: CallbackRequest, agent: User, now: datetime) -> None:
    older_waiting = QueueEntry.objects.filter(
        account=account, line_id=request.line_id, state=QueueEntry.State.WAITING, entered_at__lt=request.queue_entered_at
    ).exists()
    CallbackRequest.objects.filter(pk=request.pk).update(
        state=CallbackRequest.State.IN_PROGRESS, accepted_by=agent, started_at=now, served_in_order=not older_waiting
    )
    _ticket_for(account, request, agent, f"{agent.name} accepted the callback request and is calling {request.number}.")
    from talk.services.callback_calls import callback_attempt_schedule

    callback_attempt_schedule(account=account, request_id=request.pk, agent=agent, when=now)


@transaction.atomic
def offer_decline(*, account: Account, offer_id: int, agent: User) -> Offer:
    """Don't answer (R6): the entry stays at its original place; the next agent gets it."""
    now = timezone.now()
    declined = Offer.objects.filter(
        account=account, pk=offer_id, agent=agent, state=Offer.State.OFFERED
    ).update(state=Offer.State.DECLINED, responded_at=now)
    if declined != 1:
        raise ServiceError(OFFER_GONE_MESSAGE, field="offer", code="offer_gone")
    offer = Offer.objects.get(pk=offer_id)
    audit_record(account=account, actor=agent, action="talk.offer.decline", target=offer, kind=offer.kind)
    push_on_commit(user_group(account.pk, agent.pk), "offer.withdrawn", {"id": offer.pk, "reason": "declined"})
    wake_router(account.pk)
    return offer


def callback_request_close(*, account: Account, request: CallbackRequest, state: str, now: datetime) -> bool:
    """Cancel a pending request (declined by all, R8; expired, R9) with its ticket.

    Conditional: only a pending request closes, once. Runs inside the routing pass.
    """
    closed = CallbackRequest.objects.filter(pk=request.pk, state=CallbackRequest.State.PENDING).update(
        state=state, outcome=state, ended_at=now
    )
    if not closed:
        return False
    QueueEntry.objects.filter(pk=request.queue_entry_id, state=QueueEntry.State.WAITING).update(
        state=QueueEntry.State.CANCELLED, left_at=now
    )
    open_offers = list(Offer.objects.filter(entry_id=request.queue_entry_id, state=Offer.State.OFFERED))
    Offer.objects.filter(pk__in=[o.pk for o in open_offers]).update(state=Offer.State.WITHDRAWN, responded_at=now)
    for offer in open_offers:
        push_on_commit(user_group(account.pk, offer.agent_id), "offer.withdrawn", {"id": offer.pk, "reason": state})
    note = CLOSE_NOTES[state].format(minutes=request.line.callback_expiry_minutes)
    _ticket_for(account, request, None, note)
    audit_record(account=account, actor=None, action=f"callback_request.{state}", target=request)
    push_on_commit(account_group(account.pk), "queue.changed", {"line": request.line_id})
    return True
