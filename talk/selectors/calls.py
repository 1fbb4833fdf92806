"""Reads of calls and callback requests. Every one takes the account."""
from __future__ import annotations

from django.db.models import QuerySet

from supportcenter.models import Account
from talk.models import CallbackRequest


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
