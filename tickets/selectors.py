"""Reads of tickets. Every one takes the account: nothing is loaded by id alone."""
from __future__ import annotations

import re

from django.db.models import Aggregate, CharField, OuterRef, Q, QuerySet, Subquery

from supportcenter.models import Account, User
from tickets.models import Comment, EndUser, JobStatus, Ticket, TicketAudit
from supportcenter.phone import parse_phone

# ``assignee=UNASSIGNED`` lists the tickets nobody holds.
UNASSIGNED = "unassigned"

_TICKET_NUMBER = re.compile(r"^#?(\d{1,12})$")


def ticket_list(
    *,
    account: Account,
    status: str | None = None,
    assignee: User | str | None = None,
    search: str | None = None,
    external_id: str | None = None,
) -> QuerySet[Ticket]:
    """The account's tickets, newest first, with requester and assignee loaded.

    ``search`` matches the subject, the requester's phone number (any form the
    account's region reads, or a run of its digits), name or email, and
    ``#123`` or ``123`` the ticket number. ``external_id`` is matched exactly.
    """
    tickets = Ticket.objects.filter(account=account).select_related("requester", "assignee")
    if status:
        tickets = tickets.filter(status=status)
    if external_id is not None:
        tickets = tickets.filter(external_id=external_id)
    if assignee == UNASSIGNED:
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee is not None:
        tickets = tickets.filter(assignee=assignee)
    search = (search or "").strip()
    if search:
        match = Q(subject__icontains=search) | Q(requester__name__icontains=search)
        match |= Q(requester__email__icontains=search)
        number = _TICKET_NUMBER.match(search)
        if number:
            match |= Q(number=int(number.group(1)))
        phone = parse_phone(search, region=account.region)
        if phone is not None:
            match |= Q(requester__phone=phone.as_e164)
        digits = re.sub(r"\D", "", search)
        if len(digits) >= 4 and re.fullmatch(r"[\d\s()+.\-]+", search):
            match |= Q(requester__phone__contains=digits)
        tickets = tickets.filter(match)
    return tickets.order_by("-number")


def access_ticket(*, account: Account, number: int) -> Ticket | None:
    """The ticket numbered ``number`` in ``account``, or None.

    Security contract: returns only a ticket of ``account``. Numbers are per
    account, so another account's ticket is never reachable through this; a
    number the account has not used answers None, exactly as a missing one
    (SPEC T3).
    """
    return (
        Ticket.objects.filter(account=account, number=number)
        .select_related("requester", "assignee", "group")
        .first()
    )


def comment_list(*, account: Account, ticket: Ticket, include_internal: bool = True) -> QuerySet[Comment]:
    """The comments of ``ticket``, oldest first.

    ``include_internal=False`` is what a requester may see (SPEC K2): use it for
    anything shown or sent to the requester. Agents see everything.
    """
    comments = Comment.objects.filter(account=account, ticket__account=account, ticket=ticket)
    if not include_internal:
        comments = comments.filter(public=True)
    return comments.select_related("author").order_by("created_at", "id")


def access_end_user(*, account: Account, end_user_id: int) -> EndUser | None:
    """The requester ``end_user_id`` of ``account``, or None.

    Security contract: another account's requester answers None, exactly as a
    missing id does (SPEC T3).
    """
    return EndUser.objects.filter(account=account, pk=end_user_id).first()




# --- The API's reads (issue 15) ---------------------------------------------------------
MAX_NUMBER = 2**63 - 1


class _IdList(Aggregate):
    """The ids of a group as one comma-separated string (PostgreSQL and SQLite both)."""

    function = "STRING_AGG"
    template = "%(function)s(CAST(%(expressions)s AS TEXT), ',')"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", template="%(function)s(%(expressions)s)",
                              **extra)


def with_payload_relations(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What ``tickets.payloads.ticket_payload`` reads, in the page's one query: the requester (a
    member's user id stands for it) and the collaborators' ids (``collaborator_id_list``),
    so a list costs the same queries whatever its length."""
    through = Ticket.collaborators.through
    collaborator_ids = (
        through.objects.filter(ticket=OuterRef("pk")).values("ticket").annotate(ids=_IdList("user_id")).values("ids")
    )
    return tickets.select_related(None).select_related("requester").annotate(
        collaborator_id_list=Subquery(collaborator_ids)
    )


def collaborator_ids(ticket: Ticket) -> list[int]:
    """The ids of the ticket's collaborators, sorted; read from ``with_payload_relations``'
    annotation when the ticket has it."""
    if hasattr(ticket, "collaborator_id_list"):
        text = ticket.collaborator_id_list or ""
        return sorted(int(part) for part in text.split(",") if part)
    return sorted(ticket.collaborators.values_list("id", flat=True))


def ticket_many(*, account: Account, numbers: list[int]) -> QuerySet[Ticket]:
    """The account's tickets among ``numbers``, by number; numbers of no ticket of the
    account (another account's) are simply absent."""
    wanted = [number for number in numbers if 0 < number <= MAX_NUMBER]
    return Ticket.objects.filter(account=account, number__in=wanted).order_by("number")


def audit_list(*, account: Account, ticket: Ticket) -> QuerySet[TicketAudit]:
    """The audits of ``ticket`` (of ``account``), oldest first."""
    return TicketAudit.objects.filter(account=account, ticket__account=account, ticket=ticket).order_by(
        "created_at", "id"
    )


def access_job_status(*, account: Account, job_id: int) -> JobStatus | None:
    """The job ``job_id`` of ``account``, or None.

    Security contract: another account's job answers None, exactly as a missing id does (SPEC T3).
    """
    if not 0 < job_id <= MAX_NUMBER:
        return None
    return JobStatus.objects.filter(account=account, pk=job_id).first()


# --- Requesters as the API's users (tickets.users_api) ----------------------------------
def _requester_users(account: Account) -> QuerySet[EndUser]:
    # A requester who is a member shows as the member (supportcenter's users), never twice.
    return EndUser.objects.filter(account=account, user__isnull=True)


def access_requester_user(*, account: Account, end_user_id: int) -> EndUser | None:
    """The requester ``end_user_id`` of ``account`` that is no member, or None (another
    account's id answers None, as a missing one: SPEC T3)."""
    return _requester_users(account).filter(pk=end_user_id).first()


def requester_user_list(*, account: Account, descending: bool = False) -> QuerySet[EndUser]:
    order = ("-created_at", "-pk") if descending else ("created_at", "pk")
    return _requester_users(account).order_by(*order)


def requester_user_many(*, account: Account, ids: list[int]) -> QuerySet[EndUser]:
    return _requester_users(account).filter(pk__in=[i for i in ids if 0 < i < 2**63]).order_by("created_at", "pk")
