"""Two-factor sign-in (R-2) beyond the workspace pages: an agency's notifications on the portal
(inbox, bell, "mark all read", the public websocket) follow the agency's requirement, a session
whose second factor is pending opens no websocket, and adding an authenticator counts as the
second factor only for the first one."""

import itertools

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import two_factor
from notifications.models import Notification
from notifications.services import notification_push
from portal.asgi import application
from portal.consumers import CLOSE_FORBIDDEN
from tenants.models import Agency
from tests.factories import PASSWORD, make_beneficiary, make_employee
from tests.two_factor import add_totp, login_with_two_factor, totp_code

_keys = itertools.count(1)
INBOX = "/notifications/"


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    # as in tests/portal/test_websocket.py: database_sync_to_async must not close the
    # connection that holds the test's transaction
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def require_two_factor(agency: Agency) -> None:
    Agency.objects.filter(pk=agency.pk).update(requires_two_factor=True)
    agency.refresh_from_db()


def notify(user, agency, title: str) -> Notification:
    return Notification.objects.create(
        recipient=user,
        agency=agency,
        event="requests.assigned",
        language="en",
        title=title,
        body=f"{title} body",
        link="/requests/1/",
        idempotency_key=f"two-factor-scope-{next(_keys)}",
    )


def employee_with_inbox(agency_a, agency_b):
    """An employee of alpha (which requires two-factor sign-in) with one notification of alpha,
    one of beta (as a beneficiary there) and one of the platform; the invitation's removed."""
    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    Notification.objects.filter(recipient=employee).delete()
    notes = {
        "alpha": notify(employee, agency_a, "ALPHA-SECRET"),
        "beta": notify(employee, agency_b, "BETA-NEWS"),
        "platform": notify(employee, None, "PLATFORM-NEWS"),
    }
    return employee, notes


def bell(response) -> int:
    import re

    match = re.search(rb'class="bell__count" data-unread="(\d+)"', response.content)
    assert match, "no bell in the page"
    return int(match[1])


def socket_headers(client) -> list[tuple[bytes, bytes]]:
    return [
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]


# --- the portal's inbox and bell --------------------------------------------------------------


def test_portal_inbox_and_bell_leave_out_an_agency_whose_requirement_is_not_met(
    client, agency_a, agency_b
):
    employee, notes = employee_with_inbox(agency_a, agency_b)
    client.force_login(employee)  # password only: alpha's requirement is not met
    assert client.get(f"/a/{agency_a.slug}/")["Location"] == "/accounts/2fa/"
    response = client.get(INBOX)
    assert response.status_code == 200
    listed = {n.pk for n in response.context["page"].object_list}
    assert listed == {notes["beta"].pk, notes["platform"].pk}
    assert b"ALPHA-SECRET" not in response.content
    assert bell(response) == 2
    # "mark all read" from the portal leaves alpha's notification unread
    client.post(reverse("notifications:mark_read"), {})
    assert Notification.objects.get(pk=notes["alpha"].pk).read_at is None
    assert Notification.objects.filter(recipient=employee, read_at__isnull=True).count() == 1
    # ... and so does marking it by its id
    client.post(reverse("notifications:mark_read"), {"notification": str(notes["alpha"].pk)})
    assert Notification.objects.get(pk=notes["alpha"].pk).read_at is None

    # signed in with the code: alpha's notification is there
    client.logout()
    login_with_two_factor(client, employee)
    response = client.get(INBOX)
    assert b"ALPHA-SECRET" in response.content
    assert bell(response) == 1


def test_the_requirement_touches_only_staff_of_that_agency(client, agency_a):
    """A beneficiary of alpha, or a former employee, reads alpha's notifications as before."""
    require_two_factor(agency_a)
    beneficiary = make_beneficiary()
    notify(beneficiary, agency_a, "YOUR-REQUEST")
    client.force_login(beneficiary)
    assert b"YOUR-REQUEST" in client.get(INBOX).content


def test_helper_table(agency_a, agency_b):
    """session_allows_agency and agencies_withheld_from_session are the same rule."""
    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    plain, verified, pending = Client(), Client(), Client()
    plain.force_login(employee)
    login_with_two_factor(verified, employee)
    pending.force_login(employee)  # with an authenticator now: the second factor is pending
    assert pending.session.get(two_factor.PENDING_SESSION_KEY)
    cases = [
        (plain.session, agency_a, False),
        (plain.session, agency_b, True),
        (None, agency_a, False),
        (verified.session, agency_a, True),
        (pending.session, agency_b, False),
    ]
    for session, agency, allowed in cases:
        assert two_factor.session_allows_agency(session, employee, agency) is allowed
        withheld = two_factor.agencies_withheld_from_session(session, employee)
        assert withheld.filter(pk=agency.pk).exists() is not allowed


def test_portal_inbox_query_count_does_not_grow_with_agencies(client, agency_a, agency_b):
    employee, _notes = employee_with_inbox(agency_a, agency_b)
    client.force_login(employee)
    client.get(INBOX)  # warm caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(INBOX).status_code == 200
        return len(captured.captured_queries)

    few = queries()
    for index in range(10):
        notify(employee, agency_a if index % 2 else agency_b, f"MORE-{index}")
        notify(employee, None, f"PLATFORM-{index}")
    assert queries() == few


# --- the public websocket ---------------------------------------------------------------------


def _receive_pushes(client, employee, notes):
    """Open the portal's socket of ``client``'s session, push the three notifications, and
    return what the socket received."""

    async def run():
        socket = WebsocketCommunicator(
            application, "/ws/notifications/", headers=socket_headers(client)
        )
        connected, _ = await socket.connect(timeout=3)
        assert connected
        assert (await socket.receive_json_from(timeout=3))["type"] == "hello"
        for name in ("alpha", "beta", "platform"):
            await sync_to_async(notification_push)(notification=notes[name])
        received = []
        while not await socket.receive_nothing(timeout=0.3):
            received.append(await socket.receive_json_from(timeout=3))
        await socket.disconnect()
        return received

    return async_to_sync(run)()


def test_public_socket_withholds_an_agency_whose_requirement_is_not_met(client, agency_a, agency_b):
    employee, notes = employee_with_inbox(agency_a, agency_b)
    client.force_login(employee)
    received = _receive_pushes(client, employee, notes)
    assert [m["title"] for m in received] == ["BETA-NEWS", "PLATFORM-NEWS"]
    assert "ALPHA-SECRET" not in repr(received)
    # each carries the count the portal's bell shows to this session (alpha's left out)
    assert [m["unread"] for m in received] == [2, 2]

    other = Client()
    login_with_two_factor(other, employee)
    received = _receive_pushes(other, employee, notes)
    assert [m["title"] for m in received] == ["ALPHA-SECRET", "BETA-NEWS", "PLATFORM-NEWS"]
    assert {m["unread"] for m in received} == {3}


def test_public_socket_is_refused_while_the_second_factor_is_pending(client, agency_a):
    from tests.portal.test_websocket import connect

    user = make_beneficiary()
    add_totp(user)
    client.force_login(user)  # a login outside allauth's stages: the code is still owed
    assert client.session.get(two_factor.PENDING_SESSION_KEY)
    connected, code, _ = connect("/ws/notifications/", socket_headers(client))
    assert not connected and code == CLOSE_FORBIDDEN
    # after the code, the same session connects
    client.post("/accounts/2fa/reauthenticate/?next=/", {"code": totp_code()})
    connected, _code, first = connect("/ws/notifications/", socket_headers(client))
    assert connected and first["type"] == "hello"


# --- setting up an authenticator --------------------------------------------------------------


def _activate_totp(client, django_capture_on_commit_callbacks):
    import pyotp

    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200, page.status_code
    secret = page.context["form"].secret
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302


def test_adding_a_further_authenticator_is_not_the_second_factor(
    client, agency_a, django_capture_on_commit_callbacks
):
    """A session opened before the user's key existed (so not "pending") adds an app with the
    password: the workspace still asks for the existing key."""
    from allauth.mfa.models import Authenticator

    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    client.post("/accounts/login/", {"login": employee.email, "password": PASSWORD})
    assert client.get(f"/a/{agency_a.slug}/")["Location"] == "/accounts/2fa/"
    # meanwhile a key is added from another session
    Authenticator.objects.create(
        user=employee, type=Authenticator.Type.WEBAUTHN, data={"name": "key"}
    )
    _activate_totp(client, django_capture_on_commit_callbacks)
    assert Authenticator.objects.filter(user=employee, type="totp").exists()
    assert not two_factor.session_is_two_factor_verified(client.session, employee)
    response = client.get(f"/a/{agency_a.slug}/")
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]


def test_adding_the_first_authenticator_is_the_second_factor(
    client, agency_a, django_capture_on_commit_callbacks
):
    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    client.post("/accounts/login/", {"login": employee.email, "password": PASSWORD})
    _activate_totp(client, django_capture_on_commit_callbacks)
    assert two_factor.session_is_two_factor_verified(client.session, employee)
    assert client.get(f"/a/{agency_a.slug}/").status_code == 200
