"""The meetings app's websocket routes (declared in meetings/module.py)."""

websocket_urlpatterns: list = []
