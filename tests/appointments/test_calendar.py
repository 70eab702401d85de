"""Employees' calendars (R-20, the appointments app): appointments, optionally linked to a request
the employee may open (a source the requests app registers), with a reminder job scheduled at
the chosen time before the start and delivered once through the notifications layer. Each
employee sees and deletes only their own."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from appointments.models import Appointment
from appointments.services import appointment_send_reminder
from notifications.events import EMAIL, INAPP
from notifications.models import Delivery, Notification
from requests_app.models import Request
from requests_app.services.index import index_sync
from tenants.services import department_save
from tenants.staff.models import AuditEvent, Membership
from tests.factories import make_beneficiary, make_employee, make_request, make_type
from tests.jobs import render_pending, run_pending_jobs

RIYADH = ZoneInfo("Asia/Riyadh")
TASK = "requests.appointment_remind"
CALENDAR = reverse("workspace:calendar", kwargs={"agency_slug": "alpha"})


def ar(text: str, **params) -> str:
    with translation.override("ar"):
        message = gettext(text)
    return message % params if params else message


def local(dt: datetime) -> str:
    """The value a datetime-local input sends."""
    return timezone.localtime(dt, RIYADH).strftime("%Y-%m-%dT%H:%M")


def next_week(hour: int = 10, minute: int = 0) -> datetime:
    day = timezone.localtime(timezone.now(), RIYADH).date() + timedelta(days=7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=RIYADH)


class Office:
    """Agency A: department D with supervisor ``boss`` and employees ``me`` and ``colleague``;
    an employee ``outsider`` of another department. Requests: ``mine`` (assigned to me),
    ``theirs`` (D, assigned to colleague), ``elsewhere`` (another department)."""

    def __init__(self, agency):
        self.agency = agency
        self.admin = make_employee(agency, roles=("admin",))
        self.me = make_employee(agency)
        self.colleague = make_employee(agency)
        self.boss = make_employee(agency, roles=("supervisor",))
        self.outsider = make_employee(agency)
        with schema_context(agency.schema_name):
            self.d = department_save(actor=self.admin, name_ar="المواعيد", name_en="Desk")
            self.other = department_save(actor=self.admin, name_ar="أخرى", name_en="Other")
            Membership.objects.filter(
                user_id__in=[self.me.pk, self.colleague.pk, self.boss.pk]
            ).update(department=self.d)
            Membership.objects.filter(user_id=self.outsider.pk).update(department=self.other)
        desk_type = make_type(agency, actor=self.admin, department=self.d)
        other_type = make_type(agency, actor=self.admin, department=self.other)
        self.mine = self.request(desk_type, self.me)
        self.theirs = self.request(desk_type, self.colleague)
        self.elsewhere = self.request(other_type, self.outsider)
        run_pending_jobs()
        mail.outbox.clear()

    def membership(self, user) -> Membership:
        with schema_context(self.agency.schema_name):
            return Membership.objects.select_related("user").get(user_id=user.pk)

    def request(self, request_type, assignee) -> Request:
        item = make_request(self.agency, beneficiary=make_beneficiary(), request_type=request_type)
        with schema_context(self.agency.schema_name):
            Request.objects.filter(pk=item.pk).update(assignee=self.membership(assignee))
            item = Request.objects.select_related("assignee__user", "transaction_type").get(
                pk=item.pk
            )
            index_sync(agency=self.agency, request=item)
        return item

    def appointments(self, user=None) -> list[Appointment]:
        with schema_context(self.agency.schema_name):
            qs = Appointment.objects.all()
            if user is not None:
                qs = qs.filter(membership__user_id=user.pk)
            return list(qs.order_by("id"))


@pytest.fixture
def office(agency_a) -> Office:
    return Office(agency_a)


def jobs() -> list[dict]:
    """Pending reminder jobs with their schedule and queue."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, args, scheduled_at, queue_name FROM procrastinate_jobs "
            "WHERE task_name = %s AND status = 'todo' ORDER BY id",
            [TASK],
        )
        return [
            {
                "id": row[0],
                "args": row[1] if isinstance(row[1], dict) else json.loads(row[1]),
                "scheduled_at": row[2],
                "queue": row[3],
            }
            for row in cursor.fetchall()
        ]


def create(client, **fields):
    starts = fields.pop("starts_at", next_week(10))
    data = {
        "form": "create",
        "title": "مراجعة ملف المستفيد",
        "starts_at": local(starts) if isinstance(starts, datetime) else starts,
        "ends_at": local(starts + timedelta(minutes=45)) if isinstance(starts, datetime) else "",
        "remind_minutes_before": "30",
        "request_reference": "",
        "notes": "إحضار الملف الورقي",
    }
    data.update(fields)
    for key in ("ends_at",):
        if isinstance(data[key], datetime):
            data[key] = local(data[key])
    return client.post(CALENDAR, data)


def reminders(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, event="calendar.reminder"))


# --- creating and reminding -------------------------------------------------------------------


def test_creating_an_appointment_schedules_its_reminder(client, office):
    client.force_login(office.me)
    starts = next_week(10, 30)
    response = create(client, starts_at=starts, remind_minutes_before="45")
    assert response.status_code == 302 and response["Location"] == CALENDAR
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        ar("The appointment was added.")
    ]
    (appointment,) = office.appointments(office.me)
    assert appointment.title == "مراجعة ملف المستفيد" and appointment.notes == "إحضار الملف الورقي"
    assert appointment.starts_at == starts and appointment.ends_at == starts + timedelta(minutes=45)
    assert appointment.remind_minutes_before == 45 and appointment.reminded_at is None
    assert appointment.membership_id == office.membership(office.me).pk
    assert appointment.source == "" and appointment.source_id is None and appointment.link == ""
    with schema_context(office.agency.schema_name):
        assert AuditEvent.objects.filter(
            action="calendar.create", object_id=str(appointment.pk)
        ).exists()

    (job,) = jobs()
    assert job["args"] == {
        "schema_name": office.agency.schema_name,
        "appointment_id": appointment.pk,
    }
    assert job["scheduled_at"] == starts - timedelta(minutes=45)
    assert job["scheduled_at"] > timezone.now()  # not due yet: the worker leaves it waiting
    assert job["queue"] == "notifications"

    page = client.get(CALENDAR).content.decode()
    assert "مراجعة ملف المستفيد" in page and f'datetime="{local(starts)}' in page


def test_reminder_is_sent_once_when_the_job_runs(client, office):
    client.force_login(office.me)
    create(client, title="اجتماع الفريق", remind_minutes_before="15")
    (appointment,) = office.appointments(office.me)
    assert reminders(office.me) == []

    assert run_pending_jobs(TASK) == 1
    (reminder,) = reminders(office.me)
    assert reminder.agency_id == office.agency.pk
    assert reminder.link == "/a/alpha/calendar/"
    assert "اجتماع الفريق" in reminder.title
    render_pending()
    assert {d.channel for d in reminder.deliveries.all()} == {INAPP, EMAIL}
    run_pending_jobs()  # the email
    (email,) = [m for m in mail.outbox if m.to == [office.me.email]]
    assert "اجتماع الفريق" in email.subject
    assert Delivery.objects.get(notification=reminder, channel=EMAIL).status in (
        Delivery.SENT,
        Delivery.DELIVERED,
    )
    (appointment,) = office.appointments(office.me)
    assert appointment.reminded_at is not None
    page = client.get(CALENDAR).content.decode()
    assert "✓" in page

    # a second run (a retried or duplicated job) sends nothing
    assert run_pending_jobs(TASK) == 0
    with schema_context(office.agency.schema_name):
        assert (
            appointment_send_reminder(agency=office.agency, appointment_id=appointment.pk) is False
        )
    from appointments.tasks import appointment_remind

    appointment_remind(schema_name=office.agency.schema_name, appointment_id=appointment.pk)
    assert len(reminders(office.me)) == 1
    assert Notification.objects.filter(event="calendar.reminder").count() == 1


def test_deleted_appointment_sends_no_reminder(client, office):
    client.force_login(office.me)
    create(client)
    (appointment,) = office.appointments(office.me)
    response = client.post(CALENDAR, {"form": "delete", "appointment": str(appointment.pk)})
    assert response.status_code == 302
    assert office.appointments() == []
    with schema_context(office.agency.schema_name):
        assert AuditEvent.objects.filter(
            action="calendar.delete", object_id=str(appointment.pk)
        ).exists()
    assert run_pending_jobs(TASK) == 1  # the job runs and finds nothing to remind
    assert Notification.objects.filter(event="calendar.reminder").count() == 0


def test_reminder_time_already_passed_is_due_now(client, office):
    client.force_login(office.me)
    soon = timezone.now() + timedelta(minutes=10)
    soon = soon.replace(second=0, microsecond=0) + timedelta(minutes=1)
    before = timezone.now()
    create(client, starts_at=soon, remind_minutes_before="30")
    (job,) = jobs()
    assert before - timedelta(seconds=1) <= job["scheduled_at"] <= timezone.now()
    assert run_pending_jobs(TASK) == 1 and len(reminders(office.me)) == 1


# --- refused input ----------------------------------------------------------------------------


def test_end_before_start_and_empty_title_create_nothing(client, office):
    client.force_login(office.me)
    starts = next_week(11)
    for fields, field, message in (
        (
            {"starts_at": starts, "ends_at": starts - timedelta(minutes=5)},
            "ends_at",
            ar("The appointment must end after it starts."),
        ),
        (
            {"starts_at": starts, "ends_at": starts},
            "ends_at",
            ar("The appointment must end after it starts."),
        ),
        ({"title": "   "}, "title", None),
        ({"title": ""}, "title", None),
        ({"starts_at": "not a date"}, "starts_at", None),
        ({"remind_minutes_before": str(8 * 24 * 60)}, "remind_minutes_before", None),
        ({"remind_minutes_before": "-5"}, "remind_minutes_before", None),
    ):
        response = create(client, **fields)
        assert response.status_code == 200, fields
        form = response.context["form"]
        assert field in form.errors, (fields, form.errors)
        if message:
            assert form.errors[field] == [message]
            assert escape(message) in response.content.decode()
        assert "field--error" in response.content.decode()
    assert office.appointments() == []
    assert jobs() == []


def test_linking_a_request_needs_it_to_be_in_reach(client, office):
    client.force_login(office.me)
    message = ar("No such request in your reach.")
    for item in (office.theirs, office.elsewhere):
        response = create(client, request_reference=item.reference)
        assert response.status_code == 200
        assert response.context["form"].errors["request_reference"] == [message]
    response = create(client, request_reference="ALP-1999-000001")
    assert response.context["form"].errors["request_reference"] == [message]
    assert office.appointments() == [] and jobs() == []

    response = create(client, request_reference=f"  {office.mine.reference} ")
    assert response.status_code == 302
    (appointment,) = office.appointments(office.me)
    assert (appointment.source, appointment.source_id) == ("requests.request", office.mine.pk)
    assert appointment.source_label == office.mine.reference
    page = client.get(CALENDAR).content.decode()
    link = reverse(
        "workspace:request_detail", kwargs={"agency_slug": "alpha", "request_id": office.mine.pk}
    )
    assert f'href="{link}"' in page and office.mine.reference in page

    # a supervisor reaches the department's requests, not another department's
    boss = client.__class__()
    boss.force_login(office.boss)
    assert create(boss, request_reference=office.theirs.reference).status_code == 302
    response = create(boss, request_reference=office.elsewhere.reference)
    assert response.context["form"].errors["request_reference"] == [message]
    assert [a.source_id for a in office.appointments(office.boss)] == [office.theirs.pk]


def test_linked_request_in_another_agency_is_not_found(client, office, agency_b):
    beta_item = make_request(agency_b)
    client.force_login(office.admin)  # sees every request of alpha, none of beta
    response = create(client, request_reference=beta_item.reference)
    assert response.context["form"].errors["request_reference"] == [
        ar("No such request in your reach.")
    ]
    assert office.appointments() == []


# --- whose calendar ---------------------------------------------------------------------------


def test_each_employee_sees_and_deletes_only_their_own(client, office):
    client.force_login(office.me)
    create(client, title="موعدي الخاص")
    (mine,) = office.appointments(office.me)
    other = client.__class__()
    other.force_login(office.colleague)
    create(other, title="موعد الزميل")
    (theirs,) = office.appointments(office.colleague)

    page = client.get(CALENDAR).content.decode()
    assert "موعدي الخاص" in page and "موعد الزميل" not in page

    for bad in (str(theirs.pk), "abc", "", str(theirs.pk + 1000)):
        response = client.post(CALENDAR, {"form": "delete", "appointment": bad})
        assert response.status_code == 404, bad
    assert len(office.appointments()) == 2

    # the supervisor does not delete an employee's appointment either
    boss = client.__class__()
    boss.force_login(office.boss)
    assert boss.post(CALENDAR, {"form": "delete", "appointment": str(mine.pk)}).status_code == 404
    assert len(office.appointments()) == 2

    assert client.post(CALENDAR, {"form": "delete", "appointment": str(mine.pk)}).status_code == 302
    assert [a.pk for a in office.appointments()] == [theirs.pk]


def test_calendar_is_for_the_agency_employees(client, office, agency_b):
    for user in (make_employee(agency_b, roles=("admin",)), make_beneficiary()):
        client.force_login(user)
        assert client.get(CALENDAR).status_code == 403
        assert create(client).status_code == 403
        client.logout()
    assert office.appointments() == []
    response = client.get(CALENDAR)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = create(client)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert office.appointments() == [] and jobs() == []
