"""Reads of the simulator's calls. Every one takes the account."""
from __future__ import annotations

from django.db.models import QuerySet

from callsim.models import SimulatorCall
from supportcenter.models import Account


def simulator_calls_of(*, account: Account, user, limit: int = 8) -> QuerySet[SimulatorCall]:
    return SimulatorCall.objects.filter(account=account, placed_by=user).select_related("line")[:limit]


def access_simulator_call(*, account: Account, call_id: int) -> SimulatorCall | None:
    """A simulated call of ``account``, or None: another account's id answers None too (SPEC T3)."""
    return SimulatorCall.objects.filter(account=account, pk=call_id).select_related("line").first()
