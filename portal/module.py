"""The project's own websocket routes (see core.modules): each user's live stream."""

from core.modules import Module

MODULE = Module(name="portal", websocket_routes="portal.routing.stream_routes")
