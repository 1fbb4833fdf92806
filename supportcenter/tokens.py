"""API tokens: generation, hashing, and the Zendesk ``email/token:TOKEN`` credential."""
from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

TOKEN_BYTES = 30  # 40 url-safe characters


def generate_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(raw: str) -> str:
    # Tokens carry 240 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


def parse_basic_token(header: str) -> tuple[str, str] | None:
    """``Basic base64(email/token:TOKEN)`` → (email, TOKEN); anything else → None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, sep, raw_token = decoded.partition(":")
    if not sep or not username.endswith("/token") or not raw_token:
        return None
    email = username[: -len("/token")].strip().lower()
    return (email, raw_token) if email else None
