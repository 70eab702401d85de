"""Registration in steps, driven with the test client: the answers and the walk through the
steps (accounts.signup_steps)."""

from django.urls import reverse

from tests.factories import PASSWORD, national_id


def signup_data(**overrides) -> dict:
    data = {
        "identity_type": "national_id",
        "identity_number": national_id(),
        "birth_calendar": "hijri",
        "birth_day": "12",
        "birth_month": "5",
        "birth_year": "1410",
        "first_name_ar": "عبدالله",
        "father_name_ar": "سعد",
        "family_name_ar": "الغامدي",
        "first_name_en": "Abdullah",
        "father_name_en": "Saad",
        "family_name_en": "Alghamdi",
        "mobile": "0551234567",
        "email": "abdullah@example.sa",
        "location": "inside",
        "preferred_language": "ar",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def step_urls() -> list[str]:
    return [
        reverse("account_signup"),
        reverse("accounts:signup_names"),
        reverse("accounts:signup_contact"),
        reverse("accounts:signup_password"),
    ]


def sign_up(client, data: dict, **extra):
    """Post ``data`` to each step in turn, as a person going through the pages does; returns
    the response of the last step, or of the first step that did not move on."""
    urls = step_urls()
    for index, url in enumerate(urls):
        response = client.post(url, data, **extra)
        if index == len(urls) - 1:
            return response
        if response.status_code != 302 or response["Location"] != urls[index + 1]:
            return response
    raise AssertionError("unreachable")
