"""The one phone-number parser of Talk (SPEC C4, C5).

Numbers are stored and compared in E.164. Callers type numbers on a keypad, so
the input is digits only; the caller id comes from the provider, possibly as a
SIP URI or as one of the placeholders carriers use for a withheld number.
"""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

from supportcenter.phone import parse_phone

# What carriers and Twilio send in From when the caller withheld the number:
# words, and the keypad spellings of ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED.
WITHHELD_CALLER_IDS = frozenset(
    {"", "anonymous", "restricted", "unknown", "unavailable", "private", "blocked",
     "+266696687", "+7378742833", "+86282452253", "+2562533", "266696687", "7378742833"}
)

# Numbers a callback must never dial: it would cost the account, or reach nobody.
_REFUSED_TYPES = frozenset({PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST})

_SIP_USER = re.compile(r"^sips?:([^@;>]+)@", re.IGNORECASE)


def to_e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _valid(candidate: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    number = parse_phone(candidate, region=region)
    if number is None or phonenumbers.number_type(number) in _REFUSED_TYPES:
        return None
    return number


def parse_keypad_number(digits: str, region: str) -> str | None:
    """Digits typed by a caller (C4) → E.164, or None when no valid number.

    Tried in order: a number of the account's region (national form, or its own
    international prefix), then ``00``/``011`` read as ``+``, then the digits as
    country code + subscriber number (E.164 without the plus).
    """
    digits = digits.strip().rstrip("#")
    if not digits.isdigit() or not 4 <= len(digits) <= 20:
        return None
    candidates = [(digits, region)]
    for prefix in ("00", "011"):
        if digits.startswith(prefix):
            candidates.append(("+" + digits[len(prefix):], None))
    candidates.append(("+" + digits, None))
    for candidate, candidate_region in candidates:
        number = _valid(candidate, candidate_region)
        if number is not None:
            return to_e164(number)
    return None


def is_withheld(caller_id: str) -> bool:
    return caller_id.strip().lower() in WITHHELD_CALLER_IDS


def parse_caller_id(caller_id: str, region: str) -> str | None:
    """The provider's ``From`` (a number or a SIP URI) → E.164, or None (C5).

    For a SIP URI the number is the user part of the ``From`` URI (seed). A
    withheld id, or a user part that is not a dialable number, answers None.
    """
    value = caller_id.strip()
    match = _SIP_USER.match(value)
    if match:
        value = match.group(1)
    if is_withheld(value):
        return None
    value = re.sub(r"[\s().-]", "", value)
    if not re.fullmatch(r"\+?\d{4,20}", value):
        return None
    number = _valid(value, region)
    return to_e164(number) if number is not None else None


def is_sip_uri(value: str) -> bool:
    return bool(_SIP_USER.match(value.strip()))


def spoken_digits(e164: str) -> list[str]:
    """``+14155550100`` → ``["+", "1", "4", ...]``: read back one digit at a time (C4)."""
    return [ch for ch in e164 if ch.isdigit() or ch == "+"]
