"""Small builders for ticket tests; they go through the services like every caller."""
from __future__ import annotations

from django_scopes import scope

from tickets import services
from tickets.models import Comment, Ticket, Via


def make_ticket(account, *, subject="Printer on fire", description="It is on fire.", actor=None, phone=None,
                internal_note=None, via=Via.WEB, assignee=None, status=None) -> Ticket:
    with scope(account=account):
        requester = (
            services.end_user_get_or_create_by_phone(account=account, phone=phone, name="Caller") if phone else None
        )
        return services.ticket_create(
            account=account, subject=subject, description=description, requester=requester, via=via,
            actor=actor, internal_note=internal_note, assignee=assignee, status=status,
        )


def add_comment(account, ticket, body, *, public, author=None) -> Comment:
    with scope(account=account):
        return services.comment_add(account=account, ticket=ticket, body=body, public=public, author=author)


def tickets_of(account) -> list[Ticket]:
    with scope(account=account):
        return list(Ticket.objects.filter(account=account).order_by("number"))


def comments_of(account, ticket=None) -> list[Comment]:
    with scope(account=account):
        comments = Comment.objects.filter(account=account)
        if ticket is not None:
            comments = comments.filter(ticket=ticket)
        return list(comments.order_by("created_at", "id"))
