"""The voice provider settings (admins): the simulator or Twilio with its credentials."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.auth import IsAccountAdmin, IsAccountMember
from supportcenter.bodies import BodySerializer, read_body
from talk import selectors, services
from talk.models import TelephonySettings
from talk.services.telephony import TWILIO_SID_INVALID_MESSAGE, TWILIO_TOKEN_INVALID_MESSAGE


class VoiceSettingsOutput(serializers.Serializer):
    provider = serializers.CharField(help_text="simulator or twilio")
    twilio_account_sid = serializers.CharField()
    twilio_auth_token_set = serializers.BooleanField(help_text="The token itself is write-only.")
    twilio_auth_token_last4 = serializers.CharField()


class VoiceSettingsEnvelope(serializers.Serializer):
    settings = VoiceSettingsOutput()


class VoiceSettingsInput(BodySerializer):
    provider = serializers.ChoiceField(choices=TelephonySettings.Provider.values, required=False)
    twilio_account_sid = serializers.RegexField(
        r"^(AC[0-9a-fA-F]{32})?$", required=False, allow_blank=True,
        error_messages={"invalid": TWILIO_SID_INVALID_MESSAGE},
    )
    twilio_auth_token = serializers.RegexField(
        r"^([0-9a-fA-F]{32})?$", required=False, allow_blank=True, write_only=True,
        error_messages={"invalid": TWILIO_TOKEN_INVALID_MESSAGE},
    )


class VoiceSettingsInputEnvelope(BodySerializer):
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
        row = selectors.telephony_settings_get(account=request.account)
        return Response(VoiceSettingsEnvelope({"settings": _settings_payload(row)}).data)

    @extend_schema(
        request=VoiceSettingsInputEnvelope,
        responses=VoiceSettingsEnvelope,
        summary="Choose the telephony provider and set its credentials (admins; the token is write-only)",
    )
    def put(self, request: Request) -> Response:
        data = read_body(VoiceSettingsInputEnvelope, request, "settings")
        row = services.telephony_settings_update(account=request.account, actor=request.user, **data)
        return Response(VoiceSettingsEnvelope({"settings": _settings_payload(row)}).data)
