"""The decisions register (R-34): owners, due dates, status and follow-up, reminders before
the due date and when late (jobs moved with the date), filters, pages, XLSX export, the
agency's statistics, and who may see or change what."""

import io
import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone, translation
from django_tenants.utils import schema_context
from openpyxl import load_workbook

from meetings.constants import MeetingStatus
from meetings.models_minutes import Decision, DecisionNote, DecisionStatus
from meetings.services import decisions as services
from notifications.models import Notification
from tenants.staff.models import AuditEvent, Membership
from tests.factories import make_beneficiary, make_employee, membership_of
from tests.jobs import pending_jobs
from tests.meetings.factories import decisions_manager
from tests.meetings.minutes_helpers import items_of, make_meeting


@pytest.fixture
def people(agency_a, agency_b):
    return {
        "manager": decisions_manager(agency_a),
        "admin": make_employee(agency_a, roles=("admin",)),
        "owner": make_employee(agency_a),
        "colleague": make_employee(agency_a),
        "other_agency": make_employee(agency_b, roles=("admin",)),
        "beneficiary": make_beneficiary(),
    }


@pytest.fixture
def meeting(agency_a):
    return make_meeting(agency_a)


def _today():
    return timezone.localdate()


def create(agency, people, meeting, *, owner="owner", days=10, text="اعتماد خطة التدريب"):
    with schema_context(agency.schema_name):
        return services.decision_create(
            actor=people["manager"],
            meeting=meeting,
            text=text,
            owner=Membership.objects.get(user=people[owner]),
            due_date=_today() + timedelta(days=days),
        )


def _args(job) -> dict:
    raw = job["args"]
    return json.loads(raw) if isinstance(raw, str) else raw


def _jobs(task):
    return [
        job for job in pending_jobs(task) if _args(job)["schema_name"] == connection.schema_name
    ]


def _scheduled_at(job_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT scheduled_at, status FROM procrastinate_jobs WHERE id = %s", [job_id]
        )
        return cursor.fetchone()


def test_create_schedules_reminders_and_tells_the_owner(agency_a, meeting, people):
    decision = create(agency_a, people, meeting, days=10)
    with schema_context(agency_a.schema_name):
        remind = _jobs("meetings.decision_remind")
        late = _jobs("meetings.decision_late")
        assert [j["id"] for j in remind] == [decision.reminder_job_id]
        assert [j["id"] for j in late] == [decision.late_job_id]
        remind_at, late_at = services.reminder_times(decision.due_date)
        assert _scheduled_at(decision.reminder_job_id)[0] == remind_at
        assert _scheduled_at(decision.late_job_id)[0] == late_at
        assert remind_at.date() == decision.due_date - timedelta(days=3)
        assert AuditEvent.objects.filter(action="meetings.decision_create").count() == 1
    assert Notification.objects.filter(
        event="meetings.decision_assigned", recipient=people["owner"]
    ).exists()


def test_moving_the_due_date_moves_the_reminders(agency_a, meeting, people):
    decision = create(agency_a, people, meeting, days=10)
    old_remind, old_late = decision.reminder_job_id, decision.late_job_id
    with schema_context(agency_a.schema_name):
        moved = services.decision_update(
            actor=people["manager"],
            decision=decision,
            text=decision.text,
            owner=decision.owner,
            due_date=_today() + timedelta(days=20),
        )
        assert _scheduled_at(old_remind)[1] == "cancelled"
        assert _scheduled_at(old_late)[1] == "cancelled"
        remind_at, late_at = services.reminder_times(moved.due_date)
        assert _scheduled_at(moved.reminder_job_id) == (remind_at, "todo")
        assert _scheduled_at(moved.late_job_id) == (late_at, "todo")
        note = DecisionNote.objects.get(decision=decision)
        assert note.due_to == moved.due_date
        # Done: the reminders are cancelled.
        services.decision_follow_up(
            actor=people["owner"], decision=moved, status=DecisionStatus.DONE, text="تم"
        )
        moved.refresh_from_db()
        assert moved.reminder_job_id is None and moved.late_job_id is None


def test_reminder_jobs_send_once_and_only_while_due(agency_a, meeting, people):
    decision = create(agency_a, people, meeting, days=10)
    with schema_context(agency_a.schema_name):
        due = decision.due_date.isoformat()
        assert services.decision_send_reminder(decision_id=decision.pk, due_date=due, late=False)
        # Not late yet: the late job sends nothing.
        assert not services.decision_send_reminder(decision_id=decision.pk, due_date=due, late=True)
        # A job of a date since moved sends nothing.
        assert not services.decision_send_reminder(
            decision_id=decision.pk, due_date="2020-01-01", late=False
        )
        past = _today() - timedelta(days=1)
        Decision.objects.filter(pk=decision.pk).update(due_date=past)
        assert services.decision_send_reminder(
            decision_id=decision.pk, due_date=past.isoformat(), late=True
        )
    events = list(
        Notification.objects.filter(recipient=people["owner"]).values_list("event", flat=True)
    )
    assert events.count("meetings.decision_due_soon") == 1
    assert events.count("meetings.decision_late") == 1


def test_the_job_functions_run(agency_a, meeting, people):
    from tests.jobs import run_pending_jobs

    decision = create(agency_a, people, meeting, days=1)
    with schema_context(agency_a.schema_name):
        # Due tomorrow: the "due soon" time has passed, so only the late job is pending.
        assert decision.reminder_job_id is None
        run_pending_jobs("meetings.decision_late")  # runs (not late yet): nothing sent
    assert not Notification.objects.filter(event="meetings.decision_late").exists()


def test_validation_errors_change_nothing(agency_a, meeting, people):
    translation.activate("en")
    other = make_meeting(agency_a)
    with schema_context(agency_a.schema_name):
        owner = Membership.objects.get(user=people["owner"])
        colleague = Membership.objects.get(user=people["colleague"])
        colleague.is_active = False
        colleague.save()
        cases = [
            ({"owner": colleague}, "owner"),
            ({"owner": None}, "owner"),
            ({"due_date": _today() - timedelta(days=1)}, "due_date"),
            ({"due_date": None}, "due_date"),
            ({"text": "  "}, "text"),
            ({"agenda_item": other.agenda.first()}, "agenda_item"),
        ]
        for change, field in cases:
            arguments = {
                "actor": people["manager"],
                "meeting": meeting,
                "text": "قرار",
                "owner": owner,
                "due_date": _today() + timedelta(days=5),
                **change,
            }
            with pytest.raises(ValidationError) as error:
                services.decision_create(**arguments)
            assert field in error.value.error_dict, (change, error.value)
        assert not Decision.objects.exists()
        # A meeting not yet held.
        meeting.status = MeetingStatus.SCHEDULED
        meeting.save()
        with pytest.raises(ValidationError) as error:
            services.decision_create(
                actor=people["manager"],
                meeting=meeting,
                text="قرار",
                owner=owner,
                due_date=_today() + timedelta(days=5),
            )
        assert "meeting" in error.value.error_dict
        meeting.status = MeetingStatus.CLOSED
        meeting.save()
    decision = create(agency_a, people, meeting)
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError) as error:
            services.decision_follow_up(actor=people["owner"], decision=decision, status="bogus")
        assert "status" in error.value.error_dict
        with pytest.raises(ValidationError) as error:
            services.decision_follow_up(actor=people["owner"], decision=decision, text="")
        assert "text" in error.value.error_dict
        decision.refresh_from_db()
        assert decision.status == DecisionStatus.OPEN
        assert not DecisionNote.objects.exists()
        # Neither the owner nor a colleague changes the decision itself.
        for who in ("owner", "colleague"):
            with pytest.raises(PermissionDenied):
                services.decision_update(
                    actor=people[who],
                    decision=decision,
                    text="x",
                    owner=owner,
                    due_date=decision.due_date,
                )
        with pytest.raises(PermissionDenied):
            services.decision_follow_up(actor=people["colleague"], decision=decision, text="x")


def test_bad_input_on_the_form_is_shown_on_the_fields(client, agency_a, meeting, people):
    client.force_login(people["manager"])
    owner = membership_of(agency_a, people["owner"])
    response = client.post(
        f"/a/{agency_a.slug}/meetings/decisions/new/",
        {
            "meeting": meeting.pk,
            "text": "قرار",
            "owner": owner.pk,
            "due_date": (_today() - timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "due_date" in response.context["form"].errors
    with schema_context(agency_a.schema_name):
        assert not Decision.objects.exists()
    response = client.post(
        f"/a/{agency_a.slug}/meetings/decisions/new/",
        {
            "meeting": meeting.pk,
            "agenda_item": items_of(agency_a, meeting)[0].pk,
            "text": "قرار",
            "owner": owner.pk,
            "due_date": (_today() + timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        assert Decision.objects.get().agenda_item_id == items_of(agency_a, meeting)[0].pk


def test_owner_follows_up_from_the_page(client, agency_a, meeting, people):
    decision = create(agency_a, people, meeting)
    client.force_login(people["owner"])
    base = f"/a/{agency_a.slug}/meetings/decisions/"
    page = client.get(base)
    assert page.status_code == 200 and "اعتماد خطة التدريب" in page.content.decode()
    response = client.post(
        f"{base}{decision.pk}/", {"status": DecisionStatus.IN_PROGRESS, "text": "بدأنا التنفيذ"}
    )
    assert response.status_code == 302
    page = client.get(f"{base}{decision.pk}/").content.decode()
    assert "بدأنا التنفيذ" in page
    with schema_context(agency_a.schema_name):
        decision.refresh_from_db()
        assert decision.status == DecisionStatus.IN_PROGRESS
        note = DecisionNote.objects.get(decision=decision)
        assert (note.status_from, note.status_to) == ("open", "in_progress")
    # The owner may not change the decision itself nor record one.
    assert client.get(f"{base}{decision.pk}/edit/").status_code == 403
    assert client.get(f"{base}new/").status_code == 403


def _register_queries(client, url, django_assert_max_num_queries, budget):
    client.get(url)
    with django_assert_max_num_queries(budget):
        response = client.get(url)
    assert response.status_code == 200
    return response


def test_register_filters_pages_and_queries(
    client, agency_a, meeting, people, django_assert_max_num_queries
):
    for n in range(3):
        create(agency_a, people, meeting, days=5 + n, text=f"قرار رقم {n}")
    other_meeting = make_meeting(agency_a)
    create(agency_a, people, other_meeting, owner="colleague", days=30, text="قرار الزميل")
    client.force_login(people["manager"])
    base = f"/a/{agency_a.slug}/meetings/decisions/"
    first = _register_queries(client, base, django_assert_max_num_queries, 20)
    for n in range(10):
        create(agency_a, people, meeting, days=40 + n, text=f"قرار إضافي {n}")
    # Same budget with more rows: no query per row.
    response = _register_queries(client, base, django_assert_max_num_queries, 20)
    assert len(response.context["page"].object_list) == 14
    assert len(first.context["page"].object_list) == 4

    colleague = membership_of(agency_a, people["colleague"])
    rows = client.get(base, {"owner": colleague.pk}).context["page"].object_list
    assert [d.text for d in rows] == ["قرار الزميل"]
    with schema_context(agency_a.schema_name):
        body_id = other_meeting.body_id
        Decision.objects.filter(text="قرار رقم 0").update(due_date=_today() - timedelta(days=2))
        Decision.objects.filter(text="قرار رقم 1").update(status=DecisionStatus.DONE)
    assert [d.text for d in client.get(base, {"body": body_id}).context["page"]] == ["قرار الزميل"]
    assert [d.text for d in client.get(base, {"status": "late"}).context["page"]] == ["قرار رقم 0"]
    assert [d.text for d in client.get(base, {"status": "done"}).context["page"]] == ["قرار رقم 1"]
    week = (_today() + timedelta(days=7)).isoformat()
    due = {"due_from": week, "due_to": week}
    assert [d.text for d in client.get(base, due).context["page"]] == ["قرار رقم 2"]
    # A bad filter value is refused on its field, never a 500.
    assert client.get(base, {"status": "bogus"}).status_code == 400
    # Pages of 50.
    for n in range(40):
        create(agency_a, people, meeting, days=100 + n, text=f"قرار صفحة {n}")
    assert len(client.get(base).context["page"].object_list) == 50
    assert len(client.get(base, {"page": 2}).context["page"].object_list) == 4


def test_xlsx_export_rows(client, agency_a, meeting, people):
    create(agency_a, people, meeting, days=5, text="=SUM(A1)")
    create(agency_a, people, meeting, owner="colleague", days=9, text="قرار الزميل")
    client.force_login(people["manager"])
    colleague = membership_of(agency_a, people["colleague"])
    response = client.get(
        f"/a/{agency_a.slug}/meetings/decisions/", {"export": "xlsx", "owner": colleague.pk}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(rows) == 2
    assert rows[1][0] == "قرار الزميل"
    assert rows[1][3] == people["colleague"].display_name
    response = client.get(f"/a/{agency_a.slug}/meetings/decisions/", {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    texts = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert texts == ["'=SUM(A1)", "قرار الزميل"]  # a formula is written as text


def test_counted_in_the_agency_statistics(client, agency_a, meeting, people):
    late = create(agency_a, people, meeting, days=5)
    done = create(agency_a, people, meeting, days=6)
    create(agency_a, people, meeting, days=7)
    with schema_context(agency_a.schema_name):
        Decision.objects.filter(pk=late.pk).update(due_date=_today() - timedelta(days=1))
        Decision.objects.filter(pk=done.pk).update(status=DecisionStatus.DONE)
        assert services.decision_counts() == {"open": 2, "done": 1, "late": 1}
    client.force_login(people["admin"])
    response = client.get(f"/a/{agency_a.slug}/statistics/")
    assert response.status_code == 200
    assert response.context["decisions"] == {"open": 2, "done": 1, "late": 1}
    assert "قرارات متأخرة" in response.content.decode()


DECISION_URLS = [
    ("get", ""),
    ("get", "?export=xlsx"),
    ("get", "new/"),
    ("post", "new/"),
    ("get", "{id}/"),
    ("post", "{id}/"),
    ("get", "{id}/edit/"),
    ("post", "{id}/edit/"),
]


@pytest.mark.parametrize("who", ["anonymous", "other_agency", "beneficiary", "colleague"])
def test_isolation_of_every_register_url(client, agency_a, meeting, people, who):
    decision = create(agency_a, people, meeting)
    if who != "anonymous":
        client.force_login(people[who])
    for method, tail in DECISION_URLS:
        address = f"/a/{agency_a.slug}/meetings/decisions/" + tail.format(id=decision.pk)
        response = getattr(client, method)(address, {"status": "done", "text": "x"})
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        elif who == "colleague":
            # An employee without the permission: their own (empty) register only.
            if tail in ("", "?export=xlsx"):
                assert response.status_code == 200
                if tail == "":
                    assert not response.context["page"].object_list
            else:
                assert response.status_code in (403, 404), (method, tail)
        else:
            assert response.status_code in (403, 404), (method, tail, response.status_code)
    with schema_context(agency_a.schema_name):
        decision.refresh_from_db()
        assert decision.status == DecisionStatus.OPEN
        assert not DecisionNote.objects.exists()
        assert Decision.objects.count() == 1


def test_menu_entry_for_holders_only(client, agency_a, people):
    client.force_login(people["manager"])
    page = client.get(f"/a/{agency_a.slug}/").content.decode()
    assert f"/a/{agency_a.slug}/meetings/decisions/" in page
    client.force_login(people["owner"])
    page = client.get(f"/a/{agency_a.slug}/").content.decode()
    assert f"/a/{agency_a.slug}/meetings/decisions/" not in page


def test_manager_pages_and_changing_a_decision_through_the_form(client, agency_a, meeting, people):
    decision = create(agency_a, people, meeting, days=10)
    client.force_login(people["manager"])
    base = f"/a/{agency_a.slug}/meetings/decisions/"
    for address in (base, f"{base}new/?meeting={meeting.pk}", f"{base}{decision.pk}/"):
        assert client.get(address).status_code == 200, address
    page = client.get(f"{base}{decision.pk}/edit/")
    assert page.status_code == 200
    colleague = membership_of(agency_a, people["colleague"])
    new_due = _today() + timedelta(days=15)
    response = client.post(
        f"{base}{decision.pk}/edit/",
        {
            "meeting": meeting.pk,
            "text": "نص معدل",
            "owner": colleague.pk,
            "due_date": new_due.isoformat(),
        },
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        decision.refresh_from_db()
        assert (decision.text, decision.owner_id, decision.due_date) == (
            "نص معدل",
            colleague.pk,
            new_due,
        )
    # The new owner is told; the history shows the moved date.
    assert Notification.objects.filter(
        event="meetings.decision_assigned", recipient=people["colleague"]
    ).exists()
    assert "نص معدل" in client.get(f"{base}{decision.pk}/").content.decode()


def test_write_paths_query_budgets(agency_a, meeting, people, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        decision = create(agency_a, people, meeting, days=10)
    with schema_context(agency_a.schema_name):
        with django_assert_max_num_queries(14):
            services.decision_follow_up(
                actor=people["owner"], decision=decision, status=DecisionStatus.DONE, text="تم"
            )


def test_the_edit_form_has_no_meeting_field_and_keeps_the_meeting(
    client, agency_a, meeting, people
):
    decision = create(agency_a, people, meeting, days=10)
    client.force_login(people["manager"])
    base = f"/a/{agency_a.slug}/meetings/decisions/"
    page = client.get(f"{base}{decision.pk}/edit/").content.decode()
    assert 'name="meeting"' not in page
    response = client.post(
        f"{base}{decision.pk}/edit/",
        {
            "meeting": 999999,
            "text": "نص آخر",
            "owner": membership_of(agency_a, people["colleague"]).pk,
            "due_date": (_today() + timedelta(days=15)).isoformat(),
        },
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        decision.refresh_from_db()
        assert decision.meeting_id == meeting.pk and decision.text == "نص آخر"
