"""Logins and logouts go to the platform audit log, so presence periods can be computed."""

from allauth.account.signals import user_signed_up
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from core import audit, messaging


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    audit.platform_record(actor=user, action="auth.login", obj=user)


@receiver(user_logged_out)
def record_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.platform_record(actor=user, action="auth.logout", obj=user)


@receiver(user_signed_up)
def send_mobile_code(sender, request, user, **kwargs):
    from accounts.services import mobile_verification_send

    audit.platform_record(actor=user, action="account.signup", obj=user)
    if user.mobile:
        mobile_verification_send(user=user)
    messaging.notify(
        recipient=user,
        event="account.welcome",
        idempotency_key=f"account.welcome:{user.pk}",
        link="/",
    )
