"""The requests app's websocket routes (declared in requests_app/module.py)."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from requests_app.consumers import RequestConsumer

websocket_urlpatterns = [
    path("ws/a/<slug:agency_slug>/requests/<id:request_id>/", RequestConsumer.as_asgi()),
]
