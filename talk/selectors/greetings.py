"""Reads of greetings (SPEC L6)."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from supportcenter.models import Account
from talk import greetings_catalog
from talk.models import Greeting, Line
from talk.voices import FALLBACK_LANGUAGE, voice_language


def greeting_list(*, account: Account, category: str | None = None) -> QuerySet[Greeting]:
    """System defaults and the account's own, by category (system first)."""
    greetings = Greeting.objects.filter(account=account)
    if category:
        greetings = greetings.filter(category=category)
    return greetings.order_by("category", "-is_system", "language", "name")


def access_greeting(*, account: Account, greeting_id: int) -> Greeting | None:
    """The greeting ``greeting_id`` of ``account`` (system or own), or None.

    Security contract: returns only a greeting of ``account``; another account's
    id answers None, exactly as a missing id does (SPEC T3).
    """
    return Greeting.objects.filter(account=account, pk=greeting_id).first()


def prompt_greeting(*, account: Account, category: str, language: str) -> Greeting | None:
    """The system greeting of ``category`` in ``language``, else in English (SPEC L3)."""
    wanted = voice_language(language)
    keys = [greetings_catalog.system_key(category, wanted), greetings_catalog.system_key(category, FALLBACK_LANGUAGE)]
    found = {g.system_key: g for g in Greeting.objects.filter(account=account, is_system=True, system_key__in=keys)}
    return found.get(keys[0]) or found.get(keys[1])


GREETING_SLOTS = ("welcome_greeting", "hold_greeting", "callback_greeting", "callback_confirmation_greeting")


def lines_using_greeting(*, account: Account, greeting: Greeting) -> QuerySet:
    """The lines of ``account`` that use ``greeting`` in any of their greeting slots."""
    query = Q()
    for slot in GREETING_SLOTS:
        query |= Q(**{slot: greeting})
    return Line.objects.filter(query, account=account).order_by("name")


def greeting_usage(*, account: Account, greeting: Greeting) -> list:
    """The lines that use ``greeting`` in any slot."""
    return list(lines_using_greeting(account=account, greeting=greeting))
