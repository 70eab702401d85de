from django.urls import path

from portal.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/a/<slug:agency_slug>/notifications/", NotificationConsumer.as_asgi()),
]
