"""Callback requests over the API (SPEC A1, C6): what callers asked for, and its state."""
from __future__ import annotations

import math
from datetime import timedelta

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.auth import IsAccountAdmin, IsAccountMember
from supportcenter.errors import ServiceError
from supportcenter.models import Account
from supportcenter.pagination import PAGE_PARAMETERS, page_query, page_serializer, paginate
from talk.models import CallbackRequest
from talk.selectors.calls import access_callback_request, callback_request_list
from talk.selectors.lines import access_line
from talk.services.callback_requests import callback_request_create

# SPEC A3: the reference allows 30 callback requests per 10 minutes per account.
API_CALLBACK_LIMIT = 30
API_CALLBACK_WINDOW = timedelta(minutes=10)
RATE_LIMITED_MESSAGE = "Too many callback requests: at most 30 per 10 minutes per account."
UNKNOWN_LINE_MESSAGE = "There is no such phone number (line) in this account."


class CallbackRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    phone_number_id = serializers.IntegerField(help_text="The line (Talk phone number) called.")
    requester_phone_number = serializers.CharField(help_text="E.164 number to call back.")
    number_source = serializers.ChoiceField(choices=["caller_id", "sip_from", "entered"])
    state = serializers.ChoiceField(choices=CallbackRequest.State.values)
    confirmed = serializers.BooleanField(help_text="False: captured when the caller hung up after the key.")
    language = serializers.CharField()
    queue_entered_at = serializers.DateTimeField(help_text="The caller's original place in the queue.")
    requested_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    call_sid = serializers.CharField(allow_null=True)


CallbackRequestPage = page_serializer("CallbackRequestPage", "callback_requests", CallbackRequestOutput)


class CallbackRequestEnvelope(serializers.Serializer):
    callback_request = CallbackRequestOutput()


def callback_request_payload(request: Request, item: CallbackRequest) -> dict:
    return {
        "id": item.pk,
        "url": request.build_absolute_uri(f"/api/v2/channels/voice/callback_requests/{item.pk}.json"),
        "phone_number_id": item.line_id,
        "requester_phone_number": item.number,
        "number_source": item.number_source,
        "state": item.state,
        "confirmed": item.confirmed,
        "language": item.language,
        "queue_entered_at": item.queue_entered_at,
        "requested_at": item.requested_at,
        "expires_at": item.expires_at,
        "ended_at": item.ended_at,
        "call_sid": item.call.provider_call_sid if item.call_id else None,
    }


class StateQuery(serializers.Serializer):
    state = serializers.ChoiceField(choices=CallbackRequest.State.values, required=False)


class CallbackRequestInput(serializers.Serializer):
    phone_number_id = serializers.IntegerField(help_text="The line (Talk phone number) to call back from.")
    requester_phone_number = serializers.CharField(max_length=32, help_text="The number to call back, E.164.")
    requester_id = serializers.IntegerField(required=False, help_text="Accepted for compatibility; not used.")


class CallbackRequestCreateEnvelope(serializers.Serializer):
    callback_request = CallbackRequestInput()


def _api_rate_limit(account: Account) -> None:
    """Refuse the 31st API callback request of an account within 10 minutes (SPEC A3).

    The count is of the API-made requests in the database (the only requests
    without a call), so every web process agrees on it. Locking the account row
    first makes concurrent requests of one account take turns on PostgreSQL, so
    two processes cannot both see 29 and both create. Refused (422) attempts do
    not count: nothing was created.
    """
    Account.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True).first()
    since = timezone.now() - API_CALLBACK_WINDOW
    recent = CallbackRequest.objects.filter(account=account, call__isnull=True, requested_at__gte=since)
    if recent.count() < API_CALLBACK_LIMIT:
        return
    oldest = recent.order_by("requested_at").values_list("requested_at", flat=True).first()
    wait = (oldest + API_CALLBACK_WINDOW - timezone.now()).total_seconds()
    raise exceptions.Throttled(wait=max(1, math.ceil(wait)), detail=RATE_LIMITED_MESSAGE)


class CallbackRequestListView(APIView):
    """GET: admins list the requests. POST: admins and agents ask for a callback."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAccountMember()]
        return [IsAccountMember(), IsAccountAdmin()]

    @extend_schema(
        responses=CallbackRequestPage,
        parameters=[*PAGE_PARAMETERS, OpenApiParameter("state", str, enum=CallbackRequest.State.values)],
        summary="Callback requests of the account, oldest place in the queue first",
    )
    def get(self, request: Request) -> Response:
        filters = StateQuery(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = callback_request_list(
            account=request._request.account,
            state=filters.validated_data.get("state"),
            newest_first=page_query(request)["sort_order"] == "desc",
        )
        return Response(paginate(request, rows, "callback_requests", lambda r: callback_request_payload(request, r)))

    @extend_schema(
        request=CallbackRequestCreateEnvelope,
        responses={201: CallbackRequestEnvelope},
        summary="Ask for a callback to a number on a line; it joins the line's queue now (30 per 10 minutes)",
    )
    def post(self, request: Request) -> Response:
        body = CallbackRequestCreateEnvelope(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data["callback_request"]
        account = request._request.account
        with transaction.atomic():
            _api_rate_limit(account)
            line = access_line(account=account, line_id=data["phone_number_id"])
            if line is None:  # another account's line answers exactly like a missing one (T3)
                raise ServiceError(UNKNOWN_LINE_MESSAGE, field="phone_number_id")
            item = callback_request_create(line=line, number=data["requester_phone_number"], actor=request.user)
        return Response({"callback_request": callback_request_payload(request, item)}, status=status.HTTP_201_CREATED)


class CallbackRequestDetailView(APIView):
    permission_classes = [IsAccountMember, IsAccountAdmin]

    @extend_schema(responses=CallbackRequestEnvelope, summary="One callback request")
    def get(self, request: Request, request_id: int) -> Response:
        item = access_callback_request(account=request._request.account, request_id=request_id)
        if item is None:
            raise Http404
        return Response({"callback_request": callback_request_payload(request, item)})
