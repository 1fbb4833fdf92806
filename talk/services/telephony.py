"""Writes of the account's telephony provider settings (SPEC T5, O1) and how long callers'
recordings are kept (SPEC C14)."""
from __future__ import annotations

import re
import secrets

from django.db import transaction

from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from talk import crypto
from talk.models import TelephonySettings

PROVIDER_INVALID_MESSAGE = "Choose the provider: simulator or twilio."
TWILIO_SID_INVALID_MESSAGE = "A Twilio account SID is AC followed by 32 hexadecimal characters."
TWILIO_SID_REQUIRED_MESSAGE = "Enter the Twilio account SID to use Twilio."
TWILIO_TOKEN_INVALID_MESSAGE = "A Twilio auth token is 32 hexadecimal characters."
TWILIO_TOKEN_REQUIRED_MESSAGE = "Enter the Twilio auth token to use Twilio."
RECORDING_RETENTION_MIN_DAYS = 1
RECORDING_RETENTION_MAX_DAYS = 365
RECORDING_RETENTION_MESSAGE = (
    f"Keep callers' recordings for a whole number of days from {RECORDING_RETENTION_MIN_DAYS} "
    f"to {RECORDING_RETENTION_MAX_DAYS}."
)

_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
_TOKEN_RE = re.compile(r"^[0-9a-fA-F]{32}$")


def telephony_settings_ensure(*, account: Account) -> TelephonySettings:
    """The account's settings row, created (with a simulator signing secret) on first use."""
    settings_row = TelephonySettings.objects.filter(account=account).first()
    if settings_row is not None:
        return settings_row
    settings_row, _created = TelephonySettings.objects.get_or_create(
        account=account,
        defaults={"simulator_auth_token_encrypted": crypto.encrypt(secrets.token_hex(16))},
    )
    return settings_row


@transaction.atomic
def telephony_settings_update(
    *,
    account: Account,
    actor: User | None,
    provider: str | None = None,
    twilio_account_sid: str | None = None,
    twilio_auth_token: str | None = None,
    recording_retention_days: int | None = None,
) -> TelephonySettings:
    """Change the provider, the Twilio credentials and the recordings' retention.

    ``None`` keeps a setting as it is. A blank token keeps the stored one too: the token
    is write-only, so a form that cannot show it must not erase it by being saved.
    ``recording_retention_days``: days a caller's recording is kept once its callback
    request is over (SPEC C14); a whole number of days, 1 to 365.
    """
    telephony_settings_ensure(account=account)
    row = TelephonySettings.objects.select_for_update().get(account=account)
    if provider is not None:
        if provider not in TelephonySettings.Provider.values:
            raise ServiceError(PROVIDER_INVALID_MESSAGE, field="provider")
        row.provider = provider
    if twilio_account_sid is not None:
        sid = twilio_account_sid.strip()
        if sid and not _SID_RE.match(sid):
            raise ServiceError(TWILIO_SID_INVALID_MESSAGE, field="twilio_account_sid")
        row.twilio_account_sid = sid
    if recording_retention_days is not None:
        days = recording_retention_days
        low, high = RECORDING_RETENTION_MIN_DAYS, RECORDING_RETENTION_MAX_DAYS
        if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
            raise ServiceError(RECORDING_RETENTION_MESSAGE, field="recording_retention_days")
        row.recording_retention_days = days
    token_changed = False
    if twilio_auth_token is not None and twilio_auth_token.strip():
        token = twilio_auth_token.strip()
        if not _TOKEN_RE.match(token):
            raise ServiceError(TWILIO_TOKEN_INVALID_MESSAGE, field="twilio_auth_token")
        row.twilio_auth_token_encrypted = crypto.encrypt(token)
        row.twilio_auth_token_last4 = token[-4:]
        token_changed = True
    if row.provider == TelephonySettings.Provider.TWILIO:
        if not row.twilio_account_sid:
            raise ServiceError(TWILIO_SID_REQUIRED_MESSAGE, field="twilio_account_sid")
        if not row.twilio_auth_token_encrypted:
            raise ServiceError(TWILIO_TOKEN_REQUIRED_MESSAGE, field="twilio_auth_token")
    row.save()
    audit_record(
        account=account,
        actor=actor,
        action="telephony_settings.update",
        target=row,
        provider=row.provider,
        twilio_account_sid=row.twilio_account_sid,
        auth_token_changed=token_changed,  # never the token itself
        recording_retention_days=row.recording_retention_days,
    )
    return row
