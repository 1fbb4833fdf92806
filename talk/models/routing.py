"""Offers: a queue entry put in front of one agent (SPEC R2-R7)."""
from __future__ import annotations

from django.db import models

from supportcenter.models import TenantModel


class Offer(TenantModel):
    """One entry offered to one agent until ``expires_at``.

    The partial unique constraints are the routing invariants, enforced by the
    database whatever the number of workers (O2): an agent holds at most one open
    offer, and an entry is open to at most one agent at a time.
    """

    class State(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        TIMED_OUT = "timed_out", "Not answered in time"
        WITHDRAWN = "withdrawn", "Withdrawn"

    entry = models.ForeignKey("talk.QueueEntry", on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey("supportcenter.User", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8)  # the entry's kind when offered: live or callback
    state = models.CharField(max_length=12, choices=State.choices, default=State.OFFERED)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "agent"], condition=models.Q(state="offered"), name="talk_offer_one_open_per_agent"
            ),
            models.UniqueConstraint(
                fields=["entry"], condition=models.Q(state="offered"), name="talk_offer_one_open_per_entry"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "state", "expires_at"], name="talk_offer_due"),
            models.Index(fields=["account", "responded_at"], name="talk_offer_responded"),
        ]
