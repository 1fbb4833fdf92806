"""Agents' presence in Talk (SPEC R1, C2)."""
from __future__ import annotations

from django.db import models

from supportcenter.models import TenantModel, User


class AgentPresence(TenantModel):
    """An agent's Talk status in one account; no row means offline."""

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        TRANSFERS_ONLY = "transfers_only", "Transfers only"
        OFFLINE = "offline", "Offline"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFLINE)
    # Busy from accepting an offer until the call it started ends (R1). What the agent
    # is busy with is kept, so the end of *that* call frees them and a late event of an
    # earlier call cannot (talk.services.agents, docs/lifecycle.md).
    busy = models.BooleanField(default=False, help_text="On a call or wrapping up.")
    busy_since = models.DateTimeField(null=True, blank=True)
    busy_call = models.ForeignKey("talk.Call", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    busy_attempt = models.ForeignKey(
        "talk.CallbackAttempt", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    device = models.CharField(
        max_length=255, blank=True,
        help_text="Where callbacks ring the agent first: an E.164 number or a SIP URI (R5).",
    )
    # Offers cycle through agents: the one who waited longest since an offer goes first (R4).
    last_offered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="talk_presence_one_per_agent")]
        indexes = [
            models.Index(fields=["account", "status"], name="talk_presence_status"),
            # The reconciliation reads the few busy agents of every account (R1).
            models.Index(fields=["busy_since"], condition=models.Q(busy=True), name="talk_presence_busy"),
        ]


# C2: "at least one agent logged in with status online or away" makes callback available.
CALLBACK_AVAILABLE_STATUSES = (AgentPresence.Status.ONLINE, AgentPresence.Status.AWAY)
