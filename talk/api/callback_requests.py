"""Callback requests over the API (SPEC A1, C6): what callers asked for, and its state."""
from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.bodies import BodySerializer, read_body
from supportcenter.auth import IsAccountAdmin, IsAccountMember
from supportcenter.pagination import PageQuery, page_serializer, paginate
from supportcenter.models import Group
from supportcenter.queries import read_query
from talk.models import CallbackRequest
from talk.selectors.calls import access_callback_request, callback_request_list
from talk.services.callback_requests import CallbackRateLimited, callback_request_create_by_api


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
    group_ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The request's own groups: offered only to their agents (empty: the line's groups).",
    )


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
        "group_ids": sorted(group.pk for group in item.groups.all()),
    }


class CallbackRequestQuery(PageQuery):
    state = serializers.ChoiceField(choices=CallbackRequest.State.values, required=False)


MAX_GROUPS = 100


class GroupIdsField(serializers.ListField):
    """A list of group ids: a value that is not a JSON integer is malformed (400), like a
    top-level value of the wrong type (supportcenter.bodies); an id of no group of the
    account is the service's refusal (422)."""

    child = serializers.IntegerField(min_value=1, max_value=2**63 - 1)

    def to_internal_value(self, data):
        if isinstance(data, list) and any(isinstance(item, bool) or not isinstance(item, int) for item in data):
            raise serializers.ValidationError(
                [serializers.ErrorDetail("Expected a list of group ids (integers).", code="invalid_type")]
            )
        return super().to_internal_value(data)


class CallbackRequestInput(BodySerializer):
    phone_number_id = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The line (Talk phone number) to call back from."
    )
    requester_phone_number = serializers.CharField(max_length=32, help_text="The number to call back, E.164.")
    requester_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="Accepted for compatibility; not used."
    )
    group_ids = GroupIdsField(
        required=False, allow_null=True, max_length=MAX_GROUPS,
        help_text="Groups of the account whose agents are offered the callback instead of the line's groups.",
    )


class CallbackRequestCreateEnvelope(BodySerializer):
    callback_request = CallbackRequestInput()


class CallbackRequestListView(APIView):
    """GET: admins list the requests. POST: admins and agents ask for a callback."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAccountMember()]
        return [IsAccountMember(), IsAccountAdmin()]

    @extend_schema(
        responses=CallbackRequestPage,
        parameters=[CallbackRequestQuery],
        summary="Callback requests of the account, oldest place in the queue first",
    )
    def get(self, request: Request) -> Response:
        query = read_query(CallbackRequestQuery, request)
        rows = callback_request_list(
            account=request.account, state=query.get("state"), newest_first=query["sort_order"] == "desc"
        ).prefetch_related(Prefetch("groups", queryset=Group.objects.only("pk")))  # group_ids: one query a page
        return Response(paginate(request, rows, "callback_requests", lambda r: callback_request_payload(request, r)))

    @extend_schema(
        request=CallbackRequestCreateEnvelope,
        responses={201: CallbackRequestEnvelope},
        summary="Ask for a callback to a number on a line; it joins the line's queue now (30 per 10 minutes)",
    )
    def post(self, request: Request) -> Response:
        data = read_body(CallbackRequestCreateEnvelope, request, "callback_request")
        try:
            item = callback_request_create_by_api(
                account=request.account, line_id=data["phone_number_id"],
                number=data["requester_phone_number"], actor=request.user,
                group_ids=data.get("group_ids") or (),
            )
        except CallbackRateLimited as refusal:
            raise exceptions.Throttled(wait=refusal.retry_after, detail=refusal.message) from None
        return Response({"callback_request": callback_request_payload(request, item)}, status=status.HTTP_201_CREATED)


class CallbackRequestDetailView(APIView):
    permission_classes = [IsAccountMember, IsAccountAdmin]

    @extend_schema(responses=CallbackRequestEnvelope, summary="One callback request")
    def get(self, request: Request, request_id: int) -> Response:
        item = access_callback_request(account=request.account, request_id=request_id)
        if item is None:
            raise Http404
        return Response({"callback_request": callback_request_payload(request, item)})
