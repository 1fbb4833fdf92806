"""Reads of the core. Every one takes the account: nothing is loaded by id alone."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from supportcenter.models import Account, ApiToken, Group, GroupMembership, Membership


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


# --- Users and groups (issue 15) ----------------------------------------------------
MAX_ID = 2**63 - 1


def user_list(*, account: Account, role: str | None = None, descending: bool = False) -> QuerySet[Membership]:
    """The account's active members (the API's users), oldest membership first."""
    members = active_memberships(account=account).select_related("user")
    if role:
        members = members.filter(role=role)
    order = ("-created_at", "-pk") if descending else ("created_at", "pk")
    return members.order_by(*order)


def user_many(*, account: Account, user_ids: list[int]) -> QuerySet[Membership]:
    """The active members among ``user_ids``; ids of no member (another account's) are absent."""
    wanted = [user_id for user_id in user_ids if 0 < user_id <= MAX_ID]
    return user_list(account=account).filter(user_id__in=wanted)


def user_search(*, account: Account, query: str) -> QuerySet[Membership]:
    """Active members whose name or e-mail contains ``query`` (case-insensitive)."""
    return user_list(account=account).filter(Q(user__name__icontains=query) | Q(user__email__icontains=query))


def group_list(*, account: Account, descending: bool = False) -> QuerySet[Group]:
    order = ("-created_at", "-pk") if descending else ("created_at", "pk")
    return Group.objects.filter(account=account).order_by(*order)


def access_group(*, account: Account, group_id: int) -> Group | None:
    """The group ``group_id`` of ``account``, or None.

    Security contract: another account's id answers None, exactly as a missing id does (SPEC T3).
    """
    if not 0 < group_id <= MAX_ID:
        return None
    return Group.objects.filter(account=account, pk=group_id).first()


def group_name_taken(*, account: Account, name: str, exclude_id: int | None = None) -> bool:
    groups = Group.objects.filter(account=account, name__iexact=name)
    if exclude_id is not None:
        groups = groups.exclude(pk=exclude_id)
    return groups.exists()


def group_membership_list(
    *, account: Account, user_id: int | None = None, group_id: int | None = None, descending: bool = False
) -> QuerySet[GroupMembership]:
    """Memberships of the account's groups, of users still active members of the account."""
    memberships = GroupMembership.objects.filter(
        account=account,
        user__memberships__account=account,
        user__memberships__is_active=True,
    )
    if user_id is not None:
        memberships = memberships.filter(user_id=user_id)
    if group_id is not None:
        memberships = memberships.filter(group_id=group_id)
    order = ("-created_at", "-pk") if descending else ("created_at", "pk")
    return memberships.order_by(*order)


def access_group_membership(*, account: Account, membership_id: int) -> GroupMembership | None:
    """The group membership ``membership_id`` of ``account``, or None.

    Security contract: another account's id answers None, exactly as a missing id does (SPEC T3).
    """
    if not 0 < membership_id <= MAX_ID:
        return None
    return group_membership_list(account=account).filter(pk=membership_id).first()


def group_membership_exists(*, account: Account, group: Group, user_id: int) -> bool:
    return GroupMembership.objects.filter(account=account, group=group, user_id=user_id).exists()
