"""Every route of Talk, one namespace (``talk:``), included at the site root by
supportcenter.urls: the admin center's pages, the agent console, the REST API (one module
per resource in talk/api/) and the provider's webhooks."""
from __future__ import annotations

from django.urls import path

from talk import admin_views, recording_views, supervision_views as supervision
from talk.api import availabilities, callback_requests, greetings, offers, phone_numbers, voice_settings
from talk.console import views as console
from talk.webhooks import callback_views, views as webhooks

app_name = "talk"

ADMIN = "admin-center/talk"
admin_center = [
    path(f"{ADMIN}/lines/", admin_views.lines, name="lines"),
    path(f"{ADMIN}/lines/new/", admin_views.line_new, name="line_new"),
    path(f"{ADMIN}/lines/<int:line_id>/", admin_views.line_detail, name="line_detail"),
    path(f"{ADMIN}/lines/<int:line_id>/callback/", admin_views.line_callback, name="line_callback"),
    path(f"{ADMIN}/lines/<int:line_id>/regenerate-token/", admin_views.line_regenerate_token,
         name="line_regenerate_token"),
    path(f"{ADMIN}/greetings/", admin_views.greetings, name="greetings"),
    path(f"{ADMIN}/greetings/new/", admin_views.greeting_new, name="greeting_new"),
    path(f"{ADMIN}/greetings/<int:greeting_id>/", admin_views.greeting_detail, name="greeting_detail"),
    path(f"{ADMIN}/greetings/<int:greeting_id>/delete/", admin_views.greeting_delete, name="greeting_delete"),
    path(f"{ADMIN}/telephony/", admin_views.telephony_settings, name="telephony_settings"),
]

agent_console = [
    path("talk/console/", console.page, name="console"),
    path("talk/console/state.json", console.ConsoleStateView.as_view(), name="console_state"),
    path("talk/console/device.json", console.DeviceView.as_view(), name="console_device"),
    path("talk/console/call-later.json", console.CallLaterView.as_view(), name="console_call_later"),
]

# The supervisors' live queue (SPEC S1) and its actions on a callback (S2).
supervisors = [
    path("talk/queue/", supervision.queue, name="queue"),
    path("talk/queue/rows.json", supervision.queue_table, name="queue_rows"),
    path("talk/queue/callbacks/<int:request_id>/cancel/", supervision.callback_cancel, name="queue_cancel"),
    path("talk/queue/callbacks/<int:request_id>/assign/", supervision.callback_assign, name="queue_assign"),
    path("talk/queue/callbacks/<int:request_id>/reschedule/", supervision.callback_reschedule,
         name="queue_reschedule"),
    path("talk/queue/callbacks/<int:request_id>/move/", supervision.callback_move, name="queue_move"),
]

# A caller's recorded name and reason (SPEC C14), for the offer, the queue page and the ticket.
recordings = [
    path("talk/recordings/<int:request_id>.wav", recording_views.recording_audio, name="recording_audio"),
]

VOICE = "api/v2/channels/voice"
api_v2 = [
    path(f"{VOICE}/phone_numbers.json", phone_numbers.PhoneNumberListView.as_view(), name="api_phone_numbers"),
    path(f"{VOICE}/phone_numbers/<int:line_id>.json", phone_numbers.PhoneNumberDetailView.as_view(),
         name="api_phone_number"),
    path(f"{VOICE}/greetings.json", greetings.GreetingListView.as_view(), name="api_greetings"),
    path(f"{VOICE}/greetings/<int:greeting_id>.json", greetings.GreetingDetailView.as_view(), name="api_greeting"),
    path(f"{VOICE}/settings.json", voice_settings.VoiceSettingsView.as_view(), name="api_voice_settings"),
    path(f"{VOICE}/callback_requests.json", callback_requests.CallbackRequestListView.as_view(),
         name="api_callback_requests"),
    path(f"{VOICE}/callback_requests/<int:request_id>.json", callback_requests.CallbackRequestDetailView.as_view(),
         name="api_callback_request"),
    path(f"{VOICE}/callback_requests/<int:request_id>/cancel.json",
         callback_requests.CallbackRequestCancelView.as_view(), name="api_callback_request_cancel"),
    path(f"{VOICE}/callback_requests/<int:request_id>/recording.wav",
         recording_views.RecordingAudioApiView.as_view(), name="api_callback_request_recording"),
    path(f"{VOICE}/availabilities/<int:user_id>.json", availabilities.AvailabilityView.as_view(),
         name="api_availability"),
    path(f"{VOICE}/offers/current.json", offers.CurrentOfferView.as_view(), name="api_offer_current"),
    path(f"{VOICE}/offers/<int:offer_id>/accept.json", offers.OfferAcceptView.as_view(), name="api_offer_accept"),
    path(f"{VOICE}/offers/<int:offer_id>/decline.json", offers.OfferDeclineView.as_view(), name="api_offer_decline"),
]

# What admins paste into the provider's console (voice and status, see
# talk.selectors.lines.line_webhook_urls) and what our TwiML points at: ``webhook_<name>``.
HOOKS = "talk/webhooks/<str:token>"
provider_webhooks = [
    path(f"{HOOKS}/voice/", webhooks.voice, name="webhook_voice"),
    path(f"{HOOKS}/status/", webhooks.status, name="webhook_status"),
    path(f"{HOOKS}/greeting-key/", webhooks.greeting_key, name="webhook_greeting_key"),
    path(f"{HOOKS}/wait/", webhooks.wait, name="webhook_wait"),
    path(f"{HOOKS}/hold-key/", webhooks.hold_key, name="webhook_hold_key"),
    path(f"{HOOKS}/menu/", webhooks.menu, name="webhook_menu"),
    path(f"{HOOKS}/number/", webhooks.number, name="webhook_number"),
    path(f"{HOOKS}/confirm/", webhooks.confirm, name="webhook_confirm"),
    path(f"{HOOKS}/recorded/", webhooks.recorded, name="webhook_recorded"),
    path(f"{HOOKS}/recording-status/", webhooks.recording_status, name="webhook_recording_status"),
    path(f"{HOOKS}/queue-exit/", webhooks.queue_exit, name="webhook_queue_exit"),
    path(f"{HOOKS}/callback/agent/", callback_views.cb_agent, name="webhook_cb_agent"),
    path(f"{HOOKS}/callback/dial-done/", callback_views.cb_dial_done, name="webhook_cb_dial_done"),
    path(f"{HOOKS}/callback/agent-status/", callback_views.cb_agent_status, name="webhook_cb_agent_status"),
    path(f"{HOOKS}/connect/", callback_views.connect_agent, name="webhook_connect_agent"),
]

urlpatterns: list = admin_center + agent_console + supervisors + recordings + api_v2 + provider_webhooks
