"""Identity numbers, mobiles and dates of birth: validation, normalisation, protection."""

import hashlib
import hmac
import re
from datetime import date
from functools import lru_cache

import phonenumbers
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property  # noqa: F401
from django.utils.translation import gettext_lazy as _
from hijridate import Gregorian, Hijri

NATIONAL_ID = "national_id"
IQAMA = "iqama"
PASSPORT = "passport"
IDENTITY_TYPES = [
    (NATIONAL_ID, _("National ID")),
    (IQAMA, _("Iqama (residence permit)")),
    (PASSPORT, _("Passport")),
]

ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def normalize_digits(value: str) -> str:
    """Arabic-Indic digits typed on an Arabic keyboard become ASCII digits."""
    return (value or "").translate(ARABIC_DIGITS)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        number = int(char)
        if index % 2 == 0:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


def luhn_complete(first_nine: str) -> str:
    """Append the check digit that makes a nine-digit prefix a valid ten-digit identity."""
    for check in "0123456789":
        if luhn_valid(first_nine + check):
            return first_nine + check
    raise ValueError(first_nine)


def normalize_identity(identity_type: str, number: str) -> str:
    """Validate an identity number for its type and return its canonical form.

    A Saudi national ID is 10 digits starting with 1, an iqama 10 digits starting with 2; both
    carry a Luhn check digit. A passport number is 6-20 Latin letters and digits.
    """
    value = normalize_digits(number).strip().replace(" ", "").upper()
    if identity_type == NATIONAL_ID:
        if not re.fullmatch(r"1\d{9}", value):
            raise ValidationError(
                _("A national ID is 10 digits starting with 1."), code="identity_format"
            )
    elif identity_type == IQAMA:
        if not re.fullmatch(r"2\d{9}", value):
            raise ValidationError(
                _("An iqama number is 10 digits starting with 2."), code="identity_format"
            )
    elif identity_type == PASSPORT:
        if not re.fullmatch(r"[A-Z0-9]{6,20}", value):
            raise ValidationError(
                _("A passport number is 6 to 20 Latin letters and digits."),
                code="identity_format",
            )
        return value
    else:
        raise ValidationError(_("Choose the type of identity document."), code="identity_type")
    if not luhn_valid(value):
        raise ValidationError(
            _("This identity number is not valid (check digit)."), code="identity_checksum"
        )
    return value


def identity_lookup_hash(number: str, key: bytes | None = None) -> str:
    """Keyed hash used to find a user by identity number without decrypting every row."""
    key = settings.IDENTITY_HASH_KEY if key is None else key
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def identity_lookup_hashes(number: str) -> list[str]:
    """The hashes to look a number up by: the current key's, then (during a key rotation)
    IDENTITY_HASH_KEY_PREVIOUS's, until `rotate_identity_keys` has recomputed every row."""
    hashes = [identity_lookup_hash(number)]
    previous = getattr(settings, "IDENTITY_HASH_KEY_PREVIOUS", b"")
    if previous and previous != settings.IDENTITY_HASH_KEY:
        hashes.append(identity_lookup_hash(number, previous))
    return hashes


@lru_cache(maxsize=4)
def _multifernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])


def _fernet() -> MultiFernet:
    """FIELD_ENCRYPTION_KEY lists one or more Fernet keys: the first encrypts, any decrypts."""
    return _multifernet(settings.FIELD_ENCRYPTION_KEY)


def encrypt_identity(number: str) -> str:
    return _fernet().encrypt(number.encode()).decode()


def decrypt_identity(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def seal(text: str) -> str:
    """Encrypt any short text with the field key (e.g. sign-up answers kept in the session)."""
    return _fernet().encrypt(text.encode()).decode()


def unseal(token: str, *, max_age: int) -> str:
    """The text of ``seal``; raises cryptography's InvalidToken when older than ``max_age`` s."""
    return _fernet().decrypt(token.encode(), ttl=max_age).decode()


def reencrypt_identity(token: str) -> str:
    """The same number encrypted with the current (first) key."""
    return _fernet().rotate(token.encode()).decode()


def normalize_mobile(value: str) -> str:
    """Return the mobile number in E.164 (Saudi numbers may be typed locally, e.g. 05...)."""
    raw = normalize_digits(value).strip()
    try:
        number = phonenumbers.parse(raw, "SA")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter a valid mobile number, e.g. +966501234567."), code="mobile_format"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("Enter a valid mobile number, e.g. +966501234567."), code="mobile_invalid"
        )
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(_("This number is not a mobile number."), code="mobile_not_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


GREGORIAN = "gregorian"
HIJRI = "hijri"
CALENDARS = [(HIJRI, _("Hijri")), (GREGORIAN, _("Gregorian"))]


# The range of hijridate's Umm al-Qura tables (1343-1500 AH, 1924-2077 CE).
HIJRI_YEARS = (1343, 1500)


def birth_date_from_parts(
    *, day: int, month: int, year: int, calendar: str, today: date | None = None
) -> date:
    """The Gregorian date of birth from a day, month and year in the chosen calendar.

    A Hijri date is converted with the Umm al-Qura calendar (hijridate), the calendar of
    Saudi documents; a Hijri year outside its tables is refused with a message saying so
    (usually a Gregorian year typed with "Hijri" chosen).
    """
    today = today or date.today()
    try:
        if calendar == HIJRI:
            if not HIJRI_YEARS[0] <= year <= HIJRI_YEARS[1]:
                raise ValidationError(
                    _("A Hijri year is between %(first)s and %(last)s. Is it a Gregorian date?")
                    % {"first": HIJRI_YEARS[0], "last": HIJRI_YEARS[1]},
                    code="hijri_year",
                )
            result = Hijri(year, month, day).to_gregorian()
            result = date(result.year, result.month, result.day)
        elif calendar == GREGORIAN:
            result = date(year, month, day)
        else:
            raise ValidationError(_("Choose Hijri or Gregorian."), code="calendar")
    except (ValueError, OverflowError) as exc:
        raise ValidationError(_("This date does not exist."), code="date_invalid") from exc
    if result >= today:
        raise ValidationError(_("The date of birth must be in the past."), code="date_future")
    if result.year < today.year - 130:
        raise ValidationError(_("This date of birth is too far in the past."), code="date_old")
    return result


def parse_birth_date(value: str, calendar: str, today: date | None = None) -> date:
    """Parse YYYY-MM-DD in the chosen calendar and return the Gregorian date."""
    match = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", normalize_digits(value).strip())
    if not match:
        raise ValidationError(
            _("Enter the date as year-month-day, e.g. 1415-06-21."), code="date_format"
        )
    year, month, day = (int(part) for part in match.groups())
    return birth_date_from_parts(day=day, month=month, year=year, calendar=calendar, today=today)


def to_hijri(value: date) -> str:
    hijri = Gregorian(value.year, value.month, value.day).to_hijri()
    return f"{hijri.year:04d}-{hijri.month:02d}-{hijri.day:02d}"
