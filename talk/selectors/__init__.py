"""Reads of talk, one module per concept; call them as ``talk.selectors.<name>``."""
from talk.selectors.greetings import (
    access_greeting,
    greeting_list,
    greeting_usage,
    lines_using_greeting,
    prompt_greeting,
)
from talk.selectors.lines import (
    access_line,
    callback_caller_id,
    effective_callback_language,
    line_callback_supported,
    line_greeting,
    line_list,
    line_warnings,
    line_webhook_urls,
)
from talk.selectors.telephony import telephony_auth_token, telephony_settings_get

__all__ = [
    "access_greeting",
    "access_line",
    "callback_caller_id",
    "effective_callback_language",
    "greeting_list",
    "greeting_usage",
    "line_callback_supported",
    "line_greeting",
    "line_list",
    "line_warnings",
    "line_webhook_urls",
    "lines_using_greeting",
    "prompt_greeting",
    "telephony_auth_token",
    "telephony_settings_get",
]
