"""Two-factor sign-in in tests: a TOTP authenticator with a known secret, codes from pyotp,
and a signed-in session that counts as having used the second factor.

``client.force_login`` does not go through allauth's login stages, so on its own it leaves a
user with an authenticator "second factor pending" (see accounts.two_factor).
``login_with_two_factor`` writes the session records allauth itself writes after a password
and a TOTP code, so the pages behind the requirement open as they would after a real sign-in
(the real sign-in is tested in tests/accounts/test_two_factor.py and tests/e2e)."""

import time

import pyotp
from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP

TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def add_totp(user, secret: str = TEST_TOTP_SECRET) -> Authenticator:
    """Give ``user`` a TOTP authenticator (the way allauth's activation stores it)."""
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    return existing or TOTP.activate(user, secret).instance


def totp_code(secret: str = TEST_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).now()


def mark_session_two_factor(client, user, authenticator: Authenticator) -> None:
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "id": authenticator.pk, "type": authenticator.type},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()


def login_with_two_factor(client, user) -> Authenticator:
    """Sign ``user`` in as after password + TOTP code (adds the authenticator if missing)."""
    authenticator = add_totp(user)
    client.force_login(user)
    mark_session_two_factor(client, user, authenticator)
    return authenticator


def sign_in(client, user) -> None:
    """``client.force_login``, except that operators and oversight users, whom the platform
    requires to use two-factor sign-in, are signed in as after their code."""
    if user.is_staff or user.is_oversight:
        login_with_two_factor(client, user)
    else:
        client.force_login(user)
