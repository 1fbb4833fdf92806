"""Writes of the core: people and API tokens. One transaction and one audit entry each."""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.dispatch import Signal
from django.utils import timezone

from supportcenter import tokens
from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import (
    GROUP_DESCRIPTION_LENGTH,
    GROUP_NAME_LENGTH,
    Account,
    ApiToken,
    Group,
    GroupMembership,
    Membership,
    User,
)
from supportcenter.selectors import (
    access_group,
    access_member,
    active_memberships,
    group_membership_exists,
    group_name_taken,
    is_member,
)

NOT_A_MEMBER_MESSAGE = "That user is not a member of this account."
DESCRIPTION_REQUIRED_MESSAGE = "Give the token a description."
DESCRIPTION_LENGTH = 200
DESCRIPTION_TOO_LONG_MESSAGE = f"Keep the description to {DESCRIPTION_LENGTH} characters."


@transaction.atomic
def membership_grant(
    *, account: Account, user: User, role: str, actor: User | None = None
) -> Membership:
    membership, _created = Membership.objects.update_or_create(
        account=account, user=user, defaults={"role": role, "is_active": True}
    )
    audit_record(account=account, actor=actor, action="membership.grant", target=membership, role=role)
    return membership


SUPERVISOR_ADMINS_ALREADY_MESSAGE = "Admins supervise the queue already: the supervisor role is for agents."
SUPERVISOR_ADMINS_ONLY_MESSAGE = "Only account admins can make an agent a supervisor."


@transaction.atomic
def membership_set_supervisor(*, account: Account, user_id: int, supervisor: bool, actor: User | None) -> Membership:
    """Make an agent a supervisor of ``account``, or an agent again (SPEC S1, S2): a supervisor
    sees and steers the callback queue. Admins only (``actor=None``: the system); a user who is
    not an active member of ``account`` is refused exactly like a missing one (T3)."""
    if actor is not None:
        acting = active_memberships(account=account).filter(user=actor).first()
        if acting is None or not acting.is_admin:
            raise ServiceError(SUPERVISOR_ADMINS_ONLY_MESSAGE, code="read_only")
    member = access_member(account=account, user_id=user_id)
    if member is None:
        raise ServiceError(NOT_A_MEMBER_MESSAGE, field="user_id", code="not_found")
    if member.is_admin:
        raise ServiceError(SUPERVISOR_ADMINS_ALREADY_MESSAGE, field="user_id")
    # Conditional: setting what is already set changes nothing and records nothing.
    changed = Membership.objects.filter(account=account, pk=member.pk, is_active=True).exclude(
        supervisor=supervisor
    ).update(supervisor=supervisor)
    member.supervisor = supervisor
    if changed:
        audit_record(account=account, actor=actor, action="membership.supervisor", target=member,
                     user=member.user_id, supervisor=supervisor)
    return member


@transaction.atomic
def api_token_create(
    *, account: Account, user: User, description: str, actor: User
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns it with the raw value, shown only once."""
    description = description.strip()
    if not description:
        raise ServiceError(DESCRIPTION_REQUIRED_MESSAGE, field="description")
    if len(description) > DESCRIPTION_LENGTH:  # never cut silently (issue 14)
        raise ServiceError(DESCRIPTION_TOO_LONG_MESSAGE, field="description", code="too_long")
    if not is_member(account=account, user=user):
        raise ServiceError(NOT_A_MEMBER_MESSAGE, field="user")
    raw = tokens.generate_token()
    token = ApiToken.objects.create(
        account=account,
        user=user,
        description=description,
        key_hash=tokens.hash_token(raw),
        key_prefix=raw[:6],
        created_by=actor,
    )
    audit_record(account=account, actor=actor, action="api_token.create", target=token, user=user.pk)
    return token, raw


@transaction.atomic
def api_token_revoke(*, account: Account, token: ApiToken, actor: User) -> ApiToken:
    # Conditional UPDATE: revoking twice is harmless and records one revocation.
    changed = ApiToken.objects.filter(account=account, pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    if changed:
        audit_record(account=account, actor=actor, action="api_token.revoke", target=token)
    return token


# --- Groups (issue 15) -----------------------------------------------------------
GROUP_NAME_REQUIRED_MESSAGE = "Give the group a name."
GROUP_NAME_TOO_LONG_MESSAGE = f"Keep the group's name to {GROUP_NAME_LENGTH} characters."
GROUP_NAME_TAKEN_MESSAGE = "Another group already has this name."
GROUP_DESCRIPTION_TOO_LONG_MESSAGE = f"Keep the description to {GROUP_DESCRIPTION_LENGTH} characters."
GROUP_NOT_FOUND_MESSAGE = "There is no such group."
GROUP_MEMBER_NOT_A_MEMBER_MESSAGE = "That user is not an agent or admin of this account."
GROUP_MEMBER_ALREADY_MESSAGE = "That user is already in this group."
_GROUP_FIELDS = frozenset({"name", "description", "default"})


def _group_apply(*, account: Account, group: Group, changes: dict) -> None:
    for field, value in changes.items():
        if field not in _GROUP_FIELDS:  # pragma: no cover - a programming error
            raise TypeError(f"Unknown group field {field!r}")
        if field == "default":
            group.is_default = bool(value)
            continue
        text = "" if value is None else str(value).strip()
        if field == "name":
            if not text:
                raise ServiceError(GROUP_NAME_REQUIRED_MESSAGE, field="name")
            if len(text) > GROUP_NAME_LENGTH:  # never cut silently (issue 14)
                raise ServiceError(GROUP_NAME_TOO_LONG_MESSAGE, field="name", code="too_long")
            if group_name_taken(account=account, name=text, exclude_id=group.pk):
                raise ServiceError(GROUP_NAME_TAKEN_MESSAGE, field="name", code="taken")
            group.name = text
        elif field == "description":
            if len(text) > GROUP_DESCRIPTION_LENGTH:
                raise ServiceError(GROUP_DESCRIPTION_TOO_LONG_MESSAGE, field="description", code="too_long")
            group.description = text


def _group_save(*, account: Account, group: Group) -> None:
    if group.is_default:  # one default per account: the new one takes over
        Group.objects.filter(account=account, is_default=True).exclude(pk=group.pk).update(is_default=False)
    try:
        with transaction.atomic():  # another request may have taken the name since the check
            group.save()
    except IntegrityError:
        raise ServiceError(GROUP_NAME_TAKEN_MESSAGE, field="name", code="taken") from None


def groups_for_use(*, account: Account, group_ids, field: str, message: str = GROUP_NOT_FOUND_MESSAGE) -> list[Group]:
    """The groups of ``account`` with these ids, for a write that names them (a line's
    routing groups, a callback request's own): locked (``FOR NO KEY UPDATE``, in id order)
    until the transaction ends, so :func:`group_delete`, which refuses a group in use, waits
    for that write and then sees it. An id of no group of ``account`` (another account's
    too: SPEC T3) is refused, naming ``field``. Call inside a transaction."""
    ids = sorted(set(group_ids))
    if not all(0 < group_id < 2**63 for group_id in ids):
        raise ServiceError(message, field=field)
    found = list(Group.objects.filter(account=account, pk__in=ids).order_by("pk").select_for_update(no_key=True))
    if len(found) != len(ids):
        raise ServiceError(message, field=field)
    return found


@transaction.atomic
def group_create(
    *, account: Account, actor: User | None, name: str, description: str = "", default: bool = False
) -> Group:
    group = Group(account=account)
    _group_apply(account=account, group=group, changes={"name": name, "description": description, "default": default})
    _group_save(account=account, group=group)
    audit_record(account=account, actor=actor, action="group.create", target=group, name=group.name)
    return group


@transaction.atomic
def group_update(*, account: Account, group: Group, actor: User | None, **changes) -> Group:
    target = Group.objects.select_for_update().get(account=account, pk=group.pk)
    _group_apply(account=account, group=target, changes=changes)
    _group_save(account=account, group=target)
    audit_record(account=account, actor=actor, action="group.update", target=target, fields=sorted(changes))
    return target


# Asked before a group is deleted: "what of yours still uses this group?" Each receiver
# answers a list of plain descriptions ('the line "Main line"'); talk answers for the lines
# and callback requests that route to it (SPEC R14). The core cannot import the apps that
# use groups (the dependency direction), so it asks whoever listens.
group_uses = Signal()
GROUP_IN_USE_MESSAGE = "This group is in use by {uses}. Take it off them before deleting it."


def _group_in_use(uses: list[str]) -> ServiceError:
    return ServiceError(GROUP_IN_USE_MESSAGE.format(uses=" and ".join(uses)), field="base", code="in_use")


@transaction.atomic
def group_delete(*, account: Account, group: Group, actor: User | None) -> None:
    """Delete the group and its memberships; refused (``in_use``, 409 in the API) while
    anything routes to it (R14).

    The row lock makes the check hold until the delete commits: naming the group
    elsewhere (a line's groups, a request's) checks its foreign key with a lock that
    waits for this one, and a use committed first is seen by the check.
    """
    target = Group.objects.select_for_update().filter(account=account, pk=group.pk).first()
    if target is None:
        return  # deleted meanwhile: nothing left to do
    uses = [use for _receiver, answer in group_uses.send(sender=Group, account=account, group=target)
            for use in (answer or ())]
    if uses:
        raise _group_in_use(uses)
    audit_record(account=account, actor=actor, action="group.delete", target=target, name=target.name)
    GroupMembership.objects.filter(account=account, group=target).delete()
    try:
        with transaction.atomic():
            Group.objects.filter(account=account, pk=target.pk).delete()
    except ProtectedError as error:  # a protecting reference no receiver described
        raise _group_in_use([str(obj) for obj in error.protected_objects]) from None


@transaction.atomic
def group_membership_create(*, account: Account, actor: User | None, group_id: int, user_id: int) -> GroupMembership:
    """Put user ``user_id`` in group ``group_id``, both of ``account`` (ids of another account:
    refused exactly as missing ones)."""
    group = access_group(account=account, group_id=group_id)
    if group is None:
        raise ServiceError(GROUP_NOT_FOUND_MESSAGE, field="group_id")
    member = access_member(account=account, user_id=user_id)
    if member is None:
        raise ServiceError(GROUP_MEMBER_NOT_A_MEMBER_MESSAGE, field="user_id")
    if group_membership_exists(account=account, group=group, user_id=member.user_id):
        raise ServiceError(GROUP_MEMBER_ALREADY_MESSAGE, field="user_id", code="taken")
    try:
        with transaction.atomic():  # the same pair may have been added since the check
            membership = GroupMembership.objects.create(account=account, group=group, user=member.user)
    except IntegrityError:
        raise ServiceError(GROUP_MEMBER_ALREADY_MESSAGE, field="user_id", code="taken") from None
    audit_record(
        account=account, actor=actor, action="group_membership.create", target=membership,
        group=group.pk, user=member.user_id,
    )
    return membership


@transaction.atomic
def group_membership_delete(*, account: Account, membership: GroupMembership, actor: User | None) -> None:
    """Take a user out of a group. Routing (talk, R14) reads memberships at each pass: the
    user is offered nothing more of the group's lines from the next pass, but an offer
    they already hold stays theirs until they answer it or it times out (taking it back
    mid-ring would race their click); their decline of it then no longer counts towards
    "declined by all" for an entry they may not take."""
    audit_record(
        account=account, actor=actor, action="group_membership.delete", target=membership,
        group=membership.group_id, user=membership.user_id,
    )
    GroupMembership.objects.filter(account=account, pk=membership.pk).delete()
