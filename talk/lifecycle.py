"""The lifecycles of Talk, written in one place (docs/lifecycle.md draws them).

Each stateful row (a queue entry, a callback request, an offer, a callback attempt)
changes state only through ``Lifecycle.move``: one conditional UPDATE whose WHERE
clause names the states the target may be reached from. The check of the current
state and the change are one statement, so two events racing on the same row (a
hang-up and an accept, two agents clicking, a provider retry) have exactly one
winner, on every database; the loser sees 0 rows changed and does nothing.

Lock order, everywhere (so two transactions never wait on each other in a circle):
the account's routing lock, then Call, QueueEntry, CallbackRequest, Offer,
AgentPresence, CallbackAttempt. Webhooks of a call lock the call row first.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from talk.models import CallbackAttempt, CallbackRequest, Offer, QueueEntry


class IllegalTransition(Exception):
    """Code asked for a move the lifecycle does not have: a bug, never an event's order."""


@dataclass(frozen=True)
class Lifecycle:
    name: str
    field: str
    transitions: dict[str, frozenset[str]]  # from -> the states it may move to

    def sources(self, target: str) -> list[str]:
        sources = sorted(state for state, targets in self.transitions.items() if target in targets)
        if not sources:
            raise IllegalTransition(f"a {self.name} never becomes {target!r}")
        return sources

    def move(self, rows: QuerySet, to: str, *, only_from: tuple[str, ...] | None = None, **fields) -> int:
        """Move ``rows`` that are in a state allowed to reach ``to``; returns how many moved.

        ``only_from`` narrows the sources further (each must be a legal source).
        """
        sources = self.sources(to)
        if only_from is not None:
            illegal = set(only_from) - set(sources)
            if illegal:
                raise IllegalTransition(f"a {self.name} never goes from {sorted(illegal)} to {to!r}")
            sources = list(only_from)
        return rows.filter(**{f"{self.field}__in": sources}).update(**{self.field: to}, **fields)


Entry = QueueEntry.State
ENTRY = Lifecycle("queue entry", "state", {
    Entry.WAITING: frozenset({Entry.SERVED, Entry.ABANDONED, Entry.CANCELLED}),
    # A callback whose agent never answered their device goes back to its place (R6);
    # a live caller whose connection to the agent failed is still holding (R1).
    Entry.SERVED: frozenset({Entry.WAITING}),
    Entry.ABANDONED: frozenset(),
    Entry.CANCELLED: frozenset(),
})

Request = CallbackRequest.State
REQUEST = Lifecycle("callback request", "state", {
    # Cancelled: by a supervisor or the caller, only while it waits (S2, C13).
    Request.PENDING: frozenset({Request.IN_PROGRESS, Request.DECLINED, Request.EXPIRED, Request.CANCELLED}),
    Request.IN_PROGRESS: frozenset({Request.PENDING, Request.COMPLETED, Request.FAILED}),
    Request.COMPLETED: frozenset(),
    # "Call later" (R16): the agent who just could not reach the customer schedules it again.
    Request.FAILED: frozenset({Request.PENDING}),
    Request.DECLINED: frozenset(),
    Request.EXPIRED: frozenset(),
    Request.CANCELLED: frozenset(),
})

OfferState = Offer.State
OFFER = Lifecycle("offer", "state", {
    OfferState.OFFERED: frozenset({OfferState.ACCEPTED, OfferState.DECLINED, OfferState.TIMED_OUT, OfferState.WITHDRAWN}),
    OfferState.ACCEPTED: frozenset(),
    OfferState.DECLINED: frozenset(),
    OfferState.TIMED_OUT: frozenset(),
    OfferState.WITHDRAWN: frozenset(),
})

Attempt = CallbackAttempt.Status
ATTEMPT_RESULTS = frozenset({Attempt.COMPLETED, Attempt.NO_ANSWER, Attempt.BUSY, Attempt.FAILED})
ATTEMPT = Lifecycle("callback attempt", "status", {
    Attempt.QUEUED: frozenset({Attempt.CALLING_AGENT}),
    # Back to queued: a retryable gateway error, or a retry whose agent is on another call.
    Attempt.CALLING_AGENT: frozenset({Attempt.CALLING_CUSTOMER, Attempt.AGENT_UNREACHED, Attempt.QUEUED} | ATTEMPT_RESULTS),
    Attempt.CALLING_CUSTOMER: ATTEMPT_RESULTS,
    Attempt.COMPLETED: frozenset(),
    Attempt.NO_ANSWER: frozenset(),
    Attempt.BUSY: frozenset(),
    Attempt.FAILED: frozenset(),
    Attempt.AGENT_UNREACHED: frozenset(),
})

LIFECYCLES = (ENTRY, REQUEST, OFFER, ATTEMPT)
