"""Sign-up and login forms (allauth subclasses) and the mobile code form."""

from allauth.account import forms as allauth_forms
from allauth.account.adapter import get_adapter
from allauth.core import ratelimit
from django import forms
from django.db import models
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from accounts import identity, pending, services, signup_steps
from accounts.models import User


class LoginForm(allauth_forms.LoginForm):
    """One field accepts an identity number, an email or a mobile number."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"] = forms.CharField(
            label=_("Identity number, email or mobile"),
            max_length=254,
            widget=forms.TextInput(
                attrs={"autocomplete": "username", "autofocus": True, "dir": "ltr"}
            ),
        )
        self.fields["password"].widget.attrs["dir"] = "ltr"

    def user_credentials(self) -> dict:
        # Always "email" for allauth's rate-limit key; IdentifierBackend resolves what it is.
        credentials = {"email": self.cleaned_data["login"]}
        if self.cleaned_data.get("password"):
            credentials["password"] = self.cleaned_data["password"]
        return credentials


def users_holding_email(email: str, *, exclude: User | None = None):
    """Accounts whose address ``email`` is: their own, or a confirmed one (an address merely
    asked for and not confirmed belongs to nobody yet, so nobody can squat it)."""
    from allauth.account.models import EmailAddress

    confirmed = EmailAddress.objects.filter(email__iexact=email, verified=True)
    users = User.objects.filter(
        models.Q(email__iexact=email) | models.Q(pk__in=confirmed.values("user_id"))
    )
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users


class AddEmailForm(allauth_forms.AddEmailForm):
    """The email page (ACCOUNT_CHANGE_EMAIL: the one address is replaced once the new one is
    confirmed). An address of another account is not attached and no confirmation goes to
    it: its owner is told that someone tried (never who), and the page answers as for any
    address, so it does not tell whether the address is registered."""

    def clean_email(self) -> str:
        value = super().clean_email()
        self.registered_owner = users_holding_email(value, exclude=self.user).first()
        return value

    def save(self, request):
        from allauth.account.internal.flows import email_verification
        from allauth.account.models import EmailAddress

        email = self.cleaned_data["email"]
        owner = self.registered_owner
        if owner is None:
            return super().save(request)
        if ratelimit.consume(request, action="registered_details_notice", key=f"user:{owner.pk}"):
            services.email_change_to_registered_address(owner=owner)
        email_verification.add_email_verification_sent_message(request, email, signup=False)
        return EmailAddress(user=self.user, email=email)  # not saved: nothing is attached


class SignupForm(allauth_forms.SignupForm):
    """Beneficiary registration (R-1), the last of accounts.signup_steps: the password here,
    every other answer from the steps kept in the session (the view passes them in ``data``),
    checked again by each step's form before allauth creates the account."""

    def __init__(self, *args, **kwargs):
        # Accounts that already hold the identity number, email or mobile typed (see try_save).
        self.registered_owners: dict[int, User] = {}
        # Steps whose answers no longer pass (the view sends the person back to the first).
        self.step_errors: dict[str, dict] = {}
        self.step_data: dict = {}
        super().__init__(*args, **kwargs)
        self.fields["email"].widget = forms.HiddenInput()
        self.fields["email"].error_messages["required"] = _("Enter your email address.")
        self.fields["password1"].error_messages["required"] = _("Enter a password.")
        self.fields["password2"].error_messages["required"] = _("Enter the password again.")
        for name in ("password1", "password2"):
            self.fields[name].widget.attrs.update({"dir": "ltr", "class": "form-control"})

    def clean(self):
        for step, form_class in signup_steps.STEP_FORMS.items():
            step_form = form_class(self.data)
            if step_form.is_valid():
                self.step_data.update(step_form.cleaned_data)
            else:
                self.step_errors[step] = step_form.errors
        if self.step_errors:
            self.add_error(None, _("Some of your answers need checking."))
        else:
            number = self.step_data["identity_number"]
            self._note_owner(
                User.objects.filter(identity_hash__in=identity.identity_lookup_hashes(number))
            )
            self._note_owner(User.objects.filter(mobile=self.step_data["mobile"]))
        return super().clean()

    def validate_unique_email(self, value: str) -> str:
        # Not allauth's check, which says "already registered" when verification is optional.
        self._note_owner(User.objects.filter(email__iexact=value))
        self._note_owner(users_holding_email(value))
        return get_adapter().validate_unique_email(value)

    def _note_owner(self, users) -> None:
        # Registered details are not form errors: the answer must not tell who is registered.
        for user in users:
            self.registered_owners[user.pk] = user

    def try_save(self, request):
        """Register, or (details already registered) tell the owners and create nothing.

        Both lead to the same mobile-code step with the same messages; nobody is signed in
        before the code is confirmed (see accounts.pending), so the next page does not
        reveal which details exist. Returns allauth's ``(user, response)``.
        """
        from allauth.account.internal.flows import email_verification
        from allauth.account.models import EmailAddress
        from allauth.account.signals import user_signed_up

        email = self.cleaned_data["email"]
        mobile = self.step_data["mobile"]
        if self.registered_owners:
            owners = [
                owner
                for owner in self.registered_owners.values()
                # At most a few notices per owner, however often someone tries.
                if ratelimit.consume(
                    request, action="registered_details_notice", key=f"user:{owner.pk}"
                )
            ]
            services.signup_with_registered_details(owners=owners)
            email_verification.add_email_verification_sent_message(request, email, signup=True)
            pending.start(request, user=None, mobile=mobile)
            return None, redirect("accounts:verify_mobile")
        user = self.save(request)
        user_signed_up.send(sender=user.__class__, request=request, user=user)
        address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
        if address is not None:
            email_verification.send_verification_email_to_address(request, address, signup=True)
        pending.start(request, user=user, mobile=mobile)
        return user, redirect("accounts:verify_mobile")

    def profile_data(self) -> dict:
        data = self.step_data
        return {
            "identity_type": data["identity_type"],
            "identity_number": data["identity_number"],
            "names": {name: data[name] for name in signup_steps.NAME_FIELDS},
            "birth_date": data["birth_date"],
            "birth_calendar": data["birth_calendar"],
            "location": data["location"],
            "mobile": data["mobile"],
            "preferred_language": data["preferred_language"],
        }


class MobileCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "dir": "ltr"}
        ),
    )

    def __init__(self, *args, user: User | None, unregistered: dict | None = None, **kwargs):
        self.user = user
        self.unregistered = unregistered
        super().__init__(*args, **kwargs)

    def clean_code(self) -> str:
        code = identity.normalize_digits(self.cleaned_data["code"]).strip()
        if self.user is None:
            services.mobile_verification_confirm_unregistered(state=self.unregistered, code=code)
        else:
            services.mobile_verification_confirm(user=self.user, code=code)
        return code
