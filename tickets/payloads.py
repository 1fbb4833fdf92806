"""Tickets, comments and audits as the API shows them (SPEC A1; issue 15): the output
shapes (documented in the OpenAPI schema) and the functions that fill them. The search
results (tickets.search_api) and the bulk routes (tickets.api_bulk) show tickets the same way.
"""
from __future__ import annotations

from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.request import Request

from supportcenter.pagination import page_serializer
from tickets import audits, selectors
from tickets.models import Comment, Ticket, TicketAudit, TicketPriority, TicketStatus, TicketType, Via


DEFAULT_METADATA = {"system": {}, "custom": {}}


# --- Output -------------------------------------------------------------------------
class ViaOutput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Via.choices)
    source = serializers.DictField(help_text='Always {"from": {}, "to": {}, "rel": null}.')


class CustomFieldOutput(serializers.Serializer):
    id = serializers.IntegerField()
    value = serializers.JSONField(allow_null=True, help_text="As the client gave it.")


class TicketOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The ticket number, sequential within the account.")
    url = serializers.URLField()
    external_id = serializers.CharField(allow_null=True)
    subject = serializers.CharField()
    raw_subject = serializers.CharField()
    description = serializers.CharField(help_text="The first public comment (read-only).")
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, allow_null=True)
    type = serializers.ChoiceField(choices=TicketType.choices, allow_null=True)
    via = ViaOutput()
    requester_id = serializers.IntegerField(
        allow_null=True, help_text="An end user's id, or the user id of the member who asked.")
    submitter_id = serializers.IntegerField(allow_null=True, help_text="The user who created it; null for the system.")
    assignee_id = serializers.IntegerField(allow_null=True)
    group_id = serializers.IntegerField(allow_null=True)
    collaborator_ids = serializers.ListField(child=serializers.IntegerField())
    tags = serializers.ListField(child=serializers.CharField())
    custom_fields = CustomFieldOutput(many=True)
    due_at = serializers.DateTimeField(allow_null=True)
    is_public = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class _WhenPresent:
    """An event field left out when the event has no such key (a null one is kept null)."""

    def get_attribute(self, instance):
        if isinstance(instance, dict) and self.source not in instance:
            raise SkipField()
        return super().get_attribute(instance)


class _OptionalJSON(_WhenPresent, serializers.JSONField):
    pass


class _OptionalInteger(_WhenPresent, serializers.IntegerField):
    pass


class AuditEventOutput(serializers.Serializer):
    """One event: ``Create`` / ``Change`` (field_name, value, previous_value) or ``Comment``."""

    id = serializers.IntegerField()
    type = serializers.CharField(help_text="Create, Change or Comment.")
    field_name = serializers.CharField(required=False, help_text="Create and Change: the field, or a custom field's id.")
    value = _OptionalJSON(required=False, allow_null=True, help_text="Create and Change: the new value.")
    previous_value = _OptionalJSON(required=False, allow_null=True, help_text="Change: the value before.")
    author_id = _OptionalInteger(required=False, allow_null=True, help_text="Comment: null when the system wrote it.")
    body = serializers.CharField(required=False, help_text="Comment.")
    html_body = serializers.CharField(required=False, help_text="Comment.")
    plain_body = serializers.CharField(required=False, help_text="Comment.")
    public = serializers.BooleanField(required=False, help_text="Comment.")
    attachments = serializers.ListField(child=serializers.DictField(), required=False, help_text="Comment.")
    audit_id = serializers.IntegerField(required=False, help_text="Comment.")


class AuditOutput(serializers.Serializer):
    id = serializers.IntegerField()
    ticket_id = serializers.IntegerField(help_text="The ticket's number.")
    created_at = serializers.DateTimeField()
    author_id = serializers.IntegerField(allow_null=True, help_text="Null when the system wrote it.")
    metadata = serializers.DictField(help_text='{"system": {}, "custom": {...the metadata the client sent}}.')
    via = ViaOutput()
    events = AuditEventOutput(many=True)


class TicketEnvelope(serializers.Serializer):
    ticket = TicketOutput()


class TicketAuditEnvelope(serializers.Serializer):
    ticket = TicketOutput()
    audit = AuditOutput(allow_null=True, help_text="The write's audit; null when an update changed nothing.")


TicketPage = page_serializer("TicketPage", "tickets", TicketOutput)
AuditPage = page_serializer("AuditPage", "audits", AuditOutput)


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
    audit_id = serializers.IntegerField(allow_null=True, help_text="The audit that added it.")
    metadata = serializers.DictField(help_text="Its audit's metadata.")
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
    """A ticket as the API shows it. For a list, load the tickets with
    ``selectors.with_payload_relations`` so this reads nothing per ticket."""
    return {
        "id": ticket.number,
        "url": request.build_absolute_uri(f"/api/v2/tickets/{ticket.number}.json"),
        "external_id": ticket.external_id or None,
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": ticket.description,
        "status": ticket.status,
        "priority": ticket.priority or None,
        "type": ticket.type or None,
        "via": _via(ticket.via),
        "requester_id": audits.requester_public_id(ticket.requester) if ticket.requester_id else None,
        "submitter_id": ticket.created_by_id,
        "assignee_id": ticket.assignee_id,
        "group_id": ticket.group_id,
        "collaborator_ids": selectors.collaborator_ids(ticket),
        "tags": list(ticket.tags),
        "custom_fields": list(ticket.custom_fields),
        "due_at": ticket.due_at,
        "is_public": ticket.is_public,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def audit_payload(audit: TicketAudit, number: int) -> dict:
    return {
        "id": audit.pk,
        "ticket_id": number,
        "created_at": audit.created_at,
        "author_id": audit.author_id,
        "metadata": audit.metadata or DEFAULT_METADATA,
        "via": _via(audit.via),
        "events": audit.events,
    }


def comment_payload(comment: Comment) -> dict:
    """A comment as the API shows it (its audit's Comment event, and where and when); load a
    list's comments with ``select_related("audit")``."""
    return {
        **audits.comment_event(comment),
        "via": _via(comment.via),
        "metadata": (comment.audit.metadata if comment.audit_id else None) or DEFAULT_METADATA,
        "created_at": comment.created_at,
    }


def ticket_audit_body(request: Request, ticket: Ticket) -> dict:
    audit = getattr(ticket, "written_audit", None)
    return TicketAuditEnvelope({
        "ticket": ticket_payload(request, ticket),
        "audit": None if audit is None else audit_payload(audit, ticket.number),
    }).data
