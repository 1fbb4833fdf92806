"""gunicorn's settings for the web processes (README, "Production"):

    gunicorn -c python:supportcenter.gunicorn_conf -w <cores> --threads 4 supportcenter.wsgi:application

Options given on the command line win over these. What this file adds: an access log on
standard output, and a logger that never writes a line's webhook token (issue 14, item 6):
the access line's request and path show ``/talk/webhooks/<redacted>/...``, and so do the
error log ("Error handling request <path>") and the access lines of uvicorn workers
(``-k uvicorn.workers.UvicornWorker`` logs through gunicorn's handlers).
"""
from __future__ import annotations

from gunicorn.glogging import Logger

from supportcenter.logs import RedactWebhookTokens, redact_path

accesslog = "-"


class RedactingGunicornLogger(Logger):
    def atoms(self, resp, req, environ, request_time) -> dict:
        # Every atom, not only %(r)s and %(U)s: {raw_uri}e, {path_info}e, a referer...
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_path(value) if isinstance(value, str) else value for key, value in atoms.items()}

    def setup(self, cfg) -> None:
        super().setup(cfg)
        # Lines written through gunicorn's handlers by others (uvicorn.access and uvicorn.error
        # in uvicorn workers) and gunicorn's own error lines. setup() runs again on a reload
        # with fresh handlers; a handler that has the filter already is left alone.
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactWebhookTokens) for f in handler.filters):
                    handler.addFilter(RedactWebhookTokens())


logger_class = RedactingGunicornLogger
