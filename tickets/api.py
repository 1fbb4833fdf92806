"""Tickets and comments in the reference API's shapes (SPEC A1, A4).

Ticket ids in the API are the per-account ticket numbers. Fields the server owns
(id, url, via, description, requester and submitter of a comment, timestamps,
account) are ignored when a client sends them, as the reference API does, so a
client may PUT back a ticket it read. Bad input answers 400 with field details
and writes nothing; a refusal of well-formed input (a non-member assignee, a
closed ticket) answers 422.
"""
from __future__ import annotations

from django.http import Http404
from django.utils.html import escape, linebreaks
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status as http_status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter import selectors as core_selectors
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from supportcenter.bodies import BodySerializer
from supportcenter.pagination import PageQuery, page_query, page_serializer, paginate
from tickets import selectors, services
from tickets.models import Comment, EndUser, Ticket, TicketStatus, Via
from supportcenter.phone import parse_phone

ENVELOPE_MESSAGE = 'Send the ticket inside an envelope: {"ticket": {...}}.'
REQUESTER_NEEDS_CONTACT_MESSAGE = "Give the requester a phone number or an email address."
REQUESTER_TWICE_MESSAGE = "Give either requester_id or requester, not both."


# --- Output -------------------------------------------------------------------------
class ViaOutput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Via.choices)
    source = serializers.DictField(help_text='Always {"from": {}, "to": {}, "rel": null}.')


class TicketOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The ticket number, sequential within the account.")
    url = serializers.URLField()
    subject = serializers.CharField()
    raw_subject = serializers.CharField()
    description = serializers.CharField(help_text="The first public comment (read-only).")
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    via = ViaOutput()
    requester_id = serializers.IntegerField(allow_null=True)
    submitter_id = serializers.IntegerField(allow_null=True, help_text="The user who created it; null for the system.")
    assignee_id = serializers.IntegerField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TicketEnvelope(serializers.Serializer):
    ticket = TicketOutput()


TicketPage = page_serializer("TicketPage", "tickets", TicketOutput)


class CommentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField(help_text='Always "Comment".')
    author_id = serializers.IntegerField(allow_null=True, help_text="Null when the system wrote it.")
    body = serializers.CharField()
    html_body = serializers.CharField()
    plain_body = serializers.CharField()
    public = serializers.BooleanField(help_text="False for an internal note, never shown to the requester.")
    via = ViaOutput()
    attachments = serializers.ListField(child=serializers.DictField())
    created_at = serializers.DateTimeField()


CommentPage = page_serializer("CommentPage", "comments", CommentOutput)


class TicketErrorDetail(serializers.Serializer):
    description = serializers.CharField()
    error = serializers.CharField()


class TicketError(serializers.Serializer):
    """The reference's error body (supportcenter.api_errors)."""

    error = serializers.CharField(help_text="InvalidRequest (400), RecordNotFound (404) or RecordInvalid (422).")
    description = serializers.CharField()
    details = serializers.DictField(child=TicketErrorDetail(many=True), required=False,
                                    help_text="Per field: what is wrong with it.")


def _via(channel: str) -> dict:
    return {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}}


def ticket_payload(request: Request, ticket: Ticket) -> dict:
    return {
        "id": ticket.number,
        "url": request.build_absolute_uri(f"/api/v2/tickets/{ticket.number}.json"),
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": ticket.description,
        "status": ticket.status,
        "via": _via(ticket.via),
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.created_by_id,
        "assignee_id": ticket.assignee_id,
        "tags": [],
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def comment_payload(comment: Comment) -> dict:
    return {
        "id": comment.pk,
        "type": "Comment",
        "author_id": comment.author_id,
        "body": comment.body,
        "html_body": linebreaks(escape(comment.body)),
        "plain_body": comment.body,
        "public": comment.public,
        "via": _via(comment.via),
        "attachments": [],
        "created_at": comment.created_at,
    }


# --- Paths --------------------------------------------------------------------------
NUMBER = OpenApiParameter(
    "number", int, OpenApiParameter.PATH, description="The ticket's id: its number within the account."
)


# --- Input ----------------------------------------------------------------------------
_ID_BOUNDS = {"min_value": 1, "max_value": 2**63 - 1}
_CREATE_STATUSES = [value for value in TicketStatus.values if value != TicketStatus.CLOSED]
CREATE_STATUS_MESSAGE = f"Choose {', '.join(_CREATE_STATUSES[:-1])} or {_CREATE_STATUSES[-1]}. {services.CREATE_CLOSED_MESSAGE}"


class CommentInput(BodySerializer):
    body = serializers.CharField(max_length=65_000)
    public = serializers.BooleanField(default=True, help_text="False makes an internal note.")


class RequesterInput(BodySerializer):
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    email = serializers.EmailField(required=False, default="", allow_blank=True, max_length=254)

    def validate_phone(self, value: str) -> str:
        if not value.strip():
            return ""
        number = parse_phone(value, region=self.context["account"].region)
        if number is None:
            raise serializers.ValidationError(services.INVALID_PHONE_MESSAGE)
        return number.as_e164

    def validate(self, attrs: dict) -> dict:
        if not attrs["phone"] and not attrs["email"]:
            raise serializers.ValidationError({"phone": [REQUESTER_NEEDS_CONTACT_MESSAGE]})
        return attrs


class TicketCreateInput(BodySerializer):
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                    help_text="Defaults to the start of the comment.")
    comment = CommentInput(help_text="The first comment: the description when public.")
    requester_id = serializers.IntegerField(required=False, allow_null=True, default=None, **_ID_BOUNDS)
    requester = RequesterInput(required=False, default=None, help_text="Found or created by phone, else email.")
    assignee_id = serializers.IntegerField(required=False, allow_null=True, default=None, **_ID_BOUNDS)
    # Not "closed": a new ticket is solved, then closes (the service's rule, stated here for the schema).
    status = serializers.ChoiceField(
        choices=[choice for choice in TicketStatus.choices if choice[0] != TicketStatus.CLOSED], required=False,
        default=None, error_messages={"invalid_choice": CREATE_STATUS_MESSAGE},
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["requester_id"] is not None and attrs["requester"] is not None:
            raise serializers.ValidationError({"requester": [REQUESTER_TWICE_MESSAGE]})
        return attrs


class TicketUpdateInput(BodySerializer):
    subject = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    assignee_id = serializers.IntegerField(required=False, allow_null=True, help_text="Null unassigns.", **_ID_BOUNDS)
    requester_id = serializers.IntegerField(required=False, allow_null=True, **_ID_BOUNDS)
    comment = CommentInput(required=False, help_text='{"body": "...", "public": false} adds an internal note.')


class TicketCreateEnvelope(BodySerializer):
    ticket = TicketCreateInput()


class TicketUpdateEnvelope(BodySerializer):
    ticket = TicketUpdateInput()


def _unwrap(request: Request, serializer_class, account: Account) -> dict:
    """Validate ``{"ticket": {...}}``; field errors are keyed by the ticket's fields."""
    data = request.data.get("ticket") if isinstance(request.data, dict) else None
    if not isinstance(data, dict):
        raise ValidationError({"ticket": [ENVELOPE_MESSAGE]})
    serializer = serializer_class(data=data, context={"account": account})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _assignee(account: Account, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    membership = core_selectors.access_member(account=account, user_id=user_id)
    if membership is None:
        raise ServiceError(services.ASSIGNEE_NOT_MEMBER_MESSAGE, field="assignee_id")
    return membership.user


def _requester(account: Account, end_user_id: int | None) -> EndUser | None:
    if end_user_id is None:
        return None
    end_user = selectors.access_end_user(account=account, end_user_id=end_user_id)
    if end_user is None:
        raise ServiceError(services.REQUESTER_NOT_FOUND_MESSAGE, field="requester_id")
    return end_user


def _ticket_or_404(account: Account, number: int) -> Ticket:
    ticket = selectors.access_ticket(account=account, number=number)
    if ticket is None:
        raise Http404
    return ticket


def _subject_from(body: str) -> str:
    first_line = body.strip().splitlines()[0].strip() if body.strip() else ""
    return first_line if len(first_line) <= 80 else first_line[:79].rstrip() + "…"


# --- Views ------------------------------------------------------------------------------
class TicketListView(APIView):
    @extend_schema(
        operation_id="tickets_list", parameters=[PageQuery], responses={200: TicketPage, 400: TicketError},
        summary="List tickets",
    )
    def get(self, request: Request) -> Response:
        account = request.account
        order = "-number" if page_query(request)["sort_order"] == "desc" else "number"
        tickets = selectors.ticket_list(account=account).order_by(order)
        # Ids only in the payload: no requester or assignee rows to load.
        tickets = tickets.select_related(None)
        page = paginate(request, tickets, "tickets", lambda t: ticket_payload(request, t))
        return Response(TicketPage(page).data)

    @extend_schema(
        operation_id="ticket_create", request=TicketCreateEnvelope,
        responses={201: TicketEnvelope, 400: TicketError, 422: TicketError},
        summary="Create a ticket",
    )
    def post(self, request: Request) -> Response:
        account = request.account
        data = _unwrap(request, TicketCreateInput, account)
        comment = data["comment"]
        requester = _requester(account, data["requester_id"])
        ticket = services.ticket_create(
            account=account,
            subject=data["subject"].strip() or _subject_from(comment["body"]),
            description=comment["body"] if comment["public"] else "",
            internal_note=None if comment["public"] else comment["body"],
            requester=requester,
            requester_contact=None if data["requester"] is None else {
                key: data["requester"][key] for key in ("phone", "email", "name")},
            via=Via.API,
            actor=request.user,
            assignee=_assignee(account, data["assignee_id"]),
            status=data["status"],
        )
        body = TicketEnvelope({"ticket": ticket_payload(request, ticket)}).data
        return Response(body, status=http_status.HTTP_201_CREATED, headers={"Location": body["ticket"]["url"]})


class TicketDetailView(APIView):
    @extend_schema(operation_id="ticket_show", parameters=[NUMBER], responses={200: TicketEnvelope, 404: TicketError}, summary="Show a ticket")
    def get(self, request: Request, number: int) -> Response:
        ticket = _ticket_or_404(request.account, number)
        return Response(TicketEnvelope({"ticket": ticket_payload(request, ticket)}).data)

    @extend_schema(
        operation_id="ticket_update", parameters=[NUMBER], request=TicketUpdateEnvelope,
        responses={200: TicketEnvelope, 400: TicketError, 404: TicketError, 422: TicketError},
        summary="Update a ticket or comment on it",
    )
    def put(self, request: Request, number: int) -> Response:
        account = request.account
        ticket = _ticket_or_404(account, number)
        data = _unwrap(request, TicketUpdateInput, account)
        changes: dict = {}
        if "subject" in data:
            changes["subject"] = data["subject"]
        if "status" in data:
            changes["status"] = data["status"]
        if "assignee_id" in data:
            changes["assignee"] = _assignee(account, data["assignee_id"])
        if "requester_id" in data:
            changes["requester"] = _requester(account, data["requester_id"])
        if "comment" in data:
            changes["comment_body"] = data["comment"]["body"]
            changes["comment_public"] = data["comment"]["public"]
        ticket = services.ticket_update(account=account, ticket=ticket, actor=request.user, via=Via.API, **changes)
        return Response(TicketEnvelope({"ticket": ticket_payload(request, ticket)}).data)


class TicketCommentListView(APIView):
    @extend_schema(
        operation_id="ticket_comments_list", parameters=[NUMBER, PageQuery],
        responses={200: CommentPage, 400: TicketError, 404: TicketError},
        summary="List a ticket's comments",
    )
    def get(self, request: Request, number: int) -> Response:
        account = request.account
        ticket = _ticket_or_404(account, number)
        comments = selectors.comment_list(account=account, ticket=ticket).select_related(None)
        if page_query(request)["sort_order"] == "desc":
            comments = comments.order_by("-created_at", "-id")
        page = paginate(request, comments, "comments", comment_payload)
        return Response(CommentPage(page).data)
