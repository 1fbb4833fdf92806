"""Writes of talk, one module per concept; call them as ``talk.services.<name>``.

Every write runs in a transaction and records an audit entry; refusals raise
``supportcenter.errors.ServiceError`` with a message constant of its module.
"""
from talk.services.greetings import (
    greeting_create,
    greeting_delete,
    greeting_update,
    system_greetings_sync,
)
from talk.services.lines import (
    callback_settings_update,
    line_create,
    line_update,
    line_webhook_token_regenerate,
)
from talk.services.telephony import telephony_settings_ensure, telephony_settings_update

__all__ = [
    "callback_settings_update",
    "greeting_create",
    "greeting_delete",
    "greeting_update",
    "line_create",
    "line_update",
    "line_webhook_token_regenerate",
    "system_greetings_sync",
    "telephony_settings_ensure",
    "telephony_settings_update",
]
