from __future__ import annotations

from django.db import models

from supportcenter.models import Account, AuditEntry, User


def audit_record(
    *,
    account: Account,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    **data,
) -> AuditEntry:
    """Record who did what; call inside the service's transaction."""
    return AuditEntry.objects.create(
        account=account,
        actor=actor,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data,
    )
