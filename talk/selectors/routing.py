"""Reads for the agent console, the queue and routing (SPEC R1, R13, R14). Every one takes the account."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, Min, OuterRef, Q
from django_scopes import scopes_disabled

from supportcenter.models import Account, Group, GroupMembership, User
from talk.models import AgentPresence, CallbackRequest, Line, Offer, QueueEntry
from talk.models.agents import CALLBACK_AVAILABLE_STATUSES
from talk.selectors.queue import waiting_q


def agent_presence(*, account: Account, user: User) -> AgentPresence | None:
    return AgentPresence.objects.filter(account=account, user=user).first()


def current_offer(*, account: Account, agent: User) -> Offer | None:
    """The agent's open offer (at most one, R2), with what the console shows."""
    return (
        Offer.objects.filter(account=account, agent=agent, state=Offer.State.OFFERED)
        .select_related("entry__line", "entry__call", "entry__callback_request__recording")
        .first()
    )


def queue_counts(*, account: Account) -> list[dict]:
    """Per line: live callers and callbacks waiting now (SPEC D1, R13; "waiting" as routing means it, C15)."""
    counts = {
        row["line_id"]: row
        for row in QueueEntry.objects.filter(waiting_q(), account=account)
        .values("line_id")
        .annotate(
            calls=Count("pk", filter=Q(kind=QueueEntry.Kind.LIVE)),
            callbacks=Count("pk", filter=Q(kind=QueueEntry.Kind.CALLBACK)),
        )
        .order_by()
    }
    return [
        {
            "line": line.pk,
            "name": line.name,
            "calls_waiting": counts.get(line.pk, {}).get("calls", 0),
            "callbacks_waiting": counts.get(line.pk, {}).get("callbacks", 0),
        }
        for line in Line.objects.filter(account=account).order_by("name")
    ]


def available_agent_count(*, account: Account) -> int:
    """Agents online or away: while there is one, callback is offered (SPEC C2)."""
    return AgentPresence.objects.filter(account=account, status__in=CALLBACK_AVAILABLE_STATUSES).count()


# --- Groups (SPEC R14) -----------------------------------------------------------------
# Who may take an entry: the members of its callback request's own groups (an API request's
# group_ids), else of its line's routing groups (``line.groups`` and ``line.default_group``:
# the union, whatever the line's service keeps between them); nobody named, any agent.
# Read once per routing pass for the entries it looks at: a few queries, however many
# entries and agents (no per-entry or per-agent query).


def line_routing_groups(*, account: Account, line_ids: Iterable[int] | None = None) -> dict[int, frozenset[int]]:
    """Line id → its routing groups; a line without groups is absent (any agent)."""
    lines = Line.objects.filter(account=account)
    if line_ids is not None:
        lines = lines.filter(pk__in=set(line_ids))
    found: dict[int, set[int]] = {}
    # One query: a LEFT JOIN over the line's groups, with its default group on every row.
    for line_id, default_id, group_id in lines.values_list("pk", "default_group_id", "groups"):
        for group in (default_id, group_id):
            if group is not None:
                found.setdefault(line_id, set()).add(group)
    return {line_id: frozenset(groups) for line_id, groups in found.items()}


def request_routing_groups(*, account: Account, entry_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """Queue entry id → its callback request's own groups; entries without are absent."""
    found: dict[int, set[int]] = {}
    for entry_id, group_id in CallbackRequest.objects.filter(
        account=account, queue_entry_id__in=set(entry_ids), groups__isnull=False
    ).values_list("queue_entry_id", "groups"):
        found.setdefault(entry_id, set()).add(group_id)
    return {entry_id: frozenset(groups) for entry_id, groups in found.items()}


def group_members(*, account: Account, group_ids: Iterable[int] | None = None,
                  user_ids: Iterable[int] | None = None) -> dict[int, frozenset[int]]:
    """Group id → its members' user ids (narrowed to ``group_ids`` and/or ``user_ids``).

    Whether a member is still an active member of the account is the caller's filter:
    routing only ever considers the account's active members.
    """
    rows = GroupMembership.objects.filter(account=account)
    if group_ids is not None:
        rows = rows.filter(group_id__in=set(group_ids))
    if user_ids is not None:
        rows = rows.filter(user_id__in=set(user_ids))
    found: dict[int, set[int]] = {}
    for group_id, user_id in rows.values_list("group_id", "user_id"):
        found.setdefault(group_id, set()).add(user_id)
    return {group_id: frozenset(users) for group_id, users in found.items()}


@dataclass(frozen=True)
class Eligibility:
    """Who may take which entry, read once for a set of entries (SPEC R14)."""

    line_groups: dict[int, frozenset[int]]
    request_groups: dict[int, frozenset[int]]  # by queue entry id
    members: dict[int, frozenset[int]]  # by group id

    def groups(self, entry_id: int, line_id: int) -> frozenset[int]:
        """The request's own groups, else its line's; empty: any agent."""
        return self.request_groups.get(entry_id) or self.line_groups.get(line_id, frozenset())

    def agents(self, entry_id: int, line_id: int) -> frozenset[int] | None:
        """The user ids that may take the entry; None when any agent may."""
        groups = self.groups(entry_id, line_id)
        if not groups:
            return None
        return frozenset().union(*(self.members.get(group, frozenset()) for group in groups))


def routing_eligibility(*, account: Account, entries: Iterable[tuple[int, int]],
                        line_groups: dict[int, frozenset[int]] | None = None,
                        members: dict[int, frozenset[int]] | None = None) -> Eligibility:
    """Eligibility of ``entries`` ((entry id, line id) pairs) in at most three queries.

    ``line_groups``, ``members``: already read (a pass reads the free agents' groups once).
    """
    entries = list(entries)
    if line_groups is None:
        line_groups = line_routing_groups(account=account, line_ids={line_id for _entry, line_id in entries})
    request_groups = request_routing_groups(account=account, entry_ids=[entry_id for entry_id, _line in entries])
    if members is None:
        wanted = set().union(*line_groups.values(), *request_groups.values())
        members = group_members(account=account, group_ids=wanted) if wanted else {}
    return Eligibility(line_groups=line_groups, request_groups=request_groups, members=members)


def takeable_q(group_ids: Iterable[int]) -> Q:
    """Queue entries an agent in ``group_ids`` may take, or any agent (R14), as a filter of
    QueueEntry: the routing pass reads only entries some free agent could be offered."""
    groups = set(group_ids)
    own_groups = CallbackRequest.groups.through.objects.filter(callbackrequest__queue_entry_id=OuterRef("pk"))
    has_own = Exists(own_groups)
    own_ok = Exists(own_groups.filter(group_id__in=groups))
    line = Line.objects.filter(pk=OuterRef("line_id"))
    line_grouped = Exists(line.filter(Q(default_group__isnull=False) | Q(groups__isnull=False)))
    line_ok = Exists(line.filter(Q(default_group_id__in=groups) | Q(groups__in=groups)))
    return (has_own & own_ok) | (~has_own & (~line_grouped | line_ok))


def group_uses(*, account: Account, group: Group) -> list[str]:
    """What routes to ``group``, in words: the lines naming it (as their default group or
    among their groups) and the open callback requests naming it (R14). Deleting a
    group in use is refused (supportcenter.services.group_delete asks this)."""
    uses = []
    names = sorted(set(
        Line.objects.filter(account=account).filter(Q(default_group=group) | Q(groups=group))
        .values_list("name", flat=True)
    ))
    if names:
        quoted = ", ".join(f'"{name}"' for name in names)
        uses.append(f"the line {quoted}" if len(names) == 1 else f"the lines {quoted}")
    # In progress too: one whose agent never answered goes back to waiting (R6), for its groups.
    still_open = CallbackRequest.objects.filter(
        account=account, state__in=(CallbackRequest.State.PENDING, CallbackRequest.State.IN_PROGRESS), groups=group
    ).count()
    if still_open:
        uses.append("1 open callback request" if still_open == 1 else f"{still_open} open callback requests")
    return uses


# --- Times the router must wake at without being told (R15, R16) ------------------------------
# A scheduled callback becomes due, an assignee's turn alone ends: no event marks either, so
# the router (talk/router.py) wakes at the earliest and routes the accounts whose times passed.
WINDOW_HORIZON = timedelta(hours=1)  # longer than any line's callback offer time


def _window_ends(since: datetime) -> list[tuple[int, datetime]]:
    """(account id, end of the assignee's turn) of pending assigned requests, ending after ``since``."""
    rows = CallbackRequest.objects.filter(
        state=CallbackRequest.State.PENDING, assignee__isnull=False, assigned_at__isnull=False,
    ).filter(Q(assigned_at__gt=since - WINDOW_HORIZON) | Q(scheduled_for__gt=since - WINDOW_HORIZON)).values_list(
        "account_id", "assigned_at", "scheduled_for", "line__callback_offer_seconds")
    ends = []
    for account_id, assigned_at, scheduled_for, seconds in rows:
        end = max(assigned_at, scheduled_for or assigned_at) + timedelta(seconds=seconds)
        if end > since:
            ends.append((account_id, end))
    return ends


def supervision_next_time(now: datetime) -> datetime | None:
    """The earliest time after ``now``, across accounts, a callback becomes due or an
    assignee's turn ends; None when there is none."""
    with scopes_disabled():  # the router serves every account, by design
        scheduled = CallbackRequest.objects.filter(
            state=CallbackRequest.State.PENDING, scheduled_for__gt=now).aggregate(at=Min("scheduled_for"))["at"]
        times = [end for _account, end in _window_ends(now)]
    if scheduled is not None:
        times.append(scheduled)
    return min(times) if times else None


def supervision_due_accounts(since: datetime, now: datetime) -> set[int]:
    """Accounts with a callback that became due, or an assignee's turn that ended, in (since, now]."""
    with scopes_disabled():
        ids = set(CallbackRequest.objects.filter(
            state=CallbackRequest.State.PENDING, scheduled_for__gt=since, scheduled_for__lte=now,
        ).values_list("account_id", flat=True))
        ids |= {account for account, end in _window_ends(since) if end <= now}
    return ids
