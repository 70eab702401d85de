"""A module moves or removes the calendar entries it put there about one object
(appointments.services.entries_update / entries_remove): times change, reminders follow,
pending reminders of removed entries are cancelled."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from appointments.models import Appointment
from appointments.services import entries_remove, entries_update, entry_add
from tests.appointments.test_entries import reminder_jobs
from tests.factories import make_employee, membership_of

SOURCE = "meetings.meeting"


@pytest.fixture
def two_entries(agency_a):
    first, second = make_employee(agency_a), make_employee(agency_a)
    start = timezone.now() + timedelta(days=2)
    with schema_context(agency_a.schema_name):
        for user in (first, second):
            entry_add(
                membership=membership_of(agency_a, user),
                title="اجتماع",
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                source=SOURCE,
                source_id=7,
            )
        entry_add(
            membership=membership_of(agency_a, first),
            title="غيره",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            source=SOURCE,
            source_id=8,
        )
    return {"agency": agency_a, "first": first, "second": second, "start": start}


def test_entries_update_moves_every_entry_and_its_reminder(two_entries):
    agency = two_entries["agency"]
    new_start = two_entries["start"] + timedelta(days=1)
    with schema_context(agency.schema_name):
        moved = entries_update(
            source=SOURCE,
            source_id=7,
            title="اجتماع مؤجل",
            starts_at=new_start,
            ends_at=new_start + timedelta(hours=2),
        )
        assert moved == 2
        rows = Appointment.objects.filter(source=SOURCE, source_id=7)
        assert {(r.title, r.starts_at) for r in rows} == {("اجتماع مؤجل", new_start)}
        other = Appointment.objects.get(source=SOURCE, source_id=8)
        assert other.starts_at == two_entries["start"]
        jobs = reminder_jobs()
    waiting = [j for j in jobs if j["status"] == "todo"]
    assert len(waiting) == 3  # one per entry: the two moved ones rescheduled, the other kept
    assert sum(1 for j in jobs if j["status"] == "cancelled") == 2


def test_entries_remove_all_or_one_employees(two_entries):
    agency = two_entries["agency"]
    with schema_context(agency.schema_name):
        assert (
            entries_remove(
                source=SOURCE, source_id=7, membership=membership_of(agency, two_entries["first"])
            )
            == 1
        )
        assert Appointment.objects.filter(source=SOURCE, source_id=7).count() == 1
        assert entries_remove(source=SOURCE, source_id=7) == 1
        assert not Appointment.objects.filter(source=SOURCE, source_id=7).exists()
        assert Appointment.objects.filter(source=SOURCE, source_id=8).exists()
        with pytest.raises(ValueError):
            entries_remove(source="", source_id=7)
