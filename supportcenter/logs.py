"""Log lines never carry a line's webhook token (issue 14, item 6; SPEC T5).

The token in ``/talk/webhooks/<token>/...`` is the only thing that names a tenant to the
provider's requests: whoever reads it from a log can aim requests at that line (they still
need the provider signature, but the token is meant to be unguessable, not public). Every
server that writes an access log, and Django's own request log ("Not Found: <path>"),
shows the path as ``/talk/webhooks/<redacted>/voice/``:

- Django's loggers (``django.request``, ``django.server``, ``django.channels.server`` of
  ``runserver``, anything else that reaches the root handler): :class:`RedactWebhookTokens`
  on the handler of ``settings.LOGGING``.
- gunicorn (sync workers and uvicorn workers): ``supportcenter/gunicorn_conf.py`` installs
  :class:`supportcenter.gunicorn_conf.RedactingGunicornLogger`, built on the two below.
- daphne: its access log is written straight to a stream, not through ``logging``; the demo
  and ``python -m supportcenter.logs`` (daphne's command line, same options) run it with a
  server whose action log sees the redacted path (:func:`daphne_server_class`).

Nothing here imports a server at import time: settings load this module in every process.
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Any

REDACTED = "<redacted>"

# The webhook prefix (slashes plain or percent-encoded, e.g. inside a ?next= query), then
# the token: up to the next separator. Tokens are URL-safe base64 (talk.models.lines), but
# a request may carry anything there; "<redacted>" itself does not match again. Not a
# source file of the package talk/webhooks/ ("talk/webhooks/security.py" in a traceback):
# a token never has a dot.
_WEBHOOK_TOKEN = re.compile(
    r"((?:/|%2F)talk(?:/|%2F)webhooks(?:/|%2F))(?!__pycache__\b|[\w-]*\.pyc?\b)[^/?#\s\"'&%<>\\]+",
    re.IGNORECASE,
)


def redact_path(path: str) -> str:
    """``path`` (or any text holding paths or URLs) with every webhook token replaced."""
    return _WEBHOOK_TOKEN.sub(r"\1" + REDACTED, path)


class RedactWebhookTokens(logging.Filter):
    """A logging filter that rewrites a record whose message or traceback holds a token.

    Put it on handlers (it then sees every record they write, whichever logger made it).
    A record without a token is left as it is (its message template and arguments too);
    one with a token gets its final message, redacted, and no arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format: the handler reports it as usual
            return True
        clean = redact_path(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            # Formatters use a stored exc_text as it is: store the redacted one.
            record.exc_text = redact_path(_FORMATTER.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_path(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_path(record.stack_info)
        return True


_FORMATTER = logging.Formatter()


def redact_details(details: dict[str, Any]) -> dict[str, Any]:
    """A daphne action-log entry (``{"path": ..., "client": ...}``) with the path redacted."""
    path = details.get("path")
    if not isinstance(path, str):
        return details
    return {**details, "path": redact_path(path)}


def daphne_server_class() -> type:
    """daphne's ``Server`` whose action log (the access log) is given redacted paths.

    Imported on demand: importing daphne.server installs Twisted's reactor.
    """
    from daphne.server import Server  # here: settings load this module in every process

    class RedactingServer(Server):
        def log_action(self, protocol: str, action: str, details: dict[str, Any]) -> None:
            super().log_action(protocol, action, redact_details(details))

    return RedactingServer


def daphne_command_line():
    """daphne's command line (``daphne.cli.CommandLineInterface``) with the redacting server."""
    from daphne.cli import CommandLineInterface  # here: it imports daphne.server (above)

    class RedactingCommandLine(CommandLineInterface):
        server_class = daphne_server_class()

    return RedactingCommandLine()


def main(argv: list[str] | None = None) -> None:
    """``python -m supportcenter.logs [daphne options] supportcenter.asgi:application``."""
    daphne_command_line().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
