"""Writes of greetings (SPEC L6): the account's own, and the system defaults' sync."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import ProtectedError

from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from talk import greetings_catalog
from talk.models import Greeting
from talk.selectors.greetings import lines_using_greeting
from talk.voices import LANGUAGE_NAMES, VOICE_LANGUAGES, VOICES

GREETING_SYSTEM_READ_ONLY_MESSAGE = "System greetings cannot be changed or deleted; create your own greeting instead."
GREETING_NAME_REQUIRED_MESSAGE = "Give the greeting a name."
NAME_LENGTH = 120
GREETING_NAME_TOO_LONG_MESSAGE = f"Keep the greeting's name to {NAME_LENGTH} characters."
GREETING_CATEGORY_INVALID_MESSAGE = "Choose a category from the list."
GREETING_LANGUAGE_MESSAGE = "Talk has no voice for this language; choose one of: " + ", ".join(
    LANGUAGE_NAMES[code] for code in VOICE_LANGUAGES
) + "."
GREETING_VOICE_MESSAGE = "Choose a voice of the greeting's language, or none for its default voice."
GREETING_CONTENT_REQUIRED_MESSAGE = "Write the text to speak, or give the URL of an audio file."
GREETING_CONTENT_BOTH_MESSAGE = "Give either a text or an audio URL, not both."
GREETING_AUDIO_URL_MESSAGE = "The audio URL must be a complete https:// address."
GREETING_TEXT_TOO_LONG_MESSAGE = "The text can be at most 4000 characters."
GREETING_IN_USE_MESSAGE = "The line “{line}” uses this greeting; choose another greeting there first."

VOICE_LENGTH = 40
MAX_AUDIO_URL = 500
MAX_TEXT = 4000  # Twilio's <Say> takes up to 4096 characters
_FIELDS = frozenset({"name", "category", "language", "voice", "text", "audio_url"})


def system_greetings_sync(*, account: Account) -> int:
    """Create or refresh the account's system greetings from the catalogue; idempotent.

    Returns how many rows were created or changed.
    """
    existing = {g.system_key: g for g in Greeting.objects.filter(account=account, is_system=True)}
    create, changed = [], 0
    for row in greetings_catalog.system_greetings():
        greeting = existing.get(row["system_key"])
        if greeting is None:
            create.append(Greeting(account=account, is_system=True, **row))
            continue
        if (greeting.name, greeting.text, greeting.category, greeting.language) != (
            row["name"], row["text"], row["category"], row["language"]
        ):
            for field in ("name", "text", "category", "language"):
                setattr(greeting, field, row[field])
            greeting.save(update_fields=["name", "text", "category", "language", "updated_at"])
            changed += 1
    Greeting.objects.bulk_create(create)
    return len(create) + changed


def _check_read_only(greeting: Greeting) -> None:
    if greeting.is_system:
        raise ServiceError(GREETING_SYSTEM_READ_ONLY_MESSAGE, field="base", code="read_only")


def _apply(greeting: Greeting, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        if field not in _FIELDS:  # pragma: no cover - a programming error
            raise TypeError(f"Unknown greeting field {field!r}")
        text = "" if value is None else str(value).strip()
        if field == "name":
            if not text:
                raise ServiceError(GREETING_NAME_REQUIRED_MESSAGE, field="name")
            if len(text) > NAME_LENGTH:  # never cut silently (issue 14)
                raise ServiceError(GREETING_NAME_TOO_LONG_MESSAGE, field="name", code="too_long")
            greeting.name = text
        elif field == "category":
            if text not in Greeting.Category.values:
                raise ServiceError(GREETING_CATEGORY_INVALID_MESSAGE, field="category")
            greeting.category = text
        elif field == "language":
            if text not in VOICE_LANGUAGES:
                raise ServiceError(GREETING_LANGUAGE_MESSAGE, field="language")
            greeting.language = text
        elif field == "voice":
            if len(text) > VOICE_LENGTH:
                raise ServiceError(GREETING_VOICE_MESSAGE, field="voice")
            greeting.voice = text
        elif field == "text":
            if len(text) > MAX_TEXT:
                raise ServiceError(GREETING_TEXT_TOO_LONG_MESSAGE, field="text")
            greeting.text = text
        elif field == "audio_url":
            if text:
                parts = urlsplit(text)
                if parts.scheme != "https" or not parts.hostname or " " in text or len(text) > MAX_AUDIO_URL:
                    raise ServiceError(GREETING_AUDIO_URL_MESSAGE, field="audio_url")
            greeting.audio_url = text


def _validate(greeting: Greeting) -> None:
    if greeting.voice and greeting.voice not in VOICES[greeting.language]:
        raise ServiceError(GREETING_VOICE_MESSAGE, field="voice")
    if greeting.text and greeting.audio_url:
        raise ServiceError(GREETING_CONTENT_BOTH_MESSAGE, field="audio_url")
    if not greeting.text and not greeting.audio_url:
        raise ServiceError(GREETING_CONTENT_REQUIRED_MESSAGE, field="text")


@transaction.atomic
def greeting_create(
    *, account: Account, actor: User | None, name: str, category: str, language: str = "en", **changes: Any
) -> Greeting:
    greeting = Greeting(account=account, is_system=False)
    _apply(greeting, {"name": name, "category": category, "language": language, **changes})
    _validate(greeting)
    greeting.save()
    audit_record(account=account, actor=actor, action="greeting.create", target=greeting, category=greeting.category)
    return greeting


@transaction.atomic
def greeting_update(*, account: Account, greeting: Greeting, actor: User | None, **changes: Any) -> Greeting:
    target = Greeting.objects.select_for_update().get(account=account, pk=greeting.pk)
    _check_read_only(target)
    old_category = target.category
    _apply(target, changes)
    _validate(target)
    if target.category != old_category:
        # A line's slot takes one category; moving its greeting would leave it wrong.
        in_use = lines_using_greeting(account=account, greeting=target).first()
        if in_use is not None:
            raise ServiceError(GREETING_IN_USE_MESSAGE.format(line=in_use.name), field="category", code="in_use")
    target.save()
    audit_record(account=account, actor=actor, action="greeting.update", target=target, fields=sorted(changes))
    return target


@transaction.atomic
def greeting_delete(*, account: Account, greeting: Greeting, actor: User | None) -> None:
    _check_read_only(greeting)
    in_use = lines_using_greeting(account=account, greeting=greeting).first()
    if in_use is not None:
        raise ServiceError(GREETING_IN_USE_MESSAGE.format(line=in_use.name), field="base", code="in_use")
    audit_record(account=account, actor=actor, action="greeting.delete", target=greeting, name=greeting.name)
    try:
        with transaction.atomic():  # a line may have picked it since the check above
            Greeting.objects.filter(account=account, pk=greeting.pk).delete()
    except ProtectedError as error:
        line = next(iter(error.protected_objects))
        raise ServiceError(GREETING_IN_USE_MESSAGE.format(line=line.name), field="base", code="in_use") from None
