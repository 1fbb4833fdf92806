"""Writes of agents' Talk presence (SPEC R1, C2)."""
from __future__ import annotations

from django.db import transaction

from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import Account, Membership, User
from supportcenter.realtime import account_group, push_on_commit
from talk.models import AgentPresence

STATUS_INVALID_MESSAGE = "Choose online, away, transfers only or offline."
NOT_A_MEMBER_MESSAGE = "That user is not a member of this account."


@transaction.atomic
def agent_status_set(*, account: Account, user: User, status: str, actor: User) -> AgentPresence:
    if status not in AgentPresence.Status.values:
        raise ServiceError(STATUS_INVALID_MESSAGE, field="status")
    if not Membership.objects.filter(account=account, user=user, is_active=True).exists():
        raise ServiceError(NOT_A_MEMBER_MESSAGE, field="user")
    presence, _created = AgentPresence.objects.select_for_update().get_or_create(account=account, user=user)
    if presence.status != status:
        previous = presence.status
        presence.status = status
        presence.save(update_fields=["status", "updated_at"])
        audit_record(account=account, actor=actor, action="talk.agent_status", target=presence,
                     previous=previous, status=status)
        event = {"user": user.pk, "status": status}
        # Every console of the account (the agent's own included) is in the account group.
        push_on_commit(account_group(account.pk), "agent.status", event)
    return presence


DEVICE_INVALID_MESSAGE = (
    "Enter a phone number in international form (e.g. +14155550123) or a SIP address (e.g. sip:bob@pbx.example.com)."
)


@transaction.atomic
def agent_device_set(*, account: Account, user: User, device: str, actor: User) -> AgentPresence:
    """Where a callback rings the agent first (R5): an E.164 number or a SIP URI; blank clears it."""
    from talk.phone import is_sip_uri, parse_caller_id

    value = (device or "").strip()
    if value:
        if is_sip_uri(value):
            if len(value) > 255 or any(ch.isspace() for ch in value):
                raise ServiceError(DEVICE_INVALID_MESSAGE, field="device")
        else:
            # Not through parse_caller_id's SIP branch: a SIP URI is kept whole, a number becomes E.164.
            parsed = parse_caller_id(value, account.region)
            if parsed is None:
                raise ServiceError(DEVICE_INVALID_MESSAGE, field="device")
            value = parsed
    if not Membership.objects.filter(account=account, user=user, is_active=True).exists():
        raise ServiceError(NOT_A_MEMBER_MESSAGE, field="user")
    presence, _created = AgentPresence.objects.select_for_update().get_or_create(account=account, user=user)
    if presence.device != value:
        previous = presence.device
        presence.device = value
        presence.save(update_fields=["device", "updated_at"])
        audit_record(account=account, actor=actor, action="talk.agent_device", target=presence,
                     previous=previous, device=value)
    return presence
