"""Per-account telephony provider settings and secrets (SPEC T5, O1)."""
from __future__ import annotations

from django.db import models

from supportcenter.models import TenantModel


DEFAULT_RECORDING_RETENTION_DAYS = 30


class TelephonySettings(TenantModel):
    """One row per account, created on demand.

    Secrets are stored only encrypted (``talk.crypto``); no page or API returns
    them. The simulator signs its webhooks exactly as Twilio does, with its own
    random auth token, generated when the row is created, so switching between
    providers never mixes up the two secrets.
    """

    class Provider(models.TextChoices):
        SIMULATOR = "simulator", "Call simulator (no carrier)"
        TWILIO = "twilio", "Twilio"

    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.SIMULATOR)
    twilio_account_sid = models.CharField(max_length=34, blank=True)
    twilio_auth_token_encrypted = models.TextField(blank=True, editable=False)
    twilio_auth_token_last4 = models.CharField(max_length=4, blank=True, editable=False)
    simulator_auth_token_encrypted = models.TextField(blank=True, editable=False)
    # SPEC C14: days a caller's recording is kept once its callback request is over.
    recording_retention_days = models.PositiveSmallIntegerField(default=DEFAULT_RECORDING_RETENTION_DAYS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "telephony settings"
        constraints = [
            models.UniqueConstraint(fields=["account"], name="talk_telephony_settings_one_per_account"),
        ]

    @property
    def twilio_auth_token_set(self) -> bool:
        return bool(self.twilio_auth_token_encrypted)
