"""Shared fixtures of the agent-console tests (no tests here): inline tasks, the
simulator gateway through the test client, and offers made by a routing pass."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from callsim import gateway
from talk import routing
from talk.models import AgentPresence, Call, Offer, QueueEntry
from talk.services.callback_requests import callback_request_create
from tests.talk.calls_support import ClientTransport, make_line, set_presence

ONLINE = AgentPresence.Status.ONLINE


@pytest.fixture
def inline_tasks(settings, monkeypatch):
    """Tasks run inline after commit (nothing left in the broker); the simulated
    carrier answers through Django's test client."""
    settings.TASKS_SYNC = True
    monkeypatch.setattr(gateway, "transport_factory", ClientTransport)


def route(account) -> list[Offer]:
    with scope(account=account):
        return routing.route_account(account)


def callback_for(account, line, number: str = "+14155550111"):
    with scope(account=account):
        return callback_request_create(line=line, number=number)


def offered_callback(account, line, agent, number: str = "+14155550111") -> Offer:
    """A callback request offered to ``agent`` by a real routing pass (the only free agent)."""
    set_presence(account, agent, ONLINE)
    request = callback_for(account, line, number)
    with scope(account=account):
        offer = Offer.objects.filter(account=account, entry_id=request.queue_entry_id, state=Offer.State.OFFERED).first()
    if offer is None:  # the wake-up after commit did not route (tasks not inline): route now
        made = route(account)
        offer = next(o for o in made if o.entry_id == request.queue_entry_id)
    assert offer.agent_id == agent.pk
    return offer


def live_offer(account, line, agent, *, seconds: int = 30, sid: str | None = None) -> Offer:
    """A live caller's entry offered to ``agent``, written directly (no routing pass):
    for tests that need many offers fast, such as the concurrency test."""
    now = timezone.now()
    with scope(account=account):
        call = Call.objects.create(
            account=account, line=line, provider_call_sid=sid or f"CA{now.timestamp():.6f}{agent.pk}",
            from_raw="+14155550177", caller_number="+14155550177", stage=Call.Stage.QUEUED,
        )
        entry = QueueEntry.objects.create(account=account, line=line, call=call, kind=QueueEntry.Kind.LIVE, entered_at=now)
        return Offer.objects.create(
            account=account, entry=entry, agent=agent, kind=QueueEntry.Kind.LIVE, expires_at=now + timedelta(seconds=seconds)
        )


def offer_state(account, offer: Offer) -> str:
    with scope(account=account):
        return Offer.objects.get(pk=offer.pk).state


__all__ = ["make_line", "set_presence"]
