"""The one phone-number parser (DESIGN rule 8): everything typed or received becomes
a valid E.164 ``PhoneNumber``, read in the account's region when it has no ``+``.

Talk's keypad and caller-id rules (talk/phone.py) and the line settings build on it.
"""
from __future__ import annotations

import phonenumbers
from phonenumber_field.phonenumber import PhoneNumber


def parse_phone(value: str | phonenumbers.PhoneNumber | None, *, region: str | None) -> PhoneNumber | None:
    """``value`` as a valid number (national numbers read in ``region``), or None."""
    if value is None:
        return None
    if isinstance(value, phonenumbers.PhoneNumber):
        number = PhoneNumber()
        number.merge_from(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            number = PhoneNumber.from_string(text, region=region)
        except phonenumbers.NumberParseException:
            return None
    return number if number.is_valid() else None
