"""An agent answers an offer: Call (accept) or Don't answer (decline) (SPEC R5-R7, R12).

The server re-checks each action whatever the console showed (R13), and concurrent
clicks have exactly one winner (R5): every check is part of a conditional UPDATE
that must change exactly one row, taken in the lock order of talk.lifecycle
(call, entry, request, offer, agent).
"""
from __future__ import annotations

from django.utils import timezone

from supportcenter.audit import audit_record
from supportcenter.db import atomic_with_retry
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from supportcenter.realtime import push_on_commit, user_group
from talk.enqueue import provider_job_add, wake_router
from talk.lifecycle import ENTRY, OFFER
from talk.models import Call, Offer, ProviderJob, QueueEntry
from talk.selectors.queue import MENU_STAGES
from talk.services.agents import agent_busy_start
from talk.services.callback_requests import callback_request_start

OFFER_GONE_MESSAGE = "This offer is no longer yours: it was withdrawn, timed out or already answered."


def _gone() -> ServiceError:
    return ServiceError(OFFER_GONE_MESSAGE, field="offer", code="offer_gone")


@atomic_with_retry
def offer_accept(*, account: Account, offer_id: int, agent: User) -> Offer:
    """The agent clicks Call (R5). Exactly one acceptance wins; a callback gets its
    ticket and its call is placed by a task; a live call is connected by a task."""
    offer = (
        Offer.objects.filter(account=account, pk=offer_id, agent=agent)
        .select_related("entry__line", "entry__callback_request")
        .first()
    )
    if offer is None:
        raise _gone()
    entry = offer.entry
    now = timezone.now()
    call = None
    if offer.kind == QueueEntry.Kind.LIVE:
        # The caller must still be holding and listening for an agent (R2).
        call = Call.objects.select_for_update(no_key=True).filter(account=account, pk=entry.call_id).first()
        if call is None or call.ended_at is not None or call.stage in MENU_STAGES:
            raise _gone()
    if not ENTRY.move(QueueEntry.objects.filter(pk=entry.pk, kind=offer.kind), QueueEntry.State.SERVED,
                      only_from=(QueueEntry.State.WAITING,), left_at=now):
        raise _gone()  # the caller hung up, or the request closed or changed kind meanwhile
    if offer.kind == QueueEntry.Kind.CALLBACK:
        attempt = callback_request_start(account=account, request=entry.callback_request, agent=agent, now=now)
    if not OFFER.move(Offer.objects.filter(pk=offer.pk, expires_at__gt=now), Offer.State.ACCEPTED,
                      responded_at=now):
        raise _gone()  # the transaction rolls everything above back
    offer.state, offer.responded_at = Offer.State.ACCEPTED, now
    if offer.kind == QueueEntry.Kind.CALLBACK:
        busy = agent_busy_start(account=account, user_id=agent.pk, attempt=attempt, now=now)
    else:
        Call.objects.filter(pk=call.pk).update(answered_by=agent, answered_at=now, outcome=Call.Outcome.ANSWERED)
        busy = agent_busy_start(account=account, user_id=agent.pk, call=call, now=now)
        provider_job_add(account_id=account.pk, kind=ProviderJob.Kind.CONNECT_LIVE_CALL, object_id=offer.pk)
    if not busy:
        raise _gone()  # routing offers only free agents; an agent busy since cannot take it
    audit_record(account=account, actor=agent, action="offer.accept", target=offer, kind=offer.kind)
    push_on_commit(user_group(account.pk, agent.pk), "offer.accepted", {"id": offer.pk})
    wake_router(account.pk)  # its pass tells the consoles the queue changed
    return offer


@atomic_with_retry
def offer_decline(*, account: Account, offer_id: int, agent: User) -> Offer:
    """Don't answer (R6): the entry stays at its original place; the next agent gets it."""
    now = timezone.now()
    if not OFFER.move(Offer.objects.filter(account=account, pk=offer_id, agent=agent), Offer.State.DECLINED,
                      responded_at=now):
        raise _gone()
    offer = Offer.objects.get(pk=offer_id)
    audit_record(account=account, actor=agent, action="offer.decline", target=offer, kind=offer.kind)
    push_on_commit(user_group(account.pk, agent.pk), "offer.withdrawn", {"id": offer.pk, "reason": "declined"})
    wake_router(account.pk)
    return offer
