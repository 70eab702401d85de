"""The workspace request page's socket (issue 11, part 4): who may follow a request live, what
they hear when another employee changes it, and that it closes with the session or right it
was opened with. Through the real ASGI application (session cookie, origin check, routing)."""

import json
import re

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django_tenants.utils import schema_context

from core.realtime import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    object_group,
    user_group,
)
from portal.asgi import application
from requests_app.constants import Visibility
from requests_app.services import comment_add
from tenants.models import Agency
from tenants.services import department_save
from tenants.staff.models import Membership
from tests.factories import make_beneficiary, make_employee, make_request, make_type, membership_of
from tests.two_factor import login_with_two_factor


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    # as in tests/portal/test_websocket.py: database_sync_to_async must not close the
    # connection that holds the test's transaction
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture
def world(agency_a, agency_b):
    """Alpha: a department whose only worker is ``assignee`` (the request goes to them), a
    ``colleague`` outside it (requests.work, may not open the request), the ``admin`` (sees
    every request); beta's ``employee_b``; the request's own ``beneficiary``."""
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        department = department_save(actor=admin, name_ar="قسم الرخص", name_en="Licences")
    assignee = make_employee(agency_a)
    with schema_context(agency_a.schema_name):
        Membership.objects.filter(user_id=assignee.pk).update(department=department)
    beneficiary = make_beneficiary()
    item = make_request(
        agency_a,
        beneficiary=beneficiary,
        request_type=make_type(agency_a, actor=admin, department=department),
    )
    with schema_context(agency_a.schema_name):
        assert item.assignee.user_id == assignee.pk
    return {
        "agency": agency_a,
        "agency_b": agency_b,
        "admin": admin,
        "assignee": assignee,
        "colleague": make_employee(agency_a),
        "employee_b": make_employee(agency_b),
        "beneficiary": beneficiary,
        "item": item,
    }


def signed_in(user, *, two_factor: bool = False) -> Client:
    client = Client()
    if two_factor:
        login_with_two_factor(client, user)
    else:
        client.force_login(user)
    return client


def headers_for(client: Client | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if client is not None:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def socket_path(agency: Agency, request_id: int) -> str:
    return f"/ws/a/{agency.slug}/requests/{request_id}/"


def page_path(agency: Agency, request_id: int) -> str:
    return f"/a/{agency.slug}/requests/{request_id}/"


async def open_socket(path, headers) -> tuple[WebsocketCommunicator, dict]:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=3)
    assert connected, code
    hello = await communicator.receive_json_from(timeout=3)
    assert hello["type"] == "hello"
    return communicator, hello


async def drain(communicator) -> list[dict]:
    messages = []
    while not await communicator.receive_nothing(timeout=0.3):
        messages.append(await communicator.receive_json_from(timeout=1))
    return messages


def try_connect(path, headers) -> tuple[bool, int | None]:
    async def run():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=3)
        await communicator.disconnect()
        return connected, code

    return async_to_sync(run)()


# --- who may follow the request ----------------------------------------------------------------


def test_refused_before_being_accepted(world):
    """(who, path, close code): every refusal closes the handshake, nothing is accepted."""
    agency, item = world["agency"], world["item"]
    here = socket_path(agency, item.pk)
    unknown_id = socket_path(agency, 987654321)
    unknown_agency = f"/ws/a/nowhere/requests/{item.pk}/"
    other_agency = socket_path(world["agency_b"], item.pk)
    two_factor_agency = Agency.objects.filter(pk=agency.pk)
    rows = [
        ("anonymous", None, here, CLOSE_UNAUTHENTICATED),
        ("the request's own beneficiary", world["beneficiary"], here, CLOSE_FORBIDDEN),
        ("another beneficiary", make_beneficiary(), here, CLOSE_FORBIDDEN),
        ("an employee of another agency", world["employee_b"], here, CLOSE_FORBIDDEN),
        ("a colleague who may not open it", world["colleague"], here, CLOSE_NOT_FOUND),
        ("an unknown request id", world["assignee"], unknown_id, CLOSE_NOT_FOUND),
        ("an unknown agency", world["assignee"], unknown_agency, CLOSE_NOT_FOUND),
        ("another agency's path", world["employee_b"], other_agency, CLOSE_NOT_FOUND),
    ]
    for who, user, path, code in rows:
        client = signed_in(user) if user is not None else None
        assert try_connect(path, headers_for(client)) == (False, code), who

    # the agency requires two-factor sign-in: a session without it is refused, one with it not
    two_factor_agency.update(requires_two_factor=True)
    assert try_connect(here, headers_for(signed_in(world["assignee"]))) == (
        False,
        CLOSE_FORBIDDEN,
    )
    connected, _ = try_connect(here, headers_for(signed_in(world["assignee"], two_factor=True)))
    assert connected
    two_factor_agency.update(requires_two_factor=False)

    # a deactivated agency is not found, even by its own staff
    two_factor_agency.update(is_active=False)
    assert try_connect(here, headers_for(signed_in(world["admin"]))) == (False, CLOSE_NOT_FOUND)


def test_the_assignee_and_an_agency_wide_viewer_are_accepted(world):
    agency, item = world["agency"], world["item"]

    headers = [headers_for(signed_in(user)) for user in (world["assignee"], world["admin"])]

    async def run():
        hellos = []
        for each in headers:
            socket, hello = await open_socket(socket_path(agency, item.pk), each)
            hellos.append(hello)
            await socket.disconnect()
        return hellos

    for hello in async_to_sync(run)():
        assert hello["kind"] == "request" and hello["id"] == item.pk
        assert hello["version"]


# --- what they hear ----------------------------------------------------------------------------


def test_another_employees_comment_reaches_the_open_pages(
    world, django_capture_on_commit_callbacks
):
    """The admin comments through the page's form: the assignee's socket hears a change that
    is not theirs; the admin's own socket hears it as theirs (the page ignores it)."""
    agency, item = world["agency"], world["item"]
    commenting = signed_in(world["admin"])
    url = f"{page_path(agency, item.pk)}comment/"

    def comment() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = commenting.post(
                url, {"body": "نص سري لا يُرسل عبر المقبس", "visibility": Visibility.INTERNAL}
            )
        assert response.status_code == 302

    assignee_headers = headers_for(signed_in(world["assignee"]))

    async def run():
        assignee, _ = await open_socket(socket_path(agency, item.pk), assignee_headers)
        admin, _ = await open_socket(socket_path(agency, item.pk), headers_for(commenting))
        await sync_to_async(comment)()
        heard = {"assignee": await drain(assignee), "admin": await drain(admin)}
        for socket in (assignee, admin):
            await socket.disconnect()
        return heard

    heard = async_to_sync(run)()
    assert heard["assignee"] == [{"type": "object.changed", "what": "activity", "mine": False}]
    assert heard["admin"] == [{"type": "object.changed", "what": "activity", "mine": True}]
    assert "نص سري" not in json.dumps(heard, ensure_ascii=False)  # what changed, not the content


def test_only_that_requests_sockets_hear_of_it(world, django_capture_on_commit_callbacks):
    agency, item = world["agency"], world["item"]
    other = make_request(agency, request_type=item.transaction_type)

    def comment_on_other() -> None:
        with schema_context(agency.schema_name), django_capture_on_commit_callbacks(execute=True):
            comment_add(
                agency=agency,
                request_obj=other,
                author=world["assignee"],
                body="x",
                visibility=Visibility.INTERNAL,
            )

    headers = headers_for(signed_in(world["admin"]))

    async def run():
        socket, _ = await open_socket(socket_path(agency, item.pk), headers)
        await sync_to_async(comment_on_other)()
        heard = await drain(socket)
        await socket.disconnect()
        return heard

    assert async_to_sync(run)() == []


def test_the_page_and_the_hello_carry_the_same_version_until_a_change(
    world, django_capture_on_commit_callbacks
):
    """A change made between the page's rendering and its socket's joining is not lost: the
    hello carries a version the page compares with its own."""
    agency, item = world["agency"], world["item"]
    viewer = signed_in(world["assignee"])
    page = viewer.get(page_path(agency, item.pk))
    assert page.status_code == 200
    rendered = re.search(rb'data-live-version="([^"]+)"', page.content)[1].decode()
    socket_at = re.search(rb'data-live-socket="([^"]+)"', page.content)[1].decode()
    assert socket_at == socket_path(agency, item.pk)

    def hello_version() -> str:
        async def run():
            socket, hello = await open_socket(socket_at, headers_for(viewer))
            await socket.disconnect()
            return hello["version"]

        return async_to_sync(run)()

    assert hello_version() == rendered
    with schema_context(agency.schema_name), django_capture_on_commit_callbacks(execute=True):
        comment_add(
            agency=agency,
            request_obj=item,
            author=world["admin"],
            body="later",
            visibility=Visibility.INTERNAL,
        )
    assert hello_version() != rendered


def test_client_messages_other_than_ping_are_ignored(world):
    agency, item = world["agency"], world["item"]
    headers = headers_for(signed_in(world["assignee"]))

    async def run():
        socket, _ = await open_socket(socket_path(agency, item.pk), headers)
        await socket.send_to(text_data="not json")
        await socket.send_to(bytes_data=b"\x00\x01")
        await socket.send_json_to(["a", "list"])
        await socket.send_json_to({"type": "object.changed", "what": "forged"})
        ignored = await socket.receive_nothing(timeout=0.3)
        # the user's notification stream goes to the same user group: not this socket's to show
        await get_channel_layer().group_send(
            user_group(agency.schema_name, world["assignee"].pk),
            {"type": "user.event", "payload": {"text": "a notification"}},
        )
        quiet = await socket.receive_nothing(timeout=0.3)
        await socket.send_json_to({"type": "ping"})
        pong = await socket.receive_json_from(timeout=3)
        await socket.disconnect()
        return ignored, quiet, pong

    ignored, quiet, pong = async_to_sync(run)()
    assert ignored and quiet
    assert pong == {"type": "pong"}


# --- closing -----------------------------------------------------------------------------------


def test_logout_closes_the_socket(world):
    agency, item = world["agency"], world["item"]
    client = signed_in(world["assignee"])

    async def run():
        socket, _ = await open_socket(socket_path(agency, item.pk), headers_for(client))
        response = await sync_to_async(client.post)("/accounts/logout/")
        assert response.status_code == 302
        closed = await socket.receive_output(timeout=3)
        # and it no longer hears the request
        await get_channel_layer().group_send(
            object_group("request", agency.schema_name, item.pk),
            {"type": "object.changed", "what": "activity", "by": None},
        )
        return closed, await socket.receive_nothing(timeout=0.3)

    closed, nothing_after = async_to_sync(run)()
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    assert nothing_after


def test_deactivating_the_membership_closes_the_socket(world, django_capture_on_commit_callbacks):
    from tenants.services import employee_update

    agency, item = world["agency"], world["item"]

    def deactivate() -> None:
        with schema_context(agency.schema_name), django_capture_on_commit_callbacks(execute=True):
            employee_update(
                agency=agency,
                membership=membership_of(agency, world["assignee"]),
                actor=world["admin"],
                is_active=False,
            )

    headers = headers_for(signed_in(world["assignee"]))

    async def run():
        socket, _ = await open_socket(socket_path(agency, item.pk), headers)
        await sync_to_async(deactivate)()
        return await socket.receive_output(timeout=3)

    assert async_to_sync(run)() == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}


def test_a_socket_whose_user_lost_the_request_is_closed_at_the_next_change(
    world, django_capture_on_commit_callbacks
):
    """Access is asked again, with fresh permissions, before each change is forwarded: the
    assignee reassigned away hears nothing more and the socket closes (4404)."""
    from requests_app.services.approvals import request_reassign

    agency, item = world["agency"], world["item"]
    with schema_context(agency.schema_name):
        colleague = Membership.objects.get(user_id=world["colleague"].pk)

    def reassign_away() -> None:
        with schema_context(agency.schema_name), django_capture_on_commit_callbacks(execute=True):
            request_reassign(
                agency=agency,
                request_obj=item,
                actor=world["admin"],
                new_assignee=colleague,
                reason="إعادة توزيع",
            )

    headers = headers_for(signed_in(world["assignee"]))

    async def run():
        socket, _ = await open_socket(socket_path(agency, item.pk), headers)
        await sync_to_async(reassign_away)()
        output = await socket.receive_output(timeout=3)
        await socket.disconnect()
        return output

    output = async_to_sync(run)()
    assert output == {"type": "websocket.close", "code": CLOSE_NOT_FOUND}
