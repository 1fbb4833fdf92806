"""search.json's query language (issue 15, item 3): the parser, and the querysets it selects.

A query is terms separated by spaces, every one of which must hold (AND), as the reference
reads them: a word (``printer``; it matches a word of the text or the start of one), a
"quoted phrase" (those words in that order), or ``field<op>value`` with ``:`` (is),
``<``, ``>``, ``<=``, ``>=``; a leading ``-`` negates a term. A field named again with ``:``
is ORed with itself (``status:open status:pending``: what zenpy sends for a list). Words and
phrases are looked
for in a ticket's subject and its comments (internal notes too: search is for agents), and
in a user's name and e-mail; a bare number also finds the ticket of that number.

Result types: ``type:ticket`` or ``type:user`` chooses one. Without it a query searches
every type all of whose terms apply to it: free words and dates apply to tickets and users
(both are answered, tickets first, then users), ``status:``/``assignee:``... only to
tickets, ``role:``/``email:``/``name:`` only to users.

The grammar and the parser live in tickets.search_language (its pattern is what the API
publishes); this module selects what the parsed terms name.

Matching text: on PostgreSQL, full-text search with the language-neutral ``simple``
configuration, through expressions identical to the GIN indexes of migration 0003 (so
they are usable: a test reads the plan). Text with CJK characters (Japanese has no spaces
between words) falls back to a substring match, as does everything on SQLite (the demo).
"""
from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from collections.abc import Sequence

from django.contrib.postgres.search import SearchQueryField, SearchVectorField
from django.db import connection
from django.db.models import BooleanField, Case, F, Func, IntegerField, Q, QuerySet, Value, When

from supportcenter import selectors as core_selectors
from supportcenter.models import Account, Membership, User
from supportcenter.phone import parse_phone
from supportcenter.tenancy import account_zone
from tickets import selectors as ticket_selectors
from tickets.models import Comment, Ticket, Via

from tickets.search_language import PRIORITY_ORDER, STATUS_ORDER, Query, Term


# --- Times: a term's window [start, end), clamped to what the database can hold ------------
_UTC = dt.timezone.utc
_MIN = dt.datetime.min.replace(tzinfo=_UTC)
_MAX = dt.datetime.max.replace(tzinfo=_UTC)


def _utc(moment: dt.datetime, overflow: dt.datetime) -> dt.datetime:
    try:
        return moment.astimezone(_UTC)
    except (OverflowError, ValueError):
        return overflow


def _window(when: tuple, op: str, zone, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    kind = when[0]
    if kind == "date":
        day = when[1]
        start = _utc(dt.datetime.combine(day, dt.time.min, tzinfo=zone), _MIN)
        if day == dt.date.max:
            return start, _MAX
        return start, _utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone), _MAX)
    if kind == "time":
        moment = when[1] if when[1].tzinfo else when[1].replace(tzinfo=zone)
        overflow = _MAX if moment.year > 1 else _MIN
        start = _utc(moment, overflow)
        return start, (_MAX if start >= _MAX - dt.timedelta(minutes=1) else start + dt.timedelta(seconds=when[2]))
    point = _ago(now, when[1], when[2])
    if op != ":":
        return point, point
    return point, _ago(now, when[1] - 1, when[2])


def _ago(now: dt.datetime, number: int, unit: str) -> dt.datetime:
    try:
        if unit in ("month", "year"):
            months = now.year * 12 + now.month - 1 - (number * 12 if unit == "year" else number)
            year, month = divmod(months, 12)
            day = min(now.day, calendar.monthrange(year, month + 1)[1])
            return now.replace(year=year, month=month + 1, day=day)
        return now - dt.timedelta(**{f"{unit}s": number})
    except (OverflowError, ValueError):
        return _MIN


def _time_q(column: str, op: str, window: tuple[dt.datetime, dt.datetime]) -> Q:
    start, end = window
    if op == ":":
        return _since(column, start) & _before(column, end)
    return {">": _since(column, end), ">=": _since(column, start),
            "<": _before(column, start), "<=": _before(column, end)}[op]


def _since(column: str, moment: dt.datetime) -> Q:
    return Q() if moment <= _MIN else Q(pk__in=[]) if moment >= _MAX else Q(**{f"{column}__gte": moment})


def _before(column: str, moment: dt.datetime) -> Q:
    return Q(pk__in=[]) if moment <= _MIN else Q() if moment >= _MAX else Q(**{f"{column}__lt": moment})


# --- Text: full-text search on PostgreSQL, with the indexes' exact expressions ------------------
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]")


class Vector(Func):
    """``to_tsvector('simple', column)``: the expression migration 0003 indexes (GIN)."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()


class _Prefixes(Func):
    template = "to_tsquery('simple'::regconfig, %(expressions)s)"
    output_field = SearchQueryField()


class _Phrase(Func):
    template = "phraseto_tsquery('simple'::regconfig, %(expressions)s)"
    output_field = SearchQueryField()


class Matches(Func):
    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def _tsquery(text: str, *, phrase: bool) -> Func:
    if phrase:
        return _Phrase(Value(text))
    # Quoted, the word is one operand whatever its punctuation; ":*" matches word starts.
    return _Prefixes(Value("'" + text.replace("\\", "\\\\").replace("'", "''") + "':*"))


def text_match(column: str, text: str, *, phrase: bool) -> Q:
    """``column`` holds the word (or the start of one) or the phrase ``text``."""
    if connection.vendor != "postgresql" or _CJK.search(text):
        # The reference's trailing wildcard (print*) is what a substring match does anyway.
        return Q(**{f"{column}__icontains": text if phrase else text.rstrip("*") or text})
    return Q(Matches(Vector(F(column)), _tsquery(text, phrase=phrase)))


def _ticket_text(account: Account, text: str, *, phrase: bool, subject_only: bool = False) -> Q:
    # Each side an uncorrelated subquery, run once on its own GIN index: matching the subject
    # in the outer query instead, ORed with the comments', made PostgreSQL compute every
    # ticket's vector in a sequential scan (bench/search.py: 225 ms for 200 of 20,000).
    subjects = Ticket.objects.filter(account=account).filter(text_match("subject", text, phrase=phrase))
    match = Q(pk__in=subjects.values("pk"))
    if not subject_only:
        comments = Comment.objects.filter(account=account).filter(text_match("body", text, phrase=phrase))
        match |= Q(pk__in=comments.values("ticket_id"))
        if not phrase and text.isdigit() and len(text) <= 18:
            match |= Q(number=int(text))
    return match


# --- Tickets --------------------------------------------------------------------------
_ID_MAX = 2**63 - 1


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) <= 19 and 0 < int(value) <= _ID_MAX else None


def _ticket_q(account: Account, user: User, term: Term, now: dt.datetime) -> Q:
    if term.kind != "field":
        return _ticket_text(account, term.value, phrase=term.kind == "phrase")
    value, op, name = term.value, term.op, term.field
    if name == "type":
        return Q()
    if name in ("status", "priority"):
        order = STATUS_ORDER if name == "status" else PRIORITY_ORDER
        if value == "none":
            return Q(priority="")
        if op == ":":
            return Q(**{name: value})
        index = order.index(value)
        chosen = [v for i, v in enumerate(order) if {"<": i < index, "<=": i <= index, ">": i > index, ">=": i >= index}[op]]
        return Q(**{f"{name}__in": chosen})
    if name == "ticket_type":
        return Q(type="" if value == "none" else value)
    if name == "via":
        return Q(via=Via.VOICE if value == "phone" else value)
    if name == "subject":
        return _ticket_text(account, value, phrase=" " in value, subject_only=True)
    if name in ("created", "updated"):
        return _time_q(f"{name}_at", op, _window(term.when, op, account_zone(account), now))
    if name == "tags":
        return tags_match(value.lower())
    lowered, number = value.lower(), _id(value)
    if name == "assignee":
        if lowered in ("me", "none"):
            return Q(assignee=user) if lowered == "me" else Q(assignee__isnull=True)
        if "@" in value:
            return Q(assignee__email__iexact=value)
        return Q(assignee__name__icontains=value) | (Q(assignee_id=number) if number else Q(pk__in=[]))
    if name == "group":
        if lowered == "none":
            return Q(group__isnull=True)
        return Q(group__name__iexact=value) | (Q(group_id=number) if number else Q(pk__in=[]))
    # requester: an end user (by phone, e-mail, name or id) or a member asking (by their user id)
    if lowered in ("me", "none"):
        return Q(requester__user=user) if lowered == "me" else Q(requester__isnull=True)
    if "@" in value:
        return Q(requester__email__iexact=value) | Q(requester__user__email__iexact=value)
    match = Q(requester__name__icontains=value) | Q(requester__user__name__icontains=value)
    if number:
        match |= Q(requester_id=number) | Q(requester__user_id=number)
    phone = parse_phone(value, region=account.region) if re.fullmatch(r"[0-9+()\-.]{4,}", value) else None
    if phone is not None:
        match |= Q(requester__phone=phone.as_e164)
    return match


def tags_match(tag: str) -> Q:
    if tag == "none":
        return Q(tags=[])
    if connection.vendor == "postgresql":
        return Q(tags__contains=[tag])  # jsonb @>, on the GIN index of migration 0003
    # SQLite stores the list as JSON text (ASCII-escaped): look for the element, quotes included.
    return Q(tags__icontains=json.dumps(tag))


def _conditions(query: Query, condition) -> list[Q]:
    """One condition per term, ANDed; but the reference ORs a field named again with ':'
    (``status:open status:pending``, zenpy's lists), so those terms are ORed first."""
    anded, ored = [], {}
    for term in query.terms:
        q = condition(term)
        if term.negated:
            anded.append(~q)
        elif term.kind == "field" and term.op == ":" and term.field not in ("type", "created", "updated"):
            ored[term.field] = ored[term.field] | q if term.field in ored else q
        else:
            anded.append(q)
    return anded + list(ored.values())


_PRIORITY_RANK = Case(*(When(priority=p, then=Value(i + 1)) for i, p in enumerate(PRIORITY_ORDER)),
                      default=Value(0), output_field=IntegerField())
_STATUS_RANK = Case(*(When(status=s, then=Value(i)) for i, s in enumerate(STATUS_ORDER)),
                    default=Value(0), output_field=IntegerField())


def search_tickets(*, account: Account, user: User, query: Query, sort_by: str | None = None,
                   descending: bool = True) -> QuerySet[Ticket]:
    """The account's tickets matching every term of ``query``, in the order asked
    (``sort_by`` one of :data:`SORT_FIELDS`; without it, by creation)."""
    tickets = Ticket.objects.filter(account=account)
    if "ticket" not in query.types:
        return tickets.none()
    now = dt.datetime.now(_UTC)
    for condition in _conditions(query, lambda term: _ticket_q(account, user, term, now)):
        tickets = tickets.filter(condition)
    key = {"priority": _PRIORITY_RANK, "status": _STATUS_RANK, "ticket_type": F("type"),
           "updated_at": F("updated_at")}.get(sort_by or "", F("created_at"))
    if descending:
        return tickets.order_by(key.desc(), "-number")
    return tickets.order_by(key.asc(), "number")


# --- Users ----------------------------------------------------------------------------
def _user_q(account: Account, term: Term, now: dt.datetime) -> Q:
    if term.kind != "field":
        return Q(user__name__icontains=term.value) | Q(user__email__icontains=term.value)
    if term.field == "type":
        return Q()
    if term.field == "role":
        return Q(role=term.value)
    if term.field == "email":
        return Q(user__email__iexact=term.value)
    if term.field == "name":
        return Q(user__name__icontains=term.value)
    # created / updated: a user of the account since the membership began (the API's dates)
    return _time_q("created_at", term.op, _window(term.when, term.op, account_zone(account), now))


def search_users(*, account: Account, query: Query, sort_by: str | None = None,
                 descending: bool = True) -> QuerySet[Membership]:
    """The account's active members matching every term; by name unless sorted by a date."""
    members = core_selectors.user_list(account=account)
    if "user" not in query.types:
        return members.none()
    now = dt.datetime.now(_UTC)
    for condition in _conditions(query, lambda term: _user_q(account, term, now)):
        members = members.filter(condition)
    if sort_by in ("created_at", "updated_at"):
        return members.order_by(*(("-created_at", "-pk") if descending else ("created_at", "pk")))
    return members.order_by("user__name", "user__email", "pk")


# --- Both -----------------------------------------------------------------------------
class SearchResults(Sequence):
    """Tickets, then users, as one list of ``(result_type, row)``: each part is counted once
    and only the rows of the page asked for are loaded."""

    def __init__(self, parts: list[tuple[str, QuerySet]]):
        self._parts = parts
        self._sizes: list[int] | None = None

    def _counts(self) -> list[int]:
        if self._sizes is None:
            self._sizes = [queryset.count() for _kind, queryset in self._parts]
        return self._sizes

    def __len__(self) -> int:
        return sum(self._counts())

    def __getitem__(self, index):
        if not isinstance(index, slice):
            rows = self[index:index + 1] if index >= 0 else self[len(self) + index:len(self) + index + 1]
            if not rows:
                raise IndexError(index)
            return rows[0]
        start, stop, _step = index.indices(len(self))
        rows, offset = [], 0
        for (kind, queryset), size in zip(self._parts, self._counts()):
            low, high = max(start - offset, 0), min(stop - offset, size)
            if low < high:
                rows.extend((kind, row) for row in queryset[low:high])
            offset += size
        return rows


def search(*, account: Account, user: User, query: Query, sort_by: str | None = None,
           descending: bool = True) -> SearchResults:
    """Everything ``query`` selects in ``account``: tickets first, then users."""
    parts: list[tuple[str, QuerySet]] = []
    if "ticket" in query.types:
        tickets = search_tickets(account=account, user=user, query=query, sort_by=sort_by, descending=descending)
        parts.append(("ticket", ticket_selectors.with_payload_relations(tickets)))
    if "user" in query.types:
        parts.append(("user", search_users(account=account, query=query, sort_by=sort_by, descending=descending)))
    return SearchResults(parts)
