"""The login-failure lock follows the account across spellings; the login page echoes only a
local ``next``."""

import time
import types
from html import escape

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import PASSWORD, make_beneficiary, mobile_number

LOCKED = "Too many failed login attempts"


@pytest.fixture
def lock_of_three(settings):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_failed": "100/m/ip,3/5m/key",
    }
    cache.clear()
    yield
    cache.clear()


def arabic_indic(value: str) -> str:
    return value.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def spellings(user) -> dict[str, str]:
    local = "0" + user.mobile.removeprefix("+966")
    return {
        "e164": user.mobile,
        "local": local,
        "arabic_local": arabic_indic(local),
        "international_00": "00" + user.mobile.removeprefix("+"),
        "identity": user.identity_number,
        "arabic_identity": arabic_indic(user.identity_number),
        "email": user.email,
        "email_upper": user.email.upper(),
    }


def login(client, identifier: str, password: str):
    return client.post(reverse("account_login"), {"login": identifier, "password": password})


def test_lock_after_failures_holds_for_every_spelling_of_the_account(client, db, lock_of_three):
    user = make_beneficiary(mobile=mobile_number())
    client.cookies["muamalat_language"] = "en"
    names = spellings(user)
    for _ in range(3):
        login(client, names["local"], "wrong-password")
    for name, identifier in names.items():
        response = login(client, identifier, PASSWORD)
        assert "_auth_user_id" not in client.session, name
        assert LOCKED in response.content.decode(), name


@pytest.mark.parametrize("failed_with", ["email", "identity", "arabic_local"])
def test_lock_started_with_any_spelling_refuses_the_others(client, db, lock_of_three, failed_with):
    user = make_beneficiary(mobile=mobile_number())
    names = spellings(user)
    for _ in range(3):
        login(client, names[failed_with], "wrong-password")
    for name, identifier in names.items():
        login(client, identifier, PASSWORD)
        assert "_auth_user_id" not in client.session, (failed_with, name)


def test_lock_expires_and_then_every_spelling_logs_in(client, db, lock_of_three, monkeypatch):
    from allauth.core.internal import ratelimit

    user = make_beneficiary(mobile=mobile_number())
    names = spellings(user)
    for _ in range(3):
        login(client, names["e164"], "wrong-password")
    login(client, names["identity"], PASSWORD)
    assert "_auth_user_id" not in client.session

    # Six minutes later (the window is five): travel in the rate limiter's clock.
    later = types.SimpleNamespace(
        time=lambda: time.time() + 360, monotonic=time.monotonic, sleep=time.sleep
    )
    monkeypatch.setattr(ratelimit, "time", later)
    for name, identifier in names.items():
        client.logout()
        response = login(client, identifier, PASSWORD)
        assert response.status_code == 302, name
        assert client.session["_auth_user_id"] == str(user.pk), name


def test_unknown_identifiers_are_keyed_on_their_normalised_form(client, db, lock_of_three):
    from django.test import RequestFactory

    from accounts.adapter import AccountAdapter

    request = RequestFactory().post("/accounts/login/")
    adapter = AccountAdapter()
    key = adapter._get_login_attempts_cache_key
    assert key(request, email="0551112233") == key(request, email="+966 55 111 2233")
    assert key(request, email="٠٥٥١١١٢٢٣٣") == key(request, email="00966551112233")
    assert key(request, email="Nobody@Example.sa") == key(request, email="nobody@example.sa")
    assert key(request, email="0551112233") != key(request, email="0551112234")


def test_login_page_does_not_echo_an_external_next(client, db):
    for value in (
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://testserver@evil.example/",
    ):
        html = client.get(reverse("account_login"), {"next": value}).content.decode()
        # Only the login form's own field is checked: the language switch carries the page's
        # own (local, percent-encoded) address back, not a redirect target.
        login_form = html.split('action="/accounts/login/"', 1)[1].split("</form>", 1)[0]
        assert 'name="next"' not in login_form, value
        assert value not in html and escape(value) not in html, value


def test_login_page_keeps_a_local_next_and_follows_it(client, db):
    html = client.get(reverse("account_login"), {"next": "/requests/?page=2"}).content.decode()
    assert 'name="next" value="/requests/?page=2"' in html
    user = make_beneficiary()
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": PASSWORD, "next": "/requests/"},
    )
    assert response["Location"] == "/requests/"


def test_signup_page_does_not_echo_an_external_next(client, db):
    value = "https://evil.example/"
    html = client.get(reverse("account_signup"), {"next": value}).content.decode()
    signup_form = html.split('action="/accounts/signup/"', 1)[1].split("</form>", 1)[0]
    assert 'name="next"' not in signup_form
    assert value not in html and escape(value) not in html
    html = client.get(reverse("account_signup"), {"next": "/requests/"}).content.decode()
    assert 'name="next" value="/requests/"' in html
