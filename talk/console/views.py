"""The agent console (SPEC R1, R5, R6, R13): one page per signed-in member, its
authoritative state as JSON (what the page reloads after every push, on every
(re)connect, and by polling while the socket is down), and the agent's device.

Actions (status, Call, Don't answer) go to the API in talk.api.offers and talk.api.availabilities, which
re-checks them; the socket (talk.console.consumers) only carries hints.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.auth import member_required
from talk.console import selectors
from talk.models import AgentPresence
from talk.services.agents import agent_device_set


@require_GET
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
