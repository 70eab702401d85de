"""The notification centre, preferences page and delivery logs, through the real views."""

import itertools
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import ChannelPreference, Delivery, Notification
from notifications.services import notification_send
from tests.factories import make_beneficiary, make_employee
from tests.jobs import render_pending
from tests.two_factor import sign_in

_keys = itertools.count(1)


def send(recipient, agency=None, **kwargs) -> Notification:
    _sent = notification_send(
        recipient=recipient,
        event="account.welcome",
        agency=agency,
        idempotency_key=f"test-views-{next(_keys)}",
        **kwargs,
    )
    render_pending()
    return _sent


def employee_of(agency, **kwargs):
    """An employee with an empty inbox (their invitation notification is removed)."""
    user = make_employee(agency, **kwargs)
    Notification.objects.filter(recipient=user).delete()
    return user


def ws(name: str, agency) -> str:
    return reverse(f"workspace:{name}", kwargs={"agency_slug": agency.slug})


def listed(response) -> list[int]:
    return [n.pk for n in response.context["page"].object_list]


def bell_count(response) -> int:
    match = re.search(rb'class="bell__count" data-unread="(\d+)"', response.content)
    assert match, "no bell in the page"
    return int(match[1])


def bell_href(response) -> str:
    match = re.search(rb'<a class="bell" href="([^"]+)"', response.content)
    assert match, "no bell link in the page"
    return match[1].decode()


# --- the inbox -----------------------------------------------------------------------------


def test_portal_inbox_lists_only_my_notifications(client, db, agency_a):
    me, other = make_beneficiary(), make_beneficiary()
    mine = [send(me), send(me, agency=agency_a)]
    theirs = send(other)
    sign_in(client, me)
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 200
    assert sorted(listed(response)) == sorted(n.pk for n in mine)
    assert f'value="{theirs.pk}"'.encode() not in response.content
    for n in mine:
        assert f'name="notification" value="{n.pk}"'.encode() in response.content


def test_workspace_inbox_lists_only_that_agencys(client, db, agency_a, agency_b):
    employee = employee_of(agency_a)
    ours = send(employee, agency=agency_a)
    send(employee, agency=agency_b)
    send(employee)
    send(employee_of(agency_a), agency=agency_a)  # a colleague's
    sign_in(client, employee)
    response = client.get(ws("notifications", agency_a))
    assert response.status_code == 200
    assert listed(response) == [ours.pk]


def test_bell_count_equals_unread_count_and_links_to_the_right_inbox(client, db, agency_a):
    employee = employee_of(agency_a)
    first = send(employee)
    send(employee)
    send(employee, agency=agency_a)
    Notification.objects.filter(pk=first.pk).update(read_at=first.created_at)
    sign_in(client, employee)

    home = client.get(reverse("portal:home"))
    assert bell_count(home) == 2
    assert bell_href(home) == reverse("notifications:inbox")
    inbox = client.get(reverse("notifications:inbox"))
    assert bell_count(inbox) == 2

    workspace = client.get(ws("notifications", agency_a))
    assert bell_count(workspace) == 1  # inside a workspace: that agency's unread only
    assert bell_href(workspace) == ws("notifications", agency_a)


def test_portal_home_links_to_notification_settings(client, db):
    sign_in(client, make_beneficiary())
    response = client.get(reverse("portal:home"))
    assert f'href="{reverse("notifications:preferences")}"'.encode() in response.content


def test_anonymous_visitor_has_no_bell(client, db):
    response = client.get(reverse("portal:home"))
    assert b"bell__count" not in response.content
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- marking read ----------------------------------------------------------------------------


def test_mark_one_read(client, db):
    me = make_beneficiary()
    one, two = send(me), send(me)
    sign_in(client, me)
    response = client.post(reverse("notifications:mark_read"), {"notification": one.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox")
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.read_at is not None and two.read_at is None
    assert bell_count(client.get(reverse("notifications:inbox"))) == 1


def test_mark_all_read_goes_back_to_next(client, db):
    me = make_beneficiary()
    send(me), send(me)
    sign_in(client, me)
    inbox = reverse("notifications:inbox")
    response = client.post(reverse("notifications:mark_read"), {"next": inbox + "?page=1"})
    assert response["Location"] == inbox + "?page=1"
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()
    assert bell_count(client.get(inbox)) == 0


def test_mark_read_refuses_foreign_next(client, db):
    me = make_beneficiary()
    sign_in(client, me)
    response = client.post(reverse("notifications:mark_read"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("notifications:inbox")


def test_mark_read_is_post_only(client, db):
    me = make_beneficiary()
    n = send(me)
    sign_in(client, me)
    assert client.get(reverse("notifications:mark_read")).status_code == 405
    assert client.get(reverse("notifications:mark_read"), {"notification": n.pk}).status_code == 405
    n.refresh_from_db()
    assert n.read_at is None


def test_marking_another_users_notification_changes_nothing(client, db):
    me, other = make_beneficiary(), make_beneficiary()
    theirs = send(other)
    sign_in(client, me)
    response = client.post(reverse("notifications:mark_read"), {"notification": theirs.pk})
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("garbage", ["abc", "-1", "1.5", "١٢", "9" * 40])
def test_non_digit_id_gives_a_message(client, db, garbage):
    me = make_beneficiary()
    n = send(me)
    sign_in(client, me)
    response = client.post(reverse("notifications:mark_read"), {"notification": garbage})
    assert response.status_code == 302
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    n.refresh_from_db()
    assert n.read_at is None  # a bad id is not "mark all"


def test_workspace_mark_all_read_touches_only_that_agency(client, db, agency_a, agency_b):
    employee = employee_of(agency_a)
    ours = send(employee, agency=agency_a)
    elsewhere = send(employee, agency=agency_b)
    public = send(employee)
    sign_in(client, employee)
    response = client.post(ws("notifications_read", agency_a))
    assert response.status_code == 302
    assert response["Location"] == ws("notifications", agency_a)
    for n in (ours, elsewhere, public):
        n.refresh_from_db()
    assert ours.read_at is not None
    assert elsewhere.read_at is None and public.read_at is None


def test_workspace_mark_one_read_of_another_agency_changes_nothing(client, db, agency_a, agency_b):
    employee = employee_of(agency_a)
    elsewhere = send(employee, agency=agency_b)
    sign_in(client, employee)
    client.post(ws("notifications_read", agency_a), {"notification": elsewhere.pk})
    elsewhere.refresh_from_db()
    assert elsewhere.read_at is None


# --- preferences -----------------------------------------------------------------------------


def test_preferences_page_offers_only_configurable_events(client, db):
    sign_in(client, make_beneficiary())
    response = client.get(reverse("notifications:preferences"))
    assert response.status_code == 200
    assert b'name="account.welcome"' in response.content
    assert b'name="account.mobile_code"' not in response.content
    assert b'name="staff.invited"' not in response.content
    # nothing stored yet: every channel of the event is ticked
    assert sorted(response.context["form"]["account.welcome"].initial) == [
        "email",
        "inapp",
        "sms",
    ]


def test_unticking_sms_is_stored_and_shown(client, db):
    me = make_beneficiary()
    sign_in(client, me)
    url = reverse("notifications:preferences")
    response = client.post(url, {"account.welcome": ["inapp", "email"]})
    assert response.status_code == 302
    preference = ChannelPreference.objects.get(user=me, event="account.welcome")
    assert (preference.inapp, preference.email, preference.sms) == (True, True, False)
    assert not ChannelPreference.objects.filter(user=me, event="account.mobile_code").exists()
    form = client.get(url).context["form"]
    assert sorted(form["account.welcome"].initial) == ["email", "inapp"]
    # and the next welcome is not sent by SMS
    assert sorted(send(me).deliveries.values_list("channel", flat=True)) == ["email", "inapp"]


def test_unticking_everything_is_stored(client, db):
    me = make_beneficiary()
    sign_in(client, me)
    response = client.post(reverse("notifications:preferences"), {})
    assert response.status_code == 302
    preference = ChannelPreference.objects.get(user=me, event="account.welcome")
    assert (preference.inapp, preference.email, preference.sms) == (False, False, False)


def test_preferences_refuse_unknown_channels(client, db):
    me = make_beneficiary()
    sign_in(client, me)
    response = client.post(reverse("notifications:preferences"), {"account.welcome": ["fax"]})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ChannelPreference.objects.filter(user=me).exists()


def test_preferences_need_login(client, db):
    response = client.get(reverse("notifications:preferences"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- delivery logs ---------------------------------------------------------------------------


@pytest.fixture
def log_data(agency_a, agency_b):
    """One welcome per place (alpha, beta, the platform), each to a recognisable address."""
    people = {
        "alpha": make_beneficiary(email="to-alpha@example.sa"),
        "beta": make_beneficiary(email="to-beta@example.sa"),
        "platform": make_beneficiary(email="to-platform@example.sa"),
    }
    sent = {
        "alpha": send(people["alpha"], agency=agency_a),
        "beta": send(people["beta"], agency=agency_b),
        "platform": send(people["platform"]),
    }
    Delivery.objects.filter(notification=sent["alpha"], channel="sms").update(
        status=Delivery.FAILED, failure_reason="21211 Invalid 'To' Phone Number"
    )
    Delivery.objects.filter(notification=sent["alpha"], channel="email").update(
        status=Delivery.DELIVERED
    )
    return {"people": people, "sent": sent}


def test_agency_log_shows_that_agencys_deliveries_with_status(client, agency_a, log_data):
    sign_in(client, employee_of(agency_a, roles=("admin",)))
    response = client.get(ws("delivery_log", agency_a))
    assert response.status_code == 200
    html = response.content.decode()
    assert "to-alpha@example.sa" in html
    assert "21211 Invalid &#x27;To&#x27; Phone Number" in html
    assert "status--failed" in html and "status--delivered" in html
    assert "to-beta@example.sa" not in html
    assert "to-platform@example.sa" not in html
    shown = {d.pk for d in response.context["page"].object_list}
    assert set(log_data["sent"]["alpha"].deliveries.values_list("pk", flat=True)) <= shown
    assert all(d.notification.agency_id == agency_a.pk for d in response.context["page"])


def test_agency_log_filters(client, agency_a, log_data):
    sign_in(client, employee_of(agency_a, roles=("admin",)))
    url = ws("delivery_log", agency_a)
    failed = client.get(url, {"status": "failed"})
    assert failed.status_code == 200
    assert {d.status for d in failed.context["page"]} == {"failed"}
    assert "21211" in failed.content.decode()
    sms = client.get(url, {"channel": "sms", "q": "+9665"})
    assert {d.channel for d in sms.context["page"]} == {"sms"}
    by_address = client.get(url, {"q": "to-alpha@"})
    assert [d.address for d in by_address.context["page"]] == ["to-alpha@example.sa"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "xyz"},
        {"channel": "fax"},
        {"page": "abc"},
        {"page": "-3"},
        {"page": "99999"},
        {"q": "x" * 5000},
        {"status": "failed", "page": "0", "q": "%_\\'\""},
    ],
)
def test_logs_and_inbox_survive_garbage_filters(client, agency_a, log_data, params):
    admin = employee_of(agency_a, roles=("admin",))
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    sign_in(client, admin)
    for url in (
        ws("delivery_log", agency_a),
        reverse("notifications:platform_log"),
        ws("notifications", agency_a),
        reverse("notifications:inbox"),
    ):
        response = client.get(url, params)
        assert response.status_code == 200, (url, params, response.status_code)


def test_platform_log_shows_only_the_platforms_messages(client, log_data):
    operator = make_beneficiary(is_staff=True)
    sign_in(client, operator)
    response = client.get(reverse("notifications:platform_log"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "to-platform@example.sa" in html
    assert "to-alpha@example.sa" not in html and "to-beta@example.sa" not in html
    assert all(d.notification.agency_id is None for d in response.context["page"])


def test_platform_log_is_for_operators_only(client, db, agency_a):
    url = reverse("notifications:platform_log")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for person in (make_beneficiary(), employee_of(agency_a, roles=("admin",))):
        sign_in(client, person)
        assert client.get(url).status_code == 403


# --- who may open the workspace pages ----------------------------------------------------------


@pytest.fixture
def people(agency_a, agency_b):
    return {
        "admin_a": employee_of(agency_a, roles=("admin",)),
        "employee_a": employee_of(agency_a, roles=("employee",)),
        "admin_b": employee_of(agency_b, roles=("admin",)),
        "beneficiary": make_beneficiary(),
    }


WORKSPACE_PAGES = [
    ("notifications", "get"),
    ("notifications_read", "post"),
    ("delivery_log", "get"),
]


@pytest.mark.parametrize(("name", "method"), WORKSPACE_PAGES)
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("beneficiary", 403),
        ("admin_b", 403),
        ("employee_a", {"notifications": 200, "notifications_read": 302, "delivery_log": 403}),
        ("admin_a", {"notifications": 200, "notifications_read": 302, "delivery_log": 200}),
    ],
)
def test_workspace_notification_pages_access(client, agency_a, people, name, method, who, expected):
    if who != "anonymous":
        sign_in(client, people[who])
    response = getattr(client, method)(ws(name, agency_a))
    expected = expected[name] if isinstance(expected, dict) else expected
    assert response.status_code == expected, (who, name, response.status_code)
    if who == "anonymous":
        assert response["Location"].startswith(reverse("account_login"))


def test_other_agencys_employee_cannot_mark_read_here(client, agency_a, agency_b, people):
    n = send(people["admin_b"], agency=agency_b)
    sign_in(client, people["admin_b"])
    response = client.post(ws("notifications_read", agency_a), {"notification": n.pk})
    assert response.status_code == 403
    n.refresh_from_db()
    assert n.read_at is None


def test_log_permission_can_be_granted_to_a_role(client, agency_a, people):
    from django_tenants.utils import schema_context

    from tenants.staff.models import Role

    with schema_context(agency_a.schema_name):
        role = Role.objects.get(codename="employee")
        role.permissions = [*role.permissions, "notifications.view_log"]
        role.save()
    sign_in(client, people["employee_a"])
    assert client.get(ws("delivery_log", agency_a)).status_code == 200


# --- query counts ----------------------------------------------------------------------------


def _queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_inbox_query_count_is_constant(client, db, agency_a):
    employee = employee_of(agency_a)
    sign_in(client, employee)
    urls = [reverse("notifications:inbox"), ws("notifications", agency_a)]
    for _ in range(3):
        send(employee, agency=agency_a, link="/requests/1/")
    client.get(urls[0])  # warm caches (content types, session)
    few = {url: _queries(client, url) for url in urls}
    for _ in range(30):
        send(employee, agency=agency_a)
    for url in urls:
        many = _queries(client, url)
        assert len(many) == len(few[url]), (url, many)


def test_delivery_logs_query_count_is_constant(client, agency_a):
    admin = employee_of(agency_a, roles=("admin",))
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    sign_in(client, admin)
    urls = [ws("delivery_log", agency_a), reverse("notifications:platform_log")]

    def batch(count):
        for _ in range(count):
            person = make_beneficiary()
            send(person, agency=agency_a)
            send(person)

    batch(3)
    client.get(urls[0])
    few = {url: _queries(client, url) for url in urls}
    batch(30)
    for url in urls:
        many = _queries(client, url)
        assert len(many) == len(few[url]), (url, many)
