from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.contrib.sites.shortcuts import get_current_site
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts import services
from core import messaging


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": _(
            "The identity number, email or mobile and the password do not match."
        ),
        "too_many_login_attempts": _("Too many failed login attempts. Try again in a few minutes."),
    }

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Key the login-failure limit on the account, not on the string typed.

        allauth keys it on the lowercased login, so after five failures with ``05…`` the same
        account could be tried again as ``+9665…``, in Arabic-Indic digits, by identity number
        or by email. The identifier is resolved as the IdentifierBackend resolves it; one that
        matches no account is keyed on its normalised form. allauth also calls this to clear
        the limit after a password reset (with the account's email): same key.
        """
        from accounts.backends import identifier_normalise, user_find_by_identifier

        site = get_current_site(request)
        typed = credentials.get("email") or credentials.get("username") or ""
        user = user_find_by_identifier(typed)
        if user is not None:
            return f"{site.domain}:account:{user.pk}"
        return f"{site.domain}:login:{identifier_normalise(typed)}"

    def reauthenticate(self, user, password: str) -> bool:
        """Confirm the password of the signed-in account (allauth looks for an EmailAddress
        row, which invited and older accounts may lack; the account's email is enough)."""
        reauth_user = self.authenticate(context.request, email=user.email, password=password)
        return reauth_user is not None and reauth_user.pk == user.pk

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        services.user_populate_profile(user=user, **form.profile_data())
        if commit:
            user.save()
        return user

    def send_mail(self, template_prefix, email, context):
        """Render allauth's message in the active language and queue it in the encrypted
        outbox; a job taking only the row's id sends it (no link in job arguments or logs)."""
        messaging.account_email(self.render_mail(template_prefix, email, context))

    def get_signup_redirect_url(self, request):
        return reverse("accounts:verify_mobile")
