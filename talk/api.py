"""Talk REST API in the reference's shapes (SPEC A1): phone numbers (lines) with
their callback settings and webhook URLs, greetings, and the voice provider
settings. Thin views: parse with an input serializer, call a service, answer
with an output serializer. Refusals are ServiceErrors → 422 (api_errors)."""
from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.auth import IsAccountAdmin, IsAccountMember
from supportcenter.errors import ServiceError
from supportcenter.pagination import PAGE_PARAMETERS, page_serializer, paginate
from talk import selectors, services
from talk.models import Greeting, Line, TelephonySettings


class ReadMembersWriteAdmins(APIView):
    """Members (agents too) may read; only admins may write (SPEC T4)."""

    def get_permissions(self):
        if self.request.method in permissions.SAFE_METHODS:
            return [IsAccountMember()]
        return [IsAccountMember(), IsAccountAdmin()]


def _rename_error(error: ServiceError, names: dict[str, str]) -> ServiceError:
    """The service's field name → the field name the API client sent."""
    return ServiceError(error.message, field=names.get(error.field, error.field), code=error.code)


# --- Phone numbers (lines) ----------------------------------------------------------
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


class PhoneNumberWebhooksOutput(serializers.Serializer):
    voice_url = serializers.URLField()
    status_callback_url = serializers.URLField()


class PhoneNumberOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    number = serializers.CharField(allow_null=True, help_text="E.164")
    display_number = serializers.CharField()
    name = serializers.CharField()
    nickname = serializers.CharField()
    country_code = serializers.CharField(allow_null=True)
    toll_free = serializers.BooleanField()
    capabilities = PhoneNumberCapabilitiesOutput()
    kind = serializers.CharField(help_text="phone, sip or digital")
    line_type = serializers.CharField(help_text="Same as kind (the reference's name)")
    sip_address = serializers.CharField(allow_null=True)
    outbound_number = serializers.CharField(allow_null=True)
    enabled = serializers.BooleanField()
    welcome_greeting_id = serializers.IntegerField(allow_null=True)
    hold_greeting_id = serializers.IntegerField(allow_null=True)
    greeting_ids = serializers.ListField(child=serializers.IntegerField())
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


def phone_number_payload(request: Request, line: Line) -> dict[str, Any]:
    supported, reason = selectors.line_callback_supported(line)
    number = line.number if line.kind == Line.Kind.PHONE and line.number else None
    greeting_ids = [
        pk
        for pk in (line.welcome_greeting_id, line.hold_greeting_id, line.callback_greeting_id,
                   line.callback_confirmation_greeting_id)
        if pk
    ]
    return {
        "id": line.pk,
        "url": request.build_absolute_uri(f"/api/v2/channels/voice/phone_numbers/{line.pk}.json"),
        "number": _e164(number),
        "display_number": number.as_international if number else line.address,
        "name": line.name,
        "nickname": line.name,
        "country_code": _country(number or line.outbound_number),
        "toll_free": line.is_toll_free,
        "capabilities": {"voice": True, "sms": False, "mms": False},
        "kind": line.kind,
        "line_type": line.kind,
        "sip_address": line.sip_address or None,
        "outbound_number": _e164(line.outbound_number),
        "enabled": line.enabled,
        "welcome_greeting_id": line.welcome_greeting_id,
        "hold_greeting_id": line.hold_greeting_id,
        "greeting_ids": greeting_ids,
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
        },
        "webhooks": selectors.line_webhook_urls(line=line, request=request._request),
        "warnings": selectors.line_warnings(line),
        "created_at": line.created_at,
        "updated_at": line.updated_at,
    }


def _country(number) -> str | None:
    if not number:
        return None
    import phonenumbers

    return phonenumbers.region_code_for_number(number)


class PhoneNumberCallbackInput(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    language = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    callback_greeting_id = serializers.IntegerField(required=False, allow_null=True)
    confirmation_greeting_id = serializers.IntegerField(required=False, allow_null=True)
    offer_seconds = serializers.IntegerField(required=False)
    expiry_minutes = serializers.IntegerField(required=False)
    key = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    offer_in_greeting = serializers.BooleanField(required=False)
    offer_while_queued = serializers.BooleanField(required=False)
    caller_id_policy = serializers.CharField(required=False)
    outbound_caller_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    retry_attempts = serializers.IntegerField(required=False)
    retry_interval_minutes = serializers.IntegerField(required=False)
    capture_on_first_key = serializers.BooleanField(required=False)
    announce_queue_position = serializers.BooleanField(required=False)


class PhoneNumberInput(serializers.Serializer):
    nickname = serializers.CharField(required=False, allow_blank=True)
    name = serializers.CharField(required=False, allow_blank=True, help_text="Same as nickname; nickname wins.")
    kind = serializers.CharField(required=False, help_text="phone, sip or digital; only when creating.")
    number = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    sip_address = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    outbound_number = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    enabled = serializers.BooleanField(required=False)
    welcome_greeting_id = serializers.IntegerField(required=False, allow_null=True)
    hold_greeting_id = serializers.IntegerField(required=False, allow_null=True)
    call_offer_seconds = serializers.IntegerField(required=False)
    callback = PhoneNumberCallbackInput(required=False)


class PhoneNumberInputEnvelope(serializers.Serializer):
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


def _parse(serializer_class, request: Request, key: str) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)  # malformed → 400 InvalidRequest
    return serializer.validated_data[key]


class PhoneNumberListView(ReadMembersWriteAdmins):
    @extend_schema(responses=PhoneNumberListEnvelope, parameters=PAGE_PARAMETERS, summary="List the account's Talk lines (phone numbers)")
    def get(self, request: Request) -> Response:
        lines = selectors.line_list(account=request._request.account)
        body = paginate(request, lines, "phone_numbers", lambda line: phone_number_payload(request, line))
        return Response(PhoneNumberListEnvelope(body).data)

    @extend_schema(
        request=PhoneNumberInputEnvelope,
        responses={201: PhoneNumberEnvelope},
        summary="Add a line (admins)",
    )
    def post(self, request: Request) -> Response:
        changes = _line_changes(_parse(PhoneNumberInputEnvelope, request, "phone_number"))
        try:
            line = services.line_create(
                account=request._request.account,
                actor=request.user,
                name=changes.pop("name", ""),
                kind=changes.pop("kind", ""),
                **changes,
            )
        except ServiceError as error:
            raise _rename_error(error, LINE_ERROR_FIELDS) from error
        line = selectors.access_line(account=request._request.account, line_id=line.pk)
        return Response(
            PhoneNumberEnvelope({"phone_number": phone_number_payload(request, line)}).data,
            status=status.HTTP_201_CREATED,
        )


class PhoneNumberDetailView(ReadMembersWriteAdmins):
    def _line(self, request: Request, line_id: int) -> Line:
        line = selectors.access_line(account=request._request.account, line_id=line_id)
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
        changes = _line_changes(_parse(PhoneNumberInputEnvelope, request, "phone_number"))
        try:
            line = services.line_update(account=request._request.account, line=line, actor=request.user, **changes)
        except ServiceError as error:
            raise _rename_error(error, LINE_ERROR_FIELDS) from error
        line = selectors.access_line(account=request._request.account, line_id=line.pk)
        return Response(PhoneNumberEnvelope({"phone_number": phone_number_payload(request, line)}).data)


# --- Greetings ----------------------------------------------------------------------
class GreetingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    name = serializers.CharField()
    category = serializers.CharField(help_text=", ".join(Greeting.Category.values))
    default = serializers.BooleanField(help_text="A system greeting: read-only.")
    language = serializers.CharField()
    voice = serializers.CharField()
    effective_voice = serializers.CharField()
    kind = serializers.CharField(help_text="tts (text to speech) or audio")
    text = serializers.CharField()
    audio_url = serializers.CharField()
    phone_number_ids = serializers.ListField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GreetingEnvelope(serializers.Serializer):
    greeting = GreetingOutput()


GreetingListEnvelope = page_serializer("GreetingListEnvelope", "greetings", GreetingOutput)


class GreetingInput(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(required=False)
    language = serializers.CharField(required=False)
    voice = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    audio_url = serializers.CharField(required=False, allow_blank=True)


class GreetingInputEnvelope(serializers.Serializer):
    greeting = GreetingInput()


def greeting_payload(request: Request, greeting: Greeting, used_by: list[int]) -> dict[str, Any]:
    return {
        "id": greeting.pk,
        "url": request.build_absolute_uri(f"/api/v2/channels/voice/greetings/{greeting.pk}.json"),
        "name": greeting.name,
        "category": greeting.category,
        "default": greeting.is_system,
        "language": greeting.language,
        "voice": greeting.voice,
        "effective_voice": greeting.effective_voice,
        "kind": greeting.kind,
        "text": greeting.text,
        "audio_url": greeting.audio_url,
        "phone_number_ids": used_by,
        "created_at": greeting.created_at,
        "updated_at": greeting.updated_at,
    }


def _usage(account) -> dict[int, list[int]]:
    """greeting id → ids of the lines that use it, in one query."""
    usage: dict[int, list[int]] = {}
    slots = ("welcome_greeting_id", "hold_greeting_id", "callback_greeting_id", "callback_confirmation_greeting_id")
    for row in selectors.line_list(account=account).values("pk", *slots):
        for slot in slots:
            if row[slot]:
                usage.setdefault(row[slot], []).append(row["pk"])
    return usage


class GreetingListView(ReadMembersWriteAdmins):
    @extend_schema(
        parameters=[*PAGE_PARAMETERS, OpenApiParameter("category", str, description="Only greetings of this category")],
        responses=GreetingListEnvelope,
        summary="System and own greetings",
    )
    def get(self, request: Request) -> Response:
        account = request._request.account
        greetings = selectors.greeting_list(account=account, category=request.query_params.get("category"))
        usage = _usage(account)
        body = paginate(request, greetings, "greetings", lambda g: greeting_payload(request, g, usage.get(g.pk, [])))
        return Response(GreetingListEnvelope(body).data)

    @extend_schema(request=GreetingInputEnvelope, responses={201: GreetingEnvelope}, summary="Create a greeting (admins)")
    def post(self, request: Request) -> Response:
        data = dict(_parse(GreetingInputEnvelope, request, "greeting"))
        greeting = services.greeting_create(
            account=request._request.account,
            actor=request.user,
            name=data.pop("name", ""),
            category=data.pop("category", ""),
            language=data.pop("language", "en"),
            **data,
        )
        return Response(
            GreetingEnvelope({"greeting": greeting_payload(request, greeting, [])}).data, status=status.HTTP_201_CREATED
        )


class GreetingDetailView(ReadMembersWriteAdmins):
    def _greeting(self, request: Request, greeting_id: int) -> Greeting:
        greeting = selectors.access_greeting(account=request._request.account, greeting_id=greeting_id)
        if greeting is None:
            raise Http404
        return greeting

    @extend_schema(responses=GreetingEnvelope, summary="A greeting")
    def get(self, request: Request, greeting_id: int) -> Response:
        greeting = self._greeting(request, greeting_id)
        used_by = _usage(request._request.account).get(greeting.pk, [])
        return Response(GreetingEnvelope({"greeting": greeting_payload(request, greeting, used_by)}).data)

    @extend_schema(request=GreetingInputEnvelope, responses=GreetingEnvelope, summary="Change an own greeting (admins)")
    def put(self, request: Request, greeting_id: int) -> Response:
        greeting = self._greeting(request, greeting_id)
        data = _parse(GreetingInputEnvelope, request, "greeting")
        greeting = services.greeting_update(
            account=request._request.account, greeting=greeting, actor=request.user, **data
        )
        used_by = _usage(request._request.account).get(greeting.pk, [])
        return Response(GreetingEnvelope({"greeting": greeting_payload(request, greeting, used_by)}).data)

    @extend_schema(request=None, responses={204: None}, summary="Delete an own greeting (admins)")
    def delete(self, request: Request, greeting_id: int) -> Response:
        greeting = self._greeting(request, greeting_id)
        services.greeting_delete(account=request._request.account, greeting=greeting, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Voice provider settings -----------------------------------------------------------
class VoiceSettingsOutput(serializers.Serializer):
    provider = serializers.CharField(help_text="simulator or twilio")
    twilio_account_sid = serializers.CharField()
    twilio_auth_token_set = serializers.BooleanField(help_text="The token itself is write-only.")
    twilio_auth_token_last4 = serializers.CharField()


class VoiceSettingsEnvelope(serializers.Serializer):
    settings = VoiceSettingsOutput()


class VoiceSettingsInput(serializers.Serializer):
    provider = serializers.CharField(required=False)
    twilio_account_sid = serializers.CharField(required=False, allow_blank=True)
    twilio_auth_token = serializers.CharField(required=False, allow_blank=True, write_only=True)


class VoiceSettingsInputEnvelope(serializers.Serializer):
    settings = VoiceSettingsInput()


def _settings_payload(row: TelephonySettings) -> dict[str, Any]:
    return {
        "provider": row.provider,
        "twilio_account_sid": row.twilio_account_sid,
        "twilio_auth_token_set": row.twilio_auth_token_set,
        "twilio_auth_token_last4": row.twilio_auth_token_last4,
    }


class VoiceSettingsView(APIView):
    permission_classes = [IsAccountMember, IsAccountAdmin]

    @extend_schema(responses=VoiceSettingsEnvelope, summary="The telephony provider (admins)")
    def get(self, request: Request) -> Response:
        row = selectors.telephony_settings_get(account=request._request.account)
        return Response(VoiceSettingsEnvelope({"settings": _settings_payload(row)}).data)

    @extend_schema(
        request=VoiceSettingsInputEnvelope,
        responses=VoiceSettingsEnvelope,
        summary="Choose the telephony provider and set its credentials (admins; the token is write-only)",
    )
    def put(self, request: Request) -> Response:
        data = _parse(VoiceSettingsInputEnvelope, request, "settings")
        row = services.telephony_settings_update(account=request._request.account, actor=request.user, **data)
        return Response(VoiceSettingsEnvelope({"settings": _settings_payload(row)}).data)
