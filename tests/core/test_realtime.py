"""core.realtime: object group names and publishing after commit (issue 11, part 4)."""

import asyncio
import logging
import threading

import pytest
from channels.layers import channel_layers, get_channel_layer
from django.db import transaction

from core.realtime import object_group, publish_on_commit
from tests.portal.test_redis_layer import redis_layer  # noqa: F401 - the Redis layer fixture

CHANGED = {"type": "object.changed", "what": "status", "by": 7}


def test_object_group_is_kind_schema_id():
    assert object_group("request", "agency_alpha", 42) == "request.agency_alpha.42"
    assert object_group("meeting", "agency_beta", "9") == "meeting.agency_beta.9"


@pytest.mark.parametrize(
    ("kind", "schema", "object_id"),
    [
        ("request", "agency alpha", 1),  # a space
        ("request", "agency_alpha", "1.2"),  # a period inside a part
        ("", "agency_alpha", 1),
        ("request", "agency_alpha", "x" * 100),  # channels refuses names of 100+ characters
        ("طلب", "agency_alpha", 1),  # not ASCII
    ],
)
def test_object_group_refuses_what_channels_would_refuse(kind, schema, object_id):
    with pytest.raises(ValueError):
        object_group(kind, schema, object_id)


class Listener:
    """A channel subscribed to an object's group, on the configured channel layer, on an event
    loop of its own that lives as long as the listener: the pub/sub layer subscribes per event
    loop, as a daphne process does for its sockets (async_to_sync would use a new loop each
    call, and its subscription would end with it)."""

    def __init__(self, group: str):
        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.channel = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(group, self.channel))

    def close(self) -> None:
        """End the listener's subscriptions and its loop."""
        self._run(self.layer.flush())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        # closed here, not when garbage-collected during a later test's running loop
        self.loop.close()

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def received(self, timeout: float = 0.5) -> list[dict]:
        async def run():
            messages = []
            while True:
                try:
                    messages.append(
                        await asyncio.wait_for(self.layer.receive(self.channel), timeout)
                    )
                except TimeoutError:
                    return messages

        return self._run(run())


@pytest.fixture
def listen():
    """Listeners on the configured layer, closed after the test."""
    made: list[Listener] = []

    def make(group: str) -> Listener:
        made.append(Listener(group))
        return made[-1]

    yield make
    for listener in made:
        listener.close()


def test_sent_after_commit_not_before(db, listen, django_capture_on_commit_callbacks):
    listener = listen("request.agency_alpha.5")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            publish_on_commit("request", "agency_alpha", 5, CHANGED)
            assert listener.received(timeout=0.2) == []  # not while the transaction is open
    assert listener.received() == [CHANGED]


def test_nothing_is_sent_when_the_transaction_rolls_back(
    db, listen, django_capture_on_commit_callbacks
):
    listener = listen("request.agency_alpha.6")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            publish_on_commit("request", "agency_alpha", 6, CHANGED)
            raise RuntimeError("the change fails")
    assert callbacks == []
    assert listener.received() == []


def test_a_rolled_back_savepoint_sends_nothing_while_the_outer_change_commits(
    db, listen, django_capture_on_commit_callbacks
):
    listener = listen("request.agency_alpha.8")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            publish_on_commit("request", "agency_alpha", 8, {**CHANGED, "what": "kept"})
            with pytest.raises(RuntimeError), transaction.atomic():
                publish_on_commit("request", "agency_alpha", 8, {**CHANGED, "what": "undone"})
                raise RuntimeError("the inner step fails")
    assert [m["what"] for m in listener.received()] == ["kept"]


def test_crosses_the_redis_layer(
    db,
    redis_layer,  # noqa: F811
    listen,
    django_capture_on_commit_callbacks,
):
    listener = listen("request.agency_alpha.9")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            publish_on_commit("request", "agency_alpha", 9, CHANGED)
    assert listener.received(timeout=2) == [CHANGED]


@pytest.mark.parametrize("backend", ["pubsub", "lists"])
def test_a_channel_layer_that_is_down_is_logged_not_raised(
    db, settings, caplog, django_capture_on_commit_callbacks, backend
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.CHANNEL_LAYER_BACKENDS[backend],
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens there
        }
    }
    channel_layers.backends.clear()
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                publish_on_commit("request", "agency_alpha", 10, CHANGED)
        assert len(callbacks) == 1  # it ran, and the committed change did not fail
    finally:
        channel_layers.backends.clear()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["core.realtime"]
    assert "object.changed" in errors[0].getMessage()
