"""Reads of tickets. Every one takes the account: nothing is loaded by id alone."""
from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from supportcenter.models import Account, User
from tickets.models import Comment, EndUser, Ticket
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
) -> QuerySet[Ticket]:
    """The account's tickets, newest first, with requester and assignee loaded.

    ``search`` matches the subject, the requester's phone number (any form the
    account's region reads, or a run of its digits), name or email, and
    ``#123`` or ``123`` the ticket number.
    """
    tickets = Ticket.objects.filter(account=account).select_related("requester", "assignee")
    if status:
        tickets = tickets.filter(status=status)
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
        .select_related("requester", "assignee")
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


