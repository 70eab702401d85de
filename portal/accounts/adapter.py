from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.accounts import services


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": _(
            "The identity number, email or mobile and the password do not match."
        ),
        "too_many_login_attempts": _("Too many failed login attempts. Try again in a few minutes."),
    }

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        services.user_populate_profile(user=user, **form.profile_data())
        if commit:
            user.save()
        return user

    def send_mail(self, template_prefix, email, context):
        """Render allauth's message in the active language and queue it in the encrypted
        outbox; a job taking only the row's id sends it (no link in job arguments or logs)."""
        from notifications.services import account_email_queue

        account_email_queue(self.render_mail(template_prefix, email, context))

    def get_signup_redirect_url(self, request):
        return reverse("accounts:verify_mobile")
