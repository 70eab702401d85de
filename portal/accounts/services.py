"""Account use cases: registration, mobile verification, language preference."""

import hashlib
import hmac
import secrets
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import MobileVerification, User


def _code_hash(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def user_populate_profile(
    *,
    user: User,
    identity_type: str,
    identity_number: str,
    names: dict[str, str],
    birth_date: date,
    birth_calendar: str,
    location: str,
    mobile: str,
    preferred_language: str,
) -> User:
    """Fill a new beneficiary's profile (called by allauth's signup inside its transaction)."""
    user.set_identity(identity_type, identity_number)
    for field, value in names.items():
        setattr(user, field, value.strip())
    user.birth_date = birth_date
    user.birth_calendar = birth_calendar
    user.location = location
    user.mobile = mobile
    user.mobile_verified = False
    user.preferred_language = preferred_language
    return user


def mobile_verification_send(*, user: User) -> MobileVerification:
    """Send a 6-digit code to the user's mobile in their language; earlier codes stop working."""
    if not user.mobile:
        raise ValidationError(_("There is no mobile number on this account."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        MobileVerification.objects.filter(user=user, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        verification = MobileVerification.objects.create(
            user=user, mobile=user.mobile, code_hash=_code_hash(code)
        )
        from notifications.services import notification_send

        notification_send(
            recipient=user,
            event="account.mobile_code",
            context={"code": code},
            idempotency_key=f"account.mobile_code:{verification.pk}",
        )
    return verification


def mobile_verification_confirm(*, user: User, code: str) -> None:
    """Mark the mobile verified when the code matches the latest unexpired one."""
    with transaction.atomic():
        verification = (
            MobileVerification.objects.select_for_update()
            .filter(user=user, used_at__isnull=True, mobile=user.mobile)
            .first()
        )
        expired = verification is None or verification.created_at < timezone.now() - timedelta(
            seconds=settings.MOBILE_CODE_TTL_SECONDS
        )
        if expired or verification.attempts >= settings.MOBILE_CODE_MAX_ATTEMPTS:
            raise ValidationError(_("This code has expired. Ask for a new one."), code="expired")
        if not hmac.compare_digest(verification.code_hash, _code_hash(code.strip())):
            verification.attempts += 1
            verification.save(update_fields=["attempts"])
            # Raise after the block so the counted attempt is committed, not rolled back.
            raise_after = True
        else:
            raise_after = False
            verification.used_at = timezone.now()
            verification.save(update_fields=["used_at"])
            User.objects.filter(pk=user.pk).update(mobile_verified=True)
            user.mobile_verified = True
    if raise_after:
        raise ValidationError(_("The code is not correct."), code="wrong_code")


def user_set_language(*, user: User, language: str) -> None:
    """Remember the user's interface language for every device they use."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language."))
    User.objects.filter(pk=user.pk).update(preferred_language=language)
    user.preferred_language = language
