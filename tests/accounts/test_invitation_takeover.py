"""Account takeover by pre-registration (issue 10, point 2): an invitation binds to an account
only through its link, which proves control of the invited address, and never to an account
whose address is unverified."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import SmsMessage, User
from tenants.models import AgencyMember, PlatformAuditEvent
from tenants.services import agency_onboard, employee_invite
from tenants.staff.models import Invitation, Membership, Role
from tests.accounts.signup import sign_up, signup_data
from tests.factories import PASSWORD, make_beneficiary, make_employee
from tests.jobs import run_pending_jobs

NEW_PASSWORD = "Another-Strong-Pass-77"
TARGET = "new.hire@example.sa"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The squatters sign up from 127.0.0.1 like every signup test: keep allauth's per-IP
    signup limit (a cache counter) from leaking between this module and the others."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def squat(email: str = TARGET) -> User:
    """An outsider signs up with someone else's address (left unverified) and stays signed in."""
    outsider = Client()
    response = sign_up(outsider, signup_data(email=email))
    assert response.status_code == 302
    user = User.objects.get(email=email)
    # The outsider controls their own mobile: confirming its code signs them in.
    run_pending_jobs()
    sms = SmsMessage.objects.filter(to=user.mobile, body__contains="رمز").latest("pk")
    code = re.search(r"\d{6}", sms.body).group()
    response = outsider.post(reverse("accounts:verify_mobile"), {"code": code})
    assert response.status_code == 302
    assert "_auth_user_id" in outsider.session
    assert not EmailAddress.objects.get(user=user).verified
    user.client = outsider
    return user


def invite(agency, email: str = TARGET, roles=("admin",)):
    admin = make_employee(agency, roles=("admin",))
    with schema_context(agency.schema_name):
        return employee_invite(
            agency=agency,
            email=email,
            roles=list(Role.objects.filter(codename__in=roles)),
            actor=admin,
        )


def link_path(mailoutbox, email: str = TARGET) -> str:
    message = [m for m in mailoutbox if m.to == [email]][-1]
    url = re.search(r"https?://[^\s]+/accounts/invitation/[^\s]+", message.body).group()
    return url.split("8000", 1)[1]


def is_member(agency, user) -> bool:
    with schema_context(agency.schema_name):
        return Membership.objects.filter(user_id=user.pk).exists()


def assert_outsider_has_nothing(agency, outsider, client):
    assert not is_member(agency, outsider)
    assert not AgencyMember.objects.filter(user=outsider).exists()
    assert client.get(f"/a/{agency.slug}/").status_code == 403
    assert client.get(f"/a/{agency.slug}/staff/").status_code == 403


# --- the attack -------------------------------------------------------------------------------


def test_inviting_a_squatted_address_gives_the_squatter_nothing(agency_a, mailoutbox):
    outsider = squat()
    invite(agency_a)
    run_pending_jobs()
    assert_outsider_has_nothing(agency_a, outsider, outsider.client)
    # the link went to the address, not to the squatter's session; the in-app note has no token
    path = link_path(mailoutbox)
    token = path.rstrip("/").rsplit("/", 1)[1]
    from notifications.models import Notification

    for note in Notification.objects.filter(recipient=outsider):
        assert token not in note.body and token not in note.link
    # the squatting account is not even told of the invitation: only the address is written to
    assert not Notification.objects.filter(recipient=outsider, event="staff.invited").exists()
    assert [m.to for m in mailoutbox if token in m.body] == [[TARGET]]
    # swapping addresses afterwards does not help either
    EmailAddress.objects.filter(user=outsider).delete()
    User.objects.filter(pk=outsider.pk).update(email="outsider@evil.example")
    EmailAddress.objects.create(user=outsider, email="outsider@evil.example", verified=True)
    assert_outsider_has_nothing(agency_a, outsider, outsider.client)
    # signed in as the squatter, even the real link is refused (another account)
    response = outsider.client.post(path, {"new_password1": "x", "new_password2": "x"})
    assert response.status_code == 403
    assert_outsider_has_nothing(agency_a, outsider, outsider.client)


def test_onboarding_a_squatted_first_admin_address_gives_the_squatter_nothing(
    agencies, db, mailoutbox
):
    outsider = squat("boss@omega.example")
    agency = agency_onboard(
        slug="omega", name_ar="أوميغا", name_en="Omega", admin_email="boss@omega.example"
    )
    run_pending_jobs()
    assert_outsider_has_nothing(agency, outsider, outsider.client)
    assert outsider.client.get(f"/a/{agency.slug}/roles/").status_code == 403
    assert outsider.client.get(f"/a/{agency.slug}/audit/").status_code == 403
    # the real person follows the link (case c) and becomes the first admin
    path = link_path(mailoutbox, "boss@omega.example")
    real = Client()
    response = real.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == f"/a/{agency.slug}/"
    assert real.get(f"/a/{agency.slug}/roles/").status_code == 200
    admin = User.objects.get(email="boss@omega.example")
    assert admin.pk != outsider.pk
    assert_outsider_has_nothing(agency, outsider, outsider.client)


# --- the link accepted by the real person -----------------------------------------------------


def test_case_a_no_account_the_person_creates_it(agency_a, mailoutbox):
    invite(agency_a, roles=("employee",))
    run_pending_jobs()
    path = link_path(mailoutbox)
    real = Client()
    page = real.get(path)
    assert page.status_code == 200 and 'name="new_password1"' in page.content.decode()
    response = real.post(
        path,
        {
            "first_name_ar": "ريم",
            "first_name_en": "Reem",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/a/{agency_a.slug}/"
    user = User.objects.get(email=TARGET)
    assert user.check_password(NEW_PASSWORD) and user.first_name_en == "Reem"
    address = EmailAddress.objects.get(user=user, email=TARGET)
    assert address.verified and address.primary
    assert is_member(agency_a, user)
    assert real.get(f"/a/{agency_a.slug}/").status_code == 200
    with schema_context(agency_a.schema_name):
        assert Invitation.objects.get(email=TARGET).accepted_by_id == user.pk


def test_case_b_verified_account_signs_in_and_accepts(agency_a, mailoutbox):
    person = make_beneficiary(email=TARGET)
    EmailAddress.objects.create(user=person, email=TARGET, verified=True, primary=True)
    invite(agency_a, roles=("employee",))
    run_pending_jobs()
    path = link_path(mailoutbox)
    anonymous = Client()
    page = anonymous.get(path)
    assert page.status_code == 200
    assert f"{reverse('account_login')}?next=" in page.content.decode()
    # nothing bound by merely opening the link, nor by posting without signing in
    anonymous.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not is_member(agency_a, person)
    person.refresh_from_db()
    assert person.check_password(PASSWORD)
    signed_in = Client()
    signed_in.force_login(person)
    assert signed_in.get(path).status_code == 200
    response = signed_in.post(path)
    assert response.status_code == 302 and response["Location"] == f"/a/{agency_a.slug}/"
    assert is_member(agency_a, person)
    assert signed_in.get(f"/a/{agency_a.slug}/").status_code == 200


def test_case_c_unverified_claim_is_detached_and_the_person_creates_their_account(
    agency_a, mailoutbox
):
    outsider = squat()
    invite(agency_a, roles=("employee",))
    run_pending_jobs()
    path = link_path(mailoutbox)
    real = Client()
    assert 'name="new_password1"' in real.get(path).content.decode()
    response = real.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(email=TARGET)
    assert user.pk != outsider.pk
    assert EmailAddress.objects.get(user=user, email=TARGET).verified
    assert is_member(agency_a, user)
    outsider.refresh_from_db()
    assert outsider.email != TARGET
    assert not EmailAddress.objects.filter(user=outsider, email__iexact=TARGET).exists()
    assert PlatformAuditEvent.objects.filter(
        action="account.email_detached", object_id=str(outsider.pk)
    ).exists()
    assert_outsider_has_nothing(agency_a, outsider, outsider.client)


def test_signed_in_as_someone_else_is_refused(agency_a, mailoutbox):
    invite(agency_a, roles=("employee",))
    run_pending_jobs()
    path = link_path(mailoutbox)
    other = Client()
    somebody = make_beneficiary()
    other.force_login(somebody)
    response = other.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 403
    assert somebody.email in response.content.decode()
    assert not is_member(agency_a, somebody)
    with schema_context(agency_a.schema_name):
        assert Invitation.objects.get(email=TARGET).accepted_at is None


def test_reinviting_replaces_the_pending_invitation(agency_a, mailoutbox):
    invite(agency_a, roles=("employee",))
    run_pending_jobs()
    first = link_path(mailoutbox)
    invite(agency_a, roles=("employee",))
    run_pending_jobs()
    second = link_path(mailoutbox)
    assert first != second
    with schema_context(agency_a.schema_name):
        assert Invitation.objects.filter(email=TARGET).count() == 1
    assert Client().get(first).status_code == 400
    assert Client().get(second).status_code == 200


# --- bad links --------------------------------------------------------------------------------


def _state(agency):
    with schema_context(agency.schema_name):
        return (
            list(Invitation.objects.values_list("email", "accepted_at")),
            Membership.objects.count(),
            User.objects.count(),
        )


@pytest.mark.parametrize("kind", ["expired", "forged", "reused", "other agency", "garbage"])
def test_bad_links_are_refused_with_a_translated_page(agency_a, agency_b, mailoutbox, kind):
    invite(agency_a, roles=("employee",))
    run_pending_jobs()
    path = link_path(mailoutbox)
    if kind == "expired":
        with schema_context(agency_a.schema_name):
            Invitation.objects.filter(email=TARGET).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
    elif kind == "forged":
        path = path.rstrip("/")[:-4] + "AAAA/"
    elif kind == "reused":
        Client().post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    elif kind == "other agency":
        path = path.replace(f"/{agency_a.slug}/", f"/{agency_b.slug}/")
    else:
        path = "/accounts/invitation/" + "x" * 300 + "/%00/"
    before = _state(agency_a)
    visitor = Client()
    assert visitor.get(path).status_code == 400
    response = visitor.post(
        path, {"new_password1": "Other-Pass-123!", "new_password2": "Other-Pass-123!"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'lang="ar"' in html and "Invitation link not valid" not in html  # Arabic page
    assert _state(agency_a) == before
