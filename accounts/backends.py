"""Authentication by identity number, email or mobile number (R-2)."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from accounts import identity
from accounts.models import User


def identifier_normalise(identifier: str) -> str:
    """One spelling per identifier: ASCII digits, E.164 mobiles, upper-case identity numbers,
    lower-case emails (what the login-failure limit keys on when no account matches)."""
    value = identity.normalize_digits(identifier or "").strip()
    if "@" in value:
        return "email:" + value.lower()
    if value.startswith("+") or value.startswith("05") or value.startswith("00"):
        try:
            return "mobile:" + identity.normalize_mobile(value)
        except ValidationError:
            return "other:" + value.replace(" ", "")
    return "identity:" + value.replace(" ", "").upper()


def user_find_by_identifier(identifier: str) -> User | None:
    """Resolve what the person typed: an email, a mobile number or an identity number."""
    value = identity.normalize_digits(identifier or "").strip()
    if not value:
        return None
    if "@" in value:
        return User.objects.filter(email__iexact=value).first()
    if value.startswith("+") or value.startswith("05") or value.startswith("00"):
        try:
            return User.objects.filter(mobile=identity.normalize_mobile(value)).first()
        except ValidationError:
            return None
    return User.objects.filter(
        identity_hash__in=identity.identity_lookup_hashes(value.replace(" ", "").upper())
    ).first()


class IdentifierBackend(ModelBackend):
    def authenticate(self, request, email=None, password=None, username=None, **kwargs):
        identifier = email or username
        if not identifier or password is None:
            return None
        user = user_find_by_identifier(identifier)
        if user is None:
            # Run the hasher anyway so timing does not tell which identifiers exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    # Permissions come from the agency membership (tenants.backends), not from here.
    def has_perm(self, user_obj, perm, obj=None):
        return False

    def get_all_permissions(self, user_obj, obj=None):
        return set()
