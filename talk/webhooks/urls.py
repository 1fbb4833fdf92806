"""Webhook routes. Their paths are what admins paste into the provider's console
(voice and status, see talk.selectors.lines) and what our TwiML points at."""
from __future__ import annotations

from django.urls import path

from talk.webhooks import callback_views, views

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
    path("talk/webhooks/<str:token>/callback/agent/", callback_views.cb_agent, name="cb_agent"),
    path("talk/webhooks/<str:token>/callback/dial-done/", callback_views.cb_dial_done, name="cb_dial_done"),
    path("talk/webhooks/<str:token>/callback/agent-status/", callback_views.cb_agent_status, name="cb_agent_status"),
    path("talk/webhooks/<str:token>/connect/", callback_views.connect_agent, name="connect_agent"),
]
