"""Reads of the telephony provider settings (SPEC T5)."""
from __future__ import annotations

from supportcenter.models import Account
from talk import crypto
from talk.models import TelephonySettings
from talk.services.telephony import telephony_settings_ensure


def telephony_settings_get(*, account: Account) -> TelephonySettings:
    """The account's settings, created on first use (with the simulator's signing secret)."""
    return telephony_settings_ensure(account=account)


def telephony_auth_token(*, account: Account) -> str:
    """The decrypted auth token of the account's active provider: the key webhooks are signed with.

    Twilio: the admin's token ("" when none is stored). Simulator: its generated
    secret. Never put it in a page, an API answer or a log.
    """
    row = telephony_settings_get(account=account)
    if row.provider == TelephonySettings.Provider.TWILIO:
        return crypto.decrypt(row.twilio_auth_token_encrypted) if row.twilio_auth_token_encrypted else ""
    return crypto.decrypt(row.simulator_auth_token_encrypted)
