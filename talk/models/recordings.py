"""The caller's name and reason, recorded after confirming a callback (SPEC C14).

One row per callback request whose line asks for it. Its lifecycle, written only by
``talk.services.recordings``:

    awaited ──(provider: a recording)──▶ fetching ──(copied into storage)──▶ stored ──▶ deleted
       │                                    │                                 (retention)
       └──(nothing said, hung up)──▶ none   └──(refused, or too many tries)──▶ failed

The audio lives in the product's storage (Django's storage API); the provider's copy is
deleted once ours is stored. Nobody reaches the file but through the authenticated
playback views.
"""
from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from supportcenter.models import TenantModel


def recording_path(instance: CallerRecording, filename: str) -> str:
    """Per account, named by the request and an unguessable part (never the caller's number)."""
    return f"recordings/{instance.account_id}/{instance.request_id}-{secrets.token_hex(8)}.wav"


class CallerRecording(TenantModel):
    class State(models.TextChoices):
        AWAITED = "awaited", "Being recorded"
        FETCHING = "fetching", "Arriving"
        STORED = "stored", "Recorded"
        NONE = "none", "Nothing recorded"
        FAILED = "failed", "Could not be fetched"
        DELETED = "deleted", "Deleted after the retention period"

    request = models.OneToOneField("talk.CallbackRequest", on_delete=models.CASCADE, related_name="recording")
    state = models.CharField(max_length=12, choices=State.choices, default=State.AWAITED)
    provider_sid = models.CharField(max_length=64, blank=True, help_text="The provider's id of its copy.")
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    audio = models.FileField(upload_to=recording_path, blank=True, max_length=200)
    content_type = models.CharField(max_length=40, blank=True)
    fetch_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    stored_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="talk_recording_state_age")]

    def __str__(self) -> str:
        return f"recording of request {self.request_id} ({self.state})"

    @property
    def playable(self) -> bool:
        return self.state == self.State.STORED and bool(self.audio)
