"""Agents' side of Talk over the API (SPEC R1, R5, R6, A1): availability in the
reference's shape, and the agent's current offer with Call (accept) and Don't
answer (decline). The console uses these same endpoints (session + CSRF), so
every click is re-checked here whatever the page showed (R13).
"""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.errors import ServiceError
from supportcenter.models import User
from supportcenter.tenancy import membership_of
from talk.console import selectors
from talk.models import AgentPresence, Offer
from talk.routing import offer_payload
from talk.services.agents import agent_status_set
from talk.services.offers import offer_accept, offer_decline

OTHER_AGENT_MESSAGE = "Agents can read and set only their own availability."


# --- Availability (R1) -------------------------------------------------------------
class AvailabilityOutput(serializers.Serializer):
    agent_state = serializers.ChoiceField(choices=AgentPresence.Status.values)
    call_status = serializers.ChoiceField(choices=["on_call"], allow_null=True, help_text="on_call while busy.")
    via = serializers.CharField()
    available = serializers.BooleanField(help_text="Online and not on a call: can be offered calls and callbacks.")


class AvailabilityEnvelope(serializers.Serializer):
    availability = AvailabilityOutput()


class AvailabilityFields(serializers.Serializer):
    # A CharField, not a choice: the service owns the valid states and its message (422).
    agent_state = serializers.CharField(help_text="online, away, transfers_only or offline.")
    via = serializers.CharField(required=False, help_text="Accepted and ignored: the state is set via the client.")


class AvailabilityInput(serializers.Serializer):
    availability = AvailabilityFields()


def _member_for(request: Request, user_id: int) -> User:
    """The member whose availability is asked: 404 if not of this account, 403 if not theirs to see."""
    account = request._request.account
    member = selectors.access_member(account=account, user_id=user_id)
    if member is None:
        raise Http404
    mine = membership_of(request._request)
    if member.pk != request.user.pk and not mine.is_admin:
        raise PermissionDenied(OTHER_AGENT_MESSAGE)
    return member


class AvailabilityView(APIView):
    """``/api/v2/channels/voice/availabilities/{user_id}.json``: own, or anyone's for admins (T4)."""

    @extend_schema(responses=AvailabilityEnvelope, summary="An agent's Talk availability")
    def get(self, request: Request, user_id: int) -> Response:
        member = _member_for(request, user_id)
        return Response({"availability": selectors.availability(account=request._request.account, user=member)})

    @extend_schema(request=AvailabilityInput, responses=AvailabilityEnvelope, summary="Set an agent's Talk availability")
    def put(self, request: Request, user_id: int) -> Response:
        member = _member_for(request, user_id)
        body = AvailabilityInput(data=request.data)
        body.is_valid(raise_exception=True)
        account = request._request.account
        try:
            agent_status_set(
                account=account, user=member, status=body.validated_data["availability"]["agent_state"],
                actor=request.user,
            )
        except ServiceError as error:
            field = "agent_state" if error.field == "status" else error.field
            raise ServiceError(error.message, field=field, code=error.code) from None
        return Response({"availability": selectors.availability(account=account, user=member)})


# --- Offers (R5, R6) ---------------------------------------------------------------
class OfferOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["live", "callback"])
    line = inline_serializer("OfferLine", {"id": serializers.IntegerField(), "name": serializers.CharField()})
    number = serializers.CharField(help_text="The caller's number (E.164), or the raw caller id.")
    entered_at = serializers.DateTimeField(help_text="The caller's original place in the queue.")
    expires_at = serializers.DateTimeField(help_text="The offer goes to the next agent after this.")
    callback_request_id = serializers.IntegerField(allow_null=True)
    confirmed = serializers.BooleanField(allow_null=True, help_text="Callbacks: false when captured on first key (C8).")


class CurrentOfferEnvelope(serializers.Serializer):
    offer = OfferOutput(allow_null=True)


class AnsweredOfferOutput(OfferOutput):
    state = serializers.ChoiceField(choices=Offer.State.values)


class AnsweredOfferEnvelope(serializers.Serializer):
    offer = AnsweredOfferOutput()


OFFER_GONE_SCHEMA = inline_serializer(
    "OfferWithdrawn", {"error": serializers.CharField(default="OfferWithdrawn"), "description": serializers.CharField()}
)


class CurrentOfferView(APIView):
    @extend_schema(responses=CurrentOfferEnvelope, summary="The signed-in agent's open offer, or null")
    def get(self, request: Request) -> Response:
        offer = selectors.current_offer_payload(account=request._request.account, agent=request.user)
        return Response({"offer": offer})


class _AnswerOfferView(APIView):
    service = staticmethod(offer_accept)

    def post(self, request: Request, offer_id: int) -> Response:
        account = request._request.account
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
        offer = Offer.objects.select_related("entry__line", "entry__call", "entry__callback_request").get(
            account=account, pk=offer.pk
        )
        return Response({"offer": {**offer_payload(offer), "state": offer.state}})


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
