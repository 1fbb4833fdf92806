"""Callback requests over the API (SPEC A1, C6, S2, R15, R16): what callers asked for, its
state, and the supervisors' actions on it (cancel, assign, reschedule, move)."""
from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.bodies import BodySerializer, read_body
from supportcenter.auth import IsAccountMember
from supportcenter.pagination import PageQuery, page_serializer, paginate
from supportcenter.models import Group
from supportcenter.queries import read_query
from talk.api.base import IsAccountSupervisor
from talk.models import CallbackRequest, CallerRecording
from talk.selectors.calls import access_callback_request, callback_request_list
from talk.selectors.queue import late_seconds, with_first_offer
from talk.selectors.recordings import recording_of, recording_summary
from talk.services import supervision
from talk.services.callback_requests import CallbackRateLimited


class CallbackRequestRecordingOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=CallerRecording.State.values,
        help_text="awaited (being recorded), fetching (arriving), stored, none (nothing said), failed, deleted "
                  "(after the account's retention).")
    duration_seconds = serializers.IntegerField(allow_null=True, min_value=0)
    url = serializers.URLField(allow_null=True, help_text="Plays the WAV file (this API's auth); only when stored.")


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
    outcome = serializers.ChoiceField(choices=CallbackRequest.Outcome.values, help_text="How it ended; empty while open.")
    scheduled_for = serializers.DateTimeField(
        allow_null=True, help_text="Due at this time (R16): out of the queue until then, offered ahead of it after.")
    late_seconds = serializers.IntegerField(
        allow_null=True, min_value=0,
        help_text="A scheduled callback: seconds from its time to its first offer (so far, while still waiting).")
    assignee_id = serializers.IntegerField(
        allow_null=True, help_text="The agent offered it first, for the line's callback offer time (R15).")
    assigned_at = serializers.DateTimeField(allow_null=True)
    cancelled_by = serializers.ChoiceField(choices=CallbackRequest.CancelledBy.values,
                                           help_text="supervisor or caller; empty when not cancelled.")
    cancel_reason = serializers.CharField(allow_blank=True)
    recording = CallbackRequestRecordingOutput(
        allow_null=True,
        help_text="The caller's recorded name and reason (C14), on lines that ask for it; null: none asked for.",
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
        "outcome": item.outcome,
        "scheduled_for": item.scheduled_for,
        "late_seconds": late_seconds(item),
        "assignee_id": item.assignee_id,
        "assigned_at": item.assigned_at,
        "cancelled_by": item.cancelled_by,
        "cancel_reason": item.cancel_reason,
        "recording": _recording(request, item),
    }


def _recording(request: Request, item: CallbackRequest) -> dict | None:
    summary = recording_summary(recording_of(item), api=True)
    if summary is not None and summary["url"] is not None:
        summary["url"] = request.build_absolute_uri(summary["url"])
    return summary


def _one(request: Request, request_id: int) -> CallbackRequest:
    """The account's request ``request_id`` with its lateness; another account's id is 404
    exactly like a missing one (T3)."""
    item = access_callback_request(account=request.account, request_id=request_id)
    if item is None:
        raise Http404
    item = with_first_offer(CallbackRequest.objects.filter(account=request.account, pk=item.pk)) \
        .select_related("call", "recording").first()
    if item is None:  # pragma: no cover - gone between the two reads
        raise Http404
    return item


class CallbackRequestQuery(PageQuery):
    state = serializers.ChoiceField(choices=CallbackRequest.State.values, required=False)
    line_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False,
                                       help_text="Only the requests of this line (Talk phone number).")
    scheduled = serializers.BooleanField(required=False, help_text="true: only scheduled requests; false: only others.")


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
    scheduled_for = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="Call back at this time (ISO 8601, up to 30 days ahead): not offered before it, ahead of the queue after.",
    )
    assignee_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1,
        help_text="Offer it to this agent first (admins and supervisors; an agent may name themselves).",
    )


class CallbackRequestCreateEnvelope(BodySerializer):
    callback_request = CallbackRequestInput()


class CallbackRequestListView(APIView):
    """GET: admins and supervisors list the requests. POST: admins and agents ask for a callback."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAccountMember()]
        return [IsAccountMember(), IsAccountSupervisor()]

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
        rows = rows.select_related("recording")  # the recording: in the page's own query
        if "line_id" in query:
            rows = rows.filter(line_id=query["line_id"])
        if "scheduled" in query:
            rows = rows.filter(scheduled_for__isnull=not query["scheduled"])
        rows = with_first_offer(rows)
        return Response(paginate(request, rows, "callback_requests", lambda r: callback_request_payload(request, r)))

    @extend_schema(
        request=CallbackRequestCreateEnvelope,
        responses={201: CallbackRequestEnvelope},
        summary="Ask for a callback to a number on a line: it joins the line's queue now, or at scheduled_for "
                "(30 per 10 minutes)",
    )
    def post(self, request: Request) -> Response:
        data = read_body(CallbackRequestCreateEnvelope, request, "callback_request")
        try:
            item = supervision.callback_request_create_planned(
                account=request.account, line_id=data["phone_number_id"],
                number=data["requester_phone_number"], actor=request.user,
                group_ids=data.get("group_ids") or (), scheduled_for=data.get("scheduled_for"),
                assignee_id=data.get("assignee_id"),
            )
        except CallbackRateLimited as refusal:
            raise exceptions.Throttled(wait=refusal.retry_after, detail=refusal.message) from None
        return Response({"callback_request": callback_request_payload(request, _one(request, item.pk))},
                        status=status.HTTP_201_CREATED)


class CallbackRequestChange(BodySerializer):
    assignee_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1,
        help_text="Offer it to this agent first, for the line's callback offer time (R15); null: nobody.",
    )
    scheduled_for = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="Due at this time (ISO 8601, in the future, up to 30 days ahead, R16); null: due now, at its place.",
    )
    phone_number_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="Move it to this line; it keeps its place.")
    group_ids = GroupIdsField(
        required=False, allow_null=True, max_length=MAX_GROUPS,
        help_text="Offer it only to these groups' agents; empty or null: the line's groups.",
    )


class CallbackRequestChangeEnvelope(BodySerializer):
    callback_request = CallbackRequestChange()


class CallbackRequestCancelInput(BodySerializer):
    reason = serializers.CharField(max_length=supervision.MAX_REASON,
                                   help_text="Why: an internal comment on the request's ticket.")


KEPT = supervision.KEEP


class CallbackRequestDetailView(APIView):
    """GET: one request. PUT: assign, reschedule, move (admins and supervisors, S2)."""

    permission_classes = [IsAccountMember, IsAccountSupervisor]

    @extend_schema(responses=CallbackRequestEnvelope, summary="One callback request")
    def get(self, request: Request, request_id: int) -> Response:
        return Response({"callback_request": callback_request_payload(request, _one(request, request_id))})

    @extend_schema(
        request=CallbackRequestChangeEnvelope,
        responses={200: CallbackRequestEnvelope},
        summary="Assign, reschedule or move a waiting callback request (409 when it is no longer waiting)",
    )
    def put(self, request: Request, request_id: int) -> Response:
        _one(request, request_id)
        data = read_body(CallbackRequestChangeEnvelope, request, "callback_request")
        supervision.callback_update(
            account=request.account, request_id=request_id, actor=request.user,
            line_id=data.get("phone_number_id", KEPT), group_ids=data.get("group_ids", KEPT),
            scheduled_for=data.get("scheduled_for", KEPT), assignee_id=data.get("assignee_id", KEPT),
        )
        return Response({"callback_request": callback_request_payload(request, _one(request, request_id))})


class CallbackRequestCancelView(APIView):
    permission_classes = [IsAccountMember, IsAccountSupervisor]

    @extend_schema(
        request=CallbackRequestCancelInput,
        responses={200: CallbackRequestEnvelope},
        summary="Cancel a waiting callback request with a reason (409 when it is no longer waiting)",
    )
    def post(self, request: Request, request_id: int) -> Response:
        _one(request, request_id)
        serializer = CallbackRequestCancelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        supervision.callback_cancel(account=request.account, request_id=request_id, actor=request.user,
                                    reason=serializer.validated_data["reason"])
        return Response({"callback_request": callback_request_payload(request, _one(request, request_id))})
