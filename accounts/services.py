"""Account use cases: registration, mobile verification, language preference."""

import hashlib
import hmac
import math
import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _

from accounts.models import MobileVerification, User
from core import audit, messaging


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


def mobile_code_next_allowed(sent: list[datetime], now: datetime) -> datetime | None:
    """When another code may be sent, given when the earlier ones were (None: right now).

    One code per ``MOBILE_CODE_RESEND_SECONDS`` and at most ``MOBILE_CODE_MAX_PER_HOUR`` in
    any hour; the sign-up's first code counts.
    """
    window = sorted(t for t in sent if t > now - timedelta(hours=1))
    waits = []
    if window and window[-1] > now - timedelta(seconds=settings.MOBILE_CODE_RESEND_SECONDS):
        waits.append(window[-1] + timedelta(seconds=settings.MOBILE_CODE_RESEND_SECONDS))
    if len(window) >= settings.MOBILE_CODE_MAX_PER_HOUR:
        waits.append(window[-settings.MOBILE_CODE_MAX_PER_HOUR] + timedelta(hours=1))
    return max(waits) if waits else None


def mobile_code_throttled(at: datetime) -> ValidationError:
    """The refusal saying when a new code can be asked for (local time, next whole minute)."""
    local = timezone.localtime(at)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    minutes = max(1, math.ceil((at - timezone.now()).total_seconds() / 60))
    return ValidationError(
        _(
            "A code was sent a short while ago. You can ask for a new one at %(time)s "
            "(in about %(minutes)s min)."
        )
        % {"time": time_format(local, "H:i"), "minutes": minutes},
        code="throttled",
    )


def mobile_verification_send(*, user: User) -> MobileVerification:
    """Send a 6-digit code to the user's mobile in their language; earlier codes stop working.

    Throttled per account (see ``mobile_code_next_allowed``): sending costs money and a burst
    of codes is harassment of whoever holds the number.
    """
    if not user.mobile:
        raise ValidationError(_("There is no mobile number on this account."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        # One sender at a time per account, so a burst of requests cannot all pass the check.
        User.objects.select_for_update().filter(pk=user.pk).first()
        now = timezone.now()
        sent = MobileVerification.objects.filter(
            user=user, created_at__gt=now - timedelta(hours=1)
        ).values_list("created_at", flat=True)
        at = mobile_code_next_allowed(list(sent), now)
        if at is not None:
            raise mobile_code_throttled(at)
        MobileVerification.objects.filter(user=user, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        verification = MobileVerification.objects.create(
            user=user, mobile=user.mobile, code_hash=_code_hash(code)
        )
        messaging.notify(
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


def mobile_verification_send_unregistered(*, state: dict) -> None:
    """The resend of a sign-up that created no account (its details were already registered):
    nothing is sent, but the page answers exactly as for a real one, throttle included."""
    now = timezone.now()
    sent = [datetime.fromisoformat(t) for t in state.get("sent", [])]
    at = mobile_code_next_allowed(sent, now)
    if at is not None:
        raise mobile_code_throttled(at)
    state["sent"] = [t.isoformat() for t in sent if t > now - timedelta(hours=1)]
    state["sent"].append(now.isoformat())
    state["attempts"] = 0


def mobile_verification_confirm_unregistered(*, state: dict, code: str) -> None:
    """A code typed for a sign-up that created no account: never right, refused as a real
    wrong code is (attempts counted, then "expired")."""
    sent = [datetime.fromisoformat(t) for t in state.get("sent", [])]
    expired = not sent or max(sent) < timezone.now() - timedelta(
        seconds=settings.MOBILE_CODE_TTL_SECONDS
    )
    if expired or state.get("attempts", 0) >= settings.MOBILE_CODE_MAX_ATTEMPTS:
        raise ValidationError(_("This code has expired. Ask for a new one."), code="expired")
    state["attempts"] = state.get("attempts", 0) + 1
    raise ValidationError(_("The code is not correct."), code="wrong_code")


def signup_with_registered_details(*, owners: list[User]) -> None:
    """Someone tried to register with an identity number, email or mobile that belongs to an
    account: no account is created, and each owner is told (email and SMS), without anything
    about who tried."""
    with transaction.atomic():
        for owner in owners:
            audit.platform_record(actor=None, action="account.signup_registered_details", obj=owner)
            messaging.notify(recipient=owner, event="account.registered_details_used", link="/")


def email_change_to_registered_address(*, owner: User) -> None:
    """Someone signed in asked to use ``owner``'s address for their own account: nothing is
    attached; the owner is told, without anything about who tried."""
    with transaction.atomic():
        audit.platform_record(actor=None, action="account.email_change_registered", obj=owner)
        messaging.notify(recipient=owner, event="account.registered_details_used", link="/")


def user_set_language(*, user: User, language: str) -> None:
    """Remember the user's interface language for every device they use."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language."))
    User.objects.filter(pk=user.pk).update(preferred_language=language)
    user.preferred_language = language
