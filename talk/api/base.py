"""What the Talk API's views share: parsing a body, naming a refused field as the client
sent it. (Who may read and write: supportcenter.auth.ReadMembersWriteAdmins.)"""
from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from supportcenter.errors import ServiceError


def rename_error(error: ServiceError, names: dict[str, str]) -> ServiceError:
    """The service's field name → the field name the API client sent."""
    return ServiceError(error.message, field=names.get(error.field, error.field), code=error.code)


def parse_body(serializer_class, request: Request, key: str) -> dict[str, Any]:
    """The body's ``key`` object, validated (malformed → 400 InvalidRequest)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data[key]
