"""Every WebSocket route of the product, gathered in one list for the ASGI router."""
from __future__ import annotations

from django.urls import path

from supportcenter.consumers import AccountSocketConsumer
from talk.console.consumers import AgentConsoleConsumer

websocket_urlpatterns = [
    path("ws/events/", AccountSocketConsumer.as_asgi()),
    path("ws/agent/", AgentConsoleConsumer.as_asgi()),
]
