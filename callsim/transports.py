"""How the simulator reaches the product: real HTTP, as the provider does."""
from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlencode


class HttpTransport:
    """Form-encoded POSTs over HTTP to a running server (the demo, or a test server)."""

    def __init__(self, timeout: float = 15.0):
        self.timeout = timeout

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        data = urlencode(params).encode() if params else None
        request = urllib.request.Request(
            url,
            data=data if data is not None else (b"" if "?" not in url else None),
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded",
                     "User-Agent": "TwilioProxy/1.1 (Support Center simulator)"},
            method="POST" if data is not None or "?" not in url else "GET",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")
