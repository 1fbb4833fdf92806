"""Simulated calls of the demo's call simulator page (SPEC O1)."""
from __future__ import annotations

from django.db import models

from supportcenter.models import TenantModel, User


class SimulatorCall(TenantModel):
    """One call placed from the simulator page; ``state`` is the engine's JSON.

    ``busy`` is set while a worker thread talks to the webhooks for this call, so
    two clicks never drive the same call at once.
    """

    line = models.ForeignKey("talk.Line", on_delete=models.CASCADE, related_name="+")
    placed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    state = models.JSONField(default=dict)
    busy = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "talk_simulatorcall"  # created by talk's migration 0004, before this app existed
        ordering = ["-created_at"]
