"""The account email page cannot be used to mail or claim someone else's address (point 10)."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.urls import reverse

from notifications.models import Notification
from tests.factories import PASSWORD, make_beneficiary
from tests.jobs import run_pending_jobs

EMAIL_PAGE = reverse("account_email")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def attacker(client, db):
    user = make_beneficiary(preferred_language="en")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    return user


def add(client, email: str):
    return client.post(EMAIL_PAGE, {"email": email, "action_add": ""})


def names_of(user) -> list[str]:
    return [user.email, user.full_name_en, user.full_name_ar, user.first_name_en]


def test_one_address_changed_only_after_confirmation(settings):
    assert settings.ACCOUNT_CHANGE_EMAIL is True
    assert settings.ACCOUNT_REAUTHENTICATION_REQUIRED is True


def test_adding_an_address_asks_for_the_password_again(client, db, mailoutbox):
    user = make_beneficiary()
    client.force_login(user)  # signed in, but not by typing the password just now
    response = add(client, "new.address@example.sa")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    run_pending_jobs()
    assert not EmailAddress.objects.filter(email="new.address@example.sa").exists()
    assert not mailoutbox


def test_another_accounts_address_is_neither_attached_nor_mailed(client, attacker, mailoutbox):
    owner = make_beneficiary(email="admin@moh.demo")
    response = add(client, "Admin@MOH.demo")
    assert response.status_code == 302  # answered as for any address
    assert not EmailAddress.objects.filter(user=attacker, email__iexact=owner.email).exists()
    attacker.refresh_from_db()
    assert attacker.email != owner.email
    run_pending_jobs()
    # No confirmation link reaches the owner; only the notice, which names nobody.
    assert not any("confirm-email" in m.body for m in mailoutbox)
    assert Notification.objects.filter(
        recipient=owner, event="account.registered_details_used"
    ).exists()
    for message in mailoutbox:
        for name in names_of(attacker):
            assert name not in message.body and name not in message.subject


def test_a_free_address_gets_a_confirmation_naming_nobody_and_replaces_the_old_one(
    client, attacker, mailoutbox
):
    old = attacker.email
    response = add(client, "someone.else@example.sa")
    assert response.status_code == 302
    attacker.refresh_from_db()
    assert attacker.email == old  # not before the new address is confirmed
    run_pending_jobs()
    message = next(m for m in mailoutbox if "someone.else@example.sa" in m.to)
    for name in names_of(attacker):
        assert name not in message.body, name
    link = re.search(r"/accounts/confirm-email/[^\s]+/", message.body).group()
    client.post(link)
    attacker.refresh_from_db()
    assert attacker.email == "someone.else@example.sa"
    assert list(EmailAddress.objects.filter(user=attacker).values_list("email", flat=True)) == [
        "someone.else@example.sa"
    ]


def test_the_email_page_is_rate_limited(client, attacker):
    statuses = [add(client, f"try{n}@example.sa").status_code for n in range(7)]
    assert statuses[:5] == [302] * 5
    assert statuses[5:] == [429, 429]
