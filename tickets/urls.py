"""Pages and API routes of this app (included at the site root by supportcenter.urls)."""
from __future__ import annotations

from django.urls import path

from tickets import api, api_bulk, search_api, users_api, views

app_name = "tickets"

urlpatterns = [
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/<int:number>/", views.ticket_detail, name="detail"),
    path("api/v2/tickets.json", api.TicketListView.as_view(), name="api_list"),
    path("api/v2/tickets/show_many.json", api_bulk.TicketShowManyView.as_view(), name="api_show_many"),
    path("api/v2/tickets/update_many.json", api_bulk.TicketUpdateManyView.as_view(), name="api_update_many"),
    path("api/v2/tickets/<int:number>.json", api.TicketDetailView.as_view(), name="api_detail"),
    path("api/v2/search.json", search_api.SearchView.as_view(), name="api_search"),
    path("api/v2/tickets/<int:number>/comments.json", api.TicketCommentListView.as_view(), name="api_comments"),
    path("api/v2/tickets/<int:number>/audits.json", api.TicketAuditListView.as_view(), name="api_audits"),
    path("api/v2/users.json", users_api.UserListView.as_view(), name="api_users"),
    path("api/v2/users/show_many.json", users_api.UserShowManyView.as_view(), name="api_users_show_many"),
    path("api/v2/users/<int:user_id>.json", users_api.UserDetailView.as_view(), name="api_user"),
    path("api/v2/job_statuses/<str:job_id>.json", api_bulk.JobStatusView.as_view(), name="api_job_status"),
]
