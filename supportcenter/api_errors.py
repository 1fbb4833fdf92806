"""Error bodies in the reference API's shapes, so Zendesk clients read them.

404 is deliberately one fixed body: another account's object must answer exactly
as a missing one (SPEC T3), so nothing about the object may leak into it.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from supportcenter.errors import ServiceError

NOT_FOUND_BODY = {"error": "RecordNotFound", "description": "Not found"}


def not_found_response() -> JsonResponse:
    return JsonResponse(NOT_FOUND_BODY, status=404)


def _details(detail) -> dict:
    """DRF's ``{"field": ["msg"]}`` → Zendesk's ``{"field": [{"description": "msg"}]}``."""
    if isinstance(detail, dict):
        out = {}
        for field, messages in detail.items():
            if isinstance(messages, dict):
                for sub, inner in _details(messages).items():
                    out[f"{field}.{sub}"] = inner
                continue
            if not isinstance(messages, list):
                messages = [messages]
            out[field] = [{"description": str(m), "error": getattr(m, "code", "invalid")} for m in messages]
        return out
    if isinstance(detail, list):
        return {"base": [{"description": str(m), "error": getattr(m, "code", "invalid")} for m in detail]}
    return {"base": [{"description": str(detail), "error": getattr(detail, "code", "invalid")}]}


class RecordInvalid(exceptions.APIException):
    """422 with field errors, for a request that is well-formed but refused."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Record validation errors"
    default_code = "invalid"

    def __init__(self, details: dict):
        super().__init__()
        self.details = details


TOO_LARGE_BODY = {"error": "RequestTooLarge",
                  "description": f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB."}


# A service's refusal that is about the record, not the values sent: a system record that
# cannot be changed (403), a record still in use by another (409). Any other is 422.
REFUSAL_STATUS = {
    "read_only": ("Forbidden", status.HTTP_403_FORBIDDEN),
    "in_use": ("Conflict", status.HTTP_409_CONFLICT),
    # The record moved on meanwhile (a callback an agent just accepted): nothing was done.
    "conflict": ("Conflict", status.HTTP_409_CONFLICT),
}


def zendesk_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):  # an API client gets JSON, not the 400 page (issue 14)
        return Response(TOO_LARGE_BODY, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return Response(NOT_FOUND_BODY, status=404)
    if isinstance(exc, ServiceError):
        details = _details({exc.field: [exceptions.ErrorDetail(exc.message, code=exc.code)]})
        if exc.code in REFUSAL_STATUS:  # not the request's values: the record's state (issue 14)
            error, status_code = REFUSAL_STATUS[exc.code]
            return Response({"error": error, "description": exc.message, "details": details}, status=status_code)
        return Response(
            {"error": "RecordInvalid", "description": "Record validation errors", "details": details}, status=422
        )
    if isinstance(exc, RecordInvalid):
        return Response(
            {"error": "RecordInvalid", "description": "Record validation errors", "details": _details(exc.details)},
            status=exc.status_code,
        )
    response = exception_handler(exc, context)
    if response is None:
        # Not an APIException (the database or Redis down, a bug): DRF raises it again, and
        # supportcenter.failures answers it, 503 or 500 with an error id, in this envelope.
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "error": "InvalidRequest",
            "description": "The request has invalid fields",
            "details": _details(exc.detail),
        }
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.data = {"error": "Couldn't authenticate you"}
    elif isinstance(exc, exceptions.PermissionDenied):
        response.data = {"error": "Forbidden", "description": str(exc.detail)}
    elif isinstance(exc, exceptions.Throttled):
        response.data = {"error": "TooManyRequests", "description": str(exc.detail)}
    else:
        response.data = {"error": exc.__class__.__name__, "description": str(getattr(exc, "detail", exc))}
    return response
