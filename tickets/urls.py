"""Pages and API routes of this app (included at the site root by supportcenter.urls)."""
from __future__ import annotations

from django.urls import path

from tickets import api, search_api, views

app_name = "tickets"

urlpatterns = [
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/<int:number>/", views.ticket_detail, name="detail"),
    path("api/v2/tickets.json", api.TicketListView.as_view(), name="api_list"),
    path("api/v2/tickets/<int:number>.json", api.TicketDetailView.as_view(), name="api_detail"),
    path("api/v2/search.json", search_api.SearchView.as_view(), name="api_search"),
    path("api/v2/tickets/<int:number>/comments.json", api.TicketCommentListView.as_view(), name="api_comments"),
]
