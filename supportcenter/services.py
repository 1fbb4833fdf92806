"""Writes of the core: people and API tokens. One transaction and one audit entry each."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from supportcenter import tokens
from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import Account, ApiToken, Membership, User
from supportcenter.selectors import is_member

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
