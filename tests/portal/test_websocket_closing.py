"""Websockets close when the session or right they were opened with ends otherwise than by
logging out (issue 10, point 6; logout itself: test_websocket.py): a password change ends the
user's other sessions (Django's session auth hash) and their sockets, a reset ends all of them,
and a deactivated membership closes that agency's workspace sockets of that person."""

import re

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from django_tenants.utils import schema_context

from portal.asgi import application
from portal.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, user_group
from tests.factories import PASSWORD, make_employee, membership_of
from tests.portal.test_websocket import headers_for

NEW_PASSWORD = "An0ther-long-passphrase!"
CLOSED_UNAUTHENTICATED = {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


async def open_socket(path, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    assert (await communicator.receive_json_from(timeout=3))["type"] == "hello"
    return communicator


async def still_pushed(socket, group) -> bool:
    """The socket is open and still receives what is sent to its user group."""
    await get_channel_layer().group_send(
        group, {"type": "user.event", "payload": {"text": "still here"}}
    )
    return await socket.receive_json_from(timeout=3) == {"text": "still here"}


def open_sessions(agency, employee):
    """Two browser sessions of the employee (two Clients), each with both endpoints' sockets."""
    clients = {"this": Client(), "other": Client()}
    headers = {name: headers_for(c, employee) for name, c in clients.items()}
    paths = ("/ws/notifications/", f"/ws/a/{agency.slug}/notifications/")
    return clients, headers, paths


def test_password_change_closes_the_other_sessions_sockets_only(agency_a):
    employee = make_employee(agency_a)
    clients, headers, paths = open_sessions(agency_a, employee)

    async def run():
        sockets = {
            name: [await open_socket(path, headers[name]) for path in paths] for name in clients
        }
        response = await sync_to_async(clients["this"].post)(
            reverse("account_change_password"),
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert response.status_code == 302, response.context["form"].errors
        closed = [await s.receive_output(timeout=3) for s in sockets["other"]]
        kept = [
            await still_pushed(sockets["this"][0], user_group("public", employee.pk)),
            await still_pushed(sockets["this"][1], user_group(agency_a.schema_name, employee.pk)),
        ]
        for socket in sockets["this"]:
            await socket.disconnect()
        return closed, kept

    closed, kept = async_to_sync(run)()
    assert closed == [CLOSED_UNAUTHENTICATED] * 2
    assert kept == [True, True]
    # the same split as Django's: the other session is signed out, this one is not
    assert clients["other"].get("/notifications/").status_code == 302
    assert clients["this"].get("/notifications/").status_code == 200


def test_password_reset_closes_every_socket_of_the_user(agency_a, mailoutbox):
    from allauth.account.models import EmailAddress

    from tests.jobs import run_pending_jobs

    employee = make_employee(agency_a)
    EmailAddress.objects.update_or_create(
        user=employee, email=employee.email, defaults={"primary": True, "verified": True}
    )
    run_pending_jobs()  # the invitation's email: sent before the reset's
    clients, headers, paths = open_sessions(agency_a, employee)
    resetting = Client()  # the browser that follows the emailed link, not signed in

    def reset() -> None:
        response = resetting.post(reverse("account_reset_password"), {"email": employee.email})
        assert response.status_code == 302
        run_pending_jobs()
        link = re.search(r"/accounts/password/reset/key/[^\s]+/", mailoutbox[-1].body).group()
        response = resetting.get(link, follow=True)
        form_path = response.redirect_chain[-1][0] if response.redirect_chain else link
        response = resetting.post(form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert response.status_code == 302

    async def run():
        sockets = [await open_socket(path, headers[name]) for name in clients for path in paths]
        await sync_to_async(reset)()
        return [await s.receive_output(timeout=3) for s in sockets]

    assert async_to_sync(run)() == [CLOSED_UNAUTHENTICATED] * 4
    employee.refresh_from_db()
    assert employee.check_password(NEW_PASSWORD)


def test_deactivating_a_membership_closes_that_agencys_workspace_sockets(
    agency_a, agency_b, django_capture_on_commit_callbacks
):
    from tenants.services import employee_update

    admin = make_employee(agency_a, roles=("admin",))
    employee = make_employee(agency_a)
    employee = make_employee(agency_b, email=employee.email)  # the same person, also at beta
    colleague = make_employee(agency_a)
    headers = headers_for(Client(), employee)
    colleague_headers = headers_for(Client(), colleague)
    alpha_path = f"/ws/a/{agency_a.slug}/notifications/"

    def deactivate() -> None:
        with (
            schema_context(agency_a.schema_name),
            django_capture_on_commit_callbacks(execute=True),
        ):
            employee_update(
                agency=agency_a,
                membership=membership_of(agency_a, employee),
                actor=admin,
                is_active=False,
            )

    async def run():
        workspace = await open_socket(alpha_path, headers)
        portal = await open_socket("/ws/notifications/", headers)
        beta = await open_socket(f"/ws/a/{agency_b.slug}/notifications/", headers)
        colleagues = await open_socket(alpha_path, colleague_headers)
        await sync_to_async(deactivate)()
        closed = await workspace.receive_output(timeout=3)
        kept = [
            await still_pushed(portal, user_group("public", employee.pk)),
            await still_pushed(beta, user_group(agency_b.schema_name, employee.pk)),
            await still_pushed(colleagues, user_group(agency_a.schema_name, colleague.pk)),
        ]
        for socket in (portal, beta, colleagues):
            await socket.disconnect()
        return closed, kept

    closed, kept = async_to_sync(run)()
    assert closed == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
    assert kept == [True, True, True]
