"""Registration in short steps (R-1): identity, names, contact, then the password.

One topic per page (GOV.UK's "one thing per page"). Each step's form checks its own answers;
what a step accepted is kept in the session, encrypted with the field key (it holds the
identity number) and for an hour at most, so going back and forth loses nothing typed. The
last step is allauth's sign-up view with ``accounts.forms.SignupForm``, which checks every
step's answers again and creates the account through allauth (rate limits, email
verification, the mobile code). Nothing is stored when a step's answers are refused.
"""

import json
import re

from cryptography.fernet import InvalidToken
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts import identity
from accounts.models import User

SESSION_KEY = "accounts_signup_steps"
LIFETIME_SECONDS = 3600

IDENTITY, NAMES, CONTACT, PASSWORD = "identity", "names", "contact", "password"
STEPS = [IDENTITY, NAMES, CONTACT, PASSWORD]
URL_NAMES = {
    IDENTITY: "account_signup",
    NAMES: "accounts:signup_names",
    CONTACT: "accounts:signup_contact",
    PASSWORD: "accounts:signup_password",
}
TITLES = {
    IDENTITY: _("Your identity document"),
    NAMES: _("Your name"),
    CONTACT: _("How we reach you"),
    PASSWORD: _("Choose a password"),
}

ARABIC_LETTERS = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
LATIN_LETTERS_OR_DIGITS = re.compile(r"[A-Za-z0-9\u0660-\u0669]")


def _text(label, *, max_length: int, required: bool = True, messages: dict, attrs: dict):
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        error_messages=messages,
        widget=forms.TextInput(attrs={"class": "form-control", **attrs}),
    )


def _radios(label, *, choices, initial, message):
    return forms.ChoiceField(
        label=label,
        choices=choices,
        initial=initial,
        error_messages={"required": message, "invalid_choice": message},
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )


class IdentityStepForm(forms.Form):
    """Step 1: the identity document and the date of birth (day, month, year; Hijri or
    Gregorian)."""

    identity_type = _radios(
        _("Identity document"),
        choices=identity.IDENTITY_TYPES,
        initial=identity.NATIONAL_ID,
        message=_("Choose the type of your identity document."),
    )
    identity_number = _text(
        _("Identity number"),
        max_length=20,
        messages={
            "required": _("Enter your identity number."),
            "max_length": _("An identity number has at most 20 characters."),
        },
        # Not inputmode=numeric: a passport number has letters.
        attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"},
    )
    birth_calendar = _radios(
        _("Calendar"),
        choices=identity.CALENDARS,
        initial=identity.HIJRI,
        message=_("Choose Hijri or Gregorian."),
    )
    birth_day = _text(
        _("Day"),
        max_length=2,
        required=False,
        messages={"max_length": _("The day is a number from 1 to 30.")},
        attrs={"dir": "ltr", "inputmode": "numeric", "autocomplete": "bday-day", "size": 2},
    )
    birth_month = _text(
        _("Month"),
        max_length=2,
        required=False,
        messages={"max_length": _("The month is a number from 1 to 12.")},
        attrs={"dir": "ltr", "inputmode": "numeric", "autocomplete": "bday-month", "size": 2},
    )
    birth_year = _text(
        _("Year"),
        max_length=4,
        required=False,
        messages={"max_length": _("Enter the year in 4 digits, e.g. 1412.")},
        attrs={"dir": "ltr", "inputmode": "numeric", "autocomplete": "bday-year", "size": 4},
    )

    DATE_PARTS = ("birth_day", "birth_month", "birth_year")

    def date_part_fields(self) -> list:
        return [self[part] for part in self.DATE_PARTS]

    def clean_identity_number(self) -> str:
        return identity.normalize_identity(
            self.cleaned_data.get("identity_type"), self.cleaned_data["identity_number"]
        )

    def clean(self):
        cleaned = super().clean()
        if any(part in self.errors for part in self.DATE_PARTS):
            return cleaned
        parts = {p: identity.normalize_digits(cleaned.get(p, "")).strip() for p in self.DATE_PARTS}
        missing = [p for p, value in parts.items() if not value]
        if len(missing) == 3:
            self.add_error("birth_day", _("Enter your date of birth."))
            return cleaned
        for part in missing:
            self.add_error(
                part,
                {
                    "birth_day": _("Your date of birth must include a day."),
                    "birth_month": _("Your date of birth must include a month."),
                    "birth_year": _("Your date of birth must include a year."),
                }[part],
            )
        if missing:
            return cleaned
        checks = {
            "birth_day": (r"\d{1,2}", _("The day is a number from 1 to 30.")),
            "birth_month": (r"\d{1,2}", _("The month is a number from 1 to 12.")),
            "birth_year": (r"\d{4}", _("Enter the year in 4 digits, e.g. 1412.")),
        }
        for part, (pattern, message) in checks.items():
            if not re.fullmatch(pattern, parts[part]):
                self.add_error(part, message)
        if any(part in self.errors for part in self.DATE_PARTS):
            return cleaned
        if not 1 <= int(parts["birth_month"]) <= 12:
            self.add_error("birth_month", _("The month is a number from 1 to 12."))
            return cleaned
        calendar = cleaned.get("birth_calendar")
        if not calendar:
            return cleaned
        try:
            cleaned["birth_date"] = identity.birth_date_from_parts(
                day=int(parts["birth_day"]),
                month=int(parts["birth_month"]),
                year=int(parts["birth_year"]),
                calendar=calendar,
            )
        except ValidationError as exc:
            field = "birth_year" if exc.code in ("hijri_year", "date_old") else "birth_day"
            self.add_error(field, exc)
        return cleaned


NAME_PARTS = [
    # (field, label, required message)
    ("first_name_ar", _("First name"), _("Enter your first name in Arabic.")),
    ("father_name_ar", _("Father's name"), _("Enter your father's name in Arabic.")),
    ("family_name_ar", _("Family name"), _("Enter your family name in Arabic.")),
    ("first_name_en", _("First name"), _("Enter your first name in English.")),
    ("father_name_en", _("Father's name"), ""),
    ("family_name_en", _("Family name"), _("Enter your family name in English.")),
]
NAME_FIELDS = [name for name, _label, _message in NAME_PARTS]
ENGLISH_NAME_FIELDS = [name for name in NAME_FIELDS if name.endswith("_en")]


class NamesStepForm(forms.Form):
    """Step 2: the full name in Arabic (three parts, R-1); in English optional (shown folded):
    when given, the first and family names at least."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label, message in NAME_PARTS:
            arabic = name.endswith("_ar")
            self.fields[name] = _text(
                label,
                max_length=60,
                required=arabic,
                messages={
                    "required": message,
                    "max_length": _("A name has at most 60 characters."),
                },
                attrs={
                    "dir": "rtl" if arabic else "ltr",
                    "lang": "ar" if arabic else "en",
                    "autocomplete": "off",
                    "spellcheck": "false",
                },
            )

    def clean(self):
        cleaned = super().clean()
        for name in NAME_FIELDS:
            value = " ".join((cleaned.get(name) or "").split())
            if name in cleaned:
                cleaned[name] = value
            if not value:
                continue
            if name.endswith("_ar") and LATIN_LETTERS_OR_DIGITS.search(value):
                self.add_error(name, _("Write the name in Arabic letters."))
            elif name.endswith("_en") and (ARABIC_LETTERS.search(value) or re.search(r"\d", value)):
                self.add_error(name, _("Write the name in English letters."))
        if any(cleaned.get(name) for name in ENGLISH_NAME_FIELDS):
            for name, _label, message in NAME_PARTS:
                if name in ("first_name_en", "family_name_en") and name not in self.errors:
                    if not cleaned.get(name):
                        self.add_error(name, message)
        return cleaned


class ContactStepForm(forms.Form):
    """Step 3: where we reach the person: mobile (verified by SMS next), email, where they
    live, the language of messages."""

    mobile = _text(
        _("Mobile number"),
        max_length=20,
        messages={
            "required": _("Enter your mobile number."),
            "max_length": _("Enter a valid mobile number, e.g. +966501234567."),
        },
        attrs={
            "inputmode": "tel",
            "autocomplete": "tel",
            "dir": "ltr",
            "placeholder": "05XXXXXXXX",
        },
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        error_messages={
            "required": _("Enter your email address."),
            "invalid": _("Enter an email address like name@example.sa."),
        },
        widget=forms.EmailInput(
            attrs={
                "class": "form-control",
                "autocomplete": "email",
                "dir": "ltr",
                "spellcheck": "false",
            }
        ),
    )
    location = _radios(
        _("Where do you live?"),
        choices=User.LOCATIONS,
        initial=User.INSIDE,
        message=_("Choose whether you live inside or outside the Kingdom."),
    )
    preferred_language = _radios(
        _("Language of our messages to you"),
        choices=[("ar", "العربية"), ("en", "English")],
        initial="ar",
        message=_("Choose the language of our messages."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_language"].initial = get_language() or "ar"

    def clean_mobile(self) -> str:
        return identity.normalize_mobile(self.cleaned_data["mobile"])

    def clean_email(self) -> str:
        from allauth.account.adapter import get_adapter

        return get_adapter().clean_email(self.cleaned_data["email"].lower())


STEP_FORMS: dict[str, type[forms.Form]] = {
    IDENTITY: IdentityStepForm,
    NAMES: NamesStepForm,
    CONTACT: ContactStepForm,
}


# --- the answers kept in the session -----------------------------------------------------------


def _load(request) -> dict:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        return {}
    try:
        data = json.loads(identity.unseal(token, max_age=LIFETIME_SECONDS))
    except (InvalidToken, ValueError):
        clear(request)
        return {}
    return data if isinstance(data, dict) else {}


def _store(request, data: dict) -> None:
    request.session[SESSION_KEY] = identity.seal(json.dumps(data))


def answers(request, step: str) -> dict[str, str] | None:
    """What the person typed on ``step`` (when the step accepted it), else None."""
    value = _load(request).get(step)
    return value if isinstance(value, dict) else None


def save_answers(request, step: str, form: forms.Form) -> None:
    """Keep what was typed on a step whose form is valid (as typed: shown again as it was)."""
    data = _load(request)
    data[step] = {name: form.data.get(name, "") for name in form.fields}
    _store(request, data)


def all_answers(request) -> dict[str, str]:
    """Every step's answers in one dict, as the final form takes them."""
    merged: dict[str, str] = {}
    data = _load(request)
    for step in STEP_FORMS:
        merged.update(data.get(step) or {})
    return merged


def first_unanswered(request, *, before: str) -> str | None:
    """The first step before ``before`` that has no answers yet (None: all are there)."""
    data = _load(request)
    for step in STEPS[: STEPS.index(before)]:
        if not isinstance(data.get(step), dict):
            return step
    return None


def remember_next(request, path: str) -> None:
    data = _load(request)
    data["next"] = path
    _store(request, data)


def next_path(request) -> str:
    return str(_load(request).get("next") or "")


def clear(request) -> None:
    request.session.pop(SESSION_KEY, None)


def url(step: str) -> str:
    return reverse(URL_NAMES[step])


def step_context(step: str) -> dict:
    """Step indicator and back link of a step's page."""
    index = STEPS.index(step)
    return {
        "step": step,
        "step_number": index + 1,
        "step_total": len(STEPS),
        "step_title": TITLES[step],
        "back_url": url(STEPS[index - 1]) if index else reverse("portal:home"),
    }
