"""The meeting's socket (R-31): a participant hears presence, quorum and the current item; the
socket refuses anonymous visitors, another agency's employee, a non-participant and a
participant of another meeting; a private note never goes over it."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django_tenants.utils import schema_context

from core.realtime import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, object_group
from meetings.constants import MEETING_KIND
from meetings.models import Meeting
from meetings.services import room as room_services
from portal.asgi import application
from tests.meetings.room_helpers import make_room, signed_in, url


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    # database_sync_to_async must not close the connection that holds the test's transaction
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture
def world(agency_a, agency_b):
    return make_room(agency_a, agency_b)


def headers_for(client: Client | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if client is not None:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def socket_path(world) -> str:
    return f"/ws/meetings/{world['agency'].slug}/{world['meeting'].pk}/"


def try_connect(path, headers):
    async def run():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=3)
        await communicator.disconnect()
        return connected, code

    return async_to_sync(run)()


async def open_socket(path, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=3)
    assert connected, code
    hello = await communicator.receive_json_from(timeout=3)
    assert hello["type"] == "hello"
    return communicator


async def drain(communicator) -> list[dict]:
    messages = []
    while not await communicator.receive_nothing(timeout=0.3):
        messages.append(await communicator.receive_json_from(timeout=1))
    return messages


def test_strangers_are_refused(world):
    path = socket_path(world)
    assert try_connect(path, headers_for(None)) == (False, CLOSE_UNAUTHENTICATED)
    for key in ("other_agency_employee", "employee", "outsider", "other_meeting_member"):
        connected, code = try_connect(path, headers_for(signed_in(world["people"][key])))
        assert not connected and code == CLOSE_NOT_FOUND, key
    connected, _code = try_connect(path, headers_for(signed_in(world["people"]["observer"])))
    assert connected


def test_participant_hears_presence_quorum_and_current_item(
    world, django_capture_on_commit_callbacks
):
    agency, meeting = world["agency"], world["meeting"]
    chair = signed_in(world["people"]["chair"])
    member = signed_in(world["people"]["member"])
    observer_headers = headers_for(signed_in(world["people"]["observer"]))
    secret = "سر لا يخرج"

    def act() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert chair.post(url(agency, meeting, "start/")).status_code == 302
        with django_capture_on_commit_callbacks(execute=True):
            assert member.post(url(agency, meeting, "check-in/")).status_code == 302
        with schema_context(agency.schema_name):
            second = Meeting.objects.get(pk=meeting.pk).agenda.get(position=2)
        with django_capture_on_commit_callbacks(execute=True):
            response = chair.post(url(agency, meeting, "room/item/"), {"item": second.pk})
            assert response.status_code == 302
        with django_capture_on_commit_callbacks(execute=True):
            response = member.post(url(agency, meeting, "room/note/"), {"text": secret})
            assert response.status_code == 302

    async def run():
        socket = await open_socket(socket_path(world), observer_headers)
        await sync_to_async(act)()
        heard = await drain(socket)
        await socket.disconnect()
        return heard

    heard = async_to_sync(run)()
    types = [message["type"] for message in heard]
    assert types == ["status", "current_item", "presence", "quorum", "current_item"], types
    presence = heard[2]
    assert presence["participant_id"] == world["participants"]["member"].pk
    assert presence["presence"] == "present"
    assert heard[3]["present"] == 1 and heard[3]["reached"] is False
    assert heard[4]["position"] == 2
    assert secret not in json.dumps(heard, ensure_ascii=False)


def test_start_is_published_only_after_commit(world, monkeypatch):
    sent = []
    monkeypatch.setattr("meetings.live.publish_on_commit", lambda *args: sent.append(args))
    with schema_context(world["agency"].schema_name):
        room_services.meeting_start(actor=world["people"]["chair"], meeting=world["meeting"])
    assert [args[3]["event"] for args in sent] == ["status", "current_item"]


def test_a_push_reaches_the_socket_without_a_hop_to_the_sync_thread(world, monkeypatch):
    """Channels' own dispatch hops to the shared sync thread once per message to close stale
    database connections; for a push to 500 sockets that is 500 hops (tests/bench/README.md).
    The meeting socket forwards a push without one (it touches no database for it)."""
    hops = []
    monkeypatch.setattr("channels.db.close_old_connections", lambda: hops.append(1))
    headers = headers_for(signed_in(world["people"]["observer"]))
    group = object_group(MEETING_KIND, world["agency"].schema_name, world["meeting"].pk)
    push = {"type": "meeting.event", "event": "poll_count", "data": {"poll_id": 1, "voted": 3}}

    async def run():
        socket = await open_socket(socket_path(world), headers)
        hops.clear()
        for _ in range(3):
            await get_channel_layer().group_send(group, push)
        heard = await drain(socket)
        hops_for_pushes = len(hops)  # channels closes connections once more at disconnect
        await socket.disconnect()
        return heard, hops_for_pushes

    heard, hops_for_pushes = async_to_sync(run)()
    assert heard == [{"type": "poll_count", "poll_id": 1, "voted": 3}] * 3
    assert hops_for_pushes == 0
