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


class AgentConsoleConsumer(AccountSocketConsumer):
    """The console's socket: the account's hints and the agent's own (offers)."""
