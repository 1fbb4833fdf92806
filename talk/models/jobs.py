"""Calls to the telephony provider waiting to be made: the dialer's queue (SPEC R5, R10).

A job is written in the same transaction as the change that needs the call (an accepted
offer, a scheduled attempt), so it exists exactly when that change does: nothing to lose
between a commit and an enqueue. ``manage.py dialer`` takes due jobs oldest first
(``run_at``, then ``id``) with ``FOR UPDATE SKIP LOCKED``; a job taken and not finished
within its lease (the dialer died) is taken again. Jobs are infrastructure across
accounts, read only by the dialer: no tenant-scoped manager.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from supportcenter.models import Account


class ProviderJob(models.Model):
    class Kind(models.TextChoices):
        PLACE_ATTEMPT = "place_attempt", "Place a callback attempt"
        CONNECT_LIVE_CALL = "connect_live_call", "Connect a live caller to their agent"
        FETCH_RECORDING = "fetch_recording", "Copy a caller's recording into storage"

    id = models.BigAutoField(primary_key=True)  # the order among jobs due at the same time
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    object_id = models.BigIntegerField(help_text="The attempt's, the offer's or the recording's id")
    run_at = models.DateTimeField(default=timezone.now)
    taken_until = models.DateTimeField(null=True, blank=True, help_text="A dialer's lease on it")
    failures = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["run_at", "id"], name="talk_job_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
