"""Provider gateways: one interface (place, redirect, end a call), one class per provider."""
from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from talk import crypto
from talk.models import TelephonySettings
from talk.selectors.telephony import telephony_auth_token, telephony_settings_get
from talk.telephony.base import Gateway, GatewayError, OutboundCall
from talk.telephony.twilio_gateway import TwilioGateway

__all__ = ["Gateway", "GatewayError", "OutboundCall", "gateway_for"]


def gateway_for(account) -> Gateway:
    """The account's provider: Twilio with its credentials, or the call simulator.

    The simulator's gateway is named by ``settings.TALK_SIMULATOR_GATEWAY`` (the
    simulator app builds on talk, so talk never imports it).
    """
    settings_row = telephony_settings_get(account=account)
    if settings_row.provider == TelephonySettings.Provider.TWILIO:
        token = crypto.decrypt(settings_row.twilio_auth_token_encrypted) if settings_row.twilio_auth_token_encrypted else ""
        if not settings_row.twilio_account_sid or not token:
            raise GatewayError("Twilio is the provider but its account SID or auth token is missing.", retryable=False)
        return TwilioGateway(account_sid=settings_row.twilio_account_sid, auth_token=token)
    gateway_class = import_string(settings.TALK_SIMULATOR_GATEWAY)
    return gateway_class(auth_token=telephony_auth_token(account=account), account=account)
