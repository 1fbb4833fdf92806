"""Provider gateways: one interface (place, redirect, end a call), one class per provider."""
from talk.telephony.base import Gateway, GatewayError, OutboundCall

__all__ = ["Gateway", "GatewayError", "OutboundCall"]
