"""Shared steps of the browser tests."""

import threading
import time
from pathlib import Path

from tests.factories import PASSWORD, mobile_number, national_id

SIGNUP = "/accounts/signup/"
VERIFY = "/accounts/mobile/verify/"


def registration_data(seed: int, **overrides) -> dict:
    data = {
        "identity_type": "national_id",
        "identity_number": national_id(seed),
        "birth_calendar": "hijri",
        "birth_day": "15",
        "birth_month": "3",
        "birth_year": "1412",
        "first_name_ar": "عبدالله",
        "father_name_ar": "سعد",
        "family_name_ar": "القحطاني",
        "first_name_en": "Abdullah",
        "father_name_en": "Saad",
        "family_name_en": "Alqahtani",
        # typed the local way, as most people do
        "mobile": "0" + mobile_number(seed).removeprefix("+966"),
        "email": f"e2e-reg-{seed}@example.sa",
        "location": "inside",
        "preferred_language": "ar",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


# The registration's steps (accounts.signup_steps) and what a person fills on each.
SIGNUP_STEPS = [
    (
        "/accounts/signup/",
        [
            "identity_type",
            "identity_number",
            "birth_calendar",
            "birth_day",
            "birth_month",
            "birth_year",
        ],
    ),
    (
        "/accounts/signup/names/",
        [
            "first_name_ar",
            "father_name_ar",
            "family_name_ar",
            "first_name_en",
            "father_name_en",
            "family_name_en",
        ],
    ),
    ("/accounts/signup/contact/", ["mobile", "email", "location", "preferred_language"]),
    ("/accounts/signup/password/", ["password1", "password2"]),
]
RADIOS = {"identity_type", "birth_calendar", "location", "preferred_language"}


class Pace:
    """How fast the person is: ``key_delay`` ms per key, ``field_pause`` ms moving to the next
    field, ``reading`` ms reading each new page. Zero: as fast as Playwright goes."""

    def __init__(self, key_delay: int = 0, field_pause: int = 0, reading: int = 0):
        self.key_delay, self.field_pause, self.reading = key_delay, field_pause, reading


FAST = Pace()
HUMAN = Pace(key_delay=80, field_pause=600, reading=1000)


def fill_field(page, name: str, value: str, pace: Pace = FAST) -> None:
    if name in RADIOS:
        page.locator(f'input[name="{name}"][value="{value}"]').check()
    elif pace.key_delay:
        page.locator(f"#id_{name}").click()
        page.keyboard.type(value, delay=pace.key_delay)
    else:
        page.fill(f"#id_{name}", value)
    if pace.field_pause:
        page.wait_for_timeout(pace.field_pause)


def fill_step(page, fields: list[str], data: dict, pace: Pace = FAST) -> None:
    """Fill one step's page; the English name is folded away: opened when there is one."""
    if pace.reading:
        page.wait_for_timeout(pace.reading)
    for name in fields:
        if name == "first_name_en" and data.get(name):
            summary = page.locator("#english-name summary")
            if page.locator("#english-name[open]").count() == 0:
                summary.click()
        if data.get(name) or name in RADIOS:
            fill_field(page, name, data[name], pace)


def fill_signup(page, data: dict, pace: Pace = FAST, *, base_url: str = "") -> None:
    """Go through the registration's steps the way a person does, submitting each; stops
    on the last one before submitting it (the caller submits)."""
    for index, (path, fields) in enumerate(SIGNUP_STEPS):
        if base_url:
            page.wait_for_url(base_url + path)
        fill_step(page, fields, data, pace)
        if index < len(SIGNUP_STEPS) - 1:
            submit_main_form(page)


NOT_OURS = (
    "{url} is not rendered with the project's base.html (no <main>, no design-system "
    "stylesheet): is a third-party template (e.g. allauth's account/*.html) shadowing "
    "frontend/templates/?"
)


def uses_project_layout(page) -> bool:
    stylesheet = page.locator('link[rel="stylesheet"][href*="frontend/build/muamalat"]')
    return bool(page.locator("main#main").count() and stylesheet.count())


def submit_main_form(page) -> None:
    """Click the submit button of the page's form (not the language switch in the top bar,
    nor a hidden default button a form may start with)."""
    assert uses_project_layout(page), NOT_OURS.format(url=page.url)
    page.locator("main form").first.locator('button[type="submit"]:visible').first.click()


def log_in(page, live_url: str, login: str, next_path: str) -> None:
    """Sign in with the test password through the login page, coming back to ``next_path``."""
    page.goto(f"{live_url}/accounts/login/?next={next_path}")
    page.fill("#id_login", login)
    page.fill("#id_password", PASSWORD)
    submit_main_form(page)
    page.wait_for_url(live_url + next_path)


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


def in_thread(function, timeout: float = 120):
    """Run ``function`` off Playwright's thread (whose asyncio loop is marked running), with
    its own database connections, closed afterwards; its exception is raised here."""
    from django.db import connections

    result: dict = {}

    def run():
        try:
            result["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout)
    if "error" in result:
        raise result["error"]
    return result["value"]
