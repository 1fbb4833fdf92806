"""The reference API's offset pagination, shared by every list endpoint."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.request import Request

from supportcenter.queries import QuerySerializer, read_query

MAX_PER_PAGE = 100


class PageQuery(QuerySerializer):
    """``page``, ``per_page``, ``sort_order``: name it in ``extend_schema(parameters=...)``
    (a list endpoint with filters of its own subclasses it)."""

    page = serializers.IntegerField(min_value=1, default=1, help_text="Page number, from 1.")
    # More than the maximum is served as the maximum, as the reference does.
    per_page = serializers.IntegerField(
        min_value=1, default=MAX_PER_PAGE, help_text=f"Items per page, at most {MAX_PER_PAGE} (the default)."
    )
    sort_order = serializers.ChoiceField(
        choices=["asc", "desc"], default="asc", help_text="Oldest first (asc, default) or newest first."
    )


def page_query(request: Request) -> dict[str, Any]:
    return read_query(PageQuery, request)


def paginate(request: Request, queryset: QuerySet, key: str, payload: Callable[[Any], dict]) -> dict:
    """``{key: [...], "next_page": url|None, "previous_page": url|None, "count": n}``."""
    query = page_query(request)
    page = query["page"]
    per_page = min(query["per_page"], MAX_PER_PAGE)
    count = queryset.count()
    start = (page - 1) * per_page
    rows = list(queryset[start : start + per_page]) if start < count else []

    def link(number: int) -> str:
        params = request.query_params.copy()
        params["page"] = str(number)
        return request.build_absolute_uri(f"{request.path}?{urlencode(sorted(params.items()))}")

    return {
        key: [payload(row) for row in rows],
        "next_page": link(page + 1) if start + per_page < count else None,
        "previous_page": link(page - 1) if page > 1 else None,
        "count": count,
    }


def page_serializer(name: str, key: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The envelope :func:`paginate` answers with, as a serializer named ``name`` (for the schema)."""
    return type(name, (serializers.Serializer,), {
        key: item(many=True),
        "next_page": serializers.URLField(allow_null=True),
        "previous_page": serializers.URLField(allow_null=True),
        "count": serializers.IntegerField(),
    })
