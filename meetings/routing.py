"""The meetings app's websocket routes (declared in meetings/module.py)."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from meetings.consumers import MeetingConsumer

websocket_urlpatterns = [
    path("ws/meetings/<slug:agency_slug>/<id:meeting_id>/", MeetingConsumer.as_asgi()),
]
