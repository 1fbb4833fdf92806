"""Tickets and comments in the reference API's shapes (SPEC A1, A4; issue 15).

Ticket ids in the API are the per-account ticket numbers. Fields the server owns
(id, url, via, description on update, requester and submitter of a comment, timestamps,
account) and fields the product does not know are ignored when a client sends them, as
the reference API does, so a client may PUT back a ticket it read; every field the
schema lists as writable is stored. Bad input answers 400 with field details and writes
nothing; a refusal of well-formed input (a non-member assignee, a closed ticket) 422.

Creating or updating answers ``{"ticket": ..., "audit": ...}``: the audit that write
recorded, with the reference's ``Create`` / ``Change`` / ``Comment`` events (zenpy returns
it as a ``TicketAudit`` whose ``.ticket`` is the ticket).
"""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status as http_status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter import selectors as core_selectors
from supportcenter.bodies import BodySerializer, IdListField
from supportcenter.errors import ServiceError
from supportcenter.models import Account, Group, User
from supportcenter.pagination import PageQuery, page_query, paginate
from supportcenter.phone import parse_phone
from supportcenter.queries import read_query
from tickets import selectors, services
from tickets.payloads import (
    AuditPage, CommentPage, TicketAuditEnvelope, TicketEnvelope, TicketError, TicketPage, audit_payload,
    comment_payload, ticket_audit_body, ticket_payload,
)
from tickets.models import Ticket, TicketPriority, TicketStatus, TicketType, Via

ENVELOPE_MESSAGE = 'Send the ticket inside an envelope: {"ticket": {...}}.'
REQUESTER_NEEDS_CONTACT_MESSAGE = "Give the requester a phone number or an email address."
REQUESTER_TWICE_MESSAGE = "Give either requester_id or requester, not both."
COMMENT_REQUIRED_MESSAGE = "Give the ticket a description or a comment: its first comment."
TAGS_MESSAGE = "Give tags as a list of strings or as one string of space-separated tags."
MAX_TAGS, MAX_TAG_LENGTH, MAX_TAGS_TEXT = 100, 255, 2000
MAX_COLLABORATORS = 100


# --- Paths --------------------------------------------------------------------------
NUMBER = OpenApiParameter(
    "number", int, OpenApiParameter.PATH, description="The ticket's id: its number within the account."
)


# --- Input ----------------------------------------------------------------------------
ID_BOUNDS = {"min_value": 1, "max_value": 2**63 - 1}
_CREATE_STATUSES = [value for value in TicketStatus.values if value != TicketStatus.CLOSED]
CREATE_STATUS_MESSAGE = f"Choose {', '.join(_CREATE_STATUSES[:-1])} or {_CREATE_STATUSES[-1]}. {services.CREATE_CLOSED_MESSAGE}"


@extend_schema_field({
    "oneOf": [
        {"type": "array", "items": {"type": "string", "maxLength": MAX_TAG_LENGTH}, "maxItems": MAX_TAGS},
        {"type": "string", "maxLength": MAX_TAGS_TEXT},
    ],
    "description": "Tags: a list, or one string of space-separated tags. Stored lower-case, each once, sorted.",
})
class TagsField(serializers.Field):
    """A list of strings or one space-separated string, as the reference takes tags."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            if len(data) > MAX_TAGS_TEXT:
                raise serializers.ValidationError(f"Keep tags under {MAX_TAGS_TEXT} characters.", code="max_length")
            return data
        if not isinstance(data, list) or not all(isinstance(tag, str) for tag in data):
            raise serializers.ValidationError(TAGS_MESSAGE, code="invalid_type")
        if len(data) > MAX_TAGS or any(len(tag) > MAX_TAG_LENGTH for tag in data):
            raise serializers.ValidationError(
                f"Give at most {MAX_TAGS} tags of at most {MAX_TAG_LENGTH} characters each.", code="max_length")
        return data

    def to_representation(self, value):
        return value


class CommentInput(BodySerializer):
    body = serializers.CharField(max_length=65_000)
    public = serializers.BooleanField(default=True, help_text="False makes an internal note.")


class CustomFieldInput(BodySerializer):
    id = serializers.IntegerField(**ID_BOUNDS)
    value = serializers.JSONField(required=False, allow_null=True, default=None, help_text="Any JSON value, kept as given.")


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


def _reference_fields() -> dict[str, serializers.Field]:
    """The reference's ticket fields, writable on create and update (fresh instances each)."""
    return {
        "priority": serializers.ChoiceField(
            choices=TicketPriority.choices, required=False, allow_null=True, help_text="Null clears it.",
            error_messages={"invalid_choice": services.PRIORITY_INVALID_MESSAGE}),
        "type": serializers.ChoiceField(
            choices=TicketType.choices, required=False, allow_null=True, help_text="Null clears it.",
            error_messages={"invalid_choice": services.TYPE_INVALID_MESSAGE}),
        "tags": TagsField(required=False),
        "group_id": serializers.IntegerField(required=False, allow_null=True, help_text="A group of this account.",
                                             **ID_BOUNDS),
        "external_id": serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True),
        "due_at": serializers.DateTimeField(required=False, allow_null=True, help_text="ISO 8601; null clears it."),
        "custom_fields": serializers.ListField(
            child=CustomFieldInput(), required=False, max_length=MAX_TAGS,
            help_text="[{id, value}]: kept as given; on update, the ids given replace theirs, others stay."),
        "collaborator_ids": IdListField(
            required=False, max_length=MAX_COLLABORATORS,
            help_text="Agents and admins of this account (the whole list)."),
        "is_public": serializers.BooleanField(
            required=False, help_text="Defaults to false for a ticket opened with an internal note, else true."),
        "metadata": serializers.DictField(required=False, help_text="Kept as the audit's metadata.custom."),
    }


class _ReferenceFields(BodySerializer):
    def get_fields(self):
        fields = super().get_fields()
        for name, field in _reference_fields().items():
            fields.setdefault(name, field)
        return fields


class TicketCreateInput(_ReferenceFields):
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                    help_text="Defaults to the start of the first comment.")
    comment = CommentInput(required=False, help_text="The first comment: the description when public.")
    description = serializers.CharField(max_length=65_000, required=False,
                                        help_text="Without comment: the first, public comment.")
    requester_id = serializers.IntegerField(required=False, allow_null=True, default=None,
                                            help_text="An end user's id, or a member's user id.", **ID_BOUNDS)
    requester = RequesterInput(required=False, default=None, help_text="Found or created by phone, else email.")
    assignee_id = serializers.IntegerField(required=False, allow_null=True, default=None, **ID_BOUNDS)
    # Not "closed": a new ticket is solved, then closes (the service's rule, stated here for the schema).
    status = serializers.ChoiceField(
        choices=[choice for choice in TicketStatus.choices if choice[0] != TicketStatus.CLOSED], required=False,
        default=None, error_messages={"invalid_choice": CREATE_STATUS_MESSAGE},
    )

    def validate(self, attrs: dict) -> dict:
        if "comment" not in attrs and "description" not in attrs:
            raise serializers.ValidationError(
                {"comment": [serializers.ErrorDetail(COMMENT_REQUIRED_MESSAGE, code="required")]})
        if attrs["requester_id"] is not None and attrs["requester"] is not None:
            raise serializers.ValidationError({"requester": [REQUESTER_TWICE_MESSAGE]})
        return attrs


class TicketCreateInputSchema(OpenApiSerializerExtension):
    """The schema says what ``validate`` requires: a comment, or a description."""

    target_class = TicketCreateInput

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["anyOf"] = [{"required": ["comment"]}, {"required": ["description"]}]
        return schema


class TicketUpdateInput(_ReferenceFields):
    subject = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    assignee_id = serializers.IntegerField(required=False, allow_null=True, help_text="Null unassigns.", **ID_BOUNDS)
    requester_id = serializers.IntegerField(required=False, allow_null=True,
                                            help_text="An end user's id, or a member's user id.", **ID_BOUNDS)
    comment = CommentInput(required=False, help_text='{"body": "...", "public": false} adds an internal note.')
    additional_tags = TagsField(required=False)
    remove_tags = TagsField(required=False)


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


# --- Ids the client names, resolved within the account (another's answer like missing) ----
def _assignee(account: Account, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    membership = core_selectors.access_member(account=account, user_id=user_id)
    if membership is None:
        raise ServiceError(services.ASSIGNEE_NOT_MEMBER_MESSAGE, field="assignee_id")
    return membership.user


def _requester(account: Account, requester_id: int | None) -> dict:
    """``requester=`` an end user of the account, or ``requester_member=`` a member of it."""
    if requester_id is None:
        return {"requester": None}
    end_user = selectors.access_end_user(account=account, end_user_id=requester_id)
    if end_user is not None:
        return {"requester": end_user}
    membership = core_selectors.access_member(account=account, user_id=requester_id)
    if membership is None:
        raise ServiceError(services.REQUESTER_NOT_FOUND_MESSAGE, field="requester_id")
    return {"requester_member": membership.user}


def _group(account: Account, group_id: int | None) -> Group | None:
    if group_id is None:
        return None
    group = core_selectors.access_group(account=account, group_id=group_id)
    if group is None:
        raise ServiceError(services.GROUP_NOT_FOUND_MESSAGE, field="group_id")
    return group


def _collaborators(account: Account, user_ids: list[int]) -> list[User]:
    members = {m.user_id: m.user for m in core_selectors.user_many(account=account, user_ids=user_ids)}
    if any(user_id not in members for user_id in user_ids):
        raise ServiceError(services.COLLABORATOR_NOT_MEMBER_MESSAGE, field="collaborator_ids")
    return [members[user_id] for user_id in dict.fromkeys(user_ids)]


def reference_changes(account: Account, data: dict) -> dict:
    """The service's keyword arguments for the reference's fields present in ``data``."""
    changes: dict = {}
    for name in ("priority", "type", "tags", "additional_tags", "remove_tags", "external_id", "due_at",
                 "is_public", "metadata"):
        if name in data:
            changes[name] = data[name]
    if "custom_fields" in data:
        changes["custom_fields"] = [dict(field) for field in data["custom_fields"]]
    if "group_id" in data:
        changes["group"] = _group(account, data["group_id"])
    if "collaborator_ids" in data:
        changes["collaborators"] = _collaborators(account, data["collaborator_ids"])
    return changes


def _ticket_or_404(account: Account, number: int) -> Ticket:
    ticket = selectors.access_ticket(account=account, number=number)
    if ticket is None:
        raise Http404
    return ticket


def _subject_from(body: str) -> str:
    first_line = body.strip().splitlines()[0].strip() if body.strip() else ""
    return first_line if len(first_line) <= 80 else first_line[:79].rstrip() + "…"


class TicketListQuery(PageQuery):
    external_id = serializers.CharField(required=False, max_length=255, help_text="Only the tickets with this external id.")


# --- Views ------------------------------------------------------------------------------
class TicketListView(APIView):
    @extend_schema(
        operation_id="tickets_list", parameters=[TicketListQuery], responses={200: TicketPage, 400: TicketError},
        summary="List tickets",
    )
    def get(self, request: Request) -> Response:
        account = request.account
        query = read_query(TicketListQuery, request)
        order = "-number" if query["sort_order"] == "desc" else "number"
        tickets = selectors.ticket_list(account=account, external_id=query.get("external_id")).order_by(order)
        tickets = selectors.with_payload_relations(tickets)
        page = paginate(request, tickets, "tickets", lambda t: ticket_payload(request, t))
        return Response(TicketPage(page).data)

    @extend_schema(
        operation_id="ticket_create", request=TicketCreateEnvelope,
        responses={201: TicketAuditEnvelope, 400: TicketError, 422: TicketError},
        summary="Create a ticket",
        description="Answers the ticket and the audit of its creation. `description` alone makes the first, "
                    "public comment; `comment` (which wins when both are given) may be an internal note.",
    )
    def post(self, request: Request) -> Response:
        account = request.account
        data = _unwrap(request, TicketCreateInput, account)
        comment = data.get("comment") or {"body": data["description"], "public": True}
        ticket = services.ticket_create(
            account=account,
            subject=data["subject"].strip() or _subject_from(comment["body"]),
            description=comment["body"] if comment["public"] else "",
            internal_note=None if comment["public"] else comment["body"],
            requester_contact=None if data["requester"] is None else {
                key: data["requester"][key] for key in ("phone", "email", "name")},
            via=Via.API,
            actor=request.user,
            assignee=_assignee(account, data["assignee_id"]),
            status=data["status"],
            **_requester(account, data["requester_id"]),
            **reference_changes(account, data),
        )
        body = ticket_audit_body(request, ticket)
        return Response(body, status=http_status.HTTP_201_CREATED, headers={"Location": body["ticket"]["url"]})


class TicketDetailView(APIView):
    @extend_schema(operation_id="ticket_show", parameters=[NUMBER], responses={200: TicketEnvelope, 404: TicketError}, summary="Show a ticket")
    def get(self, request: Request, number: int) -> Response:
        ticket = _ticket_or_404(request.account, number)
        return Response(TicketEnvelope({"ticket": ticket_payload(request, ticket)}).data)

    @extend_schema(
        operation_id="ticket_update", parameters=[NUMBER], request=TicketUpdateEnvelope,
        responses={200: TicketAuditEnvelope, 400: TicketError, 404: TicketError, 422: TicketError},
        summary="Update a ticket or comment on it",
        description="Answers the ticket and the audit of the change (null when nothing changed).",
    )
    def put(self, request: Request, number: int) -> Response:
        account = request.account
        ticket = _ticket_or_404(account, number)
        data = _unwrap(request, TicketUpdateInput, account)
        ticket = services.ticket_update(
            account=account, ticket=ticket, actor=request.user, via=Via.API, **update_changes(account, data))
        return Response(ticket_audit_body(request, ticket))


def update_changes(account: Account, data: dict) -> dict:
    """The service's keyword arguments for an update's validated fields."""
    changes: dict = {}
    if "subject" in data:
        changes["subject"] = data["subject"]
    if "status" in data:
        changes["status"] = data["status"]
    if "assignee_id" in data:
        changes["assignee"] = _assignee(account, data["assignee_id"])
    if "requester_id" in data:
        changes.update(_requester(account, data["requester_id"]))
    if "comment" in data:
        changes["comment_body"] = data["comment"]["body"]
        changes["comment_public"] = data["comment"]["public"]
    changes.update(reference_changes(account, data))
    return changes


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
        # The audit's metadata, in the same query (its events are not needed here).
        comments = comments.select_related("audit").defer("audit__events")
        if page_query(request)["sort_order"] == "desc":
            comments = comments.order_by("-created_at", "-id")
        page = paginate(request, comments, "comments", comment_payload)
        return Response(CommentPage(page).data)


class TicketAuditListView(APIView):
    @extend_schema(
        operation_id="ticket_audits_list", parameters=[NUMBER, PageQuery],
        responses={200: AuditPage, 400: TicketError, 404: TicketError},
        summary="List a ticket's audits",
        description="Every write to the ticket, oldest first: its Create, Change and Comment events.",
    )
    def get(self, request: Request, number: int) -> Response:
        account = request.account
        ticket = _ticket_or_404(account, number)
        audits = selectors.audit_list(account=account, ticket=ticket)
        if page_query(request)["sort_order"] == "desc":
            audits = audits.order_by("-created_at", "-id")
        page = paginate(request, audits, "audits", lambda audit: audit_payload(audit, ticket.number))
        return Response(AuditPage(page).data)
