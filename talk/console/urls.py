"""Routes of the agent console and the agents' API (included at the root by supportcenter.urls)."""
from __future__ import annotations

from django.urls import path

from talk import api_agents
from talk.console import views

app_name = "talk_console"

urlpatterns = [
    path("talk/console/", views.page, name="page"),
    path("talk/console/state.json", views.ConsoleStateView.as_view(), name="state"),
    path("talk/console/device.json", views.DeviceView.as_view(), name="device"),
    path(
        "api/v2/channels/voice/availabilities/<int:user_id>.json",
        api_agents.AvailabilityView.as_view(),
        name="api_availability",
    ),
    path("api/v2/channels/voice/offers/current.json", api_agents.CurrentOfferView.as_view(), name="api_offer_current"),
    path(
        "api/v2/channels/voice/offers/<int:offer_id>/accept.json",
        api_agents.OfferAcceptView.as_view(),
        name="api_offer_accept",
    ),
    path(
        "api/v2/channels/voice/offers/<int:offer_id>/decline.json",
        api_agents.OfferDeclineView.as_view(),
        name="api_offer_decline",
    ),
]
