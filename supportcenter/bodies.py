"""Request bodies of the API, read strictly by their JSON types.

DRF reads ``"body": 0`` as the text "0" and ``"enabled": "yes"`` as true; the schema
says a string and a boolean, and a client sending otherwise has a bug it should hear
about (issue 14). Input serializers derive from :class:`BodySerializer`: a value of
the wrong JSON type is refused with 400 naming the field, before DRF's own coercion.
Text that must not be blank also says so in the schema (``pattern: \\S``), since a
field of spaces is as blank as an empty one.

Errors come in the reference's two kinds: a body that is malformed (a required field
missing, a value of the wrong type or null) is 400 InvalidRequest; a well-formed body
with a value out of bounds (too long, out of range, not one of the choices, blank) is
422 RecordInvalid, as the services answer for the rules they own.
"""
from __future__ import annotations

from django.core.validators import RegexValidator
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from supportcenter.api_errors import RecordInvalid

NOT_BLANK = RegexValidator(r"\S", message="This field may not be blank.", code="blank")

# field class → (accepted Python types of the parsed JSON, what to call them)
_TEXT = ((str,), "a string")
_JSON_TYPES: list[tuple[type, tuple[tuple[type, ...], str]]] = [
    (serializers.Serializer, ((dict,), "an object")),
    (serializers.BooleanField, ((bool,), "true or false")),
    (serializers.IntegerField, ((int,), "an integer")),
    (serializers.FloatField, ((int, float), "a number")),
    (serializers.ListField, ((list,), "a list")),
    (serializers.CharField, _TEXT),
    (serializers.ChoiceField, _TEXT),
    (serializers.DateField, _TEXT),
    (serializers.DateTimeField, _TEXT),
]


# Error codes that mean the body is malformed (400); any other code is a refused value (422).
MALFORMED_CODES = frozenset({"required", "invalid_type", "null", "not_a_dict", "not_a_list", "empty", "parse_error"})


def _codes(detail) -> set[str]:
    if isinstance(detail, dict):
        return set().union(*(_codes(value) for value in detail.values()))
    if isinstance(detail, list):
        return set().union(*(_codes(value) for value in detail))
    return {getattr(detail, "code", "invalid")}


def _without_envelope(detail):
    """``{"ticket": {"subject": [...]}}`` → ``{"subject": [...]}``: a refused value is named
    as a field of the record, like the services' errors."""
    if isinstance(detail, dict) and len(detail) == 1:
        (inner,) = detail.values()
        if isinstance(inner, dict):
            return inner
    return detail


def _expected(field: serializers.Field) -> tuple[tuple[type, ...], str] | None:
    for field_class, expected in _JSON_TYPES:
        if isinstance(field, field_class):
            return expected
    return None


def _type_ok(value, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # JSON true is not the integer 1
    return isinstance(value, types)


class BodySerializer(serializers.Serializer):
    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            needs_text = (
                isinstance(field, serializers.CharField)
                and not isinstance(field, serializers.RegexField)
                and not field.allow_blank
                and field.trim_whitespace
            )
            if needs_text and NOT_BLANK not in field.validators:
                field.validators.append(NOT_BLANK)
        return fields

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        try:
            return super().is_valid(raise_exception=raise_exception)
        except serializers.ValidationError as error:
            if _codes(error.detail) & MALFORMED_CODES:
                raise
            detail = error.detail
            if self._is_envelope():
                detail = _without_envelope(detail)
            raise RecordInvalid(detail) from None

    def _is_envelope(self) -> bool:
        """``{"ticket": {...}}``: one field, an object."""
        fields = list(self.fields.values())
        return len(fields) == 1 and isinstance(fields[0], serializers.Serializer)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            wrong = {}
            for name, field in self.fields.items():
                if field.read_only or name not in data:
                    continue
                value = data[name]
                expected = _expected(field)
                if value is None or expected is None or _type_ok(value, expected[0]):
                    continue
                wrong[name] = [serializers.ErrorDetail(f"Expected {expected[1]}.", code="invalid_type")]
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


class IdListField(serializers.ListField):
    """A list of record ids, read as strictly as a body's other integers: ``["5"]`` or
    ``[true]`` is a malformed body (400), not the id 5 or 1. An id of no record of the
    account is for the services to refuse (422)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list):
            wrong = {
                index: [serializers.ErrorDetail("Expected an integer.", code="invalid_type")]
                for index, item in enumerate(data)
                if isinstance(item, bool) or not isinstance(item, int)
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def read_body(serializer_class: type[BodySerializer], request: Request, key: str) -> dict[str, Any]:
    """The body's ``key`` object (``{"ticket": {...}}`` → its fields), validated: malformed →
    400 InvalidRequest, a refused value → 422 RecordInvalid (the counterpart of
    supportcenter.queries.read_query)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data[key]
