"""What other modules put in employees' calendars (appointments.services.entry_add), the sources a
module registers for the calendar form (appointments.sources), and an employee changing an
appointment of their own calendar (its reminder moves with it)."""

import json
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from appointments import sources
from appointments.models import Appointment
from appointments.services import appointment_add, appointment_delete, appointment_edit, entry_add
from appointments.sources import EntryLink, Source
from notifications.models import Notification
from tenants.staff.models import AuditEvent, Membership
from tests.appointments.test_calendar import CALENDAR, TASK, ar, create, local, next_week
from tests.factories import make_employee, membership_of
from tests.jobs import run_pending_jobs

MEETING = "/a/alpha/meetings/42/"


def edit_url(appointment_id: int) -> str:
    return reverse(
        "workspace:appointment_edit",
        kwargs={"agency_slug": "alpha", "appointment_id": appointment_id},
    )


def reminder_jobs() -> list[dict]:
    """This test's reminder jobs, waiting or cancelled."""
    from tests import jobs

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, args, scheduled_at, status FROM procrastinate_jobs "
            "WHERE task_name = %s AND id > %s ORDER BY id",
            [TASK, jobs.BASELINE or 0],
        )
        return [
            {
                "id": row[0],
                "args": row[1] if isinstance(row[1], dict) else json.loads(row[1]),
                "scheduled_at": row[2],
                "status": row[3],
            }
            for row in cursor.fetchall()
        ]


def reminders(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, event="calendar.reminder"))


def entries(agency) -> list[Appointment]:
    with schema_context(agency.schema_name):
        return list(Appointment.objects.order_by("id"))


def meeting_entry(agency, user, **fields) -> Appointment:
    starts = fields.pop("starts_at", next_week(9))
    values = {
        "title": "اجتماع مجلس الإدارة",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "source": "meetings.meeting",
        "source_id": 42,
        "source_label": "MTG-2026-7",
        "link": MEETING,
        "remind_minutes_before": 60,
    }
    values.update(fields)
    with schema_context(agency.schema_name):
        membership = Membership.objects.select_related("user").get(user_id=user.pk)
        return entry_add(membership=membership, **values)


# --- other modules' entries --------------------------------------------------------------------


def test_another_module_puts_an_entry_in_a_calendar_and_it_is_shown(client, agency_a):
    employee = make_employee(agency_a)
    colleague = make_employee(agency_a)
    starts = next_week(9)
    entry = meeting_entry(agency_a, employee, starts_at=starts)

    (stored,) = entries(agency_a)
    assert stored.pk == entry.pk and stored.membership_id == membership_of(agency_a, employee).pk
    assert (stored.source, stored.source_id, stored.source_label, stored.link) == (
        "meetings.meeting",
        42,
        "MTG-2026-7",
        MEETING,
    )
    with schema_context(agency_a.schema_name):
        event = AuditEvent.objects.get(action="calendar.create", object_id=str(entry.pk))
    assert event.object_type == "appointments.appointment" and event.actor_id is None
    assert event.after["source"] == "meetings.meeting" and event.after["source_id"] == 42
    (job,) = reminder_jobs()
    assert job["args"] == {"schema_name": agency_a.schema_name, "appointment_id": entry.pk}
    assert job["scheduled_at"] == starts - timedelta(hours=1) and job["status"] == "todo"

    client.force_login(employee)
    page = client.get(CALENDAR).content.decode()
    assert "اجتماع مجلس الإدارة" in page
    assert f'href="{MEETING}"' in page and "MTG-2026-7" in page
    client.force_login(colleague)
    page = client.get(CALENDAR).content.decode()
    assert "اجتماع مجلس الإدارة" not in page and MEETING not in page

    assert run_pending_jobs(TASK) == 1
    (reminder,) = reminders(employee)
    assert "اجتماع مجلس الإدارة" in reminder.title and reminder.link == "/a/alpha/calendar/"
    assert reminders(colleague) == []


def test_an_entry_links_only_to_a_path_of_the_site(agency_a):
    employee = make_employee(agency_a)
    for bad in (
        "https://elsewhere.example/x",
        "//elsewhere.example/x",
        "javascript:alert(1)",
        "/\\elsewhere.example",
        "/\t/elsewhere.example",  # a browser drops the tab: //elsewhere.example
        "/a/alpha/<script>",
    ):
        with pytest.raises(ValueError):
            meeting_entry(agency_a, employee, link=bad)
    with pytest.raises(ValueError):
        meeting_entry(agency_a, employee, source="", source_label="", link="")  # id, no source
    assert entries(agency_a) == [] and reminder_jobs() == []


def test_a_registered_source_links_an_appointment_from_the_calendar_form(
    client, agency_a, monkeypatch
):
    """A module other than requests offers its own field on the calendar form; only one thing
    may be named at a time."""

    def find(*, agency, membership, user, text):
        if text != "MTG-7":
            return None
        return EntryLink("meetings.meeting", 7, "MTG-7", f"/a/{agency.slug}/meetings/7/")

    meeting_field = Source(
        field="meeting_reference", label="Meeting", not_found="No such meeting.", find=find
    )
    monkeypatch.setattr(sources, "_sources", [*sources.sources(), meeting_field])
    employee = make_employee(agency_a)
    client.force_login(employee)
    form = client.get(CALENDAR).context["form"]
    assert list(form.fields)[-3:] == ["request_reference", "meeting_reference", "notes"]

    response = create(client, meeting_reference="MTG-8")
    assert response.context["form"].errors["meeting_reference"] == ["No such meeting."]
    response = create(client, meeting_reference="MTG-7", request_reference="ALP-2026-000001")
    assert response.context["form"].non_field_errors() == [
        ar("Link the appointment to one thing at most.")
    ]
    assert entries(agency_a) == []

    assert create(client, meeting_reference=" MTG-7 ").status_code == 302
    (entry,) = entries(agency_a)
    assert (entry.source, entry.source_id, entry.link) == (
        "meetings.meeting",
        7,
        "/a/alpha/meetings/7/",
    )
    assert 'href="/a/alpha/meetings/7/"' in client.get(CALENDAR).content.decode()


# --- changing one's own appointment ------------------------------------------------------------


def test_changing_an_appointment_moves_its_reminder(client, agency_a):
    employee = make_employee(agency_a)
    client.force_login(employee)
    starts = next_week(10)
    create(client, starts_at=starts, remind_minutes_before="30", title="مراجعة")
    (entry,) = entries(agency_a)
    (first,) = reminder_jobs()
    assert entry.reminder_job_id == first["id"]

    page = client.get(edit_url(entry.pk)).content.decode()
    assert "مراجعة" in page and local(starts) in page
    assert local(starts + timedelta(minutes=45)) in page

    later = starts + timedelta(hours=2)
    response = client.post(
        edit_url(entry.pk),
        {
            "title": "مراجعة الملف",
            "starts_at": local(later),
            "ends_at": local(later + timedelta(hours=1)),
            "remind_minutes_before": "10",
            "notes": "",
        },
    )
    assert response.status_code == 302 and response["Location"] == CALENDAR
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        ar("The appointment was changed.")
    ]
    (entry,) = entries(agency_a)
    assert entry.title == "مراجعة الملف" and entry.starts_at == later
    assert entry.ends_at == later + timedelta(hours=1) and entry.remind_minutes_before == 10
    old, new = reminder_jobs()
    assert old["id"] == first["id"] and old["status"] == "cancelled"
    assert new["status"] == "todo" and new["scheduled_at"] == later - timedelta(minutes=10)
    assert new["args"] == {"schema_name": agency_a.schema_name, "appointment_id": entry.pk}
    assert entry.reminder_job_id == new["id"]
    with schema_context(agency_a.schema_name):
        event = AuditEvent.objects.get(action="calendar.edit", object_id=str(entry.pk))
    assert event.before["title"] == "مراجعة" and event.after["title"] == "مراجعة الملف"
    assert event.actor_id == employee.pk

    assert run_pending_jobs(TASK) == 1 and len(reminders(employee)) == 1


def test_a_sent_reminder_is_sent_again_only_when_the_time_moves(client, agency_a):
    employee = make_employee(agency_a)
    client.force_login(employee)
    starts = next_week(10)
    create(client, starts_at=starts)
    assert run_pending_jobs(TASK) == 1 and len(reminders(employee)) == 1
    (entry,) = entries(agency_a)
    fields = {
        "title": "عنوان آخر",
        "starts_at": local(starts),
        "ends_at": local(starts + timedelta(minutes=45)),
        "remind_minutes_before": "30",
        "notes": "",
    }
    assert client.post(edit_url(entry.pk), fields).status_code == 302
    (entry,) = entries(agency_a)
    assert entry.title == "عنوان آخر" and entry.reminded_at is not None
    assert run_pending_jobs(TASK) == 0  # the time did not move: no new reminder

    moved = starts + timedelta(days=1)
    fields |= {"starts_at": local(moved), "ends_at": local(moved + timedelta(minutes=45))}
    assert client.post(edit_url(entry.pk), fields).status_code == 302
    (entry,) = entries(agency_a)
    assert entry.reminded_at is None
    assert run_pending_jobs(TASK) == 1 and len(reminders(employee)) == 2


def test_a_change_with_bad_input_changes_nothing(client, agency_a):
    employee = make_employee(agency_a)
    client.force_login(employee)
    starts = next_week(10)
    create(client, starts_at=starts, title="ثابت")
    (before,) = entries(agency_a)
    for fields, field in (
        ({"ends_at": local(starts - timedelta(minutes=5))}, "ends_at"),
        ({"title": "  "}, "title"),
        ({"remind_minutes_before": str(8 * 24 * 60)}, "remind_minutes_before"),
        # Year 1 would overflow the reminder's time (and year 1 BC could not be read back).
        ({"starts_at": "0001-01-01T00:10"}, "starts_at"),
        ({"ends_at": local(starts + timedelta(days=6 * 366))}, "ends_at"),
    ):
        data = {
            "title": "جديد",
            "starts_at": local(starts),
            "ends_at": local(starts + timedelta(hours=1)),
            "remind_minutes_before": "30",
            "notes": "",
        } | fields
        response = client.post(edit_url(before.pk), data)
        assert response.status_code == 200, fields
        assert field in response.context["form"].errors, fields
    (after,) = entries(agency_a)
    assert (after.title, after.starts_at, after.ends_at) == (
        before.title,
        before.starts_at,
        before.ends_at,
    )
    assert [job["status"] for job in reminder_jobs()] == ["todo"]


# --- the services enforce whose calendar -------------------------------------------------------


def test_the_services_manage_only_the_actors_own_appointments(agency_a):
    owner = make_employee(agency_a)
    colleague = make_employee(agency_a)
    admin = make_employee(agency_a, roles=("admin",))
    entry = meeting_entry(agency_a, owner)
    starts = next_week(15)
    with schema_context(agency_a.schema_name):
        for user in (colleague, admin):
            actor = Membership.objects.select_related("user").get(user_id=user.pk)
            with pytest.raises(PermissionDenied):
                appointment_edit(
                    actor=actor,
                    appointment=entry,
                    title="x",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    remind_minutes_before=5,
                )
            with pytest.raises(PermissionDenied):
                appointment_delete(actor=actor, appointment=entry)
        inactive = Membership.objects.select_related("user").get(user_id=owner.pk)
        Membership.objects.filter(pk=inactive.pk).update(is_active=False)
        inactive.is_active = False
        with pytest.raises(PermissionDenied):
            appointment_delete(actor=inactive, appointment=entry)
        with pytest.raises(PermissionDenied):
            appointment_add(
                actor=inactive, title="y", starts_at=starts, ends_at=starts + timedelta(hours=1)
            )
    (unchanged,) = entries(agency_a)
    assert unchanged.title == entry.title and unchanged.starts_at == entry.starts_at


# --- query budgets ----------------------------------------------------------------------------


def test_the_calendar_page_costs_the_same_for_3_or_30_entries(
    client, agency_a, django_assert_max_num_queries
):
    employee = make_employee(agency_a)
    client.force_login(employee)
    for hour in range(3):
        meeting_entry(agency_a, employee, starts_at=next_week(8 + hour))
    client.get(CALENDAR)  # warm the per-process caches (menu, permissions)
    # The workspace's own (schema, session, user, membership and roles, permissions, the
    # notification bell) and one for the entries.
    with django_assert_max_num_queries(13, info="calendar, 3 entries") as few:
        assert client.get(CALENDAR).status_code == 200
    for day in range(27):
        meeting_entry(agency_a, employee, starts_at=next_week(8) + timedelta(days=day + 1))
    with django_assert_max_num_queries(len(few.captured_queries), info="30 entries") as many:
        page = client.get(CALENDAR).content.decode()
    assert page.count("MTG-2026-7") == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_adding_an_entry_budget(agency_a, django_assert_max_num_queries):
    """Savepoint, the entry, its audit event, its reminder job, the job's id, release."""
    employee = make_employee(agency_a)
    starts = timezone.now() + timedelta(days=2)
    with schema_context(agency_a.schema_name):
        membership = Membership.objects.select_related("user").get(user_id=employee.pk)
        with django_assert_max_num_queries(6, info="entry_add"):
            entry_add(
                membership=membership,
                title="موعد",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                source="finance.voucher",
                source_id=3,
                source_label="V-3",
                link="/a/alpha/finance/vouchers/3/",
            )
