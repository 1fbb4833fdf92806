"""WebSocket edge: tenant and member checks for every socket (SPEC R13)."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_scopes import scope
from redis.exceptions import RedisError

from supportcenter.models import Account, Membership
from supportcenter.realtime import account_group, user_group
from supportcenter.selectors import active_memberships
from supportcenter.tenancy import account_for_host

logger = logging.getLogger(__name__)


def _header(scope_: dict, name: bytes) -> str:
    for key, value in scope_.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


class TenantWebSocketMiddleware:
    """Puts the host's account (or None) into the scope, as TenantMiddleware does for HTTP."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope_, receive, send):
        if scope_["type"] == "websocket":
            _names, account = await database_sync_to_async(account_for_host)(_header(scope_, b"host"))
            scope_ = dict(scope_, account=account)
        return await self.app(scope_, receive, send)


@database_sync_to_async
def _membership(account: Account, user) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    with scope(account=account):
        return active_memberships(account=account).filter(user=user).first()


CLIENT_MESSAGES = {"ping": "pong"}  # what a client may send → the type of the answer
ACTIONS_OVER_HTTP_MESSAGE = "The socket only carries hints; send actions to the API over HTTP."


class AccountSocketConsumer(AsyncJsonWebsocketConsumer):
    """Base of every socket: only a member of the host's account, from a page of that host.

    The Origin must name the same host as the socket: a page of another account
    (or another site) cannot open a socket with this browser's session cookie.
    """

    membership: Membership | None = None

    async def __call__(self, scope_, receive, send):
        # The channel layer (Redis) failing under an open socket: close it cleanly (the page
        # reconnects and reloads) instead of crashing the consumer with a traceback.
        try:
            await super().__call__(scope_, receive, send)
        except (RedisError, OSError) as error:
            logger.warning("socket closed: the channel layer failed (%s)", error)
            try:
                await send({"type": "websocket.close", "code": 4503})
            except Exception:  # noqa: BLE001 - the client may be gone too; nothing left to tell
                logger.debug("the socket was already gone")

    async def connect(self) -> None:
        account = self.scope.get("account")
        origin = _header(self.scope, b"origin")
        if account is None or not origin or urlsplit(origin).netloc != _header(self.scope, b"host"):
            await self.close(code=4403)
            return
        self.membership = await _membership(account, self.scope.get("user"))
        if self.membership is None:
            await self.close(code=4401)
            return
        groups = [account_group(account.pk), user_group(account.pk, self.membership.user_id)]
        try:
            for group in groups:
                await self.channel_layer.group_add(group, self.channel_name)
        except Exception as error:  # the channel layer (Redis) is down: refuse the socket cleanly; the page retries
            logger.warning("socket refused: the channel layer is unavailable (%s)", error)
            await self.close(code=4503)
            return
        self.groups_joined = groups
        await self.accept()
        await self.send_json({"type": "hello", "account": account.subdomain, "role": self.membership.role})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as error:  # the channel layer is down: its group membership expires by itself
                logger.warning("leaving %s failed: the channel layer is unavailable (%s)", group, error)
                return

    async def receive_json(self, content, **kwargs) -> None:
        """A socket carries hints; the only message a client sends is ``ping`` (a keep-alive for
        proxies that close idle sockets). Actions go to the API over HTTP, which re-checks them."""
        kind = content.get("type") if isinstance(content, dict) else None
        if kind in CLIENT_MESSAGES:
            await self.send_json({"type": CLIENT_MESSAGES[kind]})
            return
        await self.send_json({"type": "error", "payload": {"description": ACTIONS_OVER_HTTP_MESSAGE}})

    async def push(self, message: dict) -> None:
        await self.send_json({"type": message["event"], "payload": message["payload"]})
