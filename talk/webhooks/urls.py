"""Webhook routes. Their paths are what admins paste into the provider's console
(voice and status, see talk.selectors.lines) and what our TwiML points at."""
from __future__ import annotations

from django.urls import path

from talk.webhooks import views

app_name = "talk_webhooks"

urlpatterns = [
    path("talk/webhooks/<str:token>/voice/", views.voice, name="voice"),
    path("talk/webhooks/<str:token>/status/", views.status, name="status"),
    path("talk/webhooks/<str:token>/greeting-key/", views.greeting_key, name="greeting_key"),
    path("talk/webhooks/<str:token>/wait/", views.wait, name="wait"),
    path("talk/webhooks/<str:token>/hold-key/", views.hold_key, name="hold_key"),
    path("talk/webhooks/<str:token>/menu/", views.menu, name="menu"),
    path("talk/webhooks/<str:token>/number/", views.number, name="number"),
    path("talk/webhooks/<str:token>/confirm/", views.confirm, name="confirm"),
    path("talk/webhooks/<str:token>/queue-exit/", views.queue_exit, name="queue_exit"),
]
