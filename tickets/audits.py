"""A ticket's audits (issue 15): the reference's record of each write, with its ``Create``,
``Change`` and ``Comment`` events as the API shows them. Only tickets.services writes them,
in the transaction of the write they record.
"""
from __future__ import annotations

from datetime import datetime

from django.utils.html import escape, linebreaks

from supportcenter.ids import random_id
from supportcenter.models import Account, User
from tickets.models import Comment, EndUser, Ticket, TicketAudit


def without_nul(value):
    """``value`` (any JSON) without NUL characters in its strings and keys: PostgreSQL's
    jsonb and text cannot hold them, and they mean nothing in a ticket's data."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def requester_public_id(requester: EndUser | None) -> int | None:
    """The requester's id in the API: the member's user id when a member asked."""
    if requester is None:
        return None
    return requester.user_id or requester.pk


def field_values(ticket: Ticket, collaborators: list[User] | None = None) -> dict:
    """The ticket's audited fields as the API shows them (before the custom fields)."""
    return {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority or None,
        "type": ticket.type or None,
        "requester_id": requester_public_id(ticket.requester),
        "assignee_id": ticket.assignee_id,
        "group_id": ticket.group_id,
        "tags": list(ticket.tags),
        "external_id": ticket.external_id or None,
        "due_at": iso(ticket.due_at),
        "collaborator_ids": sorted(user.pk for user in collaborators or []),
        "is_public": ticket.is_public,
    }


def custom_values(custom_fields: list[dict]) -> dict[str, object]:
    return {str(field["id"]): field.get("value") for field in custom_fields if isinstance(field, dict) and "id" in field}


def comment_event(comment: Comment) -> dict:
    return {
        "id": comment.pk,
        "type": "Comment",
        "author_id": comment.author_id,
        "body": comment.body,
        "html_body": linebreaks(escape(comment.body)),
        "plain_body": comment.body,
        "public": comment.public,
        "attachments": [],
        "audit_id": comment.audit_id,
    }


def event(kind: str, field: str, value, previous=...) -> dict:
    entry = {"id": random_id(), "type": kind, "field_name": field, "value": value}
    if previous is not ...:
        entry["previous_value"] = previous
    return entry


def new_audit(account: Account, ticket: Ticket, author: User | None, via: str, metadata: dict | None) -> TicketAudit:
    """An audit, not yet saved (its id is already drawn): its comment names it."""
    return TicketAudit(
        account=account, ticket=ticket, author=author, via=via,
        metadata={"system": {}, "custom": without_nul(dict(metadata or {}))},
    )


def new_comment(account: Account, ticket: Ticket, audit: TicketAudit, *, author, body: str, public: bool,
                 via: str) -> Comment:
    return Comment(account=account, ticket=ticket, author=author, body=body, public=bool(public), via=via, audit=audit)


def save(audit: TicketAudit, events: list[dict], comments: list[Comment]) -> TicketAudit:
    audit.events = events
    audit.save(force_insert=True)
    for comment in comments:
        comment.save(force_insert=True)
    return audit
