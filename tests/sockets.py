"""Opening WebSockets as a browser would: Host, Origin and the session cookie."""
from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.test import Client

from supportcenter.asgi import application


def session_cookie(user, host: str) -> str:
    """A signed-in session of ``user`` on ``host`` (sync: wrap in database_sync_to_async)."""
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client.cookies["sessionid"].value


def socket(path: str, host: str, origin: str | None, session: str | None) -> WebsocketCommunicator:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if session is not None:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)
