"""Writes of tickets (SPEC K1, K2): one transaction and one audit entry each.

This is the only way in: the API, the agent pages and Talk all create tickets
and comments through these functions, so the same-account invariants below
hold whoever calls. Callers run inside the account's scope (django-scopes).
"""
from __future__ import annotations

from datetime import datetime
from types import EllipsisType

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import Account, Group, User
from supportcenter.realtime import account_group, push_on_commit
from supportcenter.selectors import active_memberships, is_member
from tickets import audits
from tickets.audits import without_nul
from tickets.models import (
    Comment, EndUser, JobStatus, Ticket, TicketCounter, TicketPriority, TicketStatus, TicketType,
    Via,
)
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
PRIORITY_INVALID_MESSAGE = "Choose a priority: low, normal, high or urgent."
TYPE_INVALID_MESSAGE = "Choose a type: problem, incident, question or task."
GROUP_NOT_FOUND_MESSAGE = "There is no such group in this account."
COLLABORATOR_NOT_MEMBER_MESSAGE = "Each collaborator must be an agent or admin of this account."
CUSTOM_FIELDS_INVALID_MESSAGE = 'Give custom fields as a list of {"id": <integer>, "value": ...} objects.'
EXTERNAL_ID_TOO_LONG_MESSAGE = "Keep the external id under 255 characters."


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


# --- The reference's ticket fields (issue 15) --------------------------------------------
def tags_normalise(tags: list[str] | tuple[str, ...] | str | None) -> list[str]:
    """Tags as the reference keeps them: lower-case words (a value with spaces is several
    tags), each once, sorted. A string is read as space-separated tags."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    words = {word.lower() for tag in tags for word in without_nul(str(tag)).split()}
    return sorted(words)


def _check_choice(value: str | None, choices: list[str], message: str, field: str) -> str:
    value = value or ""
    if value and value not in choices:
        raise ServiceError(message, field=field)
    return value


def _check_group(account: Account, group: Group | None) -> None:
    if group is not None and group.account_id != account.pk:
        raise ServiceError(GROUP_NOT_FOUND_MESSAGE, field="group_id")


def _check_collaborators(account: Account, collaborators) -> list[User]:
    """Distinct members, in the order given; anyone else is refused (another account's
    user exactly as a missing one)."""
    unique = list({user.pk: user for user in collaborators}.values())
    if unique:
        members = set(active_memberships(account=account).filter(user__in=unique).values_list("user_id", flat=True))
        if len(members) != len(unique):
            raise ServiceError(COLLABORATOR_NOT_MEMBER_MESSAGE, field="collaborator_ids")
    return unique


def _check_custom_fields(custom_fields) -> list[dict]:
    fields = without_nul(list(custom_fields or []))
    for field in fields:
        if not isinstance(field, dict) or isinstance(field.get("id"), bool) or not isinstance(field.get("id"), int):
            raise ServiceError(CUSTOM_FIELDS_INVALID_MESSAGE, field="custom_fields")
    return fields


def _merge_custom_fields(current: list[dict], given: list[dict]) -> list[dict]:
    """The reference's update: a field given replaces the one of the same id, others stay."""
    merged = {field["id"]: field for field in current if isinstance(field, dict) and "id" in field}
    for field in given:
        merged[field["id"]] = field
    return list(merged.values())


def _check_external_id(external_id: str | None) -> str:
    external_id = (external_id or "").strip()
    if len(external_id) > 255:
        raise ServiceError(EXTERNAL_ID_TOO_LONG_MESSAGE, field="external_id")
    return external_id


@transaction.atomic
def end_user_for_member(*, account: Account, user: User) -> EndUser:
    """The requester standing for ``user``, a member of ``account`` (any user may ask, in
    the reference), created on first need. Anyone not a member is refused exactly as a
    missing requester is."""
    if user is None or not _is_member(account, user):
        raise ServiceError(REQUESTER_NOT_FOUND_MESSAGE, field="requester_id")
    end_user, created = EndUser.objects.get_or_create(
        account=account, user=user, defaults={"name": (user.name or "")[:200]}
    )
    if created:
        email = (user.email or "").strip().lower()
        if email and not EndUser.objects.filter(account=account, email=email).exists():
            end_user.email = email
            end_user.save(update_fields=["email", "updated_at"])
        audit_record(account=account, actor=None, action="end_user.create", target=end_user, by="member")
    return end_user


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
    requester_member: User | None = None,
    priority: str | None = None,
    type: str | None = None,
    tags: list[str] | str | None = None,
    group: Group | None = None,
    external_id: str | None = None,
    due_at: datetime | None = None,
    custom_fields: list[dict] | None = None,
    is_public: bool | None = None,
    collaborators: list[User] | None = None,
    metadata: dict | None = None,
) -> Ticket:
    """Open a ticket. ``description`` becomes its first, public comment;
    ``internal_note`` an internal one (agents only). ``actor`` None is the system.

    ``requester_contact`` (``phone``, ``email``, ``name``; the web form's and the API's
    ``requester``) finds or creates the requester in the same transaction: a refused
    ticket leaves no new requester behind; so does ``requester_member`` (a member of the
    account as requester).

    With an assignee a ticket starts ``open`` (as in the reference product),
    otherwise ``new``, unless ``status`` says otherwise.

    One :class:`TicketAudit` records it: a ``Create`` event per field set, then a
    ``Comment`` event per comment. The returned ticket carries it as ``written_audit``.
    """
    if requester_contact is not None:
        requester = end_user_find_or_create(account=account, **requester_contact) or requester
    if requester_member is not None:
        requester = end_user_for_member(account=account, user=requester_member)
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
    priority = _check_choice(priority, TicketPriority.values, PRIORITY_INVALID_MESSAGE, "priority")
    type = _check_choice(type, TicketType.values, TYPE_INVALID_MESSAGE, "type")
    _check_group(account, group)
    collaborators = _check_collaborators(account, collaborators or [])
    custom_fields = _merge_custom_fields([], _check_custom_fields(custom_fields))
    external_id = _check_external_id(external_id)
    description = (description or "").strip()
    internal_note = (internal_note or "").strip()
    if is_public is None:
        # The reference: a ticket is public when a comment of it is.
        is_public = bool(description) or not internal_note

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
        priority=priority,
        type=type,
        tags=tags_normalise(tags),
        group=group,
        external_id=external_id,
        due_at=due_at,
        custom_fields=custom_fields,
        is_public=bool(is_public),
    )
    if collaborators:
        ticket.collaborators.set(collaborators)

    audit = audits.new_audit(account, ticket, actor, via, metadata)
    comments = [
        audits.new_comment(account, ticket, audit, author=actor, body=body, public=public, via=via)
        for body, public in ((description, True), (internal_note, False)) if body
    ]
    events = [
        audits.event("Create", field, value)
        for field, value in audits.field_values(ticket, collaborators).items()
        if field in ("subject", "status") or value not in (None, "", [], True)
    ]
    events += [audits.event("Create", field, value) for field, value in audits.custom_values(custom_fields).items()]
    events += [audits.comment_event(comment) for comment in comments]
    ticket.written_audit = audits.save(audit, events, comments)
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

    An audit of its own records it (a ``Comment`` event); the comment names it.
    """
    if ticket.account_id != account.pk:
        raise ServiceError(TICKET_NOT_FOUND_MESSAGE, field="ticket")
    body = _check_body(body)
    via = _comment_via(ticket, author, via)
    if author is not None and not _is_member(account, author):
        raise ServiceError(AUTHOR_NOT_MEMBER_MESSAGE, field="author")
    # Read the status under the row lock: a concurrent close wins or waits, never half.
    locked = Ticket.objects.select_for_update().get(account=account, pk=ticket.pk)
    if locked.is_closed and (author is not None or public):
        raise ServiceError(TICKET_CLOSED_MESSAGE, field="status")
    audit = audits.new_audit(account, locked, author, via, None)
    comment = audits.new_comment(account, locked, audit, author=author, body=body, public=public, via=via)
    audits.save(audit, [audits.comment_event(comment)], [comment])
    now = timezone.now()
    Ticket.objects.filter(account=account, pk=ticket.pk).update(updated_at=now)
    ticket.updated_at = now
    audit_record(
        account=account, actor=author, action="comment.add", target=comment,
        ticket=ticket.number, public=bool(public),
    )
    _push(account, ticket, "comment")
    return comment


def _check_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise ServiceError(BODY_REQUIRED_MESSAGE, field="body")
    return body


def _comment_via(ticket: Ticket, author: User | None, via: str | None) -> str:
    if via is None:
        via = ticket.via if author is None else Via.WEB
    if via not in Via.values:
        raise ServiceError(VIA_INVALID_MESSAGE, field="via")
    return via


KEEP = ...  # a ticket_update argument left out: the field keeps its value


@transaction.atomic
def ticket_update(
    *,
    account: Account,
    ticket: Ticket,
    actor: User | None,
    status: str | None = None,
    assignee: User | None | EllipsisType = KEEP,
    subject: str | None = None,
    requester: EndUser | None | EllipsisType = KEEP,
    comment_body: str | None = None,
    comment_public: bool = True,
    via: str = Via.WEB,
    requester_member: User | EllipsisType = KEEP,
    priority: str | None | EllipsisType = KEEP,
    type: str | None | EllipsisType = KEEP,
    tags: list[str] | str | None | EllipsisType = KEEP,
    additional_tags: list[str] | str | None = None,
    remove_tags: list[str] | str | None = None,
    group: Group | None | EllipsisType = KEEP,
    external_id: str | None | EllipsisType = KEEP,
    due_at: datetime | None | EllipsisType = KEEP,
    custom_fields: list[dict] | EllipsisType = KEEP,
    is_public: bool | EllipsisType = KEEP,
    collaborators: list[User] | EllipsisType = KEEP,
    metadata: dict | None = None,
) -> Ticket:
    """Change a ticket and optionally comment on it, all or nothing; returns it fresh.

    ``assignee=None`` unassigns; leaving it out (``KEEP``) keeps it. The same
    goes for ``requester`` and the reference's fields (None or "" clears them).
    ``tags`` replaces the tags; ``additional_tags`` / ``remove_tags`` add and remove
    some; ``custom_fields`` replaces the fields of the ids given, others stay (the
    reference's rules). Assigning a ``new`` ticket opens it, as in the reference
    product. Only real changes are recorded: one audit of ``Change`` events (and a
    ``Comment`` event), returned as the ticket's ``written_audit`` (None when nothing
    changed).
    """
    if ticket.account_id != account.pk:
        raise ServiceError(TICKET_NOT_FOUND_MESSAGE, field="ticket")
    locked = Ticket.objects.select_for_update(of=("self",)).select_related("requester").get(account=account, pk=ticket.pk)
    if locked.is_closed:
        raise ServiceError(TICKET_CLOSED_MESSAGE, field="status")
    before_collaborators = list(locked.collaborators.all())
    before = {**audits.field_values(locked, before_collaborators), **audits.custom_values(locked.custom_fields)}

    if subject is not None:
        locked.subject = _check_subject(subject)
    if requester_member is not KEEP:
        requester = end_user_for_member(account=account, user=requester_member)
    if requester is not KEEP:
        _check_requester(account, requester)
        locked.requester = requester
    if assignee is not KEEP:
        _check_assignee(account, assignee)
        locked.assignee = assignee
    new_status = locked.status if status is None else status
    _check_status(new_status)
    if new_status == TicketStatus.NEW and before["status"] != TicketStatus.NEW:
        raise ServiceError(STATUS_BACK_TO_NEW_MESSAGE, field="status")
    if new_status == TicketStatus.NEW and assignee not in (KEEP, None):
        new_status = TicketStatus.OPEN
    locked.status = new_status
    if priority is not KEEP:
        locked.priority = _check_choice(priority, TicketPriority.values, PRIORITY_INVALID_MESSAGE, "priority")
    if type is not KEEP:
        locked.type = _check_choice(type, TicketType.values, TYPE_INVALID_MESSAGE, "type")
    if tags is not KEEP or additional_tags or remove_tags:
        current = set(locked.tags if tags is KEEP else tags_normalise(tags))
        current |= set(tags_normalise(additional_tags))
        current -= set(tags_normalise(remove_tags))
        locked.tags = sorted(current)
    if group is not KEEP:
        _check_group(account, group)
        locked.group = group
    if external_id is not KEEP:
        locked.external_id = _check_external_id(external_id)
    if due_at is not KEEP:
        locked.due_at = due_at
    if custom_fields is not KEEP:
        locked.custom_fields = _merge_custom_fields(locked.custom_fields, _check_custom_fields(custom_fields))
    if is_public is not KEEP:
        locked.is_public = bool(is_public)
    after_collaborators = before_collaborators
    if collaborators is not KEEP:
        after_collaborators = _check_collaborators(account, collaborators)
    after = {**audits.field_values(locked, after_collaborators), **audits.custom_values(locked.custom_fields)}
    changes = {field: [before.get(field), value] for field, value in after.items() if before.get(field) != value}

    audit = audits.new_audit(account, locked, actor, via, metadata)
    comments = []
    if comment_body is not None:
        # Before the status change is saved: closing a ticket with a last reply is allowed.
        body = _check_body(comment_body)
        if actor is not None and not _is_member(account, actor):
            raise ServiceError(AUTHOR_NOT_MEMBER_MESSAGE, field="author")
        comments.append(audits.new_comment(account, locked, audit, author=actor, body=body, public=comment_public, via=via))
    if not changes and not comments:
        locked.refresh_from_db()
        locked.written_audit = None
        return locked
    events = [audits.event("Change", field, new, old) for field, (old, new) in changes.items()]
    events += [audits.comment_event(comment) for comment in comments]
    audits.save(audit, events, comments)
    locked.save()
    if "collaborator_ids" in changes:
        locked.collaborators.set(after_collaborators)
    if changes:
        audit_record(
            account=account, actor=actor, action="ticket.update", target=locked, number=locked.number, changes=changes,
        )
    for comment in comments:
        audit_record(
            account=account, actor=actor, action="comment.add", target=comment,
            ticket=locked.number, public=comment.public,
        )
    _push(account, locked, "updated" if changes else "comment")
    locked.refresh_from_db()
    locked.written_audit = audit
    return locked


@transaction.atomic
def ticket_update_many(*, account: Account, actor: User | None, updates: list[tuple[Ticket, dict]],
                       via: str = Via.API) -> JobStatus:
    """Apply each ``(ticket, changes)`` with :func:`ticket_update`, all or nothing.

    The reference answers bulk updates with a job to poll; the job here is done when this
    returns (``completed``), and a refusal of any ticket refuses them all, naming it.
    """
    # Lock the tickets in one order (their ids), whatever order the client named them in:
    # two bulk updates of the same tickets queue instead of deadlocking.
    for ticket, changes in sorted(updates, key=lambda update: update[0].pk):
        try:
            ticket_update(account=account, ticket=ticket, actor=actor, via=via, **changes)
        except ServiceError as error:
            raise ServiceError(f"Ticket {ticket.number}: {error.message}", field=error.field, code=error.code) from None
    results = [{"id": ticket.number, "action": "update", "success": True, "status": "Updated"} for ticket, _ in updates]
    job = JobStatus.objects.create(
        account=account, status="completed", total=len(results), progress=len(results),
        message=f"Completed at {audits.iso(timezone.now())}", results=results, created_by=actor,
    )
    audit_record(account=account, actor=actor, action="ticket.update_many", target=job,
                 tickets=[result["id"] for result in results])
    return job
