"""The agent's current offer with Call (accept) and Don't answer (decline) (SPEC R5, R6,
A1). The console uses these same endpoints (session + CSRF), so every click is re-checked
here whatever the page showed (R13)."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.errors import ServiceError
from talk.console import selectors
from talk.models import Offer
from talk.routing import offer_payload
from talk.selectors.recordings import recording_url
from talk.services.offers import offer_accept, offer_decline

# --- Offers (R5, R6) ---------------------------------------------------------------
class OfferOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["live", "callback"])
    line = inline_serializer("OfferLine", {"id": serializers.IntegerField(), "name": serializers.CharField()})
    number = serializers.CharField(help_text="The caller's number (E.164), or the raw caller id.")
    entered_at = serializers.DateTimeField(help_text="The caller's original place in the queue.")
    expires_at = serializers.DateTimeField(help_text="The offer goes to the next agent after this.")
    callback_request_id = serializers.IntegerField(allow_null=True)
    confirmed = serializers.BooleanField(allow_null=True, help_text="Callbacks: false when captured on the first key, before the caller confirmed.")
    recording = inline_serializer(
        "OfferRecording",
        {
            "url": serializers.URLField(help_text="Plays the WAV file (this API's auth)."),
            "duration_seconds": serializers.IntegerField(allow_null=True, min_value=0),
        },
        allow_null=True,
        help_text="Callbacks: the caller's recorded name and reason, once it can be played (C14); else null.",
    )


class CurrentOfferEnvelope(serializers.Serializer):
    offer = OfferOutput(allow_null=True)


class AnsweredOfferOutput(OfferOutput):
    state = serializers.ChoiceField(choices=Offer.State.values)


class AnsweredOfferEnvelope(serializers.Serializer):
    offer = AnsweredOfferOutput()


OFFER_GONE_SCHEMA = inline_serializer(
    "OfferWithdrawn", {"error": serializers.CharField(default="OfferWithdrawn"), "description": serializers.CharField()}
)


def _for_api(request: Request, payload: dict) -> dict:
    """The offer as the console has it, its recording played from the API's route (a token
    client cannot use the pages' session route)."""
    if payload.get("recording"):
        url = recording_url(payload["callback_request_id"], api=True)
        payload = {**payload, "recording": {**payload["recording"], "url": request.build_absolute_uri(url)}}
    return payload


class CurrentOfferView(APIView):
    @extend_schema(responses=CurrentOfferEnvelope, summary="The signed-in agent's open offer, or null")
    def get(self, request: Request) -> Response:
        offer = selectors.current_offer_payload(account=request.account, agent=request.user)
        return Response({"offer": _for_api(request, offer) if offer is not None else None})


class _AnswerOfferView(APIView):
    service = staticmethod(offer_accept)

    def post(self, request: Request, offer_id: int) -> Response:
        account = request.account
        # Checked before the service: another account's or another agent's offer is a missing one (T3).
        if selectors.access_agent_offer(account=account, agent=request.user, offer_id=offer_id) is None:
            raise Http404
        try:
            offer = self.service(account=account, offer_id=offer_id, agent=request.user)
        except ServiceError as error:
            if error.code != "offer_gone":
                raise
            # Someone else won, it timed out, or it was withdrawn: the console shows it gone (R5).
            return Response({"error": "OfferWithdrawn", "description": error.message}, status=status.HTTP_409_CONFLICT)
        offer = Offer.objects.select_related(
            "entry__line", "entry__call", "entry__callback_request__recording"
        ).get(account=account, pk=offer.pk)
        return Response({"offer": {**_for_api(request, offer_payload(offer)), "state": offer.state}})


class OfferAcceptView(_AnswerOfferView):
    service = staticmethod(offer_accept)

    @extend_schema(request=None, responses={200: AnsweredOfferEnvelope, 409: OFFER_GONE_SCHEMA},
                   summary="Call: accept the offer (exactly one agent wins)")
    def post(self, request: Request, offer_id: int) -> Response:
        return super().post(request, offer_id)


class OfferDeclineView(_AnswerOfferView):
    service = staticmethod(offer_decline)

    @extend_schema(request=None, responses={200: AnsweredOfferEnvelope, 409: OFFER_GONE_SCHEMA},
                   summary="Don't answer: the caller keeps their place and the next agent is offered it")
    def post(self, request: Request, offer_id: int) -> Response:
        return super().post(request, offer_id)
