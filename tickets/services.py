"""Writes of tickets (SPEC K1, K2): one transaction and one audit entry each.

This is the only way in: the API, the agent pages and Talk all create tickets
and comments through these functions, so the same-account invariants below
hold whoever calls. Callers run inside the account's scope (django-scopes).
"""
from __future__ import annotations

from types import EllipsisType

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from supportcenter.realtime import account_group, push_on_commit
from supportcenter.selectors import is_member
from tickets.models import Comment, EndUser, Ticket, TicketCounter, TicketStatus, Via
from supportcenter.phone import parse_phone

SUBJECT_REQUIRED_MESSAGE = "Give the ticket a subject."
SUBJECT_TOO_LONG_MESSAGE = "Keep the subject under 255 characters."
BODY_REQUIRED_MESSAGE = "Write something in the comment."
INVALID_PHONE_MESSAGE = "Enter a valid phone number, e.g. +1 415 555 0123."
INVALID_EMAIL_MESSAGE = "Enter a valid email address."
REQUESTER_NOT_FOUND_MESSAGE = "There is no such requester in this account."
ASSIGNEE_NOT_MEMBER_MESSAGE = "The assignee must be an agent or admin of this account."
AUTHOR_NOT_MEMBER_MESSAGE = "The author must be an agent or admin of this account."
TICKET_NOT_FOUND_MESSAGE = "There is no such ticket in this account."
TICKET_CLOSED_MESSAGE = "This ticket is closed and can no longer be changed."
STATUS_INVALID_MESSAGE = "Choose a status: new, open, pending, solved or closed."
STATUS_BACK_TO_NEW_MESSAGE = "A ticket cannot go back to New once it has been opened."
CREATE_CLOSED_MESSAGE = "A new ticket cannot be closed; solve it instead."
VIA_INVALID_MESSAGE = "Choose a channel: voice, api or web."


# --- Requesters -------------------------------------------------------------------
@transaction.atomic
def end_user_get_or_create_by_phone(
    *, account: Account, phone: str | PhoneNumber, name: str = "", email: str = ""
) -> EndUser:
    """The requester with this number in ``account``, created on first sight.

    ``phone`` may be national (read in the account's region) or E.164. A name or
    an email is filled in only where the requester had none (and the email is no
    other requester's): a caller id never renames anyone.
    """
    number = parse_phone(phone, region=account.region)
    if number is None:
        raise ServiceError(INVALID_PHONE_MESSAGE, field="phone")
    email = _clean_email(email) if (email or "").strip() else ""
    # get_or_create retries the read when a concurrent insert wins the unique constraint.
    end_user, created = EndUser.objects.get_or_create(
        account=account, phone=number.as_e164, defaults={"name": name.strip()[:200]}
    )
    filled = {}
    if name.strip() and not end_user.name:
        filled["name"] = name.strip()[:200]
    if email and not end_user.email and not EndUser.objects.filter(account=account, email=email).exists():
        filled["email"] = email
    for field, value in filled.items():
        setattr(end_user, field, value)
    if filled:
        end_user.save(update_fields=[*filled, "updated_at"])
    if created:
        audit_record(account=account, actor=None, action="end_user.create", target=end_user, by="phone")
    elif filled:
        audit_record(account=account, actor=None, action="end_user.update", target=end_user, **filled)
    return end_user


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(INVALID_EMAIL_MESSAGE, field="email") from None
    return email


@transaction.atomic
def end_user_get_or_create_by_email(*, account: Account, email: str, name: str = "") -> EndUser:
    """The requester with this email address in ``account``, created on first sight."""
    email = _clean_email(email)
    end_user, created = EndUser.objects.get_or_create(
        account=account, email=email, defaults={"name": name.strip()[:200]}
    )
    if created:
        audit_record(account=account, actor=None, action="end_user.create", target=end_user, by="email")
    elif name.strip() and not end_user.name:
        end_user.name = name.strip()[:200]
        end_user.save(update_fields=["name", "updated_at"])
        audit_record(account=account, actor=None, action="end_user.update", target=end_user, name=end_user.name)
    return end_user


def end_user_find_or_create(*, account: Account, phone: str = "", email: str = "", name: str = "") -> EndUser | None:
    """The requester a contact names, found or created: by phone when there is one, else by
    email; None when neither is given (a ticket without a requester)."""
    if (phone or "").strip():
        return end_user_get_or_create_by_phone(account=account, phone=phone, name=name, email=email)
    if (email or "").strip():
        return end_user_get_or_create_by_email(account=account, email=email, name=name)
    return None


# --- Checks shared by the writes -----------------------------------------------------
def _is_member(account: Account, user: User) -> bool:
    return is_member(account=account, user=user)


def _check_subject(subject: str | None) -> str:
    subject = (subject or "").strip()
    if not subject:
        raise ServiceError(SUBJECT_REQUIRED_MESSAGE, field="subject")
    if len(subject) > 255:
        raise ServiceError(SUBJECT_TOO_LONG_MESSAGE, field="subject")
    return subject


def _check_requester(account: Account, requester: EndUser | None) -> None:
    if requester is not None and requester.account_id != account.pk:
        raise ServiceError(REQUESTER_NOT_FOUND_MESSAGE, field="requester")


def _check_assignee(account: Account, assignee: User | None) -> None:
    if assignee is not None and not _is_member(account, assignee):
        raise ServiceError(ASSIGNEE_NOT_MEMBER_MESSAGE, field="assignee")


def _check_status(status: str) -> None:
    if status not in TicketStatus.values:
        raise ServiceError(STATUS_INVALID_MESSAGE, field="status")


def _next_number(account: Account) -> int:
    """The next ticket number of ``account``; call inside the ticket's transaction.

    One UPDATE ... SET last_number = last_number + 1: on PostgreSQL its row lock
    makes a concurrent creator wait for this transaction and then increment past
    our number; SQLite serialises writers anyway. Numbers of rolled-back tickets
    are reused, so there are no gaps from refused input.
    """
    counter = TicketCounter.objects.filter(account=account)
    if not counter.update(last_number=F("last_number") + 1):
        # The account's first ticket: get_or_create survives a concurrent first one.
        TicketCounter.objects.get_or_create(account=account)
        counter.update(last_number=F("last_number") + 1)
    return counter.values_list("last_number", flat=True).get()


def _push(account: Account, ticket: Ticket, change: str) -> None:
    # A hint only (SPEC R13): ids, never bodies, so nothing private travels in it.
    push_on_commit(
        account_group(account.pk), "ticket.updated", {"ticket": ticket.number, "change": change}
    )


# --- Tickets and comments -------------------------------------------------------------
@transaction.atomic
def ticket_create(
    *,
    account: Account,
    subject: str,
    description: str = "",
    requester: EndUser | None = None,
    via: str = Via.WEB,
    actor: User | None = None,
    assignee: User | None = None,
    status: str | None = None,
    internal_note: str | None = None,
    requester_contact: dict[str, str] | None = None,
) -> Ticket:
    """Open a ticket. ``description`` becomes its first, public comment;
    ``internal_note`` an internal one (agents only). ``actor`` None is the system.

    ``requester_contact`` (``phone``, ``email``, ``name``; the web form's and the API's
    ``requester``) finds or creates the requester in the same transaction: a refused
    ticket leaves no new requester behind.

    With an assignee a ticket starts ``open`` (as in the reference product),
    otherwise ``new``, unless ``status`` says otherwise.
    """
    if requester_contact is not None:
        requester = end_user_find_or_create(account=account, **requester_contact) or requester
    subject = _check_subject(subject)
    if via not in Via.values:
        raise ServiceError(VIA_INVALID_MESSAGE, field="via")
    _check_requester(account, requester)
    _check_assignee(account, assignee)
    if status is None:
        status = TicketStatus.OPEN if assignee is not None else TicketStatus.NEW
    _check_status(status)
    if status == TicketStatus.CLOSED:
        raise ServiceError(CREATE_CLOSED_MESSAGE, field="status")
    if status == TicketStatus.NEW and assignee is not None:
        status = TicketStatus.OPEN
    description = (description or "").strip()
    internal_note = (internal_note or "").strip()

    ticket = Ticket.objects.create(
        account=account,
        number=_next_number(account),
        subject=subject,
        description=description,
        status=status,
        via=via,
        requester=requester,
        assignee=assignee,
        created_by=actor,
    )
    if description:
        Comment.objects.create(account=account, ticket=ticket, author=actor, body=description, public=True, via=via)
    if internal_note:
        Comment.objects.create(account=account, ticket=ticket, author=actor, body=internal_note, public=False, via=via)
    audit_record(
        account=account, actor=actor, action="ticket.create", target=ticket,
        number=ticket.number, via=via, status=status,
    )
    _push(account, ticket, "created")
    return ticket


@transaction.atomic
def comment_add(
    *,
    account: Account,
    ticket: Ticket,
    body: str,
    public: bool,
    author: User | None = None,
    via: str | None = None,
) -> Comment:
    """Add a public reply or an internal note (``public=False``) to ``ticket``.

    ``author`` None is the system. ``via`` defaults to the ticket's channel for
    the system (a Talk event on a voice ticket is via voice), else to web. A closed ticket takes no more comments from
    people, but the system may still record events on it as internal notes, so
    that nothing Talk observes (a late call outcome) is ever dropped.
    """
    if ticket.account_id != account.pk:
        raise ServiceError(TICKET_NOT_FOUND_MESSAGE, field="ticket")
    body = (body or "").strip()
    if not body:
        raise ServiceError(BODY_REQUIRED_MESSAGE, field="body")
    if via is None:
        via = ticket.via if author is None else Via.WEB
    if via not in Via.values:
        raise ServiceError(VIA_INVALID_MESSAGE, field="via")
    if author is not None and not _is_member(account, author):
        raise ServiceError(AUTHOR_NOT_MEMBER_MESSAGE, field="author")
    # Read the status under the row lock: a concurrent close wins or waits, never half.
    locked = Ticket.objects.select_for_update().get(account=account, pk=ticket.pk)
    if locked.is_closed and (author is not None or public):
        raise ServiceError(TICKET_CLOSED_MESSAGE, field="status")
    comment = Comment.objects.create(
        account=account, ticket=locked, author=author, body=body, public=bool(public), via=via
    )
    now = timezone.now()
    Ticket.objects.filter(account=account, pk=ticket.pk).update(updated_at=now)
    ticket.updated_at = now
    audit_record(
        account=account, actor=author, action="comment.add", target=comment,
        ticket=ticket.number, public=bool(public),
    )
    _push(account, ticket, "comment")
    return comment


@transaction.atomic
def ticket_update(
    *,
    account: Account,
    ticket: Ticket,
    actor: User | None,
    status: str | None = None,
    assignee: User | None | EllipsisType = ...,
    subject: str | None = None,
    requester: EndUser | None | EllipsisType = ...,
    comment_body: str | None = None,
    comment_public: bool = True,
    via: str = Via.WEB,
) -> Ticket:
    """Change a ticket and optionally comment on it, all or nothing; returns it fresh.

    ``assignee=None`` unassigns; leaving it out (``...``) keeps it. The same
    goes for ``requester``. Assigning a ``new`` ticket opens it, as in the
    reference product. Only real changes are recorded.
    """
    if ticket.account_id != account.pk:
        raise ServiceError(TICKET_NOT_FOUND_MESSAGE, field="ticket")
    locked = Ticket.objects.select_for_update().get(account=account, pk=ticket.pk)
    if locked.is_closed:
        raise ServiceError(TICKET_CLOSED_MESSAGE, field="status")

    changes: dict[str, list] = {}
    if subject is not None:
        subject = _check_subject(subject)
        if subject != locked.subject:
            changes["subject"] = [locked.subject, subject]
    if requester is not ...:
        _check_requester(account, requester)
        if (requester.pk if requester else None) != locked.requester_id:
            changes["requester"] = [locked.requester_id, requester.pk if requester else None]
    if assignee is not ...:
        _check_assignee(account, assignee)
        if (assignee.pk if assignee else None) != locked.assignee_id:
            changes["assignee"] = [locked.assignee_id, assignee.pk if assignee else None]
    new_status = locked.status if status is None else status
    _check_status(new_status)
    if new_status == TicketStatus.NEW and locked.status != TicketStatus.NEW:
        raise ServiceError(STATUS_BACK_TO_NEW_MESSAGE, field="status")
    if new_status == TicketStatus.NEW and assignee not in (..., None):
        new_status = TicketStatus.OPEN
    if new_status != locked.status:
        changes["status"] = [locked.status, new_status]

    if comment_body is not None:
        # Before the status change: closing a ticket with a last reply is allowed.
        comment_add(account=account, ticket=locked, body=comment_body, public=comment_public, author=actor, via=via)
    if changes:
        if "subject" in changes:
            locked.subject = subject
        if "requester" in changes:
            locked.requester = requester
        if "assignee" in changes:
            locked.assignee = assignee
        locked.status = new_status
        locked.save(update_fields=[*(f for f in changes if f != "status"), "status", "updated_at"])
        audit_record(
            account=account, actor=actor, action="ticket.update", target=locked, number=locked.number, changes=changes,
        )
        _push(account, locked, "updated")
    locked.refresh_from_db()
    return locked
