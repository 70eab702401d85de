"""Real-browser end-to-end tests: daphne serving the pytest test database, driven by Chromium.

The server is a separate process, so everything the browser does is committed to the test
database. Tests here never use the ``db``/``transactional_db`` fixtures; they create or read
committed rows inside ``django_db_blocker.unblock()`` (see ``orm``), and use unique emails,
identity numbers and mobiles so that reruns and other tests do not clash.
"""

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: real-browser end-to-end test (daphne + Chromium)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Browser tests run together, in one worker under pytest-xdist (the "browser" group of
    ``--dist loadgroup``: one browser and one server at a time on a small machine). Their server
    (``live_url``, package-scoped) and its job worker stop when the worker leaves tests/e2e, so
    tests/notifications/test_worker.py, which must own the jobs it kills, never meets it.
    In one process they run last; under xdist first, so that the other worker shares out the
    rest of the suite while the browser group runs."""
    e2e_dir = Path(__file__).resolve().parent
    browser = pytest.mark.xdist_group("browser")
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(e2e_dir):
            item.add_marker(browser)
    parallel = config.getoption("dist", "no") == "loadgroup"
    items.sort(key=lambda item: Path(str(item.path)).resolve().is_relative_to(e2e_dir) != parallel)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(db: dict) -> str:
    """The test database (pytest-django has renamed NAME by now) as a DATABASE_URL."""
    user = quote(db.get("USER") or "", safe="")
    password = db.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = db.get("HOST") or ""
    port = str(db.get("PORT") or "")
    name = quote(db["NAME"], safe="")
    if host.startswith("/"):  # Unix socket directory: goes in the query string
        query = f"?host={quote(host, safe='')}" + (f"&port={port}" if port else "")
        return f"postgresql://{auth}@/{name}{query}"
    netloc = host + (f":{port}" if port else "")
    return f"postgresql://{auth}@{netloc}/{name}"


@contextlib.contextmanager
def _allow_orm(django_db_blocker):
    """Database access from the test process while Playwright's sync API is active.

    Playwright's sync API keeps an asyncio loop marked as running in this thread, which makes
    Django refuse ORM calls (SynchronousOnlyOperation); there is no real concurrency here.
    The connection is closed at the end: it lives in the context Playwright runs the test in,
    so nothing else would close it and the test database could not be dropped.
    """
    from django.db import connections

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with django_db_blocker.unblock():
            try:
                yield
            finally:
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def orm(django_db_blocker):
    """``with orm(): User.objects...`` reads/writes committed rows of the test database."""
    return lambda: _allow_orm(django_db_blocker)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def live_url(django_db_setup, django_db_blocker, agencies, artifacts) -> str:
    """Base URL of a daphne server (HTTP + websockets) using the pytest test database."""
    from django.conf import settings
    from django.db import connections

    db = settings.DATABASES["default"]
    if not (db.get("TEST", {}).get("NAME") == db["NAME"] or db["NAME"].startswith("test_")):
        pytest.fail(f"refusing to serve {db['NAME']!r}: it is not a test database")
    port = _free_port()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    env.update(
        DATABASE_URL=_database_url(db),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"http://127.0.0.1:{port}",
        DB_CONN_MAX_AGE="0",
        # Shared channel layer, so pushes committed by the worker or the test process reach
        # the browser connected to this server.
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    # The agencies fixture's rows are committed; release our connection before the server
    # starts so nothing of ours holds locks on the test database.
    with django_db_blocker.unblock():
        connections.close_all()

    log_path = artifacts / "daphne.log"
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "portal.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # The job worker beside the server, as `make run` has it (SMS codes, emails).
    worker_log = open(artifacts / "worker.log", "w", encoding="utf-8")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "procrastinate",
            "worker",
            "--queues",
            "default,notifications,sla",
        ],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        last_error = ""
        while True:
            if server.poll() is not None:
                log.flush()
                pytest.fail(
                    f"daphne exited with {server.returncode} before answering /healthz:\n"
                    + log_path.read_text(encoding="utf-8")[-4000:]
                )
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except urllib.error.HTTPError as exc:
                last_error = f"HTTP {exc.code}: {exc.read()[:300]!r}"
            except OSError as exc:
                last_error = repr(exc)
            if time.monotonic() > deadline:
                pytest.fail(
                    f"daphne did not answer /healthz within {SERVER_START_TIMEOUT}s "
                    f"({last_error}); log:\n" + log_path.read_text(encoding="utf-8")[-4000:]
                )
            time.sleep(0.2)
        yield base
    finally:
        for process in (server, worker):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        log.close()
        worker_log.close()


@pytest.fixture(scope="package")
def browser():
    """Chromium, for the tests of this folder only.

    Package scope, not session: while Playwright's sync API is running, this thread has an
    asyncio loop marked as running, which breaks async_to_sync and the ORM in every later test.
    """
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
            "(run `make browser`, or `apt-get install chromium fonts-noto-core`)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(request, browser, artifacts):
    """Factory for isolated browser contexts (own cookies), closed after the test.

    Defaults to a Saudi visitor's browser (Arabic first in Accept-Language, Riyadh time).
    When the test fails, every open page is saved as artifacts/failed-<test>-<n>.png.
    """
    contexts = []
    csp_violations: list[str] = []

    def watch_csp(page):
        # Chromium reports every Content-Security-Policy violation in the page's console.
        def on_console(message):
            if "Content Security Policy" in message.text:
                csp_violations.append(f"{page.url}: {message.text}")

        page.on("console", on_console)

    def make(**options):
        options.setdefault("locale", "ar-SA")
        options.setdefault("timezone_id", "Asia/Riyadh")
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        context.on("page", watch_csp)
        contexts.append(context)
        return context

    make.csp_violations = csp_violations
    yield make
    if getattr(request.node, "e2e_failed", False):
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in request.node.name)
        pages = [page for context in contexts for page in context.pages]
        for number, open_page in enumerate(pages, 1):
            with contextlib.suppress(Exception):
                path = artifacts / f"failed-{name}-{number}.png"
                open_page.screenshot(path=str(path), full_page=True)
                print(f"\n[e2e] {open_page.url} -> {path}")
    for context in contexts:
        context.close()
    # Issue 10, point 11: every page of every browser test runs under the CSP header; a
    # blocked script, style, image, socket or recording fails the test.
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def seed() -> int:
    """A large random seed for tests.factories.national_id()/mobile_number(), so rows the
    browser commits never clash with other tests or earlier runs."""
    return 5_000_000 + random.randrange(4_000_000)
