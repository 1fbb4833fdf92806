"""Pages and API routes of this app (included at the site root by supportcenter.urls)."""
from __future__ import annotations

from django.urls import path

from talk import admin_views, api, api_callbacks

app_name = "talk"

admin_center = [
    path("admin-center/talk/lines/", admin_views.lines, name="lines"),
    path("admin-center/talk/lines/new/", admin_views.line_new, name="line_new"),
    path("admin-center/talk/lines/<int:line_id>/", admin_views.line_detail, name="line_detail"),
    path("admin-center/talk/lines/<int:line_id>/callback/", admin_views.line_callback, name="line_callback"),
    path(
        "admin-center/talk/lines/<int:line_id>/regenerate-token/",
        admin_views.line_regenerate_token,
        name="line_regenerate_token",
    ),
    path("admin-center/talk/greetings/", admin_views.greetings, name="greetings"),
    path("admin-center/talk/greetings/new/", admin_views.greeting_new, name="greeting_new"),
    path("admin-center/talk/greetings/<int:greeting_id>/", admin_views.greeting_detail, name="greeting_detail"),
    path(
        "admin-center/talk/greetings/<int:greeting_id>/delete/", admin_views.greeting_delete, name="greeting_delete"
    ),
    path("admin-center/talk/telephony/", admin_views.telephony_settings, name="telephony_settings"),
]

api_v2 = [
    path("api/v2/channels/voice/phone_numbers.json", api.PhoneNumberListView.as_view(), name="api_phone_numbers"),
    path(
        "api/v2/channels/voice/phone_numbers/<int:line_id>.json",
        api.PhoneNumberDetailView.as_view(),
        name="api_phone_number",
    ),
    path("api/v2/channels/voice/greetings.json", api.GreetingListView.as_view(), name="api_greetings"),
    path("api/v2/channels/voice/greetings/<int:greeting_id>.json", api.GreetingDetailView.as_view(), name="api_greeting"),
    path("api/v2/channels/voice/settings.json", api.VoiceSettingsView.as_view(), name="api_voice_settings"),
    path(
        "api/v2/channels/voice/callback_requests.json",
        api_callbacks.CallbackRequestListView.as_view(),
        name="api_callback_requests",
    ),
    path(
        "api/v2/channels/voice/callback_requests/<int:request_id>.json",
        api_callbacks.CallbackRequestDetailView.as_view(),
        name="api_callback_request",
    ),
]

# Telephony webhooks (/talk/webhooks/<token>/voice/ and /status/) are added by talk/webhooks.
urlpatterns: list = admin_center + api_v2
