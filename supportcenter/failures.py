"""What a request answers when the server fails (issue 14, item 3): one place for both ways
a failure reaches Django.

- An exception raised by a view (DRF re-raises what its exception handler does not
  answer, see supportcenter.api_errors) reaches ``FailureMiddleware.process_exception``.
- One raised by a middleware (the tenant's look-up, the session's, the user's) never does:
  Django turns it into the 500 handler's response, ``supportcenter.views.error_500``, which
  calls ``server_error`` here with the exception still being handled.

Either way the answer is decided by ``failure_response``:

- the database or Redis cannot be reached (an outage, not a bug) → **503** with
  ``Retry-After``: try again, nothing is wrong with the request;
- anything else → **500**, with an error id that the log line holding the traceback
  carries too, so a person quoting it leads straight to the cause.

API requests (under /api/, ``.json`` routes of pages, or asking for JSON first, as the
pages' scripts do) get the JSON envelope of supportcenter.api_errors, never HTML; people
get a page, rendered without the request's context (no context processor may touch the
database that just failed). The telephony webhooks answer TwiML whatever happens, by
themselves (talk.webhooks.security): their failures never reach this module.
"""
from __future__ import annotations

import logging
import secrets
import sqlite3
import sys

import psycopg
from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import InterfaceError as DbInterfaceError
from django.db import OperationalError as DbOperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template import loader
from django.utils.deprecation import MiddlewareMixin
from redis import exceptions as redis_errors

logger = logging.getLogger("supportcenter.errors")

RETRY_AFTER_SECONDS = 5
SERVER_ERROR_BODY = {"error": "ServerError", "description": "Something went wrong on our side. Try again."}
UNAVAILABLE_BODY = {
    "error": "ServiceUnavailable",
    "description": f"The service is briefly unavailable. Try again in {RETRY_AFTER_SECONDS} seconds.",
}
ERROR_ID_HEADER = "X-Error-Id"
API_PREFIX = "/api/"

# The database or Redis cannot be reached, or dropped the connection: an outage. Django wraps
# psycopg's errors (psycopg_pool's PoolTimeout, the pool finding no free connection in time,
# is an OperationalError), but not everywhere, so psycopg's own count too. A lock conflict
# still lost after supportcenter.db's retries is an OperationalError as well: "try again"
# is the right answer to it too.
OUTAGES: tuple[type[BaseException], ...] = (
    DbOperationalError,
    DbInterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
)
# What Django answers itself (404, 403, 400): never turned into a 500 or a 503 here.
DJANGO_ANSWERS: tuple[type[BaseException], ...] = (
    Http404, PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError,
)


def is_outage(error: BaseException | None) -> bool:
    if not isinstance(error, OUTAGES):
        return False
    cause = error.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        # SQLite says OperationalError for a missing table or column too (a bug, not an
        # outage); only a locked or unreadable file is one.
        message = str(cause)
        return "locked" in message or "unable to open" in message or "disk I/O" in message
    return True


def wants_json(request: HttpRequest) -> bool:
    if request.path.startswith(API_PREFIX) or request.path.endswith(".json"):
        return True
    # The pages' scripts (static/js/app.js SC.request) ask for JSON; a browser's
    # navigation and a bare */* prefer the page.
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def new_error_id() -> str:
    return secrets.token_hex(6)


def _page(template: str, context: dict, status: int) -> HttpResponse:
    """The error page without the request (no context processors); plain text if even
    that fails, since an error page must never fail in turn."""
    try:
        body = loader.get_template(template).render(context)
        return HttpResponse(body, status=status)
    except Exception:
        logger.exception("the %s page could not be rendered", status)
        return HttpResponse(
            f"Error {status}. Reference: {context.get('error_id', '')}\n",
            status=status, content_type="text/plain; charset=utf-8",
        )


def unavailable_response(request: HttpRequest, error_id: str) -> HttpResponse:
    if wants_json(request):
        response: HttpResponse = JsonResponse({**UNAVAILABLE_BODY, "error_id": error_id}, status=503)
    else:
        response = _page("503.html", {
            "error_id": error_id,
            "retry_after": RETRY_AFTER_SECONDS,
            # Reloading by itself is safe for a page read, not for a form sent.
            "reload": request.method in ("GET", "HEAD"),
        }, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response[ERROR_ID_HEADER] = error_id
    return response


def server_error_response(request: HttpRequest, error_id: str) -> HttpResponse:
    if wants_json(request):
        response: HttpResponse = JsonResponse({**SERVER_ERROR_BODY, "error_id": error_id}, status=500)
    else:
        response = _page("500.html", {"error_id": error_id}, status=500)
    response[ERROR_ID_HEADER] = error_id
    return response


def failure_response(request: HttpRequest, error: BaseException | None) -> HttpResponse:
    """The answer to ``error`` (None: a failure whose exception is gone), logged once with its id."""
    error_id = new_error_id()
    outage = is_outage(error)
    status = 503 if outage else 500
    logger.error(
        "%s [error_id=%s]: %s %s",
        "Service unavailable" if outage else "Internal server error",
        error_id, request.method, request.path,
        exc_info=(type(error), error, error.__traceback__) if error is not None else None,
        extra={"error_id": error_id, "status_code": status, "request": request},
    )
    response = unavailable_response(request, error_id) if outage else server_error_response(request, error_id)
    # Logged above, with the id; django.request would log it again without (django.utils.log.log_response).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler's answer (``handler500``): Django calls it while handling the exception."""
    return failure_response(request, sys.exc_info()[1])


class FailureMiddleware(MiddlewareMixin):
    """Answers what a view raised (see the module's docstring). Sync, which Django adapts
    under ASGI; ``process_exception`` is always called in a thread, either way."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DJANGO_ANSWERS):
            return None
        if settings.DEBUG and not is_outage(exception) and not wants_json(request):
            return None  # a developer's page: Django's technical 500 page says more
        # What Django does for an exception it answers itself: error reporting hooks onto
        # this signal (and the test client re-raises what it heard through it).
        signals.got_request_exception.send(sender=None, request=request)
        return failure_response(request, exception)
