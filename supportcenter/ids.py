"""Opaque public ids.

Ids shown in URLs and the API are random 53-bit integers: Zendesk clients expect
integer ids (and JavaScript clients need them below 2**53), and random ones reveal
neither how many rows another account has nor which id to guess next (SPEC T3).
"""
from __future__ import annotations

import secrets

from django.db import models

_LOW = 10**9
_HIGH = 2**53 - 1


def random_id() -> int:
    return _LOW + secrets.randbelow(_HIGH - _LOW)


class RandomIdField(models.BigIntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("default", random_id)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "supportcenter.ids.RandomIdField", args, kwargs
