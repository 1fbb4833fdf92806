"""Query parameters of the API, validated by serializers that also document them.

Each endpoint names its query serializer in ``extend_schema(parameters=[...])``, so the
served schema carries the same minimums, patterns and choices the endpoint enforces
(issue 14: the schema and the product agree). A parameter given without a value
(``?page=``) is refused, not read as absent: the schema types it, and a client that
sends it blank has made a mistake worth hearing about.
"""
from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

BLANK_PARAMETER_MESSAGE = "Give a value, or leave the parameter out."


class QuerySerializer(serializers.Serializer):
    def to_internal_value(self, data):
        blank = {
            name: [serializers.ErrorDetail(BLANK_PARAMETER_MESSAGE, code="blank")]
            for name in self.fields
            if name in data and any(value == "" for value in _values(data, name))
        }
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


def _values(data, name: str) -> list:
    return data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]


def read_query(serializer_class: type[QuerySerializer], request: Request) -> dict[str, Any]:
    """The request's query parameters, validated (bad ones → 400 naming them)."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data
