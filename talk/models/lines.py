"""Talk lines and their callback settings (SPEC L1-L7).

The callback settings are fields of the line (prefixed ``callback_``): one row,
one place, one validation path (``talk.services.line_update``).
"""
from __future__ import annotations

import secrets

import phonenumbers
from django.db import models
from django.db.models.functions import Lower
from phonenumber_field.modelfields import PhoneNumberField

from supportcenter.models import LANGUAGE_CHOICES, TenantModel

DEFAULT_CALLBACK_OFFER_SECONDS = 40  # seed comment: callbacks are offered 40 s per agent
DEFAULT_CALLBACK_EXPIRY_MINUTES = 60  # seed
DEFAULT_CALLBACK_KEY = "2"  # seed
DEFAULT_RETRY_INTERVAL_MINUTES = 5
DEFAULT_CALL_OFFER_SECONDS = 30  # SPEC R3


def new_webhook_token() -> str:
    """32 url-safe characters (192 bits): names the line, hence the tenant, in webhook URLs."""
    return secrets.token_urlsafe(24)


class Line(TenantModel):
    class Kind(models.TextChoices):
        PHONE = "phone", "Phone number"
        SIP = "sip", "SIP"
        DIGITAL = "digital", "Digital (browser/app)"

    class CallerIdPolicy(models.TextChoices):
        LINE_NUMBER = "line_number", "This line's number"
        ACCOUNT_NUMBER = "account_number", "Another number of the account"

    # --- General ---------------------------------------------------------------
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # Phone lines: the number callers dial, E.164 in the database.
    number = PhoneNumberField(blank=True, default="")
    # SIP lines: stored normalised as "sip:user@host" (scheme included, host lower-cased).
    sip_address = models.CharField(max_length=255, blank=True, default="")
    # SIP lines dial callbacks from this number; without it callback is unavailable (L4).
    outbound_number = PhoneNumberField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    # Names the line (and so the account) in webhook URLs; never editable through forms/API.
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token, editable=False)
    welcome_greeting = models.ForeignKey(
        "talk.Greeting", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    hold_greeting = models.ForeignKey(
        "talk.Greeting", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    call_offer_seconds = models.PositiveIntegerField(default=DEFAULT_CALL_OFFER_SECONDS)
    # Routing (SPEC R14): calls and callbacks go to online agents of these groups; none
    # named, to any agent. A group in use cannot be deleted (the services refuse, 409).
    default_group = models.ForeignKey(
        "supportcenter.Group", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    groups = models.ManyToManyField("supportcenter.Group", blank=True, related_name="lines")

    # --- Callback (L2) ---------------------------------------------------------
    callback_enabled = models.BooleanField(default=False)
    # Blank: the account's default language (L3).
    callback_language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, blank=True, default="")
    callback_greeting = models.ForeignKey(
        "talk.Greeting", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    callback_confirmation_greeting = models.ForeignKey(
        "talk.Greeting", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # --- Callback, advanced (L7) -----------------------------------------------
    callback_offer_seconds = models.PositiveIntegerField(default=DEFAULT_CALLBACK_OFFER_SECONDS)
    callback_expiry_minutes = models.PositiveIntegerField(default=DEFAULT_CALLBACK_EXPIRY_MINUTES)
    callback_key = models.CharField(max_length=1, default=DEFAULT_CALLBACK_KEY)
    callback_offer_in_greeting = models.BooleanField(default=True)
    callback_offer_while_queued = models.BooleanField(default=True)
    callback_caller_id_policy = models.CharField(
        max_length=16, choices=CallerIdPolicy.choices, default=CallerIdPolicy.LINE_NUMBER
    )
    callback_outbound_caller_id = PhoneNumberField(blank=True, default="")
    callback_retry_attempts = models.PositiveSmallIntegerField(default=0)
    callback_retry_interval_minutes = models.PositiveSmallIntegerField(default=DEFAULT_RETRY_INTERVAL_MINUTES)
    callback_capture_on_first_key = models.BooleanField(default=True)
    # C12 (beyond): tell queued callers their position and an estimated wait. Off by default.
    announce_queue_position = models.BooleanField(default=False)
    # C14 (beyond): after confirming, the caller says their name and reason (recorded). Off by default.
    callback_record_name = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "number"],
                condition=models.Q(kind="phone"),
                name="talk_line_unique_phone_number",
            ),
            # Agents and the dashboard filter tell lines apart by name (issue 13).
            models.UniqueConstraint("account", Lower("name"), name="talk_line_unique_name"),
            models.CheckConstraint(
                condition=~models.Q(kind="digital", callback_enabled=True),
                name="talk_line_no_callback_on_digital",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        """What identifies the line to people: its number, SIP address, or "Digital"."""
        if self.kind == self.Kind.PHONE and self.number:
            return self.number.as_international
        if self.kind == self.Kind.SIP:
            return self.sip_address
        return "Digital"

    @property
    def dial_out_number(self):
        """The line's own number callbacks would be dialled from (L4), or "" if none."""
        if self.kind == self.Kind.PHONE:
            return self.number
        if self.kind == self.Kind.SIP:
            return self.outbound_number
        return ""

    @property
    def is_toll_free(self) -> bool:
        """Whether callbacks would be dialled from a toll-free number (L5)."""
        number = self.dial_out_number
        return bool(number) and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE
