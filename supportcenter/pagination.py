"""The reference API's pagination, shared by every list endpoint: cursor and offset.

**Cursor pagination** (what the reference recommends, and what zenpy asks for): a request
with any of ``page[size]`` (1..100, default 100), ``page[after]`` or ``page[before]`` is
answered ``{key: [...], "meta": {"has_more", "after_cursor", "before_cursor"},
"links": {"next", "prev"}}``.

- ``after_cursor`` / ``before_cursor`` point at the page's last / first row (null on an
  empty page); ``links.next`` / ``links.prev`` ask for the rows after / before this page,
  and are null when there are none. ``has_more``: there is a further page in the
  direction of travel (forward with ``page[after]`` or no cursor, backward with
  ``page[before]``), so ``has_more`` and ``links.next`` agree when walking forward, as
  clients that follow the reference (zenpy) expect.
- A cursor is opaque: the ordering key of a row (the list's ordering, the primary key
  appended as tie-breaker so the order is total), signed with the project's secret. A
  malformed one (not of the documented pattern, blank, too long) is a 400 naming the
  parameter; a well-formed one that is not a cursor of this list (altered, from another
  list, account or ``sort_order``) is a 404, like a query naming a record that is not
  there: the schema cannot express a signature, so a schema-valid request is never
  refused as invalid (issue 14). Rows are found with a keyset filter *within the queryset
  the view already scoped to its account*: a cursor only positions, it never selects rows.
- Both ``page[after]`` and ``page[before]``: the rows between them, from ``page[after]`` on.
- A list that is not a queryset, or a queryset ordered by something other than plain
  (non-relation) model fields, is paged with an offset kept in the (signed) cursor: the
  same envelope, without the keyset's stability under concurrent inserts.

**Offset pagination** (old clients): without those parameters, ``page`` / ``per_page``,
answered ``{key: [...], "next_page", "previous_page", "count"}`` as before.
"""
from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Mapping
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.fields import SkipField
from rest_framework.request import Request

from supportcenter.queries import QuerySerializer, read_query

MAX_PER_PAGE = 100
PAGE_SIZE, PAGE_AFTER, PAGE_BEFORE = "page[size]", "page[after]", "page[before]"
CURSOR_PARAMETERS = (PAGE_SIZE, PAGE_AFTER, PAGE_BEFORE)
CURSOR_MAX_LENGTH = 2000
OFFSET_ORDERING = ("offset",)
CURSOR_PATTERN = r"^[A-Za-z0-9_:-]+$"  # what signing.dumps makes: urlsafe base64, ":"
_SALT = "supportcenter.pagination.cursor"
BAD_CURSOR_MESSAGE = "Not a cursor of this list: use after_cursor / before_cursor (or links) of a page of it, unchanged."


class PageQuery(QuerySerializer):
    """``page``, ``per_page``, ``sort_order``, and the cursor parameters ``page[size]``,
    ``page[after]``, ``page[before]``: name it in ``extend_schema(parameters=...)``
    (a list endpoint with filters of its own subclasses it)."""

    page = serializers.IntegerField(min_value=1, default=1, help_text="Page number, from 1 (offset pagination).")
    # More than the maximum is served as the maximum, as the reference does.
    per_page = serializers.IntegerField(
        min_value=1, default=MAX_PER_PAGE,
        help_text=f"Items per page, at most {MAX_PER_PAGE} (the default) (offset pagination).",
    )
    sort_order = serializers.ChoiceField(
        choices=["asc", "desc"], default="asc", help_text="Oldest first (asc, default) or newest first."
    )

    def get_fields(self):
        # Names with brackets, as the reference spells them: not Python identifiers, so
        # they are added here rather than declared.
        fields = super().get_fields()
        fields[PAGE_SIZE] = serializers.IntegerField(
            min_value=1, max_value=MAX_PER_PAGE, required=False,
            help_text=f"Cursor pagination: items per page, 1 to {MAX_PER_PAGE} (default {MAX_PER_PAGE}). "
                      "Any page[...] parameter selects cursor pagination.",
        )
        for name, where in ((PAGE_AFTER, "after"), (PAGE_BEFORE, "before")):
            fields[name] = serializers.RegexField(
                CURSOR_PATTERN, required=False, max_length=CURSOR_MAX_LENGTH,
                help_text=f"Cursor pagination: the page {where} this cursor (a page's meta.{where}_cursor).",
            )
        return fields


def page_query(request: Request) -> dict[str, Any]:
    return read_query(PageQuery, request)


def paginate(request: Request, queryset: QuerySet | Sequence, key: str, payload: Callable[[Any], dict]) -> dict:
    """One page of ``queryset`` (ordered by the caller) as ``{key: [...], ...}``: cursor
    pagination when the request names a ``page[...]`` parameter, else offset pagination."""
    query = page_query(request)
    if any(name in request.query_params for name in CURSOR_PARAMETERS):
        return _cursor_page(request, query, queryset, key, payload)
    return _offset_page(request, query, queryset, key, payload)


# --- Offset pagination ------------------------------------------------------------
def _offset_page(request: Request, query: dict, queryset, key: str, payload) -> dict:
    page = query["page"]
    per_page = min(query["per_page"], MAX_PER_PAGE)
    count = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
    start = (page - 1) * per_page
    rows = list(queryset[start : start + per_page]) if start < count else []
    return {
        key: [payload(row) for row in rows],
        "next_page": _link(request, page=str(page + 1)) if start + per_page < count else None,
        "previous_page": _link(request, page=str(page - 1)) if page > 1 else None,
        "count": count,
    }


def _link(request: Request, **changes: str | None) -> str:
    params = request.query_params.copy()
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return request.build_absolute_uri(f"{request.path}?{urlencode(sorted(params.items()))}")


# --- Cursor pagination --------------------------------------------------------------
def _cursor_page(request: Request, query: dict, queryset, key: str, payload) -> dict:
    size = query.get(PAGE_SIZE) or MAX_PER_PAGE
    after, before = query.get(PAGE_AFTER), query.get(PAGE_BEFORE)
    ordering = _keyset_ordering(queryset)
    list_id = _list_id(request, key)
    if ordering is None:
        rows, start, has_before, has_after = _offset_cursor_rows(queryset, size, after, before, list_id)
        first_cursor = _sign(list_id, OFFSET_ORDERING, [start]) if rows else None
        last_cursor = _sign(list_id, OFFSET_ORDERING, [start + len(rows) - 1]) if rows else None
    else:
        queryset = queryset.order_by(*ordering)
        rows, has_before, has_after = _keyset_rows(queryset, ordering, size, after, before, list_id)
        first_cursor = _sign(list_id, ordering, _values(rows[0], ordering)) if rows else None
        last_cursor = _sign(list_id, ordering, _values(rows[-1], ordering)) if rows else None
    backward = bool(before) and not after
    offset = {"page": None, "per_page": None}
    return {
        key: [payload(row) for row in rows],
        "meta": {
            "has_more": has_before if backward else has_after,
            "after_cursor": last_cursor,
            "before_cursor": first_cursor,
        },
        "links": {
            # Between two cursors (both given), the next page keeps the upper bound.
            "next": _link(request, **offset, **{PAGE_AFTER: last_cursor, PAGE_BEFORE: None if backward else before})
            if rows and has_after else None,
            "prev": _link(request, **offset, **{PAGE_AFTER: None, PAGE_BEFORE: first_cursor})
            if rows and has_before else None,
        },
    }


def _list_id(request: Request, key: str) -> str:
    """What a cursor belongs to: this list (its path) of this account; another's is refused."""
    account = getattr(request, "account", None)
    return f"{getattr(account, 'pk', '')}:{request.path}:{key}"


def _sign(key: str, ordering: Sequence[str], values: list) -> str:
    return signing.dumps([key, list(ordering), values], salt=_SALT, compress=False)


def _unsign(cursor: str, key: str, ordering: Sequence[str]) -> list:
    try:
        list_key, cursor_ordering, values = signing.loads(cursor, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound(BAD_CURSOR_MESSAGE) from None
    if list_key != key or cursor_ordering != list(ordering) or not isinstance(values, list) \
            or len(values) != len(ordering):
        raise NotFound(BAD_CURSOR_MESSAGE)
    return values


# Keyset: the ordering's fields, compared row-wise --------------------------------------
def _keyset_ordering(queryset) -> tuple[str, ...] | None:
    """The queryset's ordering as ``("field", "-field", ...)`` ending with the primary key,
    or None when it cannot be keyed (not a queryset; expressions, annotations, relations)."""
    if not isinstance(queryset, QuerySet):
        return None
    model = queryset.model
    order = list(queryset.query.order_by or (model._meta.ordering if queryset.query.default_ordering else ()))
    pk_name = model._meta.pk.name
    names: list[str] = []
    for item in order:
        if not isinstance(item, str) or item in ("?",) or "." in item:
            return None
        name = item.lstrip("-")
        if name == "pk":
            name = pk_name
        if _field(model, name) is None:
            return None
        names.append(("-" if item.startswith("-") else "") + name)
    if not any(name.lstrip("-") in (pk_name, model._meta.pk.attname) for name in names):
        names.append(pk_name)
    return tuple(names)


def _field(model, path: str):
    """The concrete model field at ``path`` (``a__b``, through forward single-valued
    relations), or None; a relation itself only by its column (``user_id``), since
    ordering by ``user`` means the related model's own ordering."""
    parts = path.split("__")
    for index, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if not getattr(field, "concrete", False):
            return None
        if index < len(parts) - 1:
            if not (field.many_to_one or field.one_to_one):
                return None
            model = field.related_model
        elif field.is_relation and part != field.attname:
            return None
    return field


def _values(row, ordering: Sequence[str]) -> list:
    """The row's ordering key, as JSON values (for a cursor)."""
    return [_json(value) for value in _keys(row, ordering)]


def _json(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def _keyset_rows(queryset: QuerySet, ordering: Sequence[str], size: int, after, before, key: str):
    """The page's rows, and whether rows exist before its first and after its last.
    ``page[before]`` alone walks backward; with ``page[after]`` too, the rows between."""
    model = queryset.model
    upper = _python_values(model, ordering, _unsign(before, key, ordering)) if before else None
    lower = _python_values(model, ordering, _unsign(after, key, ordering)) if after else None
    if upper is not None and lower is None:
        window = list(queryset.filter(_beyond(ordering, upper, forward=False))
                      .order_by(*[_reverse(name) for name in ordering])[: size + 1])
        has_before = len(window) > size
        rows = list(reversed(window[:size]))
        has_after = bool(rows)  # the cursor's row, at least
        return rows, has_before, has_after
    rows = queryset
    if lower is not None:
        rows = rows.filter(_beyond(ordering, lower, forward=True))
    if upper is not None:
        rows = rows.filter(_beyond(ordering, upper, forward=False))
    window = list(rows[: size + 1])
    has_after = len(window) > size
    rows = window[:size]
    has_before = lower is not None and bool(rows) and \
        queryset.filter(_beyond(ordering, _keys(rows[0], ordering), forward=False)).exists()
    return rows, has_before, has_after


def _keys(row, ordering: Sequence[str]) -> list:
    """The row's ordering key (``user__name`` read through the related row)."""
    values = []
    for name in ordering:
        value = row
        for part in name.lstrip("-").split("__"):
            value = getattr(value, part) if value is not None else None
        values.append(value)
    return values


def _python_values(model, ordering: Sequence[str], values: list) -> list:
    """The cursor's values as the fields' Python values (the signature vouches for them;
    this keeps a bad one from reaching the database as a 500)."""
    result = []
    for name, value in zip(ordering, values):
        field = _field(model, name.lstrip("-"))
        try:
            result.append(None if value is None else field.to_python(value))
        except (DjangoValidationError, TypeError, ValueError, AttributeError):
            raise NotFound(BAD_CURSOR_MESSAGE) from None
    return result


def _reverse(name: str) -> str:
    return name[1:] if name.startswith("-") else "-" + name


def _beyond(ordering: Sequence[str], values: list, *, forward: bool) -> Q:
    """Rows strictly after (``forward``) or before the row whose ordering key is ``values``:
    (a > x) or (a = x and b > y) or ..., each comparison turned for a descending field.
    Ordering fields are not null (the lists' orderings are over required fields); a null
    value compares as equal-only, so such rows are never skipped twice nor repeated."""
    condition = Q(pk__in=[])
    equal = Q()
    for name, value in zip(ordering, values):
        field = name.lstrip("-")
        ascending = not name.startswith("-")
        op = "gt" if ascending == forward else "lt"
        if value is not None:
            condition |= equal & Q(**{f"{field}__{op}": value})
            equal &= Q(**{field: value})
        else:
            equal &= Q(**{f"{field}__isnull": True})
    return condition


# Offset kept in the cursor (lists, and orderings that cannot be keyed) -----------------
def _offset_cursor_rows(queryset, size: int, after, before, key: str):
    """A cursor is the offset of its row: after → the rows from the next one on, before →
    the ``size`` rows up to it, both → the rows between, from after on."""
    end = _offset_value(_unsign(before, key, OFFSET_ORDERING)) if before else None
    if after:
        start = _offset_value(_unsign(after, key, OFFSET_ORDERING)) + 1
        stop = start + size if end is None else min(start + size, end)
    elif end is not None:
        start, stop = max(end - size, 0), end
    else:
        start, stop = 0, size
    window = list(queryset[start : stop + 1]) if stop > start else []
    rows = window[: stop - start]
    if end is not None and not after:
        has_after = bool(rows)  # the cursor's row, at least
    else:
        has_after = len(window) > len(rows) and (end is None or stop < end)
    return rows, start, start > 0, has_after


def _offset_value(values: list) -> int:
    if not isinstance(values[0], int) or isinstance(values[0], bool) or values[0] < 0:
        raise NotFound(BAD_CURSOR_MESSAGE)
    return values[0]


# --- Schema -------------------------------------------------------------------------
class CursorMeta(serializers.Serializer):
    has_more = serializers.BooleanField(help_text="A further page in the direction of travel.")
    after_cursor = serializers.CharField(allow_null=True, help_text="The cursor of this page's last item.")
    before_cursor = serializers.CharField(allow_null=True, help_text="The cursor of this page's first item.")


class CursorLinks(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The page after this one, if there are items after it.")
    prev = serializers.URLField(allow_null=True, help_text="The page before this one, if there are items before it.")


class _WhenPresent:
    """A field left out of the output when the envelope has no such key (a null one is
    given as null): the offset fields in a cursor page, and the reverse."""

    def get_attribute(self, instance):
        if isinstance(instance, Mapping) and self.source not in instance:
            raise SkipField()
        return super().get_attribute(instance)


class _OptionalURL(_WhenPresent, serializers.URLField):
    pass


class _OptionalInteger(_WhenPresent, serializers.IntegerField):
    pass


class _OptionalMeta(_WhenPresent, CursorMeta):
    pass


class _OptionalLinks(_WhenPresent, CursorLinks):
    pass


def page_serializer(name: str, key: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The envelope :func:`paginate` answers with, as a serializer named ``name`` (for the
    schema): ``next_page``, ``previous_page``, ``count`` with offset pagination, ``meta``
    and ``links`` with cursor pagination."""
    return type(name, (serializers.Serializer,), {
        key: item(many=True),
        "next_page": _OptionalURL(allow_null=True, required=False, help_text="Offset pagination."),
        "previous_page": _OptionalURL(allow_null=True, required=False, help_text="Offset pagination."),
        "count": _OptionalInteger(required=False, help_text="Offset pagination."),
        "meta": _OptionalMeta(required=False, help_text="Cursor pagination."),
        "links": _OptionalLinks(required=False, help_text="Cursor pagination."),
    })
