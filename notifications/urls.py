from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read/", views.mark_read, name="mark_read"),
    path("settings/", views.preferences, name="preferences"),
    path("twilio/status/", views.twilio_status, name="twilio_status"),
    path("platform/log/", views.platform_delivery_log, name="platform_log"),
]

workspace_urlpatterns = [
    path("notifications/", views.workspace_inbox, name="notifications"),
    path("notifications/read/", views.workspace_mark_read, name="notifications_read"),
    path("notifications/log/", views.agency_delivery_log, name="delivery_log"),
]
