"""Time present (R-19): gaps between an employee's workspace requests up to the idle limit,
from login to logout, per agency and day."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from insights.models import Presence
from insights.selectors import Period, employee_table, presence_seconds
from insights.services import presence_end, presence_touch
from tests.factories import make_employee, make_request, membership_of

RIYADH = ZoneInfo("Asia/Riyadh")
NINE = datetime(2026, 10, 5, 9, 0, tzinfo=RIYADH)


@pytest.fixture(autouse=True)
def _presence_on(settings):
    settings.PRESENCE_TRACKING = True
    cache.clear()
    yield
    cache.clear()


def _touch(agency, user, at):
    cache.clear()  # the per-minute throttle is not the subject here
    return presence_touch(agency=agency, user=user, now=at)


def test_gaps_within_the_idle_limit_count(db, agency_a):
    user = make_employee(agency_a)
    _touch(agency_a, user, NINE)
    _touch(agency_a, user, NINE + timedelta(minutes=4))
    _touch(agency_a, user, NINE + timedelta(minutes=9))
    # 40 minutes away: not counted, but the clock restarts there
    _touch(agency_a, user, NINE + timedelta(minutes=49))
    _touch(agency_a, user, NINE + timedelta(minutes=51))
    row = Presence.objects.get(agency=agency_a, user=user)
    assert row.day == date(2026, 10, 5)
    assert row.seconds == (4 + 5 + 2) * 60
    presence_end(user=user, now=NINE + timedelta(minutes=54))
    row.refresh_from_db()
    assert row.seconds == (4 + 5 + 2 + 3) * 60 and row.last_seen_at is None
    # after logging out, the next request starts afresh
    _touch(agency_a, user, NINE + timedelta(minutes=58))
    row.refresh_from_db()
    assert row.seconds == 14 * 60
    period = Period(date(2026, 10, 1), date(2026, 10, 31))
    assert presence_seconds(period, agency=agency_a) == {user.pk: 14 * 60}


def test_writes_are_throttled_per_minute(db, agency_a):
    user = make_employee(agency_a)
    assert presence_touch(agency=agency_a, user=user, now=NINE) is True
    assert presence_touch(agency=agency_a, user=user, now=NINE + timedelta(seconds=20)) is False
    # the skipped request is not lost: the next write adds the whole gap
    cache.clear()
    presence_touch(agency=agency_a, user=user, now=NINE + timedelta(seconds=90))
    assert Presence.objects.get(agency=agency_a, user=user).seconds == 90


def test_presence_is_per_agency_and_shown_with_the_employee(db, agency_a, agency_b):
    user = make_employee(agency_a)
    _touch(agency_a, user, NINE)
    _touch(agency_a, user, NINE + timedelta(minutes=6))
    _touch(agency_b, user, NINE + timedelta(minutes=7))
    _touch(agency_b, user, NINE + timedelta(minutes=8))
    period = Period(date(2026, 10, 5), date(2026, 10, 5))
    assert presence_seconds(period, agency=agency_a) == {user.pk: 360}
    assert presence_seconds(period, agency=agency_b) == {user.pk: 60}
    # an employee with requests in the period shows their hours present beside the figures
    from django_tenants.utils import schema_context

    from requests_app.models import Request
    from requests_app.services.index import index_sync

    item = make_request(agency_a)
    with schema_context(agency_a.schema_name):
        Request.objects.filter(pk=item.pk).update(
            created_at=NINE, assignee=membership_of(agency_a, user)
        )
        index_sync(
            agency=agency_a,
            request=Request.objects.select_related("transaction_type", "assignee__user").get(
                pk=item.pk
            ),
        )
    row = {r.key: r for r in employee_table(period, agency=agency_a)}[user.pk]
    assert row.extra["presence_hours"] == pytest.approx(0.1)


def test_workspace_requests_and_logout_record_presence(client, db, agency_a):
    user = make_employee(agency_a)
    client.force_login(user)
    assert client.get(f"/a/{agency_a.slug}/").status_code == 200
    row = Presence.objects.get(agency=agency_a, user=user)
    assert row.last_seen_at is not None and row.seconds == 0
    # five minutes pass without a request, then the employee signs out
    Presence.objects.filter(pk=row.pk).update(last_seen_at=row.last_seen_at - timedelta(minutes=5))
    client.post("/accounts/logout/")
    row.refresh_from_db()
    assert row.last_seen_at is None
    assert 300 <= row.seconds <= 310


def test_public_pages_and_other_people_record_nothing(client, db, agency_a):
    from tests.factories import make_beneficiary

    person = make_beneficiary()
    client.force_login(person)
    client.get("/")
    assert client.get(f"/a/{agency_a.slug}/").status_code == 403
    assert not Presence.objects.exists()
