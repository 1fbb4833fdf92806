"""Reads of the core. Every one takes the account: nothing is loaded by id alone."""
from __future__ import annotations

from django.db.models import QuerySet

from supportcenter.models import Account, ApiToken, Membership


def active_memberships(*, account: Account) -> QuerySet[Membership]:
    """The account's active memberships: the one definition of who is a member (SPEC T3)."""
    return Membership.objects.filter(account=account, is_active=True)


def is_member(*, account: Account, user) -> bool:
    return active_memberships(account=account).filter(user=user).exists()


def member_list(*, account: Account) -> QuerySet[Membership]:
    return (
        active_memberships(account=account)
        .select_related("user")
        .order_by("user__name", "user__email")
    )


def api_token_list(*, account: Account) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(account=account).select_related("user").order_by("-created_at")


def access_api_token(*, account: Account, token_id: int) -> ApiToken | None:
    """The token ``token_id`` of ``account``, or None.

    Security contract: returns only a token of ``account``; another account's id
    answers None, exactly as a missing id does (SPEC T3).
    """
    return ApiToken.objects.filter(account=account, pk=token_id).first()


def access_member(*, account: Account, user_id: int) -> Membership | None:
    """The active membership of user ``user_id`` in ``account``, or None.

    Security contract: a user who is not an active member of ``account`` answers
    None, exactly as a missing id does (SPEC T3).
    """
    return active_memberships(account=account).filter(user_id=user_id).select_related("user").first()
