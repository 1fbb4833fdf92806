"""Pages and API routes of this app (included at the site root by supportcenter.urls)."""
from __future__ import annotations

from django.urls import path

from dashboards import api, views

app_name = "dashboards"

stats = "api/v2/channels/voice/stats"

urlpatterns: list = [
    path("dashboard/talk/", views.talk_dashboard, name="talk"),
    path(f"{stats}/current_queue_activity.json", api.CurrentQueueActivityView.as_view(), name="api_current_queue_activity"),
    path(f"{stats}/account_overview.json", api.AccountOverviewView.as_view(), name="api_account_overview"),
    path(f"{stats}/agents_activity.json", api.AgentsActivityView.as_view(), name="api_agents_activity"),
    path(f"{stats}/agents_overview.json", api.AgentsOverviewView.as_view(), name="api_agents_overview"),
    path(f"{stats}/incremental/calls.json", api.IncrementalCallsView.as_view(), name="api_incremental_calls"),
    path(f"{stats}/incremental/legs.json", api.IncrementalLegsView.as_view(), name="api_incremental_legs"),
]
