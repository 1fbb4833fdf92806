"""Tests that need PostgreSQL (real row locks, deadlocks, LISTEN/NOTIFY). SQLite runs one
writer at a time, so there they are skipped; with CI=true the run refuses anything but
PostgreSQL (tests/conftest.py), so CI never skips them."""
from __future__ import annotations

import pytest
from django.conf import settings


def needs_postgresql(why: str = "SQLite serialises all writers, so no real race can happen") -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason=f"needs PostgreSQL (set DATABASE_URL): {why}",
    )
