"""Encryption at rest for provider secrets (the Twilio auth token).

Fernet (AES-128-CBC + HMAC-SHA256) with keys from ``settings.FIELD_ENCRYPTION_KEY``:
a comma-separated list, the first one encrypts, all of them decrypt, so a key can
be rotated by prepending the new one. Each entry is either a Fernet key or any
long secret, which is stretched to one with SHA-256.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet_key(secret: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(secret.encode())
        if len(raw) == 32:
            return secret.encode()
    except (binascii.Error, ValueError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(b"supportcenter.field-encryption:" + secret.encode()).digest())


@lru_cache(maxsize=4)
def _cipher(keys: str) -> MultiFernet:
    secrets = [k.strip() for k in keys.split(",") if k.strip()]
    if not secrets:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty.")
    return MultiFernet([Fernet(_fernet_key(s)) for s in secrets])


def encrypt(plaintext: str) -> str:
    return _cipher(settings.FIELD_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """The plaintext; raises ``InvalidToken`` when no configured key opens it."""
    return _cipher(settings.FIELD_ENCRYPTION_KEY).decrypt(ciphertext.encode()).decode()


__all__ = ["InvalidToken", "decrypt", "encrypt"]
