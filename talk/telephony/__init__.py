"""Provider gateways: one interface (place, redirect, end a call), one class per provider."""
from __future__ import annotations

from talk.telephony.base import Gateway, GatewayError, OutboundCall

__all__ = ["Gateway", "GatewayError", "OutboundCall", "gateway_for"]


def gateway_for(account) -> Gateway:
    """The account's provider: Twilio with its credentials, or the call simulator."""
    from talk import crypto
    from talk.models import TelephonySettings
    from talk.selectors.telephony import telephony_auth_token, telephony_settings_get

    settings_row = telephony_settings_get(account=account)
    if settings_row.provider == TelephonySettings.Provider.TWILIO:
        from talk.telephony.twilio_gateway import TwilioGateway

        token = crypto.decrypt(settings_row.twilio_auth_token_encrypted) if settings_row.twilio_auth_token_encrypted else ""
        if not settings_row.twilio_account_sid or not token:
            raise GatewayError("Twilio is the provider but its account SID or auth token is missing.", retryable=False)
        return TwilioGateway(account_sid=settings_row.twilio_account_sid, auth_token=token)
    from talk.telephony.simulator_gateway import SimulatorGateway

    return SimulatorGateway(auth_token=telephony_auth_token(account=account), account=account)
