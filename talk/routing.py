"""The virtual queue (SPEC R2-R9, O2): who is offered what, and when.

One routing pass for an account, in one transaction holding the account's
routing lock (``FOR NO KEY UPDATE`` on the account row: two workers never route
the same account at once, yet the key-share locks every insert referencing the
account takes do not wait for it; the partial unique constraints on Offer hold
even if they did):

1. Callback requests past their expiry expire; callback requests every agent has
   declined are cancelled (R8, R9); offers past their deadline time out. In this
   order, so the pass takes rows in the lock order of talk.lifecycle.
2. Each free agent (online, not busy, no open offer; longest since an offer
   first) is offered the oldest waiting entry of the account's lines that it may
   take, live calls and callbacks alike in original queue order (R2). An entry
   goes to the agent who has been offered it least, so offers cycle through the
   agents (R3, R4); an agent who declined a callback is not asked again (R6).

Groups (R14): an entry may be taken only by members of its callback request's own
groups (an API request's ``group_ids``), else of its line's routing groups (its
groups and its default group); nobody named, by any agent. "Declined by all" (R8)
counts only those members. A request whose groups have no member at all is never
offered to anyone else and is not "declined by all" (nobody could decline it): it
waits, for a member an admin adds, until its expiry (R9). A member taken out of a
group keeps an offer they already hold until they answer it or it times out; their
decline then does not count for that entry. The groups are read once per pass (a
few queries, not one per entry or agent), and the queue is read in chunks of
entries some free agent may take, so an agent of a quiet group is not starved by a
long head of the queue for other groups.

Supervision (R15, R16; docs/lifecycle.md): a callback scheduled for a later time is not in
the queue until then; once due it is offered ahead of the queue, the due ones by their time
(the time was promised), then everyone else in original queue order. A callback assigned to
an agent is offered only to that agent (whatever its groups) from its assignment, or from its
time once due if later, for the line's callback offer time; then to anyone eligible. An
assignee who is offline, or declines it, just lets that window pass. Declines of offers made
before a callback's scheduled time do not count against it (it is a new promise).

Side effects (pushes, tickets' tasks) are sent after commit.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from supportcenter.db import run_atomic
from supportcenter.models import Account
from supportcenter.realtime import account_group, push_on_commit, user_group
from supportcenter.selectors import active_memberships
from talk.lifecycle import OFFER
from talk.models import AgentPresence, CallbackRequest, Offer, QueueEntry
from talk.selectors.queue import routable_q, scheduled_later_q
from talk.selectors.recordings import recording_of, recording_to_play
from talk.selectors.routing import group_members, line_routing_groups, routing_eligibility, takeable_q
from talk.services.callback_requests import callback_request_close

FREE_STATUSES = (AgentPresence.Status.ONLINE,)
# R7: these agents count as having declined a callback; away and busy agents wait for it.
DECLINING_STATUSES = (AgentPresence.Status.OFFLINE, AgentPresence.Status.TRANSFERS_ONLY)


def offer_payload(offer: Offer) -> dict:
    """What the agent sees of an offer. ``recording``: the caller's recorded name and reason
    when it can be played (C14); read it with ``entry__callback_request__recording`` in the
    select_related (the console's and the API's reads do), else one query per callback offer
    (the pass that makes the offer: see ``_waiting_entries``)."""
    entry = offer.entry
    request = getattr(entry, "callback_request", None) if entry.kind == QueueEntry.Kind.CALLBACK else None
    number = request.number if request else (entry.call.caller_number or entry.call.from_raw if entry.call else "")
    return {
        "id": offer.pk,
        "kind": offer.kind,
        "line": {"id": entry.line_id, "name": entry.line.name},
        "number": number,
        "entered_at": entry.entered_at.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
        "callback_request_id": request.pk if request else None,
        "confirmed": request.confirmed if request else None,
        "recording": recording_to_play(recording_of(request)),
    }


def _lock(account: Account) -> bool:
    """Take the account's routing lock for this transaction; False if another worker has it."""
    return Account.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=account.pk).exists()


def route_account(account: Account, *, now: datetime | None = None, push: bool = True) -> list[Offer]:
    """One routing pass; returns the offers it made. Idempotent: run it as often as you like.

    ``push``: tell the account's consoles the queue changed when it made offers (once per
    pass); the router says False and coalesces that push across passes itself.
    """
    return run_atomic(_pass, account, now, push)


def _pass(account: Account, now: datetime | None, push: bool) -> list[Offer]:
    if not _lock(account):
        return []
    now = now or timezone.now()
    _expire_requests(account, now)
    _cancel_declined_by_all(account, now)
    _time_out_offers(account, now)
    made = _offer(account, now)
    if made and push:
        push_on_commit(account_group(account.pk), "queue.changed", {})
    return made


def _time_out_offers(account: Account, now: datetime) -> None:
    due = list(Offer.objects.filter(account=account, state=Offer.State.OFFERED, expires_at__lte=now))
    if not due:
        return
    OFFER.move(Offer.objects.filter(pk__in=[o.pk for o in due]), Offer.State.TIMED_OUT, responded_at=now)
    for offer in due:
        push_on_commit(user_group(account.pk, offer.agent_id), "offer.withdrawn", {"id": offer.pk, "reason": "timed_out"})


def _expire_requests(account: Account, now: datetime) -> None:
    for request in CallbackRequest.objects.filter(
        account=account, state=CallbackRequest.State.PENDING, expires_at__lte=now
    ).select_related("queue_entry", "line"):
        callback_request_close(account=account, request=request, state=CallbackRequest.State.EXPIRED, now=now)


def _members(account: Account) -> list[int]:
    return list(active_memberships(account=account).values_list("user_id", flat=True))


def _cancel_declined_by_all(account: Account, now: datetime) -> None:
    """R7, R8, R14: a callback that every member who may take it declined, or cannot take
    (offline, transfers only), is cancelled. Away and busy members keep it waiting; a
    request whose groups have no member keeps waiting (until its expiry, R9)."""
    members = set(_members(account))
    present = dict(
        AgentPresence.objects.filter(account=account, user_id__in=members).values_list("user_id", "status")
    )
    not_declining = {
        user_id for user_id in members if present.get(user_id, AgentPresence.Status.OFFLINE) not in DECLINING_STATUSES
    }
    pending = CallbackRequest.objects.filter(account=account, state=CallbackRequest.State.PENDING).exclude(
        scheduled_later_q(now=now))  # not in the queue yet (R16)
    if members and not_declining == members:
        # Everyone can take calls: only a request someone declined can be declined by all.
        pending = pending.filter(Exists(Offer.objects.filter(entry_id=OuterRef("queue_entry_id"),
                                                             state=Offer.State.DECLINED)))
    requests = list(pending.select_related("queue_entry", "line").order_by("queue_entered_at", "pk"))
    if not requests:
        return
    declined: dict[int, set[int]] = {}
    since = {r.queue_entry_id: r.scheduled_for for r in requests}  # an offer before its time does not count
    for entry_id, agent_id, last in (
        Offer.objects.filter(account=account, entry_id__in=[r.queue_entry_id for r in requests],
                             state=Offer.State.DECLINED)
        .values_list("entry_id", "agent_id").annotate(last=Max("expires_at")).order_by()
    ):
        if since[entry_id] is None or last > since[entry_id]:
            declined.setdefault(entry_id, set()).add(agent_id)
    eligibility = routing_eligibility(account=account, entries=[(r.queue_entry_id, r.line_id) for r in requests])
    for request in requests:
        allowed = eligibility.agents(request.queue_entry_id, request.line_id)
        eligible = members if allowed is None else members & allowed
        if allowed is not None and not eligible:
            continue  # groups without a member: nobody can decline it; it waits (R9, R14)
        if (eligible & not_declining) - declined.get(request.queue_entry_id, set()):
            continue  # someone who may take it has not declined it yet
        callback_request_close(account=account, request=request, state=CallbackRequest.State.DECLINED, now=now)


def _free_agents(account: Account) -> list[AgentPresence]:
    """Online, not busy, no open offer; the longest since an offer first (R4)."""
    members = _members(account)
    holding = Offer.objects.filter(account=account, state=Offer.State.OFFERED).values("agent_id")
    return list(
        AgentPresence.objects.filter(account=account, user_id__in=members, status__in=FREE_STATUSES, busy=False)
        .exclude(user_id__in=holding)
        .order_by(F("last_offered_at").asc(nulls_first=True), "user_id")
    )


def _waiting_entries(account: Account, takeable: Q | None = None, after: tuple[datetime, int] | None = None, *,
                     now: datetime | None = None, scheduled: bool = False):
    """Routable entries not offered now; ``takeable``: only those some free agent may take
    (R14). ``scheduled``: the due scheduled callbacks, by their time (R16); else every other
    entry, oldest first, past the (entered_at, pk) position ``after``."""
    open_entries = Offer.objects.filter(account=account, state=Offer.State.OFFERED).values("entry_id")
    now = now or timezone.now()
    entries = QueueEntry.objects.filter(routable_q(now), account=account, line__enabled=True).exclude(pk__in=open_entries)
    if takeable is not None:
        entries = entries.filter(takeable)
    # Not the recording (C14): each offer made reads its own for the payload; a join would be paid
    # by every pass, most of which make no offer (the two measure the same: bench/recordings.py).
    entries = entries.select_related("line", "call", "callback_request")
    if scheduled:
        return entries.filter(callback_request__scheduled_for__isnull=False).order_by(
            "callback_request__scheduled_for", "entered_at", "pk")
    entries = entries.filter(callback_request__scheduled_for__isnull=True)
    if after is not None:
        entries = entries.filter(Q(entered_at__gt=after[0]) | Q(entered_at=after[0], pk__gt=after[1]))
    return entries.order_by("entered_at", "pk")


MAX_CHUNKS = 10  # a pass reads at most this many chunks of the queue's head


def _offer(account: Account, now: datetime) -> list[Offer]:
    agents = _free_agents(account)
    if not agents:
        return []
    free = {agent.user_id: agent for agent in agents}
    # The free agents' groups, and the lines' (R14): read once for the whole pass.
    free_in = group_members(account=account, user_ids=free)
    # An assigned callback may go to its (free) assignee whatever its groups (R15).
    takeable = takeable_q(free_in) | Q(callback_request__assignee_id__in=list(free))
    line_groups = None
    # Enough of the head of the queue to find each free agent an entry it may take; more
    # chunks only while free agents found none (declined callbacks, other groups' entries).
    size = len(agents) * 10 + 50
    made: list[Offer] = []
    # First the due scheduled callbacks, by their time (R16): ahead of the queue.
    entries = list(_waiting_entries(account, takeable, now=now, scheduled=True)[:size])
    if entries:
        line_groups = line_routing_groups(account=account)
        made += _offer_chunk(account, now, entries, free, free_in, line_groups)
    after = None
    for _chunk in range(MAX_CHUNKS):
        if not free:
            break
        entries = list(_waiting_entries(account, takeable, after, now=now)[:size])
        if not entries:
            break
        if line_groups is None:
            line_groups = line_routing_groups(account=account)
        made += _offer_chunk(account, now, entries, free, free_in, line_groups)
        if not free or len(entries) < size:
            break
        after = (entries[-1].entered_at, entries[-1].pk)
    return made


def assignment_window_end(request: CallbackRequest, offer_seconds: int) -> datetime | None:
    """When the assignee's turn alone ends (R15): the line's callback offer time from the
    assignment, or from the callback's scheduled time if that is later; None: not assigned."""
    if request.assignee_id is None or request.assigned_at is None:
        return None
    start = max(request.assigned_at, request.scheduled_for or request.assigned_at)
    return start + timedelta(seconds=offer_seconds)


def _offer_chunk(account: Account, now: datetime, entries: list[QueueEntry], free: dict[int, AgentPresence],
                 free_in: dict[int, frozenset[int]], line_groups: dict[int, frozenset[int]]) -> list[Offer]:
    requests = {e.pk: e.callback_request for e in entries if e.kind == QueueEntry.Kind.CALLBACK}
    history: dict[int, dict[int, tuple[int, bool]]] = {}
    last_declines: dict[tuple[int, int], datetime] = {}
    for entry_id, agent_id, state, times, last, last_expiry in (
        Offer.objects.filter(entry_id__in=[e.pk for e in entries])
        .values_list("entry_id", "agent_id", "state")
        .annotate(times=Count("id"), last=Max("responded_at"), last_expiry=Max("expires_at")).order_by()
    ):
        request = requests.get(entry_id)
        # R16: a decline of an offer made before its time (it ran out after it) does not count.
        since = request.scheduled_for if request is not None else None
        counts = state == Offer.State.DECLINED and (since is None or last_expiry > since)
        if counts and last is not None:
            last_declines[(entry_id, agent_id)] = last
        offered, declined = history.setdefault(entry_id, {}).get(agent_id, (0, False))
        history[entry_id][agent_id] = (offered + times, declined or counts)
    eligibility = routing_eligibility(account=account, entries=[(e.pk, e.line_id) for e in entries],
                                      line_groups=line_groups, members=free_in)
    made: list[Offer] = []
    for entry in entries:  # oldest first: nobody jumps the queue (R2)
        if not free:
            break
        seen = history.get(entry.pk, {})
        request = requests.get(entry.pk)
        window_end = assignment_window_end(request, entry.line.callback_offer_seconds) if request else None
        assignee = request.assignee_id if request else None
        # R15: the assignee's turn, unless they declined it since it was assigned to them.
        if window_end is not None and now < window_end and not (
            last_declines.get((entry.pk, assignee)) and last_declines[(entry.pk, assignee)] >= request.assigned_at
        ):
            if assignee not in free:
                continue  # nobody else may be offered it yet
            eligible = [free[assignee]]
        else:
            allowed = eligibility.agents(entry.pk, entry.line_id)  # R14: None, any agent
            eligible = [
                agent for agent in free.values()
                if (allowed is None or agent.user_id in allowed)
                and not (entry.kind == QueueEntry.Kind.CALLBACK and seen.get(agent.user_id, (0, False))[1])
            ]
        if not eligible:
            continue
        agent = min(eligible, key=lambda a: seen.get(a.user_id, (0, False))[0])  # cycle (R3, R4)
        # The entry as it is now, locked until the offer commits: read above without a lock, it
        # may have become a callback (or been left) since; a capture that comes after this
        # lock waits, then withdraws the offer it finds (the offer's foreign key alone takes a
        # lock that does not conflict with changing the entry's kind).
        if not list(QueueEntry.objects.select_for_update(no_key=True, of=("self",))
                    .filter(routable_q(now), pk=entry.pk, kind=entry.kind).values_list("pk", flat=True)):
            continue  # the next pass sees it as it is
        seconds = entry.line.callback_offer_seconds if entry.kind == QueueEntry.Kind.CALLBACK else entry.line.call_offer_seconds
        offer = Offer.objects.create(
            account=account, entry=entry, agent_id=agent.user_id, kind=entry.kind, expires_at=now + timedelta(seconds=seconds)
        )
        offer.entry = entry
        AgentPresence.objects.filter(pk=agent.pk).update(last_offered_at=now)
        push_on_commit(user_group(account.pk, agent.user_id), "offer.new", offer_payload(offer))
        del free[agent.user_id]
        made.append(offer)
    return made


def accounts_with_work(now: datetime | None = None) -> list[Account]:
    """Accounts whose queue might need a pass: anything waiting or offered."""
    with scopes_disabled():  # the sweep spans accounts, by design
        ids = set(QueueEntry.objects.filter(state=QueueEntry.State.WAITING).values_list("account_id", flat=True))
        ids |= set(Offer.objects.filter(state=Offer.State.OFFERED).values_list("account_id", flat=True))
        return list(Account.objects.filter(pk__in=ids))
