"""Writes of the virtual queue: an entry leaves it (or comes back), its open offers go
(SPEC R2, C15). Every exit path of a caller or a request closes its entry here."""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from supportcenter.models import Account
from supportcenter.realtime import push_on_commit, user_group
from talk.enqueue import wake_router
from talk.lifecycle import ENTRY, OFFER
from talk.models import Offer, QueueEntry


def offers_withdraw(*, account: Account, entry_id: int, reason: str, now: datetime, push: bool = False) -> int:
    """Withdraw the entry's open offer, if any (its caller left, became a callback, ...).

    ``push``: tell the agent now. The webhooks' path pushes nothing (DESIGN flow 1);
    the routing pass they wake tells the consoles, which reload and explain it.
    """
    open_offers = list(
        Offer.objects.filter(account=account, entry_id=entry_id, state=Offer.State.OFFERED).values_list("pk", "agent_id")
    )
    if not open_offers:
        return 0
    withdrawn = OFFER.move(
        Offer.objects.filter(pk__in=[pk for pk, _agent in open_offers]), Offer.State.WITHDRAWN, responded_at=now
    )
    if push:
        for pk, agent_id in open_offers:
            push_on_commit(user_group(account.pk, agent_id), "offer.withdrawn", {"id": pk, "reason": reason})
    return withdrawn


def queue_entry_close(*, account: Account, entry_id: int, state: str, reason: str,
                      now: datetime | None = None, push: bool = False) -> bool:
    """A waiting entry leaves the queue (``state``: served elsewhere, abandoned, cancelled).

    Conditional: only a waiting entry closes, once; False when it had left already.
    """
    now = now or timezone.now()
    if not ENTRY.move(QueueEntry.objects.filter(account=account, pk=entry_id), state,
                      only_from=(QueueEntry.State.WAITING,), left_at=now):
        return False
    offers_withdraw(account=account, entry_id=entry_id, reason=reason, now=now, push=push)
    wake_router(account.pk)
    return True


def queue_entry_reopen(*, account: Account, entry_id: int) -> bool:
    """A served entry is back at its original place (its ``entered_at`` is kept, R2, R6):
    a callback whose agent never answered, a live caller the agent could not be connected to."""
    if not ENTRY.move(QueueEntry.objects.filter(account=account, pk=entry_id), QueueEntry.State.WAITING,
                      left_at=None):
        return False
    wake_router(account.pk)
    return True
