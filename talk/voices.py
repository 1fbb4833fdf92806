"""The voice catalogue: the languages Talk can speak, and with which voices.

Keys are the account/line language codes; values are what Twilio's ``<Say
language=...>`` expects. A language missing here is played in English (SPEC L3).
"""
from __future__ import annotations

from supportcenter.models import LANGUAGE_CHOICES

FALLBACK_LANGUAGE = "en"

VOICE_LANGUAGES: dict[str, str] = {
    "en": "en-US",
    "ja": "ja-JP",
    "de": "de-DE",
    "fr": "fr-FR",
    "es": "es-ES",
}

# Amazon Polly voices through Twilio <Say voice="Polly.X">; the first is the default.
VOICES: dict[str, tuple[str, ...]] = {
    "en": ("Polly.Joanna", "Polly.Matthew"),
    "ja": ("Polly.Mizuki", "Polly.Takumi"),
    "de": ("Polly.Marlene", "Polly.Hans"),
    "fr": ("Polly.Celine", "Polly.Mathieu"),
    "es": ("Polly.Conchita", "Polly.Enrique"),
}

LANGUAGE_NAMES: dict[str, str] = dict(LANGUAGE_CHOICES)


def has_voice(language: str) -> bool:
    return language in VOICE_LANGUAGES


def voice_language(language: str) -> str:
    """The catalogue language to speak ``language`` in: itself, else English."""
    return language if has_voice(language) else FALLBACK_LANGUAGE


def say_language(language: str) -> str:
    """Twilio's ``<Say language>`` code for ``language`` (English when unsupported)."""
    return VOICE_LANGUAGES[voice_language(language)]


def default_voice(language: str) -> str:
    return VOICES[voice_language(language)][0]


def voice_choices() -> list[tuple[str, str]]:
    return [(voice, f"{voice.removeprefix('Polly.')} ({LANGUAGE_NAMES[lang]})") for lang, voices in VOICES.items() for voice in voices]
