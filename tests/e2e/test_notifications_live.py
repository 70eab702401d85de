"""The notification centre in a real browser: a committed notification reaches the open page
within a second (bell + toast), the inbox marks it read, an agency admin reads the log.

The push leaves the test process (where the notification is committed) and must reach the
daphne process (where the browser's websocket is): both use the Redis channel layer, so the
server has to be started with REDIS_URL (see ``live_url`` in conftest.py).
"""

import os
import threading
import time

import pytest
from django.db import connections, transaction
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.helpers import Screenshots, assert_lang, log_in, wait_for_js
from tests.factories import make_beneficiary, make_employee, mobile_number, national_id

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LATENCY_BUDGET_MS = 1000


@pytest.fixture
def redis_layer(settings):
    """This process publishes on the same Redis channel layer as the server (same prefix)."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.CHANNEL_LAYER_BACKENDS[settings.REDIS_CHANNEL_LAYER],
            # The prefix of portal/settings.py: the server's groups are "muamalat"-prefixed.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "muamalat"},
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def in_thread(function):
    """Run ``function`` in a thread of its own and return its result.

    Playwright's sync API marks this thread's asyncio loop as running, so async_to_sync (which
    the live push uses to publish on the channel layer) would refuse to run here.
    """
    result: dict = {}

    def run():
        try:
            result["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in result:
        raise result["error"]
    return result["value"]


def committed(orm, function):
    """``function()`` run and committed on the test database, off Playwright's thread (so the
    pushes of the notifications it sends, e.g. an employee's invitation, can leave)."""
    with orm():
        return in_thread(function)


def commit_welcome(recipient: User, key: str, agency=None) -> float:
    """Commit one welcome notification; returns the wall-clock time (ms) of the commit."""
    from notifications.services import notification_send

    stamp: dict = {}

    def send():
        with transaction.atomic():
            # Registered first, so it runs right after COMMIT and before the live push.
            transaction.on_commit(lambda: stamp.setdefault("ms", time.time() * 1000))
            notification_send(
                recipient=recipient, event="account.welcome", agency=agency, idempotency_key=key
            )
        return stamp["ms"]

    return in_thread(send)


def wait_live(page) -> None:
    """The page's websocket is open (live.js sets <html data-live="on">)."""
    wait_for_js(page, "document.documentElement.dataset.live === 'on'", timeout=10_000)
    # Record, in the page, when each notification arrives (wall clock, like commit_welcome).
    page.evaluate(
        """() => {
        window.__arrivals = [];
        document.addEventListener("muamalat:live", (e) => {
          if (e.detail.type === "notification") window.__arrivals.push(Date.now());
        });
    }"""
    )


NOT_PUSHED = (
    "no notification reached the page within 5 s of the commit: the daphne server of live_url "
    "must use the Redis channel layer (REDIS_URL in its environment, same prefix), or pushes "
    "from the test process never reach it"
)


def wait_pushed(page, expression: str, arg=None) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        wait_for_js(page, expression, arg=arg, timeout=5_000)
    except PlaywrightTimeout:
        pytest.fail(NOT_PUSHED)


def bell(page) -> int:
    return int(page.locator(".bell__count").get_attribute("data-unread"))


@pytest.fixture
def beneficiary(orm, seed) -> User:
    return committed(
        orm,
        lambda: make_beneficiary(
            email=f"e2e-notify-{seed}@example.sa",
            identity_number=national_id(seed),
            mobile=mobile_number(seed),
            preferred_language="ar",
        ),
    )


def test_notification_reaches_the_open_page_within_a_second(
    live_url, new_context, beneficiary, orm, seed, artifacts, redis_layer
):
    shot = Screenshots(artifacts, "notifications")
    page = new_context().new_page()
    log_in(page, live_url, beneficiary.email, "/")
    assert_lang(page, "ar", "rtl")
    wait_live(page)
    before = bell(page)
    expect(page.locator(".toast-live")).to_be_hidden()

    with orm():
        committed_ms = commit_welcome(beneficiary, f"e2e-live-{seed}")
        with translation.override("ar"):
            title = gettext("Welcome to Muamalat")

    wait_pushed(
        page, "n => document.querySelector('.bell__count').dataset.unread === String(n)", before + 1
    )
    arrived_ms = page.evaluate("window.__arrivals[0]")
    latency = arrived_ms - committed_ms
    print(f"\n[e2e] commit-to-browser latency of a notification: {latency:.0f} ms")
    assert latency < LATENCY_BUDGET_MS, f"the push took {latency:.0f} ms after the commit"

    toast = page.locator(".toast-live")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text(title)
    expect(page.locator(".bell__count")).to_contain_text(str(before + 1))
    shot(page, "1-live-bell-and-toast-ar")

    # The bell leads to the inbox: the notification is there, new, and can be marked read.
    page.locator("a.bell").click()
    page.wait_for_url(live_url + "/notifications/")
    assert_lang(page, "ar", "rtl")
    item = page.locator(".notification--unread", has_text=title).first
    expect(item).to_be_visible()
    assert bell(page) == before + 1
    shot(page, "2-inbox-ar")
    item.locator("button[type=submit]").click()
    page.wait_for_url(live_url + "/notifications/")
    assert bell(page) == before
    shot(page, "3-inbox-read-ar")


def test_workspace_bell_counts_that_agencys_notifications_live(
    live_url, new_context, agencies, orm, seed, artifacts, redis_layer
):
    alpha, beta = agencies["alpha"], agencies["beta"]
    admin = committed(
        orm, lambda: make_employee(alpha, roles=("admin",), email=f"e2e-bell-{seed}@alpha.example")
    )
    page = new_context().new_page()
    inbox = "/a/alpha/notifications/"
    log_in(page, live_url, admin.email, inbox)
    assert_lang(page, "ar", "rtl")
    wait_live(page)
    before = bell(page)
    assert page.locator("a.bell").get_attribute("href") == inbox

    with orm():
        commit_welcome(admin, f"e2e-ws-beta-{seed}", agency=beta)  # not this workspace's
        commit_welcome(admin, f"e2e-ws-public-{seed}")  # nor the portal's
        committed_ms = commit_welcome(admin, f"e2e-ws-alpha-{seed}", agency=alpha)
    wait_pushed(page, "() => window.__arrivals.length >= 1")
    latency = page.evaluate("window.__arrivals[0]") - committed_ms
    print(f"\n[e2e] workspace push latency: {latency:.0f} ms")
    assert latency < LATENCY_BUDGET_MS
    time.sleep(0.3)  # a stray push of the other two would have arrived by now
    assert page.evaluate("window.__arrivals.length") == 1
    assert bell(page) == before + 1, "the workspace bell counts this agency's unread only"
    page.screenshot(path=str(artifacts / "notifications-4-workspace-live-ar.png"), full_page=True)


def test_agency_admin_reads_the_delivery_log_in_arabic(
    live_url, new_context, agencies, orm, seed, artifacts
):
    from notifications.models import Delivery
    from notifications.services import notification_render, notification_send

    alpha = agencies["alpha"]

    def prepare():
        admin = make_employee(alpha, roles=("admin",), email=f"e2e-log-{seed}@alpha.example")
        person = make_beneficiary(
            email=f"e2e-log-person-{seed}@example.sa",
            identity_number=national_id(seed + 1),
            mobile=mobile_number(seed + 1),
        )
        with transaction.atomic():  # committed at once, with the statuses below
            notification = notification_send(
                recipient=person,
                event="account.welcome",
                agency=alpha,
                idempotency_key=f"log-{seed}",
            )
            # Rendered here (the worker's rendering job then finds it done), and the status as
            # the worker and Twilio would leave it (set here, so the page is predictable).
            notification_render(notification_id=notification.pk)
            Delivery.objects.filter(notification=notification, channel="sms").update(
                status=Delivery.FAILED,
                failure_reason="21211 The 'To' number is not a valid phone number.",
                attempts=1,
                segments=2,
            )
            Delivery.objects.filter(notification=notification, channel="email").update(
                status=Delivery.DELIVERED, attempts=1
            )
        return admin, person

    admin, person = committed(orm, prepare)
    page = new_context().new_page()
    log = "/a/alpha/notifications/log/"
    log_in(page, live_url, admin.email, log)
    assert_lang(page, "ar", "rtl")
    row = page.locator("main tbody tr", has_text=mobile_number(seed + 1))
    expect(row).to_have_count(1)
    expect(row.locator(".status--failed")).to_be_visible()
    expect(row).to_contain_text("21211")
    expect(page.locator("main tbody tr", has_text=person.email)).to_have_count(1)
    expect(page.locator("#workspace-menu a[aria-current=page]")).to_have_count(1)
    page.screenshot(path=str(artifacts / "notifications-5-delivery-log-ar.png"), full_page=True)

    page.select_option("#log-status", "failed")
    page.locator("main form.filters button[type=submit]").click()
    page.wait_for_url("**status=failed**")
    expect(page.locator("main tbody tr", has_text=person.email)).to_have_count(0)
    expect(row).to_have_count(1)
    page.screenshot(
        path=str(artifacts / "notifications-6-delivery-log-failed-ar.png"), full_page=True
    )
