"""Shared steps of the browser tests."""

import time
from pathlib import Path

from tests.factories import PASSWORD, mobile_number, national_id

SIGNUP = "/accounts/signup/"
VERIFY = "/accounts/mobile/verify/"


def registration_data(seed: int, **overrides) -> dict:
    data = {
        "first_name_ar": "عبدالله",
        "father_name_ar": "سعد",
        "family_name_ar": "القحطاني",
        "first_name_en": "Abdullah",
        "father_name_en": "Saad",
        "family_name_en": "Alqahtani",
        "identity_type": "national_id",
        "identity_number": national_id(seed),
        "birth_calendar": "hijri",
        "birth_date": "1412-03-15",
        "location": "inside",
        "mobile": mobile_number(seed),
        "email": f"e2e-reg-{seed}@example.sa",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "preferred_language": "ar",
    }
    data.update(overrides)
    return data


def fill_signup(page, data: dict) -> None:
    """Fill the registration form the way a person does: by the fields' ids."""
    for name in (
        "first_name_ar",
        "father_name_ar",
        "family_name_ar",
        "first_name_en",
        "father_name_en",
        "family_name_en",
    ):
        page.fill(f"#id_{name}", data[name])
    page.select_option("#id_identity_type", data["identity_type"])
    page.fill("#id_identity_number", data["identity_number"])
    page.check(f'input[name="birth_calendar"][value="{data["birth_calendar"]}"]')
    page.fill("#id_birth_date", data["birth_date"])
    page.check(f'input[name="location"][value="{data["location"]}"]')
    page.fill("#id_mobile", data["mobile"])
    page.fill("#id_email", data["email"])
    page.fill("#id_password1", data["password1"])
    page.fill("#id_password2", data["password2"])
    page.select_option("#id_preferred_language", data["preferred_language"])


NOT_OURS = (
    "{url} is not rendered with the project's base.html (no <main>, no design-system stylesheet): is a "
    "third-party template (e.g. allauth's account/*.html) shadowing frontend/templates/?"
)


def uses_project_layout(page) -> bool:
    stylesheet = page.locator('link[rel="stylesheet"][href*="frontend/build/muamalat"]')
    return bool(page.locator("main#main").count() and stylesheet.count())


def submit_main_form(page) -> None:
    """Click the submit button of the page's form (not the language switch in the top bar,
    nor a hidden default button a form may start with)."""
    assert uses_project_layout(page), NOT_OURS.format(url=page.url)
    page.locator("main form").first.locator('button[type="submit"]:visible').first.click()


def html_lang_dir(page) -> tuple[str, str]:
    return (
        page.get_attribute("html", "lang") or "",
        page.get_attribute("html", "dir") or "",
    )


def assert_lang(page, lang: str, direction: str) -> None:
    """<html lang dir> as expected, on a page of the project's own layout."""
    assert uses_project_layout(page), NOT_OURS.format(url=page.url)
    assert html_lang_dir(page) == (lang, direction), page.url


class Screenshots:
    """Full-page screenshots into the artifacts folder; keeps track of the time they take."""

    def __init__(self, folder: Path, prefix: str):
        self.folder = folder
        self.prefix = prefix
        self.seconds = 0.0
        self.paths: list[Path] = []

    def __call__(self, page, name: str) -> Path:
        started = time.perf_counter()
        path = self.folder / f"{self.prefix}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.seconds += time.perf_counter() - started
        self.paths.append(path)
        return path


def wait_for_js(page, expression: str, arg=None, timeout: float = 10_000) -> None:
    """``page.wait_for_function`` for pages under our Content-Security-Policy.

    Playwright's wait_for_function compiles the predicate with ``eval`` inside the page, which
    ``script-src 'self'`` (no 'unsafe-eval') refuses; ``page.evaluate`` goes through the
    DevTools protocol, which the policy does not govern. Polls every 25 ms; raises Playwright's
    TimeoutError like wait_for_function.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout / 1000
    while True:
        if page.evaluate(expression, arg):
            return
        if time.monotonic() > deadline:
            raise PlaywrightTimeout(f"{expression!r} still false after {timeout:.0f} ms")
        page.wait_for_timeout(25)
