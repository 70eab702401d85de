"""The live stream refuses anonymous connections and people outside the agency.

These are sync tests driving the consumer through ``async_to_sync`` so the consumer's
``database_sync_to_async`` helpers run on the test's thread and see its transaction.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from portal.asgi import application
from portal.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, user_group
from portal.routing import CLOSE_NOT_FOUND
from tests.factories import make_beneficiary, make_employee


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    # database_sync_to_async closes "old" connections around each call, and a connection inside
    # the test's transaction looks old (autocommit off): keep it, or the transaction is lost.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def headers_for(client, user=None):
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def connect(path, headers):
    async def run():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=3)
        first = await communicator.receive_json_from(timeout=3) if connected else None
        await communicator.disconnect()
        return connected, code, first

    return async_to_sync(run)()


def test_anonymous_is_refused(client, agency_a):
    for path in ("/ws/notifications/", f"/ws/a/{agency_a.slug}/notifications/"):
        connected, code, _ = connect(path, headers_for(client))
        assert not connected and code == CLOSE_UNAUTHENTICATED


def test_other_agency_employee_and_beneficiary_are_refused(client, agency_a, agency_b):
    for user in (make_employee(agency_b), make_beneficiary()):
        connected, code, _ = connect(
            f"/ws/a/{agency_a.slug}/notifications/", headers_for(client.__class__(), user)
        )
        assert not connected and code == CLOSE_FORBIDDEN


def test_unknown_agency_is_refused(client, db):
    connected, code, _ = connect(
        "/ws/a/nowhere/notifications/", headers_for(client, make_beneficiary())
    )
    assert not connected and code == CLOSE_FORBIDDEN


def test_foreign_origin_is_refused(client, db):
    headers = headers_for(client, make_beneficiary())
    headers[0] = (b"origin", b"https://evil.example")
    connected, _code, _ = connect("/ws/notifications/", headers)
    assert not connected


def test_member_receives_only_their_own_group(client, agency_a):
    employee = make_employee(agency_a)
    other = make_employee(agency_a)
    headers = headers_for(client, employee)

    async def run():
        mine = WebsocketCommunicator(
            application, f"/ws/a/{agency_a.slug}/notifications/", headers=headers
        )
        connected, _ = await mine.connect(timeout=3)
        assert connected
        hello = await mine.receive_json_from(timeout=3)
        layer = get_channel_layer()
        await layer.group_send(
            user_group(agency_a.schema_name, other.pk),
            {"type": "user.event", "payload": {"text": "for the other"}},
        )
        await layer.group_send(
            user_group("public", employee.pk),
            {"type": "user.event", "payload": {"text": "public stream"}},
        )
        await layer.group_send(
            user_group(agency_a.schema_name, employee.pk),
            {"type": "user.event", "payload": {"text": "for me"}},
        )
        received = await mine.receive_json_from(timeout=3)
        nothing_else = await mine.receive_nothing(timeout=0.3)
        await mine.disconnect()
        return hello, received, nothing_else

    hello, received, nothing_else = async_to_sync(run)()
    assert hello == {"type": "hello", "schema": agency_a.schema_name}
    assert received == {"text": "for me"}
    assert nothing_else


def test_logout_closes_every_socket_of_that_session_only(client, agency_a):
    """Issue 10, point 6: logging out (the real allauth view) closes both endpoints' sockets
    of that browser session with 4401; the same user's other session keeps its socket."""
    from asgiref.sync import sync_to_async
    from django.test import Client

    employee = make_employee(agency_a)
    leaving = headers_for(client, employee)
    other_client = Client()
    staying = headers_for(other_client, employee)

    async def open_socket(path, headers):
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=3)
        assert connected
        assert (await communicator.receive_json_from(timeout=3))["type"] == "hello"
        return communicator

    async def run():
        workspace = f"/ws/a/{agency_a.slug}/notifications/"
        sockets = [
            await open_socket("/ws/notifications/", leaving),
            await open_socket(workspace, leaving),
        ]
        other = await open_socket(workspace, staying)
        response = await sync_to_async(client.post)("/accounts/logout/")
        assert response.status_code == 302
        closed = [await socket.receive_output(timeout=3) for socket in sockets]
        # the other session still receives pushes
        await get_channel_layer().group_send(
            user_group(agency_a.schema_name, employee.pk),
            {"type": "user.event", "payload": {"text": "still here"}},
        )
        received = await other.receive_json_from(timeout=3)
        nothing_to_closed = [await socket.receive_nothing(timeout=0.3) for socket in sockets]
        await other.disconnect()
        return closed, received, nothing_to_closed

    closed, received, nothing_to_closed = async_to_sync(run)()
    assert closed == [{"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}] * 2
    assert received == {"text": "still here"}
    assert nothing_to_closed == [True, True]


def test_unknown_route_is_refused_without_an_error(client, db, caplog):
    """Issue 10, point 12: channels' URLRouter raised ValueError (a 500 and an ERROR log)."""
    import logging

    caplog.set_level(logging.WARNING)
    for path in ("/ws/unknown/", "/ws/a/alpha/unknown/", "/ws/a/al%00pha/notifications/", "/"):
        connected, code, _ = connect(path, headers_for(client.__class__(), make_beneficiary()))
        assert not connected and code == CLOSE_NOT_FOUND, path
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
