"""Websocket routing: every module's routes (core.modules), behind a router that refuses unknown
paths cleanly. The project's own routes (each user's live stream) are declared in
portal/module.py like any module's."""

from channels.routing import URLRouter
from django.urls import path

from core import modules
from core.realtime import CLOSE_NOT_FOUND
from portal.consumers import NotificationConsumer

__all__ = ["CLOSE_NOT_FOUND", "WebsocketRouter", "stream_routes", "websocket_urlpatterns"]

stream_routes = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/a/<slug:agency_slug>/notifications/", NotificationConsumer.as_asgi()),
]


def websocket_urlpatterns() -> list:
    """Every installed module's websocket routes (read when the ASGI application is built)."""
    return modules.websocket_urlpatterns()


class WebsocketRouter(URLRouter):
    """Channels' URLRouter, except that an unknown path refuses the handshake cleanly.

    The outermost URLRouter raises ValueError("No route found ...") for an unknown path, which
    the server logs as an application error and answers with a 500. Here the path is matched
    first; without a route the connection is closed before it is accepted (the browser sees the
    handshake refused), and nothing is logged as an error.
    """

    def _has_route(self, scope) -> bool:
        path = scope.get("path") or ""
        root_path = scope.get("root_path", "")
        if root_path:
            if not path.startswith(root_path):
                return False
            path = path[len(root_path) :]
        path = path.lstrip("/")
        return any(route.pattern.match(path) for route in self.routes)

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket" and not self._has_route(scope):
            return await refuse_websocket(receive, send)
        return await super().__call__(scope, receive, send)


async def refuse_websocket(receive, send) -> None:
    """Wait for the handshake and refuse it (a close before accept)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND})
