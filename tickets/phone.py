"""Reading a requester's phone number, in the account's region (SPEC T1, K1).

Talk has its own keypad parser (talk/phone.py) and hands tickets E.164 strings;
this one reads what agents type and what API clients send.
"""
from __future__ import annotations

import phonenumbers
from phonenumber_field.phonenumber import PhoneNumber


def parse_phone(value: str | PhoneNumber | None, *, region: str) -> PhoneNumber | None:
    """``value`` as a valid number (national numbers read in ``region``), or None."""
    if value is None:
        return None
    if isinstance(value, PhoneNumber):
        number = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            number = PhoneNumber.from_string(text, region=region)
        except phonenumbers.NumberParseException:
            return None
    return number if number.is_valid() else None
