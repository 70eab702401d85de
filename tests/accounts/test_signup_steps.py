"""Registration in steps (accounts.signup_steps): each step refuses bad input with a
field-specific, translated error and stores nothing; answers survive going back; the last
step creates the account only when every earlier step is answered."""

import re
from datetime import date

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from hijridate import Hijri

from accounts import identity, signup_steps
from accounts.models import User
from tests.accounts.signup import sign_up, signup_data, step_urls
from tests.factories import national_id

ARABIC = re.compile(r"[\u0600-\u06FF]")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def stored(client) -> dict:
    """What the session keeps of the steps (decrypted), {} when nothing."""
    token = client.session.get(signup_steps.SESSION_KEY)
    if not token:
        return {}
    import json

    return json.loads(identity.unseal(token, max_age=3600))


def reach(client, step: str, data: dict) -> str:
    """Answer the steps before ``step``; returns the URL of ``step``."""
    urls = step_urls()
    index = signup_steps.STEPS.index(step)
    for url in urls[:index]:
        response = client.post(url, data)
        assert response.status_code == 302, response.context["form"].errors
    return urls[index]


# (step, overrides, field, English message, Arabic message)
BAD_INPUT = [
    ("identity", {"identity_number": ""}, "identity_number", "Enter your identity number."),
    ("identity", {"identity_number": "123"}, "identity_number", "10 digits starting with 1"),
    ("identity", {"identity_number": "2000000001"}, "identity_number", "starting with 1"),
    ("identity", {"identity_number": "1000000001"}, "identity_number", "check digit"),
    (
        "identity",
        {"identity_type": "iqama", "identity_number": national_id()},
        "identity_number",
        "starting with 2",
    ),
    (
        "identity",
        {"identity_type": "passport", "identity_number": "AB"},
        "identity_number",
        "6 to 20",
    ),
    ("identity", {"identity_type": ""}, "identity_type", "Choose the type of your identity"),
    (
        "identity",
        {"birth_day": "", "birth_month": "", "birth_year": ""},
        "birth_day",
        "Enter your date of birth.",
    ),
    ("identity", {"birth_month": ""}, "birth_month", "must include a month"),
    ("identity", {"birth_year": "14"}, "birth_year", "4 digits"),
    ("identity", {"birth_month": "13"}, "birth_month", "from 1 to 12"),
    ("identity", {"birth_day": "x"}, "birth_day", "from 1 to 30"),
    ("identity", {"birth_day": "31", "birth_month": "3"}, "birth_day", "does not exist"),
    ("identity", {"birth_year": "1990"}, "birth_year", "Is it a Gregorian date?"),
    (
        "identity",
        {"birth_calendar": "gregorian", "birth_year": "2999"},
        "birth_day",
        "must be in the past",
    ),
    (
        "identity",
        {"birth_calendar": "gregorian", "birth_year": "1410"},
        "birth_year",
        "too far in the past",
    ),
    ("names", {"first_name_ar": ""}, "first_name_ar", "Enter your first name in Arabic."),
    ("names", {"father_name_ar": " "}, "father_name_ar", "Enter your father's name in Arabic."),
    ("names", {"family_name_ar": ""}, "family_name_ar", "Enter your family name in Arabic."),
    ("names", {"first_name_ar": "Abdullah"}, "first_name_ar", "Arabic letters"),
    ("names", {"first_name_en": "عبدالله"}, "first_name_en", "English letters"),
    ("names", {"family_name_en": ""}, "family_name_en", "Enter your family name in English."),
    ("contact", {"mobile": ""}, "mobile", "Enter your mobile number."),
    ("contact", {"mobile": "12345"}, "mobile", "valid mobile"),
    ("contact", {"mobile": "+966112345678"}, "mobile", "not a mobile"),  # Riyadh landline
    ("contact", {"email": ""}, "email", "Enter your email address."),
    ("contact", {"email": "not-an-email"}, "email", "like name@example.sa"),
    ("contact", {"location": "mars"}, "location", "inside or outside the Kingdom"),
]


@pytest.mark.parametrize(("step", "overrides", "field", "message"), BAD_INPUT)
def test_bad_input_on_a_step_is_refused_on_its_field_and_nothing_is_stored(
    client, db, step, overrides, field, message
):
    data = signup_data()
    users = User.objects.count()
    url = reach(client, step, data)
    before = stored(client)
    for language in ("en", "ar"):
        client.cookies["muamalat_language"] = language
        response = client.post(url, {**data, **overrides})
        assert response.status_code == 200
        errors = " ".join(response.context["form"].errors.get(field, []))
        if language == "en":
            assert message in errors, errors
        else:
            latin = re.sub(r"name@example\.sa|\+966\d+", "", errors)
            assert ARABIC.search(errors) and not re.search(r"[A-Za-z]{3}", latin), errors
        html = response.content.decode()
        # The field's own message, tied to it, and a linked error summary; "Error:" in the title
        assert f'id="id_{field}_error"' in html
        link_target = f"id_{field}_0" if field in ("identity_type", "location") else f"id_{field}"
        assert f'href="#{link_target}"' in html
        assert re.search(rf'aria-describedby="[^"]*id_{field}_error', html)
        with translation.override(language):
            assert re.search(r"<title>\s*" + translation.gettext("Error:"), html)
        assert "This field is required" not in html and "هذا الحقل مطلوب" not in html
        assert stored(client) == before  # nothing of the refused page is kept
    assert User.objects.count() == users


def test_each_step_needs_the_steps_before_it(client, db):
    users = User.objects.count()
    urls = step_urls()
    for url in urls[1:]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == urls[0]
    response = client.post(urls[-1], signup_data())  # straight to the password: refused
    assert response.status_code == 302 and response["Location"] == urls[0]
    assert User.objects.count() == users


def test_going_back_shows_every_answer_as_typed(client, db):
    data = signup_data(identity_number=national_id().translate(str.maketrans("0123", "٠١٢٣")))
    urls = step_urls()
    reach(client, "password", data)
    for url, step in zip(urls[:3], signup_steps.STEP_FORMS, strict=True):
        response = client.get(url)
        form = response.context["form"]
        for name in signup_steps.STEP_FORMS[step].base_fields:
            assert form[name].value() == data[name], name
    page = client.get(urls[2]).content.decode()
    assert 'value="0551234567"' in page and 'value="abdullah@example.sa"' in page
    # Step indicator and back link on each page.
    for index, url in enumerate(urls):
        page = client.get(url).content.decode()
        assert f"Step {index + 1} of 4" in page or f"الخطوة {index + 1} من 4" in page
        back = urls[index - 1] if index else reverse("portal:home")
        assert f'href="{back}"' in page
    # The identity number is not kept in clear in the session.
    raw = client.session[signup_steps.SESSION_KEY]
    assert data["identity_number"] not in raw


def test_changing_an_earlier_answer_keeps_the_later_ones(client, db):
    data = signup_data()
    urls = step_urls()
    reach(client, "password", data)
    client.post(urls[0], {**data, "birth_calendar": "gregorian", "birth_year": "1990"})
    response = sign_up(client, {**data, "birth_calendar": "gregorian", "birth_year": "1990"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:verify_mobile")
    user = User.objects.get(email=data["email"])
    assert user.birth_date == date(1990, 5, 12) and user.birth_calendar == "gregorian"
    assert stored(client) == {}  # the answers are dropped once the account exists


def test_english_name_is_optional(client, db):
    data = signup_data(first_name_en="", father_name_en="", family_name_en="")
    response = sign_up(client, data)
    assert response.status_code == 302, response.context["form"].errors
    user = User.objects.get(email=data["email"])
    assert user.full_name_ar == "عبدالله سعد الغامدي" and user.full_name_en == ""
    assert user.display_name == "عبدالله سعد الغامدي"


def test_hijri_date_of_birth_is_converted_with_umm_al_qura(client, db):
    data = signup_data(birth_day="٢٩", birth_month="١٢", birth_year="١٤٠٠")  # Arabic digits
    response = sign_up(client, data)
    assert response.status_code == 302, response.context["form"].errors
    user = User.objects.get(email=data["email"])
    assert user.birth_date == date(1980, 11, 7)  # 29 Dhu al-Hijjah 1400 AH (Umm al-Qura)
    assert user.birth_calendar == "hijri"
    converted = Hijri(1400, 12, 29).to_gregorian()
    assert user.birth_date == date(converted.year, converted.month, converted.day)


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        (1, 1, 1445, date(2023, 7, 19)),  # 1 Muharram 1445
        (12, 5, 1410, date(1989, 12, 10)),
        (1, 9, 1445, date(2024, 3, 11)),  # 1 Ramadan 1445
    ],
)
def test_birth_date_from_hijri_parts(day, month, year, expected):
    result = identity.birth_date_from_parts(day=day, month=month, year=year, calendar="hijri")
    assert result == expected


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ({"day": 30, "month": 2, "year": 1990, "calendar": "gregorian"}, "date_invalid"),
        ({"day": 31, "month": 1, "year": 1420, "calendar": "hijri"}, "date_invalid"),
        ({"day": 1, "month": 1, "year": 1990, "calendar": "hijri"}, "hijri_year"),
        ({"day": 1, "month": 1, "year": 1342, "calendar": "hijri"}, "hijri_year"),
        ({"day": 1, "month": 1, "year": 1500, "calendar": "hijri"}, "date_future"),
        ({"day": 1, "month": 1, "year": 1850, "calendar": "gregorian"}, "date_old"),
        ({"day": 1, "month": 1, "year": 1990, "calendar": "julian"}, "calendar"),
    ],
)
def test_impossible_birth_dates_are_refused(parts, code):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        identity.birth_date_from_parts(**parts)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("password1", "password2", "field", "english"),
    [
        ("", "", "password1", "Enter a password."),
        ("Zq9", "Zq9", "password1", "too short"),
        ("12345678901", "12345678901", "password1", "entirely numeric"),
        ("password", "password", "password1", "too common"),
        ("abdullah@example.sa", "abdullah@example.sa", "password1", "too similar"),
        ("Zq9!long-enough", "Zq9!long-enough-not", "password2", "same password"),
    ],
)
def test_password_messages_are_in_arabic_on_arabic_pages(
    client, db, password1, password2, field, english
):
    data = signup_data(password1=password1, password2=password2)
    users = User.objects.count()
    url = reach(client, "password", data)
    before = stored(client)
    client.cookies["muamalat_language"] = "en"
    response = client.post(url, data)
    assert english in " ".join(response.context["form"].errors[field])
    client.cookies["muamalat_language"] = "ar"
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    for error in errors:
        assert ARABIC.search(error) and not re.search(r"[A-Za-z]{3}", error), errors
    html = response.content.decode()
    assert f'href="#id_{field}"' in html
    help_text = html.split('id="id_password1_helptext"', 1)[1].split("</div>", 1)[0]
    assert ARABIC.search(help_text) and not re.search(r"[A-Za-z]{3}", help_text), help_text
    assert User.objects.count() == users
    assert stored(client) == before  # the password is never kept


def test_every_page_of_the_registration_is_in_arabic(client, db):
    data = signup_data()
    urls = step_urls()
    for index, url in enumerate(urls):
        page = client.get(url).content.decode()
        main = page.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
        text = re.sub(r"<[^>]+>", " ", main)
        text = re.sub(r"(English|name@example\.sa|05XXXXXXXX)", " ", text)
        assert not re.search(r"[A-Za-z]{3}", text), (url, text)
        if index < 3:
            client.post(url, data)
