"""Sign-up and login forms (allauth subclasses) and the mobile code form."""

from allauth.account import forms as allauth_forms
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.accounts import identity, services
from portal.accounts.models import User

NAME_FIELDS = [
    ("first_name_ar", _("First name (Arabic)"), "ar"),
    ("father_name_ar", _("Father's name (Arabic)"), "ar"),
    ("family_name_ar", _("Family name (Arabic)"), "ar"),
    ("first_name_en", _("First name (English)"), "en"),
    ("father_name_en", _("Father's name (English)"), "en"),
    ("family_name_en", _("Family name (English)"), "en"),
]


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


class SignupForm(allauth_forms.SignupForm):
    """Beneficiary registration (R-1)."""

    identity_type = forms.ChoiceField(label=_("Identity type"), choices=identity.IDENTITY_TYPES)
    identity_number = forms.CharField(
        label=_("Identity number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "dir": "ltr"}),
    )
    birth_calendar = forms.ChoiceField(
        label=_("Calendar of the date of birth"),
        choices=identity.CALENDARS,
        initial=identity.HIJRI,
        widget=forms.RadioSelect,
    )
    birth_date = forms.CharField(
        label=_("Date of birth (year-month-day)"),
        max_length=10,
        widget=forms.TextInput(attrs={"placeholder": "1415-06-21", "dir": "ltr"}),
    )
    location = forms.ChoiceField(
        label=_("Location"), choices=User.LOCATIONS, initial=User.INSIDE, widget=forms.RadioSelect
    )
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "inputmode": "tel",
                "autocomplete": "tel",
                "dir": "ltr",
                "placeholder": "+9665XXXXXXXX",
            }
        ),
    )
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"), choices=[("ar", "العربية"), ("en", "English")]
    )

    field_order = [
        *[name for name, _label, _lang in NAME_FIELDS],
        "identity_type",
        "identity_number",
        "birth_calendar",
        "birth_date",
        "location",
        "mobile",
        "email",
        "password1",
        "password2",
        "preferred_language",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label, lang in NAME_FIELDS:
            self.fields[name] = forms.CharField(
                label=label,
                max_length=60,
                widget=forms.TextInput(
                    attrs={"dir": "rtl" if lang == "ar" else "ltr", "lang": lang}
                ),
            )
        self.order_fields(self.field_order)
        self.fields["email"].widget.attrs.update({"dir": "ltr", "placeholder": "name@example.sa"})
        for name in ("password1", "password2"):
            self.fields[name].widget.attrs["dir"] = "ltr"
        from django.utils.translation import get_language

        self.fields["preferred_language"].initial = get_language() or "ar"

    def clean_identity_number(self) -> str:
        identity_type = self.cleaned_data.get("identity_type")
        number = identity.normalize_identity(identity_type, self.cleaned_data["identity_number"])
        if User.objects.filter(identity_hash__in=identity.identity_lookup_hashes(number)).exists():
            raise ValidationError(_("An account with this identity number already exists."))
        return number

    def clean_mobile(self) -> str:
        mobile = identity.normalize_mobile(self.cleaned_data["mobile"])
        if User.objects.filter(mobile=mobile).exists():
            raise ValidationError(_("An account with this mobile number already exists."))
        return mobile

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("birth_date") and cleaned.get("birth_calendar"):
            try:
                cleaned["birth_date_gregorian"] = identity.parse_birth_date(
                    cleaned["birth_date"], cleaned["birth_calendar"]
                )
            except ValidationError as exc:
                self.add_error("birth_date", exc)
        return cleaned

    def profile_data(self) -> dict:
        data = self.cleaned_data
        return {
            "identity_type": data["identity_type"],
            "identity_number": data["identity_number"],
            "names": {name: data[name] for name, _label, _lang in NAME_FIELDS},
            "birth_date": data["birth_date_gregorian"],
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

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_code(self) -> str:
        code = identity.normalize_digits(self.cleaned_data["code"]).strip()
        services.mobile_verification_confirm(user=self.user, code=code)
        return code
