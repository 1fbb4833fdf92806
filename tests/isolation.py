"""The reusable isolation check (SPEC T3, rule 5).

For a route that serves an acme object, globex's user must get exactly what a
missing object gets: same status, same body. Use it on every route:

    assert_isolated(charlie_api, f"/api/v2/tickets/{acme_ticket.pk}.json",
                    f"/api/v2/tickets/{missing_id()}.json")
"""
from __future__ import annotations

import json
import re

from django.test import Client

from supportcenter.ids import random_id


_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _body(response) -> bytes:
    # A page's CSRF token is masked anew on every render; nothing else may differ.
    return _CSRF.sub(b'name="csrfmiddlewaretoken" value=""', response.content)


def missing_id() -> int:
    """An id no row has (random ids of 53 bits: a collision is not a practical worry)."""
    return random_id()


def assert_isolated(
    client: Client,
    foreign_url: str,
    missing_url: str,
    *,
    method: str = "get",
    data: dict | None = None,
    expected_status: int = 404,
) -> None:
    def call(url: str):
        if data is None:
            return getattr(client, method)(url)
        return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")

    foreign = call(foreign_url)
    missing = call(missing_url)
    assert foreign.status_code == expected_status, (foreign.status_code, foreign.content[:300])
    assert missing.status_code == foreign.status_code
    assert _body(foreign) == _body(missing)
