"""The channel layer across processes is Redis (REDIS_URL, or the machine's 127.0.0.1:6379)."""

import asyncio
import os

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["pubsub", "lists"])
def redis_layer(settings, request):
    """Each of the two Redis layers REDIS_CHANNEL_LAYER chooses between."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.CHANNEL_LAYER_BACKENDS[request.param],
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"muamalat-test-{os.getpid()}"},
        }
    }
    channel_layers.backends.clear()
    yield get_channel_layer()
    channel_layers.backends.clear()


def test_group_message_crosses_redis(redis_layer):
    async def run():
        channel = await redis_layer.new_channel()
        await redis_layer.group_add("user.agency_alpha.1", channel)
        await redis_layer.group_send(
            "user.agency_alpha.1", {"type": "user.event", "payload": {"n": 1}}
        )
        message = await redis_layer.receive(channel)
        await redis_layer.flush()
        return message

    assert async_to_sync(run)()["payload"] == {"n": 1}


def test_healthz_with_redis_layer(client, db, redis_layer):
    assert client.get("/healthz").json()["channel_layer"] == "ok"


def test_health_checks_pass_beside_an_open_socket_and_leave_nothing_subscribed(redis_layer):
    """Under daphne the health check runs on the process's one event loop, where open sockets
    are receiving: on the lists layer their receive holds the process's inbox (a check on its
    own channel prefix timed out there: 503), and the pub/sub layer would keep each check's
    channel subscribed for the process's life."""
    from portal.views import _channel_layer_roundtrip

    async def run():
        socket = await redis_layer.new_channel()
        idle = asyncio.ensure_future(redis_layer.receive(socket))  # an open socket, waiting
        await asyncio.sleep(0.2)
        for _ in range(3):
            await _channel_layer_roundtrip()
        await redis_layer.send(socket, {"type": "meeting.event", "n": 1})
        pushed = await asyncio.wait_for(idle, timeout=5)  # the socket still gets its messages
        loop_layer = getattr(redis_layer, "_get_layer", None)
        # the socket's own channel stays subscribed while the socket is open (the pub/sub layer)
        subscribed = [c for c in (loop_layer().channels if loop_layer else {}) if c != socket]
        await redis_layer.flush()
        return pushed, subscribed

    pushed, subscribed = async_to_sync(run)()
    assert pushed["n"] == 1
    assert subscribed == []
