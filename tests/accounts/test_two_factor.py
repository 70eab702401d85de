"""Two-factor sign-in (R-2): the login stage, recovery codes, the requirements of the platform
and of an agency, the agency setting, the last authenticator, the workspace websocket."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts import two_factor
from tenants.models import Agency
from tenants.staff.models import AuditEvent
from tests.factories import PASSWORD, make_beneficiary, make_employee
from tests.two_factor import (
    TEST_TOTP_SECRET,
    add_totp,
    login_with_two_factor,
    mark_session_two_factor,
    totp_code,
)

LOGIN = "/accounts/login/"
AUTHENTICATE = "/accounts/2fa/authenticate/"
SETUP = "/accounts/2fa/"


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


def confirm_with_code(client) -> None:
    """allauth asks managing authenticators to be confirmed (re-authentication) first."""
    response = client.post("/accounts/2fa/reauthenticate/", {"code": totp_code()})
    assert response.status_code == 302


def require_two_factor(agency: Agency, required: bool = True) -> None:
    Agency.objects.filter(pk=agency.pk).update(requires_two_factor=required)


# --- the login stage ------------------------------------------------------------------------


def test_every_identifier_leads_to_the_code_stage_and_only_the_right_code_signs_in(client, db):
    user = make_beneficiary(mobile="+966501112233")
    add_totp(user)
    identifiers = [user.email, user.identity_number, "+966501112233", "0501112233"]
    for identifier in identifiers:
        client.logout()
        response = client.post(LOGIN, {"login": identifier, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == AUTHENTICATE, identifier
        assert signed_in_user_id(client) is None, identifier  # not signed in yet
        page = client.get(AUTHENTICATE)
        assert page.status_code == 200
        assert b'name="code"' in page.content
    # wrong code: refused with a message, still not signed in
    wrong = "000000" if totp_code() != "000000" else "111111"
    response = client.post(AUTHENTICATE, {"code": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert signed_in_user_id(client) is None
    # pyotp's code for the known secret: signed in, with the second factor recorded
    response = client.post(AUTHENTICATE, {"code": totp_code(TEST_TOTP_SECRET)})
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(user.pk)
    assert two_factor.session_is_two_factor_verified(client.session, user)


def test_without_an_authenticator_the_password_signs_in_directly(client, db):
    user = make_beneficiary()
    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] != AUTHENTICATE
    assert signed_in_user_id(client) == str(user.pk)


def test_a_recovery_code_signs_in_once(client, db):
    user = make_beneficiary()
    add_totp(user)
    code = RecoveryCodes.activate(user).get_unused_codes()[0]
    client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    response = client.post(AUTHENTICATE, {"code": code})
    assert response.status_code == 302 and signed_in_user_id(client) == str(user.pk)
    client.logout()
    client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    response = client.post(AUTHENTICATE, {"code": code})
    assert response.status_code == 200 and response.context["form"].errors
    assert signed_in_user_id(client) is None


def test_a_login_outside_allauth_cannot_skip_the_second_factor(client, agency_a):
    """A session opened without the code (e.g. straight after an invitation link sets the
    password) must enter it before any page, and the workspace websocket is refused."""
    user = make_employee(agency_a)
    add_totp(user)
    client.force_login(user)  # django.contrib.auth.login(), as invitation_accept does
    for path in ("/", f"/a/{agency_a.slug}/", "/requests/mine/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/2fa/reauthenticate/"), path
    response = client.post(
        "/accounts/2fa/reauthenticate/?next=/", {"code": totp_code()}, follow=False
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(f"/a/{agency_a.slug}/").status_code == 200


# --- requirements ---------------------------------------------------------------------------


def test_agency_requirement_sends_staff_without_an_authenticator_to_setup(client, agency_a):
    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    client.force_login(employee)
    for path in (f"/a/{agency_a.slug}/", f"/a/{agency_a.slug}/requests/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == SETUP, path
    page = client.get(SETUP)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Alpha Agency" in text or agency_a.name_ar in text  # the message names the agency
    assert reverse("mfa_activate_totp") in text
    # POSTs are refused the same way (nothing done in the workspace)
    response = client.post(f"/a/{agency_a.slug}/notifications/read/", {})
    assert response.status_code == 302 and response["Location"] == SETUP


def test_agency_requirement_table(client, agency_a, agency_b):
    """(who, agency requires it, second factor used) -> may open the workspace."""
    require_two_factor(agency_a)
    cases = [
        ("required, no authenticator", agency_a, False, SETUP),
        ("required, signed in with the code", agency_a, True, None),
        ("not required, no authenticator", agency_b, False, None),
        ("not required, signed in with the code", agency_b, True, None),
    ]
    for label, agency, with_code, redirect_to in cases:
        employee = make_employee(agency)
        client.logout()
        if with_code:
            login_with_two_factor(client, employee)
        else:
            client.force_login(employee)
        response = client.get(f"/a/{agency.slug}/")
        if redirect_to:
            assert response.status_code == 302 and response["Location"] == redirect_to, label
        else:
            assert response.status_code == 200, label


def test_agency_requirement_does_not_touch_other_people_or_pages(client, agency_a):
    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    client.force_login(employee)
    assert client.get("/").status_code == 200  # the portal itself stays open
    client.force_login(make_beneficiary())
    assert client.get(f"/a/{agency_a.slug}/").status_code == 403  # not staff: the usual 403


def test_platform_requires_two_factor_of_operators_and_oversight(client, db):
    cases = [
        ({"is_staff": True}, "/platform/agencies/"),
        ({"is_staff": True}, "/notifications/platform/log/"),
        ({"is_oversight": True}, "/oversight/"),
    ]
    for flags, path in cases:
        user = make_beneficiary(**flags)
        client.logout()
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == SETUP, path
        assert client.get("/").status_code == 200  # their own portal pages stay open
        client.logout()
        login_with_two_factor(client, user)
        assert client.get(path).status_code == 200, path
    # a beneficiary is not required: the usual 403
    client.logout()
    client.force_login(make_beneficiary())
    assert client.get("/platform/agencies/").status_code == 403


def test_setting_up_totp_opens_the_workspace_at_once(
    client, agency_a, django_capture_on_commit_callbacks
):
    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    client.post(LOGIN, {"login": employee.email, "password": PASSWORD})
    assert client.get(f"/a/{agency_a.slug}/")["Location"] == SETUP
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})  # allauth asks first
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    import pyotp

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=employee, type="totp").exists()
    assert client.get(f"/a/{agency_a.slug}/").status_code == 200
    # the setup page offers the way back to where the employee was going
    assert f'href="/a/{agency_a.slug}/"' in client.get(SETUP).content.decode()


# --- the last authenticator -----------------------------------------------------------------


def test_required_user_cannot_deactivate_the_last_authenticator(client, agency_a):
    operator = make_beneficiary(is_staff=True)
    login_with_two_factor(client, operator)
    confirm_with_code(client)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 200 and response.context["form"].errors
    assert Authenticator.objects.filter(user=operator, type="totp").exists()
    # a required employee of an agency: same
    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    client.logout()
    login_with_two_factor(client, employee)
    confirm_with_code(client)
    client.post(reverse("mfa_deactivate_totp"))
    assert Authenticator.objects.filter(user=employee, type="totp").exists()
    # with a second key the app may go
    key = Authenticator.objects.create(
        user=employee, type=Authenticator.Type.WEBAUTHN, data={"name": "key"}
    )
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=employee, type="totp").exists()
    # ...but not the key, now the last one
    response = client.post(reverse("mfa_remove_webauthn", kwargs={"pk": key.pk}))
    assert response.status_code == 302
    assert Authenticator.objects.filter(pk=key.pk).exists()


def test_user_who_is_not_required_may_deactivate(client, agency_b):
    employee = make_employee(agency_b)
    login_with_two_factor(client, employee)
    confirm_with_code(client)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=employee).exists()


# --- the agency's setting -------------------------------------------------------------------


def test_agency_admin_changes_the_requirement_and_it_is_audited(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    login_with_two_factor(client, admin)
    url = f"/a/{agency_a.slug}/settings/security/"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {"requires_two_factor": "on"})
    assert response.status_code == 302
    assert Agency.objects.get(pk=agency_a.pk).requires_two_factor
    with schema_context(agency_a.schema_name):
        event = AuditEvent.objects.filter(action="agency.two_factor_requirement").get()
    assert event.actor_id == admin.pk and event.after == {"requires_two_factor": True}
    # the platform operator sees it
    operator = make_beneficiary(is_staff=True)
    client.logout()
    login_with_two_factor(client, operator)
    html = client.get("/platform/agencies/").content.decode()
    assert "required" in html or "مطلوب" in html


def test_the_requirement_setting_is_refused_to_others(client, agency_a, agency_b):
    url = f"/a/{agency_a.slug}/settings/security/"
    people = {
        "employee without staff.manage_roles": make_employee(agency_a, roles=("supervisor",)),
        "another agency's admin": make_employee(agency_b, roles=("admin",)),
        "beneficiary": make_beneficiary(),
    }
    for label, person in people.items():
        client.logout()
        login_with_two_factor(client, person)
        assert client.get(url).status_code == 403, label
        assert client.post(url, {"requires_two_factor": "on"}).status_code == 403, label
    client.logout()
    response = client.post(url, {"requires_two_factor": "on"})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not Agency.objects.get(pk=agency_a.pk).requires_two_factor
    with schema_context(agency_a.schema_name):
        assert not AuditEvent.objects.filter(action="agency.two_factor_requirement").exists()


def test_the_service_checks_the_permission(agency_a):
    from django.core.exceptions import PermissionDenied

    from tenants.services import agency_set_two_factor_requirement

    employee = make_employee(agency_a)
    with schema_context(agency_a.schema_name), pytest.raises(PermissionDenied):
        agency_set_two_factor_requirement(agency=agency_a, requires_two_factor=True, actor=employee)
    assert not Agency.objects.get(pk=agency_a.pk).requires_two_factor


# --- the workspace websocket ----------------------------------------------------------------


def test_workspace_websocket_is_refused_without_the_second_factor(client, agency_a, monkeypatch):
    from tests.portal.test_websocket import CLOSE_FORBIDDEN, connect

    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    require_two_factor(agency_a)
    employee = make_employee(agency_a)
    path = f"/ws/a/{agency_a.slug}/notifications/"

    def headers():
        return [
            (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ]

    client.force_login(employee)
    connected, code, _ = connect(path, headers())
    assert not connected and code == CLOSE_FORBIDDEN
    mark_session_two_factor(client, employee, add_totp(employee))
    connected, _code, first = connect(path, headers())
    assert connected and first["type"] == "hello"
