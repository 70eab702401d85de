"""Service levels (R-18) with a controllable clock: targets per type and priority in working
hours, counted in the agency's calendar (Sunday–Thursday, working hours, holidays), with time
awaiting the beneficiary or postponed left out. The sweep (``sla_sweep(now=...)``) warns the
assignee before a target, marks the request late when it passes and escalates to the
department's supervisors after a further delay; postponements resume when their date comes.

Requests are created through the real services, then their ``created_at`` (and the pauses'
instants) are moved to fixed past instants in the database.
"""

import json
import re
import time as clock
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from notifications.models import Notification
from requests_app.constants import Status, Visibility
from requests_app.models import (
    AgencyCalendar,
    Holiday,
    Request,
    SlaPolicy,
    StatusPause,
    TimelineEvent,
)
from requests_app.public.models import RequestIndex
from requests_app.services import (
    comment_add,
    request_ask_information,
    request_reject,
    request_resolve,
    request_start,
)
from requests_app.services.approvals import request_postpone
from requests_app.services.index import index_sync
from requests_app.services.sla import (
    agency_calendar,
    calendar_save,
    holiday_add,
    sla_due_dates,
    sla_policy_save,
    sla_sweep,
    sla_targets,
    working_elapsed,
)
from requests_app.tasks import sla_dispatch
from tenants.models import Agency
from tenants.services import department_save
from tenants.staff.models import AuditEvent, Membership
from tests.factories import make_beneficiary, make_employee, make_request, make_type
from tests.jobs import pending_jobs, run_pending_jobs

RIYADH = ZoneInfo("Asia/Riyadh")
SUNDAY_MORNING = datetime(2026, 11, 1, 9, 0, tzinfo=RIYADH)
WEEKDAYS = [6, 0, 1, 2, 3]  # Sunday to Thursday (Python: Monday=0)
HOUR = 3600


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in November 2026, Riyadh time (1 = Sunday, 6–7 = the weekend)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=RIYADH)


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


class Desk:
    """Agency A: department D1 with the assignee ``worker`` and the supervisor ``supervisor``;
    D2's supervisor ``outsider``; an admin. Services of D1 are made with ``service()``."""

    def __init__(self, agency):
        self.agency = agency
        self.admin = make_employee(agency, roles=("admin",))
        self.worker = make_employee(agency)
        self.supervisor = make_employee(agency, roles=("supervisor",))
        self.outsider = make_employee(agency, roles=("supervisor",))
        with schema_context(agency.schema_name):
            self.d1 = department_save(actor=self.admin, name_ar="قسم١", name_en="D1")
            self.d2 = department_save(actor=self.admin, name_ar="قسم٢", name_en="D2")
            Membership.objects.filter(user_id__in=[self.worker.pk, self.supervisor.pk]).update(
                department=self.d1
            )
            Membership.objects.filter(user_id=self.outsider.pk).update(department=self.d2)
        self.type = self.service(expected_duration_hours=16)
        self.beneficiary = make_beneficiary()

    def service(self, **fields):
        return make_type(self.agency, actor=self.admin, department=self.d1, **fields)

    def new(self, created: datetime | None = SUNDAY_MORNING, request_type=None, **fields):
        """A request of D1 assigned to ``worker``, created at ``created`` (None: now)."""
        item = make_request(
            self.agency,
            beneficiary=self.beneficiary,
            request_type=request_type or self.type,
            **fields,
        )
        with schema_context(self.agency.schema_name):
            worker = Membership.objects.get(user_id=self.worker.pk)
            changes = {"assignee": worker}
            if created is not None:
                changes["created_at"] = created
            Request.objects.filter(pk=item.pk).update(**changes)
            item = self.get(item)
            if created is not None:  # the due dates its submission would have stored
                item.first_response_due_at, item.due_at = sla_due_dates(item, agency_calendar()[0])
                item.save(update_fields=["first_response_due_at", "due_at"])
            index_sync(agency=self.agency, request=item)
        return item

    def get(self, item) -> Request:
        with schema_context(self.agency.schema_name):
            return Request.objects.select_related("transaction_type", "assignee__user").get(
                pk=item.pk
            )

    def sweep(self, now: datetime) -> dict:
        with schema_context(self.agency.schema_name):
            return sla_sweep(agency=self.agency, now=now)

    def kinds(self, item) -> list[tuple[str, str]]:
        with schema_context(self.agency.schema_name):
            return list(
                TimelineEvent.objects.filter(request_id=item.pk)
                .order_by("id")
                .values_list("kind", "visibility")
            )

    def audit(self, item) -> list[str]:
        with schema_context(self.agency.schema_name):
            return list(
                AuditEvent.objects.filter(
                    object_type="requests_app.request", object_id=str(item.pk)
                ).values_list("action", flat=True)
            )

    def notes(self, user, event, item=None) -> list[Notification]:
        qs = Notification.objects.filter(recipient=user, event=event)
        if item is not None:
            qs = qs.filter(link=f"/a/{self.agency.slug}/requests/{item.pk}/")
        return list(qs)

    def set_pause(self, item, started_at=None, ended_at=None) -> None:
        """Move the request's latest pause to fixed instants."""
        with schema_context(self.agency.schema_name):
            pause = StatusPause.objects.filter(request_id=item.pk).latest("started_at", "id")
            if started_at is not None:
                pause.started_at = started_at
            if ended_at is not None:
                pause.ended_at = ended_at
            pause.save()


@pytest.fixture
def desk(agency_a) -> Desk:
    desk = Desk(agency_a)
    run_pending_jobs()  # the invitations: out of the way
    mail.outbox.clear()
    return desk


def calendar():
    return agency_calendar()[0]


# --- targets and due dates ----------------------------------------------------------------------


def test_targets_come_from_the_policy_or_else_the_type(desk):
    short = desk.service(expected_duration_hours=3)
    normal = desk.new()
    urgent = desk.new(priority="urgent")
    brief = desk.new(request_type=short)
    with schema_context(desk.agency.schema_name):
        # no policy: resolution = the type's expected duration, first response = a quarter
        assert sla_targets(normal) == (4, 16)
        assert sla_targets(urgent) == (4, 16)
        assert sla_targets(brief) == (1, 3)  # never less than one hour

        sla_policy_save(
            actor=desk.admin,
            transaction_type=desk.type,
            priority="urgent",
            first_response_hours=2,
            resolution_hours=10,
        )
        assert sla_targets(urgent) == (2, 10)
        assert sla_targets(normal) == (4, 16)  # another priority keeps the default
        sla_policy_save(
            actor=desk.admin,
            transaction_type=desk.type,
            priority="urgent",
            first_response_hours=1,
            resolution_hours=6,
        )
        assert SlaPolicy.objects.filter(transaction_type=desk.type).count() == 1
        assert sla_targets(urgent) == (1, 6)
        with pytest.raises(ValidationError):
            sla_policy_save(
                actor=desk.admin,
                transaction_type=desk.type,
                priority="urgent",
                first_response_hours=7,
                resolution_hours=6,
            )
        assert sla_targets(urgent) == (1, 6)
        assert AuditEvent.objects.filter(action="sla.policy").count() == 2

        # the policy's due dates: 1 and 6 working hours from Sunday 09:00
        assert sla_due_dates(urgent, calendar()) == (at(1, 10), at(1, 15))


def test_submission_stores_the_due_dates(desk):
    item = desk.new(created=None)
    with schema_context(desk.agency.schema_name):
        first, resolution = sla_due_dates(item, calendar())
    assert (item.first_response_due_at, item.due_at) == (first, resolution)
    assert item.due_at > item.first_response_due_at > item.created_at
    assert RequestIndex.objects.get(agency=desk.agency, request_id=item.pk).due_at == item.due_at


def test_due_dates_skip_the_weekend_and_holidays_within_working_hours(desk):
    thursday = desk.new(created=at(5, 14))  # Thursday 14:00; targets 4 h and 16 h
    friday_night = desk.new(created=at(6, 20))
    with schema_context(desk.agency.schema_name):
        # Thursday 14–16 (2 h), then Friday and Saturday are off
        assert sla_due_dates(thursday, calendar()) == (at(8, 10), at(9, 14))
        assert sla_due_dates(friday_night, calendar()) == (at(8, 12), at(9, 16))

        holiday_add(actor=desk.admin, day=date(2026, 11, 8), name="  عيد  ")
        assert Holiday.objects.get(day=date(2026, 11, 8)).name == "عيد"
        # Sunday is now a holiday: everything moves a working day on
        assert sla_due_dates(thursday, calendar()) == (at(9, 10), at(10, 14))
        assert sla_due_dates(friday_night, calendar()) == (at(9, 12), at(10, 16))
        with pytest.raises(ValidationError):
            holiday_add(actor=desk.admin, day=date(2026, 11, 8), name="مكرر")
        assert Holiday.objects.count() == 1

        # working hours 07:00–15:00
        calendar_save(
            actor=desk.admin,
            workdays=WEEKDAYS,
            day_start=time(7, 0),
            day_end=time(15, 0),
            warn_before_hours=2,
            escalate_after_hours=4,
        )
        # Thursday 14–15 (1 h); Sunday the holiday; Monday 07–15 (8 h); Tuesday 07–14
        assert sla_due_dates(thursday, calendar()) == (at(9, 10), at(10, 14))
        assert sla_due_dates(friday_night, calendar()) == (at(9, 11), at(10, 15))
        # Saturday becomes a working day
        calendar_save(
            actor=desk.admin,
            workdays=[5, *WEEKDAYS],
            day_start=time(7, 0),
            day_end=time(15, 0),
            warn_before_hours=2,
            escalate_after_hours=4,
        )
        assert sla_due_dates(thursday, calendar()) == (at(7, 10), at(9, 14))
        assert sla_due_dates(friday_night, calendar()) == (at(7, 11), at(9, 15))
        assert AgencyCalendar.objects.count() == 1

        with pytest.raises(ValidationError):
            calendar_save(
                actor=desk.admin,
                workdays=WEEKDAYS,
                day_start=time(15, 0),
                day_end=time(7, 0),
                warn_before_hours=2,
                escalate_after_hours=4,
            )
        with pytest.raises(ValidationError):
            calendar_save(
                actor=desk.admin,
                workdays=[],
                day_start=time(8, 0),
                day_end=time(16, 0),
                warn_before_hours=2,
                escalate_after_hours=4,
            )
        config = AgencyCalendar.objects.get()
        assert config.workdays == sorted([5, *WEEKDAYS]) and config.day_start == time(7, 0)


# --- paused time ----------------------------------------------------------------------------------


def test_time_awaiting_the_beneficiary_does_not_count(desk):
    """Created Sunday 09:00 with a 16 h target; waiting on the beneficiary from Sunday 11:00
    to Wednesday 12:00. Two working hours before the pause, 14 left after it: Wednesday
    12–16, Thursday, then the weekend, then Sunday 08–10."""
    agency = desk.agency
    item = desk.new()
    with schema_context(agency.schema_name):
        request_ask_information(
            agency=agency, request_obj=item, actor=desk.worker, question="أرسل العقد"
        )
    desk.set_pause(item, started_at=at(1, 11))
    item = desk.get(item)
    assert item.status == Status.AWAITING_BENEFICIARY and item.first_response_at is not None

    # Wednesday 11:00, still waiting: 26 working hours on the wall clock, 2 counted
    with schema_context(agency.schema_name):
        assert working_elapsed(item, calendar(), at(4, 11)) == 2 * HOUR
    desk.sweep(at(4, 11))
    item = desk.get(item)
    assert not item.is_late and item.warned_at is None
    assert not desk.notes(desk.worker, "request.sla_warning", item)

    with schema_context(agency.schema_name):
        comment_add(
            agency=agency,
            request_obj=item,
            author=desk.beneficiary,
            body="العقد مرفق",
            visibility=Visibility.EXTERNAL,
        )
    desk.set_pause(item, ended_at=at(4, 12))
    item = desk.get(item)
    assert item.status == Status.IN_PROGRESS
    with schema_context(agency.schema_name):
        (pause,) = StatusPause.objects.filter(request=item)
        assert pause.status == Status.AWAITING_BENEFICIARY
        assert working_elapsed(item, calendar(), at(5, 16)) == 14 * HOUR
        assert working_elapsed(item, calendar(), at(8, 10)) == 16 * HOUR

    desk.sweep(at(8, 9, 59))
    item = desk.get(item)
    assert not item.is_late and item.warned_at == at(8, 9, 59)
    desk.sweep(at(8, 10))
    item = desk.get(item)
    assert item.is_late and item.late_at == at(8, 10)


def test_a_postponed_request_is_not_late_and_resumes_when_its_date_comes(desk):
    agency = desk.agency
    roomy = desk.service(expected_duration_hours=1000)
    fresh = desk.new(created=None, request_type=roomy)  # no working time before the pause
    old = desk.new()  # Sunday 09:00, 16 h target; postponed from Sunday 10:00
    until = timezone.now() + timedelta(days=2)
    with schema_context(agency.schema_name):
        for item in (fresh, old):
            request_postpone(
                agency=agency,
                request_obj=item,
                actor=desk.supervisor,
                until=until,
                reason="بانتظار جهة أخرى",
            )
    desk.set_pause(old, started_at=at(1, 10))

    desk.sweep(until - timedelta(minutes=1))
    for item in (fresh, old):
        item = desk.get(item)
        assert item.status == Status.POSTPONED and item.postponed_until == until
        assert not item.is_late and item.warned_at is None
        assert ("resumed", Visibility.EXTERNAL) not in desk.kinds(item)
    assert not desk.notes(desk.worker, "request.late")

    resume_at = until + timedelta(minutes=1)
    counts = desk.sweep(resume_at)
    assert counts["resumed"] >= 2
    for item in (fresh, old):
        item = desk.get(item)
        assert item.status == Status.IN_PROGRESS and item.postponed_until is None
        assert desk.kinds(item)[-1] == ("resumed", Visibility.EXTERNAL)
        with schema_context(agency.schema_name):
            pause = StatusPause.objects.get(request=item)
            assert pause.ended_at == until  # the date it was postponed to, not the sweep's
        row = RequestIndex.objects.get(agency=agency, request_id=item.pk)
        assert row.status == Status.IN_PROGRESS
    old = desk.get(old)
    assert not old.is_late  # one working hour counted: 09:00–10:00 on Sunday
    with schema_context(agency.schema_name):
        since = calendar().working_seconds_between(until, resume_at)
        assert working_elapsed(old, calendar(), resume_at) == HOUR + since

    # a second sweep resumes nothing more
    assert desk.sweep(resume_at + timedelta(minutes=5))["resumed"] == 0

    # a sweep that comes long after the date counts the time since the date
    late_sweep = desk.new()
    with schema_context(agency.schema_name):
        request_postpone(
            agency=agency, request_obj=late_sweep, actor=desk.supervisor, until=until, reason="x"
        )
    desk.set_pause(late_sweep, started_at=at(1, 10))  # 1 h counted before the pause
    much_later = until + timedelta(days=14)
    desk.sweep(much_later)
    late_sweep = desk.get(late_sweep)
    assert late_sweep.status == Status.IN_PROGRESS and late_sweep.is_late
    with schema_context(agency.schema_name):
        assert StatusPause.objects.get(request=late_sweep).ended_at == until
        # Seconds are floats (microseconds of "now"): equal to the millisecond.
        assert working_elapsed(late_sweep, calendar(), much_later) == pytest.approx(
            HOUR + calendar().working_seconds_between(until, much_later), abs=1e-3
        )


def test_closed_requests_are_never_marked_late(desk):
    agency = desk.agency
    resolved, rejected = desk.new(), desk.new()
    with schema_context(agency.schema_name):
        request_resolve(agency=agency, request_obj=resolved, actor=desk.worker)
        request_reject(agency=agency, request_obj=rejected, actor=desk.worker, reason="ناقص")
    desk.sweep(at(30, 12))
    for item in (resolved, rejected):
        item = desk.get(item)
        assert not item.is_late and item.late_at is None and item.warned_at is None
        assert ("late", Visibility.INTERNAL) not in desk.kinds(item)
        assert not desk.notes(desk.worker, "request.late", item)
        assert not desk.notes(desk.supervisor, "request.escalated", item)


# --- warning, lateness, escalation ----------------------------------------------------------------


def test_sweep_warns_once_marks_late_then_escalates_once(desk):
    agency = desk.agency
    with schema_context(agency.schema_name):
        sla_policy_save(
            actor=desk.admin,
            transaction_type=desk.type,
            priority="normal",
            first_response_hours=4,
            resolution_hours=16,
        )
        calendar_save(
            actor=desk.admin,
            workdays=WEEKDAYS,
            day_start=time(8, 0),
            day_end=time(16, 0),
            warn_before_hours=2,
            escalate_after_hours=3,
        )
    item = desk.new()  # first response due Sunday 13:00
    answered = desk.new()  # answered at once: resolution due Tuesday 09:00
    with schema_context(agency.schema_name):
        request_start(agency=agency, request_obj=answered, actor=desk.worker)
    mail.outbox.clear()

    desk.sweep(at(1, 10))  # 3 h left: nothing
    item = desk.get(item)
    assert item.warned_at is None and not item.is_late

    desk.sweep(at(1, 11, 30))  # 1.5 h left: warned
    item = desk.get(item)
    assert item.warned_at == at(1, 11, 30) and not item.is_late
    (warning,) = desk.notes(desk.worker, "request.sla_warning", item)
    assert warning.agency_id == agency.pk
    desk.sweep(at(1, 12))  # no second warning
    assert desk.get(item).warned_at == at(1, 11, 30)
    assert len(desk.notes(desk.worker, "request.sla_warning", item)) == 1

    desk.sweep(at(1, 13))  # the first-response target passes
    item = desk.get(item)
    assert item.is_late and item.late_at == at(1, 13) and item.escalated_at is None
    row = RequestIndex.objects.get(agency=agency, request_id=item.pk)
    assert row.is_late
    assert len(desk.notes(desk.worker, "request.late", item)) == 1
    assert desk.kinds(item).count(("late", Visibility.INTERNAL)) == 1
    assert "request.late" in desk.audit(item)
    assert not desk.notes(desk.supervisor, "request.escalated", item)
    assert not desk.get(answered).is_late  # its first response was given

    desk.sweep(at(1, 15, 59))  # late for 2 h 59: not yet escalated
    assert desk.get(item).escalated_at is None
    desk.sweep(at(2, 8))  # 16:00 to 08:00 is not working time: 3 working hours late
    item = desk.get(item)
    assert item.escalated_at == at(2, 8)
    assert len(desk.notes(desk.supervisor, "request.escalated", item)) == 1
    assert desk.notes(desk.admin, "request.escalated", item)
    assert not desk.notes(desk.outsider, "request.escalated", item)
    assert not desk.notes(desk.worker, "request.escalated", item)
    assert desk.kinds(item).count(("escalated", Visibility.INTERNAL)) == 1
    assert "request.escalate" in desk.audit(item)

    desk.sweep(at(2, 15))  # the answered one: 2 h left to its resolution (Tuesday 09:00)
    assert desk.get(answered).warned_at == at(2, 15) and not desk.get(answered).is_late
    desk.sweep(at(3, 12))  # once only
    item = desk.get(item)
    assert item.escalated_at == at(2, 8) and item.late_at == at(1, 13)
    assert len(desk.notes(desk.supervisor, "request.escalated", item)) == 1
    assert len(desk.notes(desk.worker, "request.late", item)) == 1
    assert desk.kinds(item).count(("late", Visibility.INTERNAL)) == 1
    answered = desk.get(answered)
    assert answered.warned_at == at(2, 15)
    assert answered.is_late and answered.late_at == at(3, 12)


def test_a_sweep_long_after_the_target_marks_late_and_escalates_at_once(desk):
    """No sweep ran from Sunday morning to Monday noon (a stopped worker): the request is
    seven working hours past its 4 h first-response target, more than the 4 h escalation
    delay, so the first sweep that sees it both marks it late and escalates it."""
    item = desk.new()
    counts = desk.sweep(at(2, 12))
    item = desk.get(item)
    assert item.is_late and item.late_at == at(2, 12) and item.escalated_at == at(2, 12)
    assert item.warned_at is None  # too late to warn
    assert counts["late"] >= 1 and counts["escalated"] >= 1
    assert len(desk.notes(desk.supervisor, "request.escalated", item)) == 1
    assert len(desk.notes(desk.worker, "request.late", item)) == 1
    # only 3 working hours past the target: marked late, escalated later
    other = desk.new(created=at(2, 9))  # Monday 09:00, due 13:00
    desk.sweep(at(2, 15, 59))
    other = desk.get(other)
    assert other.is_late and other.escalated_at is None
    desk.sweep(at(3, 8, 59))  # Tuesday 08:59: 3 h 59 past the target
    assert desk.get(other).escalated_at is None
    desk.sweep(at(3, 9))
    assert desk.get(other).escalated_at == at(3, 9)


def test_a_request_awaiting_the_beneficiary_is_not_late_while_it_waits(desk):
    agency = desk.agency
    item = desk.new()  # 4 h to first response
    with schema_context(agency.schema_name):
        request_ask_information(agency=agency, request_obj=item, actor=desk.worker, question="؟")
        # the question was the first response; only the 16 h resolution target is left
    desk.set_pause(item, started_at=at(1, 9, 30))
    desk.sweep(at(20, 12))
    item = desk.get(item)
    assert not item.is_late and item.warned_at is None


# --- the queue ------------------------------------------------------------------------------------


def test_queue_has_postponed_and_late_tabs_with_counts(client, desk):
    agency = desk.agency
    late = desk.new(subject="طلب متأخر")
    late_closed = desk.new(subject="متأخر ثم أغلق")
    postponed = desk.new(created=None, subject="طلب مؤجل")
    on_time = desk.new(created=None, subject="طلب في وقته")
    desk.sweep(at(2, 12))
    with schema_context(agency.schema_name):
        request_resolve(agency=agency, request_obj=late_closed, actor=desk.worker)
        request_postpone(
            agency=agency,
            request_obj=postponed,
            actor=desk.supervisor,
            until=timezone.now() + timedelta(days=1),
            reason="سبب",
        )
    assert desk.get(late).is_late and desk.get(late_closed).is_late
    assert not desk.get(on_time).is_late

    client.force_login(desk.worker)
    url = reverse("workspace:queue", kwargs={"agency_slug": agency.slug})
    html = client.get(url).content.decode()
    assert 'data-state="late">1<' in html
    assert 'data-state="postponed">1<' in html
    assert "?scope=mine&state=late" in html and "?scope=mine&state=postponed" in html

    html = client.get(url, {"state": "late"}).content.decode()
    assert late.reference in html
    for other in (late_closed, postponed, on_time):
        assert other.reference not in html
    html = client.get(url, {"state": "postponed"}).content.decode()
    assert postponed.reference in html
    for other in (late, late_closed, on_time):
        assert other.reference not in html
    # the beneficiary's list carries the late flag from the index
    client.force_login(desk.beneficiary)
    html = client.get(reverse("requests:mine")).content.decode()
    rows = {
        item.reference: row
        for row in re.findall(r"<tr>.*?</tr>", html, re.S)
        for item in (late, postponed, on_time)
        if item.reference in row
    }
    assert "tag--late" in rows[late.reference]
    assert "tag--late" not in rows[postponed.reference]
    assert "tag--late" not in rows[on_time.reference]


# --- the periodic job -----------------------------------------------------------------------------


def _sweep_jobs() -> list[dict]:
    jobs = pending_jobs("requests.sla_sweep")
    for job in jobs:
        if isinstance(job["args"], str):
            job["args"] = json.loads(job["args"])
    return jobs


def test_dispatch_defers_one_sweep_per_active_agency(desk, agency_b):
    agency = desk.agency
    late = desk.new()  # Sunday 1 November: long late by now
    Agency.objects.filter(pk=agency_b.pk).update(is_active=False)
    active = set(Agency.objects.filter(is_active=True).values_list("schema_name", flat=True))
    assert agency.schema_name in active and agency_b.schema_name not in active
    assert not _sweep_jobs()

    sla_dispatch(timestamp=int(clock.time()))
    jobs = _sweep_jobs()
    assert sorted(job["args"]["schema_name"] for job in jobs) == sorted(active)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT queue_name FROM procrastinate_jobs WHERE task_name = %s",
            ["requests.sla_sweep"],
        )
        assert cursor.fetchall() == [("sla",)]

    # a dispatch while the sweeps still wait adds nothing and does not fail
    sla_dispatch(timestamp=int(clock.time()))
    assert len(_sweep_jobs()) == len(jobs)

    assert run_pending_jobs("requests.sla_sweep") == len(jobs)
    late = desk.get(late)
    assert late.is_late and late.escalated_at is not None
    assert desk.notes(desk.worker, "request.late", late)
    assert desk.notes(desk.supervisor, "request.escalated", late)
    assert RequestIndex.objects.get(agency=agency, request_id=late.pk).is_late


# --- the settings page ----------------------------------------------------------------------------


def test_service_levels_page(client, desk):
    agency = desk.agency
    url = reverse("workspace:sla_settings", kwargs={"agency_slug": agency.slug})
    for user in (desk.worker, desk.supervisor):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"form": "holiday", "h-day": "2026-12-02"}).status_code == 403
    with schema_context(agency.schema_name):
        assert not Holiday.objects.exists()

    client.force_login(desk.admin)
    assert client.get(url).status_code == 200

    policy = {
        "form": "policy",
        "s-transaction_type": desk.type.pk,
        "s-priority": "important",
        "s-first_response_hours": 3,
        "s-resolution_hours": 12,
    }
    response = client.post(url, policy)
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    with schema_context(agency.schema_name):
        saved = SlaPolicy.objects.get(transaction_type=desk.type, priority="important")
        assert (saved.first_response_hours, saved.resolution_hours) == (3, 12)
    assert desk.type.name_ar in page or desk.type.name_en in page

    response = client.post(url, {**policy, "s-first_response_hours": 13})
    assert response.status_code == 200
    assert ar("The first response cannot come after the resolution.") in response.content.decode()
    with schema_context(agency.schema_name):
        saved.refresh_from_db()
        assert (saved.first_response_hours, saved.resolution_hours) == (3, 12)

    calendar_post = {
        "form": "calendar",
        "c-workdays": ["6", "0", "1", "2", "5"],
        "c-day_start": "07:30",
        "c-day_end": "15:30",
        "c-warn_before_hours": "1",
        "c-escalate_after_hours": "6",
    }
    assert client.post(url, calendar_post).status_code == 302
    with schema_context(agency.schema_name):
        working, config = agency_calendar()
        assert config.workdays == [0, 1, 2, 5, 6]
        assert (working.day_start, working.day_end) == (time(7, 30), time(15, 30))
        assert (config.warn_before_hours, config.escalate_after_hours) == (1, 6)
    response = client.post(url, {**calendar_post, "c-day_end": "07:00"})
    assert response.status_code == 200
    assert ar("The working day must end after it starts.") in response.content.decode()
    response = client.post(url, {**calendar_post, "c-workdays": []})
    assert response.status_code == 200
    with schema_context(agency.schema_name):
        config = AgencyCalendar.objects.get()
        assert config.workdays == [0, 1, 2, 5, 6] and config.day_end == time(15, 30)

    holiday = {"form": "holiday", "h-day": "2026-12-02", "h-name": "اليوم الوطني"}
    assert client.post(url, holiday).status_code == 302
    assert "2026-12-02" in client.get(url).content.decode()
    response = client.post(url, {**holiday, "h-name": "مرة ثانية"})
    assert response.status_code == 200
    assert ar("This day is already a holiday.") in response.content.decode()
    with schema_context(agency.schema_name):
        assert list(Holiday.objects.values_list("name", flat=True)) == ["اليوم الوطني"]
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"sla.policy", "sla.calendar", "sla.holiday"} <= actions


def test_targets_are_shown_in_working_days_of_the_agency_calendar(client, desk):
    """Targets are kept in working hours and shown as working days of the agency's day:
    240 hours are 30 days of 8 hours, 40 of 6. The public guide, which lists every agency's
    services, counts in the standard 8-hour day."""
    agency = desk.agency
    sla_url = reverse("workspace:sla_settings", kwargs={"agency_slug": agency.slug})
    services_url = reverse("workspace:catalogue_list", kwargs={"agency_slug": agency.slug})
    client.force_login(desk.admin)
    policy = {
        "form": "policy",
        "s-transaction_type": desk.type.pk,
        "s-priority": "important",
        "s-first_response_hours": 4,
        "s-resolution_hours": 240,
    }
    assert client.post(sla_url, policy).status_code == 302
    assert "<td>4 ساعات عمل</td><td>30 يوم عمل</td>" in client.get(sla_url).content.decode()
    assert "<td>يوما عمل</td>" in client.get(services_url).content.decode()  # 16 hours

    calendar_post = {
        "form": "calendar",
        "c-workdays": ["6", "0", "1", "2", "3"],
        "c-day_start": "08:00",
        "c-day_end": "14:00",
        "c-warn_before_hours": "1",
        "c-escalate_after_hours": "6",
    }
    assert client.post(sla_url, calendar_post).status_code == 302
    assert "<td>4 ساعات عمل</td><td>40 يوم عمل</td>" in client.get(sla_url).content.decode()
    assert "<td>يوما عمل و4 ساعات عمل</td>" in client.get(services_url).content.decode()
    guide = client.get(reverse("guide:catalogue"), {"agency": agency.slug}).content.decode()
    assert "يوما عمل" in guide and "يوما عمل و4" not in guide
