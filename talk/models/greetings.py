"""Greetings: what a caller hears (SPEC L6).

System defaults are materialised per account from ``talk.greetings_catalog``
(``is_system=True``, read-only); the account's own are text-to-speech (text,
language, voice) or an https audio URL.
"""
from __future__ import annotations

from django.db import models

from supportcenter.models import TenantModel
from talk import greetings_catalog as catalog
from talk.voices import LANGUAGE_NAMES, VOICE_LANGUAGES, default_voice

# A greeting is spoken, so its language must be one the voice catalogue has.
VOICE_LANGUAGE_CHOICES = [(code, LANGUAGE_NAMES[code]) for code in VOICE_LANGUAGES]


class Greeting(TenantModel):
    class Category(models.TextChoices):
        WELCOME = catalog.WELCOME, "Welcome"
        HOLD = catalog.HOLD, "Hold"
        CALLBACK = catalog.CALLBACK, "Callback message"
        CALLBACK_CONFIRMATION = catalog.CALLBACK_CONFIRMATION, "Callback confirmation message"
        VOICEMAIL = catalog.VOICEMAIL, "Voicemail"
        CALLBACK_MENU = catalog.CALLBACK_MENU, "Callback menu"
        NUMBER_ENTRY = catalog.NUMBER_ENTRY, "Number entry"
        NUMBER_READBACK = catalog.NUMBER_READBACK, "Number read-back"
        NUMBER_INVALID = catalog.NUMBER_INVALID, "Invalid number"
        REQUEST_CONFIRMED = catalog.REQUEST_CONFIRMED, "Callback request confirmed"
        ALREADY_WAITING = catalog.ALREADY_WAITING, "Callback already requested"
        UNAVAILABLE = catalog.UNAVAILABLE, "Unavailable / apology"

    name = models.CharField(max_length=120)
    category = models.CharField(max_length=32, choices=Category.choices)
    is_system = models.BooleanField(default=False, editable=False)
    # "<category>:<language>" for system greetings, "" for the account's own.
    system_key = models.CharField(max_length=64, blank=True, editable=False)
    language = models.CharField(max_length=8, choices=VOICE_LANGUAGE_CHOICES, default="en")
    voice = models.CharField(max_length=40, blank=True, help_text="Blank: the language's default voice.")
    text = models.TextField(blank=True)
    audio_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "-is_system", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "system_key"],
                condition=models.Q(is_system=True),
                name="talk_greeting_unique_system_key",
            ),
        ]
        indexes = [models.Index(fields=["account", "category"], name="talk_greeting_category")]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_voice(self) -> str:
        return self.voice or default_voice(self.language)

    @property
    def kind(self) -> str:
        return "audio" if self.audio_url else "tts"
