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
        """Render allauth's message in the active language and send it through a job."""
        from notifications.tasks import send_email

        message = self.render_mail(template_prefix, email, context)
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = content
        if message.content_subtype == "html":
            html, body = message.body, ""
        else:
            body = message.body
        send_email.defer(
            subject=message.subject,
            body=body,
            html=html,
            to=message.to,
            from_email=message.from_email,
            headers=dict(message.extra_headers),
        )

    def get_signup_redirect_url(self, request):
        return reverse("accounts:verify_mobile")
