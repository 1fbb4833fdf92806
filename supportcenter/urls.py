from __future__ import annotations

from csp.decorators import csp_update
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from supportcenter import api, views

# users/{id}.json, users.json and users/show_many.json are the tickets app's: the
# reference's users include the requesters, which live there (tickets.users_api).
api_v2 = [
    path("users/me.json", api.MeView.as_view(), name="api_me"),
    path("users/search.json", api.UserSearchView.as_view(), name="api_users_search"),
    path("groups.json", api.GroupListView.as_view(), name="api_groups"),
    path("groups/<int:group_id>.json", api.GroupDetailView.as_view(), name="api_group"),
    path("groups/<int:group_id>/memberships.json", api.GroupMembersListView.as_view(), name="api_group_memberships_of"),
    path("users/<int:user_id>/group_memberships.json", api.UserGroupMembershipListView.as_view(),
         name="api_user_group_memberships"),
    path("group_memberships.json", api.GroupMembershipListView.as_view(), name="api_group_memberships"),
    path(
        "group_memberships/<int:membership_id>.json",
        api.GroupMembershipDetailView.as_view(),
        name="api_group_membership",
    ),
]

urlpatterns = [
    path("", views.root, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("admin-center/", views.admin_center, name="admin_center"),
    path("admin-center/members/", views.admin_members, name="admin_members"),
    path("admin-center/groups/", views.admin_groups, name="admin_groups"),
    path("admin-center/groups/<int:group_id>/", views.admin_group, name="admin_group"),
    path("admin-center/groups/<int:group_id>/delete/", views.admin_group_delete, name="admin_group_delete"),
    path("admin-center/groups/<int:group_id>/members/", views.admin_group_member_add, name="admin_group_member_add"),
    path(
        "admin-center/groups/<int:group_id>/members/<int:membership_id>/remove/",
        views.admin_group_member_remove,
        name="admin_group_member_remove",
    ),
    path("admin-center/api-tokens/", views.api_tokens, name="api_tokens"),
    path("admin-center/api-tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("api/v2/", include(api_v2)),
    path("", include("tickets.urls")),
    path("", include("talk.urls")),
    path("", include("callsim.urls")),
    path("", include("dashboards.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view serves Swagger UI's start-up script as a file of its own (?script), and our
    # template drops the page's inline style: the content security policy allows neither inline.
    # Swagger UI's stylesheet draws its icons from data: URLs, on this page only.
    path(
        "api/docs/",
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema", template_name="supportcenter/api_docs.html")
        ),
        name="api_docs",
    ),
    path("favicon.ico", views.favicon, name="favicon"),
]

handler403 = "supportcenter.views.error_403"
handler404 = "supportcenter.views.error_404"
handler500 = "supportcenter.views.error_500"
