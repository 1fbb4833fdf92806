"""Supervisors steer the callback queue (SPEC S2, R15, R16, C13): cancel, assign, reschedule, move.

Each action is one transaction with one audit entry. It re-checks the request's state in
the statement that changes it (a ``talk.lifecycle`` move or a conditional UPDATE naming
``state = pending``), taking rows in the lock order of talk.lifecycle (queue entry, then
request, then offers), so an action racing an agent's accept has exactly one winner: the
loser changes nothing and, here, answers ``ServiceError(code="conflict")`` (409 in the API).
The router is woken after commit: the queue changed.

Who may act: a supervisor of the account (admins are), or nobody (``actor=None``: the
system, or the caller's own cancel on calling again, C13). An agent may reschedule a request
they hold the offer of, or whose callback they have just failed to reach ("Call later",
R16): it is then assigned to them by default.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from supportcenter.audit import audit_record
from supportcenter.db import atomic_with_retry
from supportcenter.errors import ServiceError
from supportcenter.models import Account, Membership, User
from supportcenter.realtime import account_group, push_on_commit
from supportcenter.tenancy import account_zone
from talk.enqueue import wake_router
from talk.lifecycle import ENTRY, REQUEST
from talk.models import CallbackAttempt, CallbackRequest, Offer, QueueEntry
from talk.selectors.lines import access_line
from talk.services.callback_requests import (
    callback_request_create_by_api,
    ALREADY_WAITING_MESSAGE,
    UNKNOWN_LINE_MESSAGE,
    groups_named,
    callback_request_note,
)
from talk.services.queue import offers_withdraw, queue_entry_close


class _Keep:
    """``KEEP``: leave this field as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()

MAX_SCHEDULE_AHEAD = timedelta(days=30)
# An agent may say "Call later" for this long after the attempt that did not reach the customer.
CALL_LATER_WINDOW = timedelta(minutes=30)

NOT_FOUND_MESSAGE = "There is no such callback request in this account."
CONFLICT_MESSAGE = ("This callback request is no longer waiting: an agent accepted it, or it ended "
                    "(completed, cancelled, expired) meanwhile. Nothing was changed.")
NOT_SUPERVISOR_MESSAGE = "Only admins and supervisors can change callback requests."
NOT_YOURS_MESSAGE = ("You can reschedule only a callback offered to you now, or one you just tried "
                     "and could not reach.")
REASON_MISSING_MESSAGE = "Say why the callback request is cancelled."
REASON_TOO_LONG_MESSAGE = "Keep the reason under 1,000 characters."
ASSIGNEE_UNKNOWN_MESSAGE = "Choose an active agent of this account."
PAST_TIME_MESSAGE = "Choose a time in the future."
TOO_FAR_MESSAGE = "Choose a time at most 30 days ahead."
NAIVE_TIME_MESSAGE = "Give the time with its time zone, e.g. 2026-05-04T10:00:00+02:00."
NOTHING_TO_MOVE_MESSAGE = "Name the line (phone_number_id) or the groups (group_ids) to move it to."
MAX_REASON = 1000

Request = CallbackRequest.State
FAILED_REACHABLE_OUTCOMES = (CallbackRequest.Outcome.NO_ANSWER, CallbackRequest.Outcome.BUSY)


def _conflict() -> ServiceError:
    return ServiceError(CONFLICT_MESSAGE, field="base", code="conflict")


def _membership(account: Account, user: User) -> Membership | None:
    return Membership.objects.filter(account=account, user=user, is_active=True).first()


def _require_supervisor(account: Account, actor: User | None) -> None:
    if actor is None:
        return
    membership = _membership(account, actor)
    if membership is None or not membership.is_supervisor:
        raise ServiceError(NOT_SUPERVISOR_MESSAGE, code="read_only")


def _request(account: Account, request_id: int) -> CallbackRequest:
    request = (CallbackRequest.objects.filter(account=account, pk=request_id)
               .select_related("line", "queue_entry").first())
    if request is None:
        raise ServiceError(NOT_FOUND_MESSAGE, field="id", code="not_found")
    return request


def _pending(account: Account, request_id: int):
    """The request's rows, narrowed to a pending one: an UPDATE on them is the re-check."""
    return CallbackRequest.objects.filter(account=account, pk=request_id, state=Request.PENDING)


def _changed(account: Account, request: CallbackRequest) -> None:
    push_on_commit(account_group(account.pk), "queue.changed", {"line": request.line_id})
    wake_router(account.pk)


def _when(account: Account, moment: datetime) -> str:
    zone = account_zone(account)
    return f"{timezone.localtime(moment, zone).strftime('%Y-%m-%d %H:%M')} {zone.key} time"


def _who(actor: User | None, by: str) -> str:
    if by == CallbackRequest.CancelledBy.CALLER:
        return "The caller"
    return actor.name if actor is not None else "The system"


# --- cancel (S2, C13) ------------------------------------------------------------
@atomic_with_retry
def callback_cancel(*, account: Account, request_id: int, actor: User | None, reason: str,
                    by: str = CallbackRequest.CancelledBy.SUPERVISOR) -> CallbackRequest:
    """Cancel a pending request: its entry leaves the queue (its open offer is withdrawn), the
    request is ``cancelled``, and the reason is an internal comment on its ticket (made if none).

    ``by=CALLER`` with ``actor=None``: the caller cancelled it on calling again (C13).
    """
    if by not in (CallbackRequest.CancelledBy.SUPERVISOR, CallbackRequest.CancelledBy.CALLER):
        raise ValueError(f"cancelled by {by!r}")
    _require_supervisor(account, actor)
    reason = (reason or "").strip()
    if by == CallbackRequest.CancelledBy.SUPERVISOR and not reason:
        raise ServiceError(REASON_MISSING_MESSAGE, field="reason")
    if len(reason) > MAX_REASON:
        raise ServiceError(REASON_TOO_LONG_MESSAGE, field="reason")
    request = _request(account, request_id)
    now = timezone.now()
    # The entry first (the lock order): only a waiting entry closes, once; an accept that
    # served it first wins, and then nothing here happens.
    if request.state != Request.PENDING or not queue_entry_close(
        account=account, entry_id=request.queue_entry_id, state=QueueEntry.State.CANCELLED,
        reason="cancelled", now=now, push=True,
    ):
        raise _conflict()
    if not REQUEST.move(CallbackRequest.objects.filter(pk=request.pk), Request.CANCELLED,
                        only_from=(Request.PENDING,), outcome=CallbackRequest.Outcome.CANCELLED,
                        ended_at=now, cancelled_by=by, cancel_reason=reason):
        raise _conflict()  # rolls the entry's close back
    request.refresh_from_db()
    who = _who(actor, by)
    note = f"{who} cancelled the callback request to {request.number}."
    if reason:
        note += f" Reason: {reason}"
    callback_request_note(account=account, request=request, note=note)
    audit_record(account=account, actor=actor, action="callback_request.cancel", target=request,
                 by=by, reason=reason)
    _changed(account, request)
    return request


# --- assign (R15) ------------------------------------------------------------------
def _assignee(account: Account, assignee_id: int | None) -> User | None:
    if assignee_id is None:
        return None
    if isinstance(assignee_id, bool) or not isinstance(assignee_id, int) or not 0 < assignee_id <= 2**63 - 1:
        raise ServiceError(ASSIGNEE_UNKNOWN_MESSAGE, field="assignee_id")
    membership = (Membership.objects.filter(account=account, user_id=assignee_id, is_active=True)
                  .select_related("user").first())
    if membership is None:  # another account's agent answers exactly like a missing one (T3)
        raise ServiceError(ASSIGNEE_UNKNOWN_MESSAGE, field="assignee_id")
    return membership.user


def _withdraw_others(account: Account, request: CallbackRequest, keep_agent_id: int | None, reason: str,
                     now: datetime) -> None:
    """Withdraw the entry's open offer unless ``keep_agent_id`` holds it."""
    holder = (Offer.objects.filter(account=account, entry_id=request.queue_entry_id, state=Offer.State.OFFERED)
              .values_list("agent_id", flat=True).first())
    if holder is not None and holder != keep_agent_id:
        offers_withdraw(account=account, entry_id=request.queue_entry_id, reason=reason, now=now, push=True)


@atomic_with_retry
def callback_assign(*, account: Account, request_id: int, actor: User | None,
                    assignee_id: int | None) -> CallbackRequest:
    """Assign a pending request to one agent (R15): only they are offered it for the line's
    callback offer time from now (or from its scheduled time, if later); then anyone
    eligible. ``None`` takes the assignment away."""
    _require_supervisor(account, actor)
    assignee = _assignee(account, assignee_id)
    request = _request(account, request_id)
    now = timezone.now()
    if not _pending(account, request.pk).update(assignee=assignee, assigned_at=now if assignee else None):
        raise _conflict()
    # An offer another agent holds goes, so the assignee gets it first.
    _withdraw_others(account, request, assignee.pk if assignee else None, "assigned", now)
    request.refresh_from_db()
    note = (f"{_who(actor, '')} assigned the callback request to {assignee.name}." if assignee
            else f"{_who(actor, '')} took the callback request's assignment away.")
    callback_request_note(account=account, request=request, note=note)
    audit_record(account=account, actor=actor, action="callback_request.assign", target=request,
                 assignee_id=assignee.pk if assignee else None)
    _changed(account, request)
    return request


# --- reschedule (R16) -------------------------------------------------------------
def _check_time(scheduled_for: datetime | None, now: datetime) -> None:
    if scheduled_for is None:
        return
    if timezone.is_naive(scheduled_for):
        raise ServiceError(NAIVE_TIME_MESSAGE, field="scheduled_for")
    if scheduled_for <= now:
        raise ServiceError(PAST_TIME_MESSAGE, field="scheduled_for")
    if scheduled_for > now + MAX_SCHEDULE_AHEAD:
        raise ServiceError(TOO_FAR_MESSAGE, field="scheduled_for")


def _agent_may_reschedule(account: Account, request: CallbackRequest, actor: User, now: datetime) -> bool:
    """"Call later" (R16): the agent holds the request's offer, or just failed to reach its customer."""
    if request.state == Request.PENDING:
        return Offer.objects.filter(account=account, entry_id=request.queue_entry_id, agent=actor,
                                    state=Offer.State.OFFERED).exists()
    if request.state == Request.FAILED and request.outcome in FAILED_REACHABLE_OUTCOMES:
        last = (CallbackAttempt.objects.filter(account=account, request=request)
                .order_by("-number").values_list("agent_id", "ended_at").first())
        return bool(last and last[0] == actor.pk and last[1] and last[1] >= now - CALL_LATER_WINDOW)
    return False


def _reopen_failed(account: Account, request: CallbackRequest, fields: dict) -> bool:
    """A failed request the agent will call later: back to pending, its entry back to waiting
    (the entry first, the lock order). False when it changed meanwhile."""
    if not ENTRY.move(QueueEntry.objects.filter(account=account, pk=request.queue_entry_id),
                      QueueEntry.State.WAITING, only_from=(QueueEntry.State.SERVED,), left_at=None):
        return False
    try:
        with transaction.atomic():  # a newer pending request for the number wins (C7)
            moved = REQUEST.move(
                CallbackRequest.objects.filter(pk=request.pk, outcome__in=FAILED_REACHABLE_OUTCOMES),
                Request.PENDING, only_from=(Request.FAILED,), outcome="", ended_at=None, accepted_by=None,
                started_at=None, **fields,
            )
    except IntegrityError:
        raise ServiceError(ALREADY_WAITING_MESSAGE, field="base", code="conflict") from None
    return bool(moved)


@atomic_with_retry
def callback_reschedule(*, account: Account, request_id: int, actor: User | None,
                        scheduled_for: datetime | None, assignee_id=KEEP) -> CallbackRequest:
    """Due at ``scheduled_for`` (R16): out of the queue until then, then offered ahead of it;
    it expires the line's expiry after that time. ``None``: due now, back at its original
    place. Up to 30 days ahead; a past time is refused.

    A supervisor may reschedule any pending request. An agent may reschedule the one they
    hold the offer of, or the one they just could not reach ("Call later", which reopens it);
    it is then assigned to them unless ``assignee_id`` says otherwise.
    """
    now = timezone.now()
    _check_time(scheduled_for, now)
    request = _request(account, request_id)
    membership = _membership(account, actor) if actor is not None else None
    # "Call later": the agent (a supervisor too, maybe) holding its offer or just back from no answer.
    agent_call_later = membership is not None and _agent_may_reschedule(account, request, actor, now)
    if agent_call_later:
        if assignee_id is KEEP:
            assignee_id = actor.pk
    elif actor is not None and (membership is None or not membership.is_supervisor):
        if membership is not None and request.state != Request.PENDING and Offer.objects.filter(
                account=account, entry_id=request.queue_entry_id, agent=actor).exists():
            raise _conflict()  # their offer was overtaken: an accept or a close got there first
        raise ServiceError(NOT_YOURS_MESSAGE, code="read_only")
    fields: dict = {"scheduled_for": scheduled_for}
    expiry = timedelta(minutes=request.line.callback_expiry_minutes)
    if scheduled_for is not None:
        fields["expires_at"] = scheduled_for + expiry  # expiry counts from its time (R9, R16)
    elif request.scheduled_for is not None or request.state != Request.PENDING:
        fields["expires_at"] = max(request.expires_at, now + expiry)
    assignee = None
    if assignee_id is not KEEP:
        assignee = _assignee(account, assignee_id)
        fields.update(assignee=assignee, assigned_at=now if assignee else None)
    elif request.assignee_id is not None and scheduled_for is not None:
        fields["assigned_at"] = now  # the window restarts at its time (max of the two)
    if request.state == Request.FAILED and agent_call_later:
        if not _reopen_failed(account, request, fields):
            raise _conflict()
    elif not _pending(account, request.pk).update(**fields):
        raise _conflict()
    request.refresh_from_db()
    if scheduled_for is not None:
        # It leaves the queue until its time: an open offer (the agent's own, on "Call later") goes.
        offers_withdraw(account=account, entry_id=request.queue_entry_id, reason="scheduled", now=now, push=True)
    elif assignee_id is not KEEP:
        _withdraw_others(account, request, request.assignee_id, "assigned", now)
    who = _who(actor, "")
    if scheduled_for is None:
        note = f"{who} made the callback request due now, at its place in the queue."
    else:
        note = f"{who} scheduled the callback to {request.number} for {_when(account, scheduled_for)}."
    if request.assignee_id and (assignee_id is not KEEP):
        note += f" Assigned to {request.assignee.name}."
    callback_request_note(account=account, request=request, note=note)
    audit_record(account=account, actor=actor, action="callback_request.reschedule", target=request,
                 scheduled_for=scheduled_for.isoformat() if scheduled_for else None,
                 assignee_id=request.assignee_id, call_later=agent_call_later)
    _changed(account, request)
    return request


# --- move (S2) ---------------------------------------------------------------------
@atomic_with_retry
def callback_move(*, account: Account, request_id: int, actor: User | None, line_id=KEEP,
                  group_ids: Sequence[int] | None = KEEP) -> CallbackRequest:
    """Move a pending request to another line of the account and/or other groups (R14):
    it keeps its place (its original queue time) and is routed again. ``group_ids=[]`` or
    None: the line's groups. Another account's line or group is refused as a missing one."""
    _require_supervisor(account, actor)
    if line_id is KEEP and group_ids is KEEP:
        raise ServiceError(NOTHING_TO_MOVE_MESSAGE, field="phone_number_id")
    line = None
    if line_id is not KEEP:
        if isinstance(line_id, bool) or not isinstance(line_id, int) or not 0 < line_id <= 2**63 - 1:
            raise ServiceError(UNKNOWN_LINE_MESSAGE, field="phone_number_id")
        line = access_line(account=account, line_id=line_id)
        if line is None:  # another account's line answers exactly like a missing one (T3)
            raise ServiceError(UNKNOWN_LINE_MESSAGE, field="phone_number_id")
    groups = None
    if group_ids is not KEEP:
        groups = groups_named(account, group_ids or ())
    request = _request(account, request_id)
    now = timezone.now()
    if request.state != Request.PENDING:
        raise _conflict()
    if line is not None and line.pk != request.line_id:
        # The entry first (the lock order), still waiting; then the request, still pending.
        if not QueueEntry.objects.filter(account=account, pk=request.queue_entry_id,
                                         state=QueueEntry.State.WAITING).update(line=line):
            raise _conflict()
        try:
            with transaction.atomic():  # the number may already wait on that line (C7)
                moved = _pending(account, request.pk).update(line=line)
        except IntegrityError:
            raise ServiceError(ALREADY_WAITING_MESSAGE, field="phone_number_id") from None
        if not moved:
            raise _conflict()
    elif not _pending(account, request.pk).update(state=Request.PENDING):  # the re-check, and its row lock
        raise _conflict()
    if groups is not None:
        request.groups.set(groups)
    # Whoever holds its offer may no longer be eligible: it is routed again.
    offers_withdraw(account=account, entry_id=request.queue_entry_id, reason="moved", now=now, push=True)
    request.refresh_from_db()
    parts = []
    if line is not None:
        parts.append(f"to the line {line.name}")
    if groups is not None:
        parts.append("to the groups " + ", ".join(g.name for g in groups) if groups else "to the line's groups")
    callback_request_note(account=account, request=request,
                          note=f"{_who(actor, '')} moved the callback request {' and '.join(parts)}.")
    audit_record(account=account, actor=actor, action="callback_request.move", target=request,
                 line_id=request.line_id, group_ids=[g.pk for g in groups] if groups is not None else None)
    _changed(account, request)
    return request


# --- the API's compound writes ------------------------------------------------------------
@atomic_with_retry
def callback_update(*, account: Account, request_id: int, actor: User | None, line_id=KEEP, group_ids=KEEP,
                    scheduled_for=KEEP, assignee_id=KEEP) -> CallbackRequest:
    """``PUT callback_requests/{id}.json``: move, then reschedule or assign, all or nothing
    (each its own audit entry). ``KEEP``: the field was not given."""
    if all(value is KEEP for value in (line_id, group_ids, scheduled_for, assignee_id)):
        raise ServiceError(NOTHING_TO_CHANGE_MESSAGE, field="callback_request")
    request = None
    if line_id is not KEEP or group_ids is not KEEP:
        request = callback_move(account=account, request_id=request_id, actor=actor, line_id=line_id,
                                group_ids=group_ids)
    if scheduled_for is not KEEP:
        request = callback_reschedule(account=account, request_id=request_id, actor=actor,
                                      scheduled_for=scheduled_for, assignee_id=assignee_id)
    elif assignee_id is not KEEP:
        request = callback_assign(account=account, request_id=request_id, actor=actor, assignee_id=assignee_id)
    return request


NOTHING_TO_CHANGE_MESSAGE = "Give at least one of assignee_id, scheduled_for, phone_number_id or group_ids."


@atomic_with_retry
def callback_request_create_planned(*, account: Account, line_id: int, number: str, actor: User,
                                    group_ids: Sequence[int] | None = None, scheduled_for: datetime | None = None,
                                    assignee_id: int | None = None) -> CallbackRequest:
    """``POST callback_requests.json`` with a time (R16) and/or an assignee (R15).

    Any member may ask for a callback at a time; assigning it to someone else than oneself
    is a supervisor's (S2). The checks come first: a refusal creates nothing.
    """
    now = timezone.now()
    _check_time(scheduled_for, now)
    assignee = _assignee(account, assignee_id)
    if assignee is not None and assignee.pk != actor.pk:
        _require_supervisor(account, actor)
    request = callback_request_create_by_api(account=account, line_id=line_id, number=number, actor=actor,
                                             group_ids=group_ids)
    fields: dict = {}
    if scheduled_for is not None:
        fields.update(scheduled_for=scheduled_for,
                      expires_at=scheduled_for + timedelta(minutes=request.line.callback_expiry_minutes))
    if assignee is not None:
        fields.update(assignee=assignee, assigned_at=now)
    if fields:
        CallbackRequest.objects.filter(pk=request.pk).update(**fields)
        request.refresh_from_db()
        audit_record(account=account, actor=actor, action="callback_request.plan", target=request,
                     scheduled_for=scheduled_for.isoformat() if scheduled_for else None,
                     assignee_id=assignee.pk if assignee else None)
    return request
