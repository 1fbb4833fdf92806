"""The agent console's socket, ``/ws/agent/`` (SPEC R13).

The base consumer checks the tenant (host), the Origin and the membership, and
joins the account's group and the member's own group; pushes sent with
supportcenter.realtime arrive as ``{"type": event, "payload": ...}``. This socket
only carries hints: the page reloads its state over HTTP after each one, and
actions go over HTTP to the API, which re-checks them. It keeps no state of its
own beyond the group names, so any process can serve any socket (Redis layer, O2).
"""
from __future__ import annotations

from supportcenter.consumers import AccountSocketConsumer

ACTIONS_OVER_HTTP_MESSAGE = "The socket only carries hints; send actions to the API over HTTP."


class AgentConsoleConsumer(AccountSocketConsumer):
    async def receive_json(self, content, **kwargs) -> None:
        # A keep-alive for proxies that close idle sockets; nothing else is accepted here.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
            return
        await self.send_json({"type": "error", "payload": {"description": ACTIONS_OVER_HTTP_MESSAGE}})
