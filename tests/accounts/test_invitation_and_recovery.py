import re

from allauth.account.models import EmailAddress
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.models import User
from tenants.services import employee_invite
from tests.factories import PASSWORD, make_beneficiary, make_employee
from tests.jobs import run_pending_jobs

NEW_PASSWORD = "Another-Strong-Pass-77"


def invitation_link(mailoutbox) -> str:
    return re.search(r"http://[^\s]+/accounts/invitation/[^\s]+", mailoutbox[-1].body).group()


def test_invitation_link_sets_password_once(client, agency_a, mailoutbox):
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        employee_invite(agency=agency_a, email="invitee@example.sa", actor=admin)
    run_pending_jobs()
    link = invitation_link(mailoutbox)
    path = link.split("127.0.0.1:8000", 1)[1]
    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == f"/a/{agency_a.slug}/"
    assert client.get(response["Location"]).status_code == 200  # logged in, inside the workspace
    assert User.objects.get(email="invitee@example.sa").check_password(NEW_PASSWORD)
    # one-time: the same link no longer works
    other = client.__class__()
    assert other.get(path).status_code == 400
    assert (
        other.post(path, {"new_password1": "x" * 12, "new_password2": "x" * 12}).status_code == 400
    )


def test_garbage_invitation_links_are_refused_cleanly(client, db):
    for path in (
        "/accounts/invitation/zzz/abc/",
        "/accounts/invitation/MQ/1-2/",
        "/accounts/invitation/99999999999999999999/x/",
    ):
        assert client.get(path).status_code == 400


def test_signup_sends_email_verification_link(client, db, mailoutbox):
    from tests.accounts.signup import sign_up, signup_data

    sign_up(client, signup_data())
    address = EmailAddress.objects.get(email="abdullah@example.sa")
    assert not address.verified
    run_pending_jobs()
    message = next(m for m in mailoutbox if "confirm-email" in m.body)
    link = re.search(r"/accounts/confirm-email/[^\s]+/", message.body).group()
    client.post(link)
    address.refresh_from_db()
    assert address.verified


def test_password_reset_by_email(client, db, mailoutbox):
    user = make_beneficiary()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    run_pending_jobs()
    link = re.search(r"/accounts/password/reset/key/[^\s]+/", mailoutbox[-1].body).group()
    response = client.get(link, follow=True)
    form_path = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)
