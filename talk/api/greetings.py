"""Greetings (SPEC A1): the system's and the account's own; admins write."""
from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from supportcenter.bodies import BodySerializer, read_body
from supportcenter.pagination import PageQuery, page_serializer, paginate
from supportcenter.queries import read_query
from talk import selectors, services
from supportcenter.api_base import ReadMembersWriteAdmins
from talk.models import Greeting
from talk.services.greetings import (
    GREETING_AUDIO_URL_MESSAGE,
    GREETING_CATEGORY_INVALID_MESSAGE,
    GREETING_LANGUAGE_MESSAGE,
    GREETING_NAME_REQUIRED_MESSAGE,
    GREETING_NAME_TOO_LONG_MESSAGE,
    GREETING_TEXT_TOO_LONG_MESSAGE,
    GREETING_VOICE_MESSAGE,
    MAX_AUDIO_URL,
    MAX_TEXT,
    NAME_LENGTH,
)
from talk.voices import VOICE_LANGUAGES, VOICES


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


_NAME = {
    "max_length": NAME_LENGTH,
    "error_messages": {"blank": GREETING_NAME_REQUIRED_MESSAGE, "max_length": GREETING_NAME_TOO_LONG_MESSAGE},
}
_CATEGORY = {"error_messages": {"invalid_choice": GREETING_CATEGORY_INVALID_MESSAGE}}


class GreetingInput(BodySerializer):
    """A change to an own greeting: any of the fields."""

    name = serializers.CharField(required=False, **_NAME)
    category = serializers.ChoiceField(choices=Greeting.Category.values, required=False, **_CATEGORY)
    language = serializers.ChoiceField(
        choices=list(VOICE_LANGUAGES), required=False, help_text="Default en.",
        error_messages={"invalid_choice": GREETING_LANGUAGE_MESSAGE},
    )
    voice = serializers.ChoiceField(
        choices=sorted({voice for voices in VOICES.values() for voice in voices}), required=False, allow_blank=True,
        help_text="A voice of the greeting's language; blank for its default voice.",
        error_messages={"invalid_choice": GREETING_VOICE_MESSAGE},
    )
    text = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, help_text="What to say; or give audio_url.",
        error_messages={"max_length": GREETING_TEXT_TOO_LONG_MESSAGE},
    )
    audio_url = serializers.RegexField(
        r"^(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#]\S*)?)?$", required=False, allow_blank=True,
        max_length=MAX_AUDIO_URL, error_messages={"invalid": GREETING_AUDIO_URL_MESSAGE},
        help_text="An https:// audio file; or give text.",
    )


class GreetingCreateInput(GreetingInput):
    """A new greeting: a name and a category, and what to say (text or audio_url)."""

    name = serializers.CharField(**_NAME)
    category = serializers.ChoiceField(choices=Greeting.Category.values, **_CATEGORY)


class GreetingQuery(PageQuery):
    category = serializers.ChoiceField(
        choices=Greeting.Category.values, required=False, help_text="Only greetings of this category."
    )


class GreetingInputEnvelope(BodySerializer):
    greeting = GreetingInput()


class GreetingCreateEnvelope(BodySerializer):
    greeting = GreetingCreateInput()


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
        parameters=[GreetingQuery],
        responses=GreetingListEnvelope,
        summary="System and own greetings",
    )
    def get(self, request: Request) -> Response:
        account = request.account
        greetings = selectors.greeting_list(account=account, category=read_query(GreetingQuery, request).get("category"))
        usage = _usage(account)
        body = paginate(request, greetings, "greetings", lambda g: greeting_payload(request, g, usage.get(g.pk, [])))
        return Response(GreetingListEnvelope(body).data)

    @extend_schema(request=GreetingCreateEnvelope, responses={201: GreetingEnvelope}, summary="Create a greeting (admins)")
    def post(self, request: Request) -> Response:
        data = dict(read_body(GreetingCreateEnvelope, request, "greeting"))
        greeting = services.greeting_create(
            account=request.account,
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
        greeting = selectors.access_greeting(account=request.account, greeting_id=greeting_id)
        if greeting is None:
            raise Http404
        return greeting

    @extend_schema(responses=GreetingEnvelope, summary="A greeting")
    def get(self, request: Request, greeting_id: int) -> Response:
        greeting = self._greeting(request, greeting_id)
        used_by = _usage(request.account).get(greeting.pk, [])
        return Response(GreetingEnvelope({"greeting": greeting_payload(request, greeting, used_by)}).data)

    @extend_schema(request=GreetingInputEnvelope, responses=GreetingEnvelope, summary="Change an own greeting (admins)")
    def put(self, request: Request, greeting_id: int) -> Response:
        greeting = self._greeting(request, greeting_id)
        data = read_body(GreetingInputEnvelope, request, "greeting")
        greeting = services.greeting_update(
            account=request.account, greeting=greeting, actor=request.user, **data
        )
        used_by = _usage(request.account).get(greeting.pk, [])
        return Response(GreetingEnvelope({"greeting": greeting_payload(request, greeting, used_by)}).data)

    @extend_schema(request=None, responses={204: None}, summary="Delete an own greeting (admins)")
    def delete(self, request: Request, greeting_id: int) -> Response:
        greeting = self._greeting(request, greeting_id)
        services.greeting_delete(account=request.account, greeting=greeting, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
