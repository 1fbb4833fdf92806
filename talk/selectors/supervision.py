"""Reads of the supervisors' live queue page (SPEC S1, R15, R16). Every one takes the account.

``supervision_queue`` is the queue in **routing order** (the contract of issue 16, which
routing keeps too): first the pending callbacks whose ``scheduled_for`` has passed, by that
time (the time was promised: ahead of the queue); then every other entry by
(``entered_at``, pk), as routing has always served them; last the callbacks scheduled for
later, by their time (out of the queue until then). A callback being called back ("in
progress") keeps its original place, so a supervisor sees it where it was.

``queue_rows`` turns one page of it into what the page shows, in a fixed number of queries
whatever the page's size (offers, groups and their names read once per page).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from supportcenter.models import Account, Group, User
from talk.models import CallbackRequest, CallerRecording, Line, Offer, QueueEntry
from talk.selectors.queue import MENU_STAGES, waiting_or_scheduled_q
from talk.selectors.recordings import recording_url
from talk.selectors.routing import line_routing_groups, request_routing_groups

DUE, QUEUED, LATER = 0, 1, 2  # the three parts of the page, in routing order

Pending = CallbackRequest.State.PENDING


def queue_order(now: datetime) -> tuple[dict, tuple]:
    """(annotations, order_by) of QueueEntry in routing order at ``now`` (see the module)."""
    due = Q(kind=QueueEntry.Kind.CALLBACK, callback_request__state=Pending,
            callback_request__scheduled_for__isnull=False)
    part = Case(
        When(due & Q(callback_request__scheduled_for__gt=now), then=Value(LATER)),
        When(due, then=Value(DUE)),
        default=Value(QUEUED),
        output_field=IntegerField(),
    )
    annotations = {"queue_part": part}
    # Within the due and later parts by the promised time; the queue itself by entry time.
    order = ("queue_part",
             Case(When(queue_part=QUEUED, then=F("entered_at")), default=F("callback_request__scheduled_for")).asc(),
             "entered_at", "pk")
    return annotations, order


def in_group_q(group_id: int) -> Q:
    """Entries routed to group ``group_id`` (R14): a callback request's own groups when it has
    some, else its line's groups and default group."""
    own = CallbackRequest.groups.through.objects.filter(callbackrequest__queue_entry_id=OuterRef("pk"))
    line = Line.objects.filter(pk=OuterRef("line_id")).filter(Q(default_group_id=group_id) | Q(groups=group_id))
    return (Exists(own) & Exists(own.filter(group_id=group_id))) | (~Exists(own) & Exists(line))


def supervision_queue(*, account: Account, line_id: int | None = None, group_id: int | None = None,
                      now: datetime | None = None) -> QuerySet[QueueEntry]:
    """The account's queue as a supervisor sees it, in routing order (module docstring): live
    callers still holding (in the callback menu too), pending callbacks (scheduled ones
    included) and callbacks being called back. ``line_id`` / ``group_id``: only those of the
    line / routed to the group; the caller checks the ids belong to ``account``."""
    now = now or timezone.now()
    calling_back = Q(kind=QueueEntry.Kind.CALLBACK, callback_request__state=CallbackRequest.State.IN_PROGRESS)
    entries = QueueEntry.objects.filter(account=account).filter(waiting_or_scheduled_q(now) | calling_back)
    if line_id is not None:
        entries = entries.filter(line_id=line_id)
    if group_id is not None:
        entries = entries.filter(in_group_q(group_id))
    annotations, order = queue_order(now)
    return (
        entries.annotate(**annotations)
        .select_related("line", "call", "callback_request__assignee", "callback_request__accepted_by")
        .order_by(*order)
    )


def access_queue_callback(*, account: Account, request_id: int) -> CallbackRequest | None:
    """The callback request ``request_id`` of ``account``, or None.

    Security contract: another account's id answers None, exactly as a missing id does (SPEC T3).
    """
    if not 0 < request_id <= 2**63 - 1:
        return None
    return CallbackRequest.objects.filter(account=account, pk=request_id).select_related("line").first()


# --- One page of rows --------------------------------------------------------------------
@dataclass(frozen=True)
class QueueRow:
    entry_id: int
    part: int  # DUE, QUEUED or LATER
    kind: str  # live or callback
    number: str  # formatted for reading
    line: Line
    groups: list[str]
    entered_at: datetime
    waited_seconds: int
    state: str  # waiting, menu, offered, in_progress, scheduled
    agent: User | None  # offered to / calling back
    offered_seconds: int | None
    offer_left_seconds: int | None
    scheduled_for: datetime | None
    request: CallbackRequest | None
    confirmed: bool | None  # None: a live caller
    assignee: User | None
    recording: CallerRecording | None = None  # the caller's recorded name and reason (C14), if asked for

    @property
    def recording_url(self) -> str | None:
        """Where the page plays it; None while it cannot be played."""
        return recording_url(self.recording.request_id) if self.recording and self.recording.playable else None

    @property
    def waited_text(self) -> str:
        """``42 s``, ``4 min 05 s``, ``2 h 03 min``: since the caller first joined the queue."""
        minutes, seconds = divmod(self.waited_seconds, 60)
        hours, minutes = divmod(minutes, 60)
        if hours:
            return f"{hours} h {minutes:02d} min"
        if minutes:
            return f"{minutes} min {seconds:02d} s"
        return f"{seconds} s"

    @property
    def is_callback(self) -> bool:
        return self.request is not None

    @property
    def actionable(self) -> bool:
        """Supervisors act on a pending callback (S2); the services re-check it anyway."""
        return self.request is not None and self.request.state == Pending


def format_number(e164: str, region: str) -> str:
    """``+14155550123`` → ``+1 415-555-0123``: what a person reads back; anything else as it is."""
    if not e164:
        return "Unknown number"
    try:
        number = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    if not phonenumbers.is_valid_number(number):
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _group_names(*, account: Account, entries: Sequence[QueueEntry]) -> dict[int, list[str]]:
    """Entry id → the names of the groups it is routed to (its request's own, else its line's)."""
    line_groups = line_routing_groups(account=account, line_ids={entry.line_id for entry in entries})
    own = request_routing_groups(account=account, entry_ids=[entry.pk for entry in entries])
    wanted = set().union(*line_groups.values(), *own.values())
    names = dict(Group.objects.filter(account=account, pk__in=wanted).values_list("pk", "name")) if wanted else {}
    return {
        entry.pk: sorted((names[g] for g in (own.get(entry.pk) or line_groups.get(entry.line_id, ())) if g in names),
                         key=str.lower)
        for entry in entries
    }


def queue_rows(*, account: Account, entries: Sequence[QueueEntry], now: datetime | None = None) -> list[QueueRow]:
    """The rows of one page of ``supervision_queue``: four more queries at most, however many.

    The recordings (C14) are read for the page's requests only, in one query (joined to the
    queue's query they would be joined to every waiting entry before the page is cut; at
    5,000 waiting the two measure the same, bench/recordings.py)."""
    now = now or timezone.now()
    entries = list(entries)
    if not entries:
        return []
    offers = {
        offer.entry_id: offer
        for offer in Offer.objects.filter(account=account, entry_id__in=[e.pk for e in entries],
                                          state=Offer.State.OFFERED).select_related("agent")
    }
    groups = _group_names(account=account, entries=entries)
    request_ids = [entry.callback_request.pk for entry in entries if entry.kind == QueueEntry.Kind.CALLBACK]
    recordings = {
        recording.request_id: recording
        for recording in CallerRecording.objects.filter(account=account, request_id__in=request_ids)
    } if request_ids else {}
    rows = []
    for entry in entries:
        request = entry.callback_request if entry.kind == QueueEntry.Kind.CALLBACK else None
        offer = offers.get(entry.pk)
        part = getattr(entry, "queue_part", QUEUED)
        agent = None
        if request is not None and request.state == CallbackRequest.State.IN_PROGRESS:
            state, agent = "in_progress", request.accepted_by
        elif offer is not None:
            state, agent = "offered", offer.agent
        elif part == LATER:
            state = "scheduled"
        elif request is None and entry.call is not None and entry.call.stage in MENU_STAGES:
            state = "menu"
        else:
            state = "waiting"
        if request is not None:
            number = request.number
        else:
            number = (entry.call.caller_number or entry.call.from_raw) if entry.call else ""
        rows.append(QueueRow(
            entry_id=entry.pk, part=part, kind=entry.kind, number=format_number(number, account.region),
            line=entry.line, groups=groups.get(entry.pk, []), entered_at=entry.entered_at,
            waited_seconds=max(0, int((now - entry.entered_at).total_seconds())),
            state=state, agent=agent,
            offered_seconds=max(0, int((now - offer.created_at).total_seconds())) if offer and state == "offered" else None,
            offer_left_seconds=max(0, int((offer.expires_at - now).total_seconds())) if offer and state == "offered" else None,
            scheduled_for=request.scheduled_for if request is not None else None,
            request=request, confirmed=request.confirmed if request is not None else None,
            assignee=request.assignee if request is not None else None,
            recording=recordings.get(request.pk) if request is not None else None,
        ))
    return rows


def queue_filters(*, account: Account) -> tuple[list[Line], list[Group]]:
    """The lines and groups a supervisor filters by, and moves callbacks to (S1, S2)."""
    return (
        list(Line.objects.filter(account=account).order_by("name", "created_at")),
        list(Group.objects.filter(account=account).order_by("name")),
    )


def queue_agents(*, account: Account) -> list[User]:
    """Who a callback can be assigned to (R15): the account's active members, by name."""
    return list(
        User.objects.filter(memberships__account=account, memberships__is_active=True).order_by("name", "email")
    )
