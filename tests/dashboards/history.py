"""Builders of Talk history for the metric tests: rows written directly with the
ORM at exact times (routing would fill them in production)."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from django_scopes import scope

from talk.models import (
    AgentPresence,
    Call,
    CallbackAttempt,
    CallbackRequest,
    Line,
    Offer,
    QueueEntry,
)

_sids = itertools.count(1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


class History:
    """Calls, queue entries, callback requests, attempts and offers of one account."""

    def __init__(self, account, line: Line):
        self.account = account
        self.line = line

    def call(
        self, started: datetime, *, outcome: str = "", direction: str = Call.Direction.INBOUND,
        duration: int | None = None, answered_by=None, answer_after: int | None = None, line: Line | None = None,
        queued: datetime | None = None, left: datetime | None = None, entry_state: str | None = None,
        kind: str = QueueEntry.Kind.LIVE,
    ) -> Call:
        with scope(account=self.account):
            call = Call.objects.create(
                account=self.account, line=line or self.line, provider_call_sid=f"CA{next(_sids):032d}",
                direction=direction, from_raw="+14155550111", caller_number="+14155550111", outcome=outcome,
                duration_seconds=duration, answered_by=answered_by,
                answered_at=started + timedelta(seconds=answer_after) if answer_after is not None else None,
                ended_at=started + timedelta(seconds=duration) if duration else None,
            )
            # started_at is auto_now_add: set the history's time afterwards.
            Call.objects.filter(pk=call.pk).update(started_at=started)
            call.started_at = started
            if queued is not None:
                state = entry_state or (QueueEntry.State.WAITING if left is None else QueueEntry.State.SERVED)
                call.entry = QueueEntry.objects.create(
                    account=self.account, line=call.line, call=call, kind=kind, state=state, entered_at=queued,
                    left_at=left,
                )
        return call

    def callback(
        self, call: Call | None, *, requested: datetime, state: str, outcome: str = "", queued: datetime | None = None,
        started: datetime | None = None, first_attempt: datetime | None = None, confirmed: bool = True,
        in_order: bool | None = None, ended: datetime | None = None, line: Line | None = None,
        number: str | None = None, scheduled_for: datetime | None = None, cancelled_by: str = "",
    ) -> CallbackRequest:
        with scope(account=self.account):
            if call is not None:
                entry = call.entry
            else:
                entry = QueueEntry.objects.create(
                    account=self.account, line=line or self.line, kind=QueueEntry.Kind.CALLBACK,
                    state=QueueEntry.State.WAITING if state == "pending" else QueueEntry.State.SERVED,
                    entered_at=queued or requested, left_at=started,
                )
            QueueEntry.objects.filter(pk=entry.pk).update(kind=QueueEntry.Kind.CALLBACK)
            return CallbackRequest.objects.create(
                account=self.account, line=entry.line, queue_entry=entry, call=call,
                number=number or f"+1415555{next(_sids):04d}", number_source=Call.NumberSource.CALLER_ID,
                language="en", confirmed=confirmed, state=state, outcome=outcome, requested_at=requested,
                queue_entered_at=entry.entered_at, expires_at=requested + timedelta(hours=1), ended_at=ended,
                started_at=started, first_attempt_at=first_attempt, attempts=1 if first_attempt else 0,
                served_in_order=in_order, scheduled_for=scheduled_for, cancelled_by=cancelled_by,
            )

    def attempt(self, request: CallbackRequest, *, started: datetime, agent, duration: int | None,
                status: str = CallbackAttempt.Status.COMPLETED) -> CallbackAttempt:
        with scope(account=self.account):
            number = CallbackAttempt.objects.filter(request=request).count() + 1
            return CallbackAttempt.objects.create(
                account=self.account, request=request, number=number, agent=agent, status=status,
                scheduled_for=started, started_at=started, duration_seconds=duration,
                ended_at=started + timedelta(seconds=duration or 20),
            )

    def offer(self, entry: QueueEntry, *, agent, state: str, at: datetime, kind: str = "live") -> Offer:
        with scope(account=self.account):
            offer = Offer.objects.create(
                account=self.account, entry=entry, agent=agent, kind=kind, state=state,
                expires_at=at + timedelta(seconds=30), responded_at=at + timedelta(seconds=5),
            )
            Offer.objects.filter(pk=offer.pk).update(created_at=at)
            return offer

    def status(self, user, status: str, *, at: datetime) -> None:
        """A change of status through the service (its audit entry is the presence history),
        dated ``at``. Call in order of time: each change's ``previous`` is the status before."""
        from django.utils import timezone

        from supportcenter.models import AuditEntry
        from talk.services.agents import agent_status_set

        with scope(account=self.account):
            before = timezone.now()
            agent_status_set(account=self.account, user=user, status=status, actor=user)
            written = AuditEntry.objects.filter(account=self.account, action="agent_presence.set_status",
                                                created_at__gte=before)
            assert written.update(created_at=at) == 1, "the status did not change"

    def presence(self, user, status: str) -> None:
        with scope(account=self.account):
            AgentPresence.objects.update_or_create(account=self.account, user=user, defaults={"status": status})
