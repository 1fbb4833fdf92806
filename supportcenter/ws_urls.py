"""Every WebSocket route of the product, gathered in one list for the ASGI router."""
from __future__ import annotations

from django.urls import path

from supportcenter.consumers import AccountSocketConsumer

websocket_urlpatterns = [
    path("ws/events/", AccountSocketConsumer.as_asgi()),
]
