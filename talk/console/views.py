"""The agent console (SPEC R1, R5, R6, R13): one page per signed-in member, its
authoritative state as JSON (what the page reloads after every push, on every
(re)connect, and by polling while the socket is down), and the agent's device.

Actions (status, Call, Don't answer) go to the API in talk.api.offers and talk.api.availabilities, which
re-checks them; the socket (talk.console.consumers) only carries hints. "Call later" (R16) is the
console's own endpoint (``CallLaterView``): a time picked in the account's zone, for the agent's
own offer or a callback they just could not reach, re-checked here and by the service.
"""
from __future__ import annotations


from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.api_errors import RecordInvalid
from supportcenter.auth import member_required
from supportcenter.bodies import BodySerializer
from supportcenter.errors import ServiceError
from supportcenter.tenancy import account_wall_time, account_zone
from talk.console import selectors
from talk.models import AgentPresence
from talk.services.agents import agent_device_set
from talk.services.supervision import callback_reschedule

CALL_LATER_GONE_MESSAGE = ("This callback is no longer yours to call later: it was taken, timed out or "
                           "ended meanwhile. Nothing was changed.")
TIME_FORMAT_MESSAGE = "Enter a date and time, e.g. 2026-05-04T10:00."


class CallLaterInput(BodySerializer):
    callback_request_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    scheduled_for = serializers.CharField(
        max_length=40, help_text="Wall time in the account's zone (2026-05-04T10:00), or with an offset.")
    assign_to_me = serializers.BooleanField(required=False, default=True)


class CallLaterView(APIView):
    """``POST``: "Call later" (R16): the agent's offered callback, or one they just could not
    reach, is scheduled for a time (up to 30 days ahead) and, by default, assigned to them.
    Another account's request, or one that never came to this agent, is 404 like a missing
    one; one no longer theirs (taken, timed out, ended) is 409 and nothing changes."""

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        body = CallLaterInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        account, agent = request.account, request.user
        zone = account_zone(account)
        try:  # the account's wall time (what a datetime-local field sends); an offset is honoured
            when = account_wall_time(data["scheduled_for"], account)
        except ValueError:
            raise RecordInvalid({"scheduled_for": [serializers.ErrorDetail(TIME_FORMAT_MESSAGE, code="invalid")]}) from None
        callback = selectors.access_agent_callback(account=account, agent=agent, request_id=data["callback_request_id"])
        if callback is None:
            raise Http404
        if not selectors.may_call_later(account=account, agent=agent, request=callback):
            raise ServiceError(CALL_LATER_GONE_MESSAGE, field="base", code="conflict")
        try:
            callback = callback_reschedule(account=account, request_id=callback.pk, actor=agent, scheduled_for=when,
                                           assignee_id=agent.pk if data["assign_to_me"] else None)
        except ServiceError as error:
            if error.code != "read_only":
                raise
            # The offer moved on between the check and the service's own re-check.
            raise ServiceError(CALL_LATER_GONE_MESSAGE, field="base", code="conflict") from None
        return Response({"callback_request": {
            "id": callback.pk,
            "number": callback.number,
            "state": callback.state,
            "scheduled_for": timezone.localtime(callback.scheduled_for, zone).isoformat(),
            "assignee_id": callback.assignee_id,
        }})


@require_http_methods(["GET"])
@member_required
def page(request: HttpRequest) -> HttpResponse:
    state = selectors.console_state(account=request.account, user=request.user)
    return render(request, "talk/console.html", {
        "state": state,
        "statuses": AgentPresence.Status.choices,
        "poll_seconds": settings.CONSOLE_POLL_SECONDS,
        "live_poll_seconds": settings.CONSOLE_LIVE_POLL_SECONDS,
    })


class ConsoleStateView(APIView):
    """``GET /talk/console/state.json``: the signed-in member's console, authoritative (R13)."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(selectors.console_state(account=request.account, user=request.user))


class DeviceInput(serializers.Serializer):
    device = serializers.CharField(allow_blank=True, max_length=255)


class DeviceView(APIView):
    """``PUT /talk/console/device.json``: where callbacks ring the signed-in agent first (R5)."""

    @extend_schema(exclude=True)
    def put(self, request: Request) -> Response:
        body = DeviceInput(data=request.data)
        body.is_valid(raise_exception=True)
        presence = agent_device_set(
            account=request.account, user=request.user, device=body.validated_data["device"],
            actor=request.user,
        )
        return Response({"device": presence.device})
