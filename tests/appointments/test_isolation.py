"""Whose calendar: an entry is seen, changed and deleted by the employee whose calendar it is,
and nobody else — not a colleague, the supervisor or the admin of the same agency (404: they
are not told it exists), not another agency's employee or a beneficiary (403: not an employee
of this agency), not an anonymous visitor (to the login page)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from appointments.models import Appointment
from tenants.services import department_save
from tenants.staff.models import Membership
from tests.appointments.test_calendar import CALENDAR, local, next_week
from tests.appointments.test_entries import meeting_entry
from tests.factories import make_beneficiary, make_employee

TITLE = "اجتماع اللجنة"
LOGIN = "/accounts/login/"


@pytest.fixture
def world(agency_a, agency_b):
    admin = make_employee(agency_a, roles=("admin",))
    owner = make_employee(agency_a)
    colleague = make_employee(agency_a)
    boss = make_employee(agency_a, roles=("supervisor",))
    with schema_context(agency_a.schema_name):
        desk = department_save(actor=admin, name_ar="اللجان", name_en="Committees")
        Membership.objects.filter(user_id__in=[owner.pk, colleague.pk, boss.pk]).update(
            department=desk
        )
    entry = meeting_entry(agency_a, owner, title=TITLE)
    return {
        "agency": agency_a,
        "entry": entry,
        "owner": owner,
        "colleague": colleague,
        "supervisor": boss,
        "admin": admin,
        "admin_b": make_employee(agency_b, roles=("admin",)),
        "beneficiary": make_beneficiary(),
        "anonymous": None,
    }


def edit_url(slug: str, appointment_id: int) -> str:
    return reverse(
        "workspace:appointment_edit", kwargs={"agency_slug": slug, "appointment_id": appointment_id}
    )


def current(world) -> Appointment | None:
    with schema_context(world["agency"].schema_name):
        return Appointment.objects.filter(pk=world["entry"].pk).first()


def changes() -> dict:
    starts = next_week(16)
    return {
        "title": "تغيير",
        "starts_at": local(starts),
        "ends_at": local(starts + timedelta(hours=1)),
        "remind_minutes_before": "5",
        "notes": "",
    }


# who: (calendar page shows the entry, edit page, edit, delete). A status for the page means
# "answered with it, the entry not shown"; 302 is the login page.
OUTSIDERS = [
    ("colleague", 200, 404, 404, 404),
    ("supervisor", 200, 404, 404, 404),
    ("admin", 200, 404, 404, 404),
    ("admin_b", 403, 403, 403, 403),
    ("beneficiary", 403, 403, 403, 403),
    ("anonymous", 302, 302, 302, 302),
]


def test_nobody_but_the_owner_sees_changes_or_deletes_an_entry(client, world):
    entry = world["entry"]
    url = edit_url("alpha", entry.pk)
    delete = {"form": "delete", "appointment": str(entry.pk)}
    for who, page, edit_page, edit, remove in OUTSIDERS:
        client.logout()
        if world[who] is not None:
            client.force_login(world[who])
        response = client.get(CALENDAR)
        assert response.status_code == page, who
        assert TITLE not in response.content.decode(), who
        responses = {
            "edit page": (client.get(url), edit_page),
            "edit": (client.post(url, changes()), edit),
            "delete": (client.post(CALENDAR, delete), remove),
        }
        for action, (response, expected) in responses.items():
            assert response.status_code == expected, (who, action)
            if expected == 302:
                assert response["Location"].startswith(LOGIN), (who, action)
        unchanged = current(world)
        assert unchanged is not None, who
        assert (unchanged.title, unchanged.starts_at) == (entry.title, entry.starts_at), who

    # The other agency's admin, in their own workspace, with the same id: not theirs either.
    client.force_login(world["admin_b"])
    assert client.get(edit_url("beta", entry.pk)).status_code == 404
    assert client.post(edit_url("beta", entry.pk), changes()).status_code == 404

    client.force_login(world["owner"])
    assert TITLE in client.get(CALENDAR).content.decode()
    assert client.get(url).status_code == 200
    assert client.post(url, changes()).status_code == 302
    assert current(world).title == "تغيير"
    assert client.post(CALENDAR, delete).status_code == 302
    assert current(world) is None
