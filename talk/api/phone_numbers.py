"""Phone numbers (lines) in the reference's shape (SPEC A1): a line with its callback
settings and webhook URLs. Thin views: parse, call a service, answer."""
from __future__ import annotations

from typing import Any

import phonenumbers
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from supportcenter.bodies import BodySerializer, IdListField, read_body
from supportcenter.errors import ServiceError
from supportcenter.models import LANGUAGE_CHOICES
from supportcenter.pagination import PageQuery, page_serializer, paginate
from talk import selectors, services
from supportcenter.api_base import ReadMembersWriteAdmins
from talk.api.base import rename_error
from talk.models import Line
from talk.selectors.lines import line_categorised_greetings, line_group_ids, line_list_with_groups
from talk.services.lines import (
    CALLBACK_KEY_MESSAGE,
    CALLBACK_KEYS,
    CALLBACK_LANGUAGE_INVALID_MESSAGE,
    CALLER_ID_POLICY_INVALID_MESSAGE,
    KIND_INVALID_MESSAGE,
    MAX_LINE_GROUPS,
    NAME_LENGTH,
    NAME_REQUIRED_MESSAGE,
    NAME_TOO_LONG_MESSAGE,
    RANGES,
    TOO_MANY_GROUPS_MESSAGE,
    range_message,
)


class PhoneNumberCapabilitiesOutput(serializers.Serializer):
    voice = serializers.BooleanField()
    sms = serializers.BooleanField()
    mms = serializers.BooleanField()


class PhoneNumberCallbackOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    available = serializers.BooleanField(help_text="The line's part of SPEC C2 (agent presence not included).")
    unavailable_reason = serializers.CharField()
    language = serializers.CharField(help_text="Blank: the account's default language.")
    effective_language = serializers.CharField()
    callback_greeting_id = serializers.IntegerField(allow_null=True)
    confirmation_greeting_id = serializers.IntegerField(allow_null=True)
    offer_seconds = serializers.IntegerField()
    expiry_minutes = serializers.IntegerField()
    key = serializers.CharField()
    offer_in_greeting = serializers.BooleanField()
    offer_while_queued = serializers.BooleanField()
    caller_id_policy = serializers.CharField(help_text="line_number or account_number")
    outbound_caller_id = serializers.CharField(allow_null=True)
    retry_attempts = serializers.IntegerField()
    retry_interval_minutes = serializers.IntegerField()
    capture_on_first_key = serializers.BooleanField()
    announce_queue_position = serializers.BooleanField()
    record_name = serializers.BooleanField(
        help_text="After confirming, the caller is asked to say their name and reason, recorded for the agent (SPEC C14)."
    )


class PhoneNumberWebhooksOutput(serializers.Serializer):
    voice_url = serializers.URLField()
    status_callback_url = serializers.URLField()


_CATEGORIES_HELP = (
    "The reference's greeting category id → the id of the greeting the line plays in it: "
    "2 (available) its welcome greeting, 3 (wait) its hold greeting (what queued callers hear), "
    "6 callback, 7 callback_confirmation. A greeting left on the system default has no entry."
)


class PhoneNumberOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    number = serializers.CharField(
        help_text="A phone line's number (E.164); a SIP line's SIP address; a digital line has none (\"\")."
    )
    display_number = serializers.CharField()
    name = serializers.CharField()
    nickname = serializers.CharField()
    country_code = serializers.CharField(allow_null=True, help_text="ISO country of the number (a SIP line: of its outbound number).")
    location = serializers.CharField(allow_null=True, help_text="ISO country of the number, as country_code.")
    toll_free = serializers.BooleanField()
    external = serializers.BooleanField(help_text="Always false: every line's number is one of Talk's own, not an external caller id.")
    recorded = serializers.BooleanField(
        help_text="Always false: Talk does not record calls (a caller's short name and reason, callback.record_name, "
                  "is not the call)."
    )
    transcription = serializers.BooleanField(help_text="Always false: Talk does not transcribe calls.")
    capabilities = PhoneNumberCapabilitiesOutput()
    kind = serializers.CharField(help_text="phone, sip or digital: the product's own kind of line.")
    line_type = serializers.CharField(
        help_text="The reference's line type: phone (a phone number or a SIP line) or digital."
    )
    sip_address = serializers.CharField(allow_null=True)
    outbound_number = serializers.CharField(allow_null=True)
    enabled = serializers.BooleanField()
    default_group_id = serializers.IntegerField(
        allow_null=True, help_text="The line's default group; always one of group_ids (SPEC R14)."
    )
    group_ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The groups whose agents are offered the line's calls and callbacks; none: every agent (SPEC R14).",
    )
    welcome_greeting_id = serializers.IntegerField(allow_null=True)
    hold_greeting_id = serializers.IntegerField(allow_null=True)
    greeting_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="The greetings the line picked (welcome, hold, callback, confirmation)."
    )
    categorised_greetings = serializers.DictField(child=serializers.IntegerField(), help_text=_CATEGORIES_HELP)
    call_offer_seconds = serializers.IntegerField()
    callback = PhoneNumberCallbackOutput()
    webhooks = PhoneNumberWebhooksOutput()
    warnings = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PhoneNumberEnvelope(serializers.Serializer):
    phone_number = PhoneNumberOutput()


PhoneNumberListEnvelope = page_serializer("PhoneNumberListEnvelope", "phone_numbers", PhoneNumberOutput)


def _e164(number) -> str | None:
    return number.as_e164 if number else None


def _number(line: Line, number) -> str:
    """The reference's ``number`` is always a string: the E.164 number, a SIP line's address."""
    if number:
        return number.as_e164
    return line.sip_address if line.kind == Line.Kind.SIP else ""


def phone_number_payload(request: Request, line: Line) -> dict[str, Any]:
    """The line as a phone number; ``line`` comes from a selector that reads its groups with it."""
    supported, reason = selectors.line_callback_supported(line)
    number = line.number if line.kind == Line.Kind.PHONE and line.number else None
    country = _country(number or line.outbound_number)
    greeting_ids = [
        pk
        for pk in (line.welcome_greeting_id, line.hold_greeting_id, line.callback_greeting_id,
                   line.callback_confirmation_greeting_id)
        if pk
    ]
    return {
        "id": line.pk,
        "url": request.build_absolute_uri(f"/api/v2/channels/voice/phone_numbers/{line.pk}.json"),
        "number": _number(line, number),
        "display_number": number.as_international if number else line.address,
        "name": line.name,
        "nickname": line.name,
        "country_code": country,
        "location": country,
        "toll_free": line.is_toll_free,
        "external": False,
        "recorded": False,
        "transcription": False,
        "capabilities": {"voice": True, "sms": False, "mms": False},
        "kind": line.kind,
        "line_type": "digital" if line.kind == Line.Kind.DIGITAL else "phone",
        "sip_address": line.sip_address or None,
        "outbound_number": _e164(line.outbound_number),
        "enabled": line.enabled,
        "default_group_id": line.default_group_id,
        "group_ids": line_group_ids(line),
        "welcome_greeting_id": line.welcome_greeting_id,
        "hold_greeting_id": line.hold_greeting_id,
        "greeting_ids": greeting_ids,
        "categorised_greetings": line_categorised_greetings(line),
        "call_offer_seconds": line.call_offer_seconds,
        "callback": {
            "enabled": line.callback_enabled,
            "available": supported,
            "unavailable_reason": reason,
            "language": line.callback_language,
            "effective_language": selectors.effective_callback_language(line),
            "callback_greeting_id": line.callback_greeting_id,
            "confirmation_greeting_id": line.callback_confirmation_greeting_id,
            "offer_seconds": line.callback_offer_seconds,
            "expiry_minutes": line.callback_expiry_minutes,
            "key": line.callback_key,
            "offer_in_greeting": line.callback_offer_in_greeting,
            "offer_while_queued": line.callback_offer_while_queued,
            "caller_id_policy": line.callback_caller_id_policy,
            "outbound_caller_id": _e164(line.callback_outbound_caller_id),
            "retry_attempts": line.callback_retry_attempts,
            "retry_interval_minutes": line.callback_retry_interval_minutes,
            "capture_on_first_key": line.callback_capture_on_first_key,
            "announce_queue_position": line.announce_queue_position,
            "record_name": line.callback_record_name,
        },
        "webhooks": selectors.line_webhook_urls(line=line, request=request),
        "warnings": selectors.line_warnings(line),
        "created_at": line.created_at,
        "updated_at": line.updated_at,
    }


def _country(number) -> str | None:
    if not number:
        return None
    return phonenumbers.region_code_for_number(number)


def _range(field: str, **kwargs) -> serializers.IntegerField:
    """An integer with the service's bounds, so the schema states them."""
    label, low, high = RANGES[field]
    message = range_message(field)
    return serializers.IntegerField(
        required=False, min_value=low, max_value=high, help_text=label,
        error_messages={"min_value": message, "max_value": message, "max_string_length": message}, **kwargs,
    )


def _choice(choices, message: str, **kwargs) -> serializers.ChoiceField:
    """A choice refused with the service's own words."""
    return serializers.ChoiceField(choices=choices, error_messages={"invalid_choice": message}, **kwargs)


_NAME = {
    "required": False, "max_length": NAME_LENGTH,
    "error_messages": {"blank": NAME_REQUIRED_MESSAGE, "max_length": NAME_TOO_LONG_MESSAGE},
}


_ID = {"required": False, "allow_null": True, "min_value": 1, "max_value": 2**63 - 1}


_NUMBER = {"required": False, "allow_blank": True, "allow_null": True, "max_length": 32}


class PhoneNumberCallbackInput(BodySerializer):
    enabled = serializers.BooleanField(required=False)
    language = _choice(
        [code for code, _ in LANGUAGE_CHOICES], CALLBACK_LANGUAGE_INVALID_MESSAGE, required=False, allow_blank=True,
        allow_null=True, help_text="Blank or null: the account's default language.",
    )
    callback_greeting_id = serializers.IntegerField(**_ID)
    confirmation_greeting_id = serializers.IntegerField(**_ID)
    offer_seconds = _range("callback_offer_seconds")
    expiry_minutes = _range("callback_expiry_minutes")
    key = _choice(sorted(CALLBACK_KEYS), CALLBACK_KEY_MESSAGE, required=False, help_text="One key of the keypad.")
    offer_in_greeting = serializers.BooleanField(required=False)
    offer_while_queued = serializers.BooleanField(required=False)
    caller_id_policy = _choice(Line.CallerIdPolicy.values, CALLER_ID_POLICY_INVALID_MESSAGE, required=False)
    outbound_caller_id = serializers.CharField(**_NUMBER)
    retry_attempts = _range("callback_retry_attempts")
    retry_interval_minutes = _range("callback_retry_interval_minutes")
    capture_on_first_key = serializers.BooleanField(required=False)
    announce_queue_position = serializers.BooleanField(required=False)
    record_name = serializers.BooleanField(
        required=False, help_text="Ask callers for their name and reason after confirming (recorded; SPEC C14)."
    )


class PhoneNumberInput(BodySerializer):
    nickname = serializers.CharField(help_text="The line's name.", **_NAME)
    name = serializers.CharField(help_text="Same as nickname; nickname wins.", **_NAME)
    kind = _choice(Line.Kind.values, KIND_INVALID_MESSAGE, required=False, help_text="Only when creating; phone by default.")
    number = serializers.CharField(**_NUMBER)
    sip_address = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=255)
    outbound_number = serializers.CharField(**_NUMBER)
    enabled = serializers.BooleanField(required=False)
    welcome_greeting_id = serializers.IntegerField(**_ID)
    hold_greeting_id = serializers.IntegerField(**_ID)
    call_offer_seconds = _range("call_offer_seconds")
    default_group_id = serializers.IntegerField(
        help_text="A group of the account, or null; it joins group_ids (SPEC R14).", **_ID
    )
    group_ids = IdListField(
        required=False, max_length=MAX_LINE_GROUPS,
        error_messages={"max_length": TOO_MANY_GROUPS_MESSAGE.format(limit=MAX_LINE_GROUPS)},
        help_text="Replaces the line's groups (groups of the account); the default group stays among them. "
                  "None, and no default group: every agent takes the line's calls.",
    )
    callback = PhoneNumberCallbackInput(required=False)


class PhoneNumberInputEnvelope(BodySerializer):
    phone_number = PhoneNumberInput()


# API name → service field (and back, for error details).
_TOP_FIELDS = {
    "name": "name",
    "nickname": "name",
    "kind": "kind",
    "number": "number",
    "sip_address": "sip_address",
    "outbound_number": "outbound_number",
    "enabled": "enabled",
    "welcome_greeting_id": "welcome_greeting",
    "hold_greeting_id": "hold_greeting",
    "call_offer_seconds": "call_offer_seconds",
    "default_group_id": "default_group",
    "group_ids": "groups",
}
_CALLBACK_FIELDS = {
    "enabled": "callback_enabled",
    "language": "callback_language",
    "callback_greeting_id": "callback_greeting",
    "confirmation_greeting_id": "callback_confirmation_greeting",
    "offer_seconds": "callback_offer_seconds",
    "expiry_minutes": "callback_expiry_minutes",
    "key": "callback_key",
    "offer_in_greeting": "callback_offer_in_greeting",
    "offer_while_queued": "callback_offer_while_queued",
    "caller_id_policy": "callback_caller_id_policy",
    "outbound_caller_id": "callback_outbound_caller_id",
    "retry_attempts": "callback_retry_attempts",
    "retry_interval_minutes": "callback_retry_interval_minutes",
    "capture_on_first_key": "callback_capture_on_first_key",
    "announce_queue_position": "announce_queue_position",
    "record_name": "callback_record_name",
}
LINE_ERROR_FIELDS = {
    **{service: api for api, service in _TOP_FIELDS.items() if api != "nickname"},
    **{service: f"callback.{api}" for api, service in _CALLBACK_FIELDS.items()},
}


def _line_changes(data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for api_name, value in data.items():
        if api_name == "callback":
            for sub, sub_value in value.items():
                changes[_CALLBACK_FIELDS[sub]] = sub_value
        elif api_name != "nickname":
            changes[_TOP_FIELDS[api_name]] = value
    if "nickname" in data:
        changes["name"] = data["nickname"]
    return changes


class PhoneNumberListView(ReadMembersWriteAdmins):
    @extend_schema(responses=PhoneNumberListEnvelope, parameters=[PageQuery], summary="List the account's Talk lines (phone numbers)")
    def get(self, request: Request) -> Response:
        lines = line_list_with_groups(account=request.account)
        body = paginate(request, lines, "phone_numbers", lambda line: phone_number_payload(request, line))
        return Response(PhoneNumberListEnvelope(body).data)

    @extend_schema(
        request=PhoneNumberInputEnvelope,
        responses={201: PhoneNumberEnvelope},
        summary="Add a line (admins)",
    )
    def post(self, request: Request) -> Response:
        changes = _line_changes(read_body(PhoneNumberInputEnvelope, request, "phone_number"))
        try:
            line = services.line_create(
                account=request.account,
                actor=request.user,
                name=changes.pop("name", ""),
                kind=changes.pop("kind", Line.Kind.PHONE),
                **changes,
            )
        except ServiceError as error:
            raise rename_error(error, LINE_ERROR_FIELDS) from error
        line = selectors.access_line(account=request.account, line_id=line.pk)
        return Response(
            PhoneNumberEnvelope({"phone_number": phone_number_payload(request, line)}).data,
            status=status.HTTP_201_CREATED,
        )


class PhoneNumberDetailView(ReadMembersWriteAdmins):
    def _line(self, request: Request, line_id: int) -> Line:
        line = selectors.access_line(account=request.account, line_id=line_id)
        if line is None:
            raise Http404
        return line

    @extend_schema(responses=PhoneNumberEnvelope, summary="A line with its callback settings and webhook URLs")
    def get(self, request: Request, line_id: int) -> Response:
        line = self._line(request, line_id)
        return Response(PhoneNumberEnvelope({"phone_number": phone_number_payload(request, line)}).data)

    @extend_schema(
        request=PhoneNumberInputEnvelope,
        responses=PhoneNumberEnvelope,
        summary="Change a line and its callback settings (admins; partial)",
    )
    def put(self, request: Request, line_id: int) -> Response:
        line = self._line(request, line_id)
        changes = _line_changes(read_body(PhoneNumberInputEnvelope, request, "phone_number"))
        try:
            line = services.line_update(account=request.account, line=line, actor=request.user, **changes)
        except ServiceError as error:
            raise rename_error(error, LINE_ERROR_FIELDS) from error
        line = selectors.access_line(account=request.account, line_id=line.pk)
        return Response(PhoneNumberEnvelope({"phone_number": phone_number_payload(request, line)}).data)
