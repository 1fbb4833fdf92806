"""The voice provider settings (admins): the simulator or Twilio with its credentials, and how
long callers' recordings are kept (SPEC C14)."""
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
from talk.services.telephony import (
    RECORDING_RETENTION_MAX_DAYS,
    RECORDING_RETENTION_MESSAGE,
    RECORDING_RETENTION_MIN_DAYS,
    TWILIO_SID_INVALID_MESSAGE,
    TWILIO_TOKEN_INVALID_MESSAGE,
)

_RETENTION_HELP = "Days a caller's recorded name and reason is kept once its callback request is over (SPEC C14)."


class VoiceSettingsOutput(serializers.Serializer):
    provider = serializers.CharField(help_text="simulator or twilio")
    twilio_account_sid = serializers.CharField()
    twilio_auth_token_set = serializers.BooleanField(help_text="The token itself is write-only.")
    twilio_auth_token_last4 = serializers.CharField()
    recording_retention_days = serializers.IntegerField(help_text=_RETENTION_HELP)


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
    # The service's bounds and words, so the schema states them (SPEC A1).
    recording_retention_days = serializers.IntegerField(
        required=False, min_value=RECORDING_RETENTION_MIN_DAYS, max_value=RECORDING_RETENTION_MAX_DAYS,
        help_text=_RETENTION_HELP,
        error_messages={key: RECORDING_RETENTION_MESSAGE for key in ("min_value", "max_value", "max_string_length")},
    )


class VoiceSettingsInputEnvelope(BodySerializer):
    settings = VoiceSettingsInput()


def _settings_payload(row: TelephonySettings) -> dict[str, Any]:
    return {
        "provider": row.provider,
        "twilio_account_sid": row.twilio_account_sid,
        "twilio_auth_token_set": row.twilio_auth_token_set,
        "twilio_auth_token_last4": row.twilio_auth_token_last4,
        "recording_retention_days": row.recording_retention_days,
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
        summary="Choose the telephony provider, set its credentials (the token is write-only) and the "
                "recordings' retention (admins; partial)",
    )
    def put(self, request: Request) -> Response:
        data = read_body(VoiceSettingsInputEnvelope, request, "settings")
        row = services.telephony_settings_update(account=request.account, actor=request.user, **data)
        return Response(VoiceSettingsEnvelope({"settings": _settings_payload(row)}).data)
