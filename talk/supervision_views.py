"""The supervisors' live queue page (SPEC S1) and its actions on a callback (S2).

``/talk/queue/`` shows the account's queue in routing order (talk.selectors.supervision),
100 rows a page, filtered by line and group. Its script reloads the table from
``/talk/queue/rows.json`` whenever the account's socket hints that the queue moved (the push's
payload is never trusted), on (re)connect, and by polling while the socket is down.

Each action is a small form posting to its own route, which calls the one service of
talk.services.supervision (re-checked and audited there). Success redirects back to the
page (filters kept) with a notice; a refusal renders the page with the reason: 400 for a
form the page never sends (a missing field, a malformed time), 409 when the callback moved
on meanwhile (just taken by an agent, ended), 422 for a value the service refused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from supportcenter.auth import member_required
from supportcenter.errors import ServiceError
from supportcenter.models import Group
from supportcenter.selectors import access_group
from supportcenter.tenancy import account_wall_time, account_zone, membership_of, not_found
from talk.models import CallbackRequest, Line
from talk.selectors.lines import access_line
from talk.selectors.supervision import (
    DUE,
    LATER,
    QUEUED,
    access_queue_callback,
    format_number,
    queue_agents,
    queue_filters,
    queue_rows,
    supervision_queue,
)
from talk.services import supervision

PAGE_SIZE = 100
MAX_ID = 2**63 - 1
SUPERVISORS_ONLY_MESSAGE = "Only admins and supervisors can see and steer the callback queue."
BAD_FILTER_MESSAGE = "Choose a {name} from the list."
REASON_REQUIRED_MESSAGE = "Give a reason for cancelling: it is written on the callback's ticket."
ASSIGNEE_MISSING_MESSAGE = "Choose an agent to assign the callback to, or nobody."
SCHEDULED_MISSING_MESSAGE = "Choose a date and time for the callback, or leave it empty to make it due now."
SCHEDULED_MALFORMED_MESSAGE = "Write the time as a date and a time, e.g. 2026-12-01T10:00."
MOVE_NOTHING_MESSAGE = "Choose another line or group to move the callback to."

PART_TITLES = {DUE: "Due now: promised times", QUEUED: "In the queue", LATER: "Scheduled for later"}


def supervisor_required(view):
    """A supervisor's page (SPEC S1): admins and agents made supervisors; other agents 403."""

    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not membership_of(request).is_supervisor:
            raise PermissionDenied(SUPERVISORS_ONLY_MESSAGE)
        return view(request, *args, **kwargs)

    return wrapper


# --- Filters --------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    line: Line | None = None
    group: Group | None = None
    page: int = 1

    def query(self, *, page: int | None = None) -> str:
        """The page's query string for these filters (``page``: another page of them)."""
        params = {}
        if self.line is not None:
            params["line"] = self.line.pk
        if self.group is not None:
            params["group"] = self.group.pk
        page = self.page if page is None else page
        if page > 1:
            params["page"] = page
        return urlencode(params)


class BadFilter(Exception):
    pass


def _id(params: QueryDict, name: str) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise BadFilter(BAD_FILTER_MESSAGE.format(name=name))
    return int(value)


def _filters(request: HttpRequest, params: QueryDict) -> Filters | None:
    """The filters of ``params``; None when one names no line or group of the account (another
    account's id answers exactly like a missing one, T3). BadFilter when malformed."""
    account = request.account
    line_id, group_id = _id(params, "line"), _id(params, "group")
    line = access_line(account=account, line_id=line_id) if line_id is not None else None
    group = access_group(account=account, group_id=group_id) if group_id is not None else None
    if (line_id is not None and line is None) or (group_id is not None and group is None):
        return None
    page = (params.get("page") or "1").strip()
    return Filters(line=line, group=group, page=int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1)


# --- The page and its table -----------------------------------------------------------
def _table(request: HttpRequest, filters: Filters) -> dict:
    """The table's context: one page of rows and the counts, in a fixed number of queries."""
    account = request.account
    now = timezone.now()
    entries = supervision_queue(account=account, line_id=filters.line.pk if filters.line else None,
                                group_id=filters.group.pk if filters.group else None, now=now)
    parts = dict(entries.order_by().values_list("queue_part").annotate(n=Count("pk")))
    total = sum(parts.values())
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(filters.page, pages)
    start = (page - 1) * PAGE_SIZE
    rows = queue_rows(account=account, entries=entries[start:start + PAGE_SIZE], now=now)
    return {
        "rows": rows,
        "part_titles": PART_TITLES,
        "total": total,
        "due": parts.get(DUE, 0),
        "queued": parts.get(QUEUED, 0),
        "later": parts.get(LATER, 0),
        "page": page,
        "pages": pages,
        "first": start + 1,
        "last": start + len(rows),
        "previous_query": filters.query(page=page - 1) if page > 1 else None,
        "next_query": filters.query(page=page + 1) if page < pages else None,
        "back": filters.query(page=page),
    }


def _page(request: HttpRequest, filters: Filters, *, status: int = 200, error: str = "") -> HttpResponse:
    lines, groups = queue_filters(account=request.account)
    context = {
        **_table(request, filters),
        "filters": filters,
        "lines": lines,
        "groups": groups,
        "agents": queue_agents(account=request.account),
        "rows_url": reverse("talk:queue_rows") + (f"?{filters.query()}" if filters.query() else ""),
        "error": error,
    }
    return render(request, "talk/queue.html", context, status=status)


def _read_filters(request: HttpRequest, params: QueryDict) -> Filters | HttpResponse:
    try:
        filters = _filters(request, params)
    except BadFilter as error:
        return _page(request, Filters(), status=400, error=str(error))
    return filters if filters is not None else not_found(request)


@require_GET
@supervisor_required
def queue(request: HttpRequest) -> HttpResponse:
    """``/talk/queue/``: the live queue (S1)."""
    filters = _read_filters(request, request.GET)
    if isinstance(filters, HttpResponse):
        return filters
    return _page(request, filters)


@require_GET
@supervisor_required
def queue_table(request: HttpRequest) -> HttpResponse:
    """``/talk/queue/rows.json``: the table as the page shows it, for its script to put in
    place (rendered here, escaped like the page), with the counts."""
    try:
        filters = _filters(request, request.GET)
    except BadFilter as error:
        return JsonResponse({"error": "InvalidRequest", "description": str(error)}, status=400)
    if filters is None:
        return JsonResponse({"error": "RecordNotFound", "description": "Not found"}, status=404)
    lines, groups = queue_filters(account=request.account)
    context = {**_table(request, filters), "filters": filters, "lines": lines, "groups": groups,
               "agents": queue_agents(account=request.account)}
    return JsonResponse({
        "html": render_to_string("talk/queue_table.html", context, request=request),
        "total": context["total"], "due": context["due"], "queued": context["queued"], "later": context["later"],
    })


# --- Actions (S2) ---------------------------------------------------------------------
class FormError(Exception):
    pass


def _act(request: HttpRequest, request_id: int, perform) -> HttpResponse:
    """Run one action on the callback ``request_id`` and answer as the module says."""
    callback = access_queue_callback(account=request.account, request_id=request_id)
    if callback is None:
        return not_found(request)
    try:
        back = _filters(request, QueryDict(request.POST.get("back", ""))) or Filters()
    except BadFilter:
        back = Filters()
    try:
        notice = perform(callback)
    except FormError as error:
        return _page(request, back, status=400, error=str(error))
    except ServiceError as error:
        return _page(request, back, status=409 if error.code == "conflict" else 422, error=error.message)
    messages.success(request, notice)
    query = back.query()
    return redirect(reverse("talk:queue") + (f"?{query}" if query else ""))


def _who(callback: CallbackRequest, account) -> str:
    return format_number(callback.number, account.region)


@require_POST
@supervisor_required
def callback_cancel(request: HttpRequest, request_id: int) -> HttpResponse:
    def perform(callback: CallbackRequest) -> str:
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            raise FormError(REASON_REQUIRED_MESSAGE)
        supervision.callback_cancel(account=request.account, request_id=callback.pk, actor=request.user, reason=reason)
        return f"The callback to {_who(callback, request.account)} is cancelled; the reason is on its ticket."

    return _act(request, request_id, perform)


def _optional_id(value: str, message: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise FormError(message)
    return int(value)


@require_POST
@supervisor_required
def callback_assign(request: HttpRequest, request_id: int) -> HttpResponse:
    def perform(callback: CallbackRequest) -> str:
        if "assignee" not in request.POST:
            raise FormError(ASSIGNEE_MISSING_MESSAGE)
        assignee_id = _optional_id(request.POST["assignee"], ASSIGNEE_MISSING_MESSAGE)
        done = supervision.callback_assign(account=request.account, request_id=callback.pk, actor=request.user,
                                           assignee_id=assignee_id)
        who = _who(callback, request.account)
        if done.assignee is None:
            return f"The callback to {who} is no longer assigned: anyone eligible takes it."
        return f"The callback to {who} is assigned to {done.assignee.name or done.assignee.email}: offered to them first."

    return _act(request, request_id, perform)


def parse_local_time(value: str, account) -> datetime | None:
    """A ``datetime-local`` value (the account's wall time) as an aware time; None if empty."""
    if not value.strip():
        return None
    try:
        return account_wall_time(value, account)
    except ValueError:
        raise FormError(SCHEDULED_MALFORMED_MESSAGE) from None


@require_POST
@supervisor_required
def callback_reschedule(request: HttpRequest, request_id: int) -> HttpResponse:
    def perform(callback: CallbackRequest) -> str:
        if "scheduled_for" not in request.POST:
            raise FormError(SCHEDULED_MISSING_MESSAGE)
        when = parse_local_time(request.POST["scheduled_for"], request.account)
        supervision.callback_reschedule(account=request.account, request_id=callback.pk, actor=request.user,
                                        scheduled_for=when)
        who = _who(callback, request.account)
        if when is None:
            return f"The callback to {who} is due now: it is offered ahead of the queue."
        zone = account_zone(request.account)
        return f"The callback to {who} is scheduled for {when.astimezone(zone):%a %d %b %Y, %H:%M} ({zone.key})."

    return _act(request, request_id, perform)


@require_POST
@supervisor_required
def callback_move(request: HttpRequest, request_id: int) -> HttpResponse:
    def perform(callback: CallbackRequest) -> str:
        line_id = _optional_id(request.POST.get("line", ""), BAD_FILTER_MESSAGE.format(name="line"))
        group = (request.POST.get("group") or "").strip()
        changes: dict = {}
        if line_id is not None and line_id != callback.line_id:
            changes["line_id"] = line_id
        if group == "line":
            changes["group_ids"] = []  # back to the line's own groups (R14)
        elif group:
            changes["group_ids"] = [_optional_id(group, BAD_FILTER_MESSAGE.format(name="group"))]
        if not changes:
            raise FormError(MOVE_NOTHING_MESSAGE)
        done = supervision.callback_move(account=request.account, request_id=callback.pk, actor=request.user,
                                         **changes)
        where = []
        if "line_id" in changes:
            where.append(f"the line “{done.line.name}”")
        if changes.get("group_ids"):
            names = sorted(done.groups.values_list("name", flat=True))
            where.append("the group " + ", ".join(f"“{name}”" for name in names))
        elif "group_ids" in changes:
            where.append("its line's groups")
        return f"The callback to {_who(callback, request.account)} is moved to {' and '.join(where)}."

    return _act(request, request_id, perform)
