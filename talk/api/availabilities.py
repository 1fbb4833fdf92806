"""Agents' availability in the reference's shape (SPEC R1, A1). The console uses this same
endpoint (session + CSRF): every change is re-checked here whatever the page showed (R13)."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.bodies import BodySerializer, read_body
from supportcenter.errors import ServiceError
from supportcenter.models import User
from supportcenter.selectors import access_member
from supportcenter.tenancy import membership_of
from talk.console import selectors
from talk.models import AgentPresence
from talk.services.agents import STATUS_INVALID_MESSAGE, agent_status_set

OTHER_AGENT_MESSAGE = "Agents can read and set only their own availability."


# --- Availability (R1) -------------------------------------------------------------
class AvailabilityOutput(serializers.Serializer):
    agent_state = serializers.ChoiceField(choices=AgentPresence.Status.values)
    call_status = serializers.ChoiceField(choices=["on_call"], allow_null=True, help_text="on_call while busy.")
    via = serializers.CharField()
    available = serializers.BooleanField(help_text="Online and not on a call: can be offered calls and callbacks.")


class AvailabilityEnvelope(serializers.Serializer):
    availability = AvailabilityOutput()


class AvailabilityFields(BodySerializer):
    agent_state = serializers.ChoiceField(
        choices=AgentPresence.Status.values, error_messages={"invalid_choice": STATUS_INVALID_MESSAGE}
    )
    via = serializers.CharField(
        required=False, max_length=32, help_text="Accepted and ignored: the state is set via the client."
    )


class AvailabilityInput(BodySerializer):
    availability = AvailabilityFields()


def _member_for(request: Request, user_id: int) -> User:
    """The member whose availability is asked: 404 if not of this account, 403 if not theirs to see."""
    account = request.account
    membership = access_member(account=account, user_id=user_id)
    if membership is None:
        raise Http404
    member = membership.user
    mine = membership_of(request)
    if member.pk != request.user.pk and not mine.is_admin:
        raise PermissionDenied(OTHER_AGENT_MESSAGE)
    return member


class AvailabilityView(APIView):
    """``/api/v2/channels/voice/availabilities/{user_id}.json``: own, or anyone's for admins (T4)."""

    @extend_schema(responses=AvailabilityEnvelope, summary="An agent's Talk availability")
    def get(self, request: Request, user_id: int) -> Response:
        member = _member_for(request, user_id)
        return Response({"availability": selectors.availability(account=request.account, user=member)})

    @extend_schema(request=AvailabilityInput, responses=AvailabilityEnvelope, summary="Set an agent's Talk availability")
    def put(self, request: Request, user_id: int) -> Response:
        member = _member_for(request, user_id)
        availability = read_body(AvailabilityInput, request, "availability")
        account = request.account
        try:
            agent_status_set(
                account=account, user=member, status=availability["agent_state"],
                actor=request.user,
            )
        except ServiceError as error:
            field = "agent_state" if error.field == "status" else error.field
            raise ServiceError(error.message, field=field, code=error.code) from None
        return Response({"availability": selectors.availability(account=account, user=member)})
