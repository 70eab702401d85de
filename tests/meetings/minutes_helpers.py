"""Small builders for the minutes and decisions tests: meetings, participants and agenda made
directly with the ORM (the schedule part has the services), and sample data for the seams of
meetings.record (the room and voting parts fill them in)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from meetings.constants import MeetingStatus, MemberRole
from meetings.models import AgendaItem, Body, Meeting, Participant

TITLE_AR = "الاجتماع الأول لمجلس الإدارة"
TITLE_EN = "First board meeting"
ITEM_TITLES = ("اعتماد الميزانية", "خطة التدريب")
ATTENDEES = ("سارة القحطاني", "خالد العتيبي")
ABSENT = "فهد الدوسري"
QUESTION = "هل يعتمد المجلس الميزانية؟"


def make_meeting(agency, *, status=MeetingStatus.CLOSED, body=True, title_en=TITLE_EN) -> Meeting:
    with schema_context(agency.schema_name):
        board = None
        if body:
            board = Body.objects.create(name_ar="مجلس الإدارة", name_en="Board", kind="board")
        starts = timezone.now() - timedelta(days=2)
        meeting = Meeting.objects.create(
            body=board,
            title_ar=TITLE_AR,
            title_en=title_en,
            place="القاعة الكبرى",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            status=status,
        )
        for position, title in enumerate(ITEM_TITLES, start=1):
            AgendaItem.objects.create(
                meeting=meeting, position=position, title=title, presenter="المدير المالي"
            )
        return meeting


def invite(agency, meeting, user, role=MemberRole.MEMBER) -> Participant:
    with schema_context(agency.schema_name):
        return Participant.objects.create(meeting=meeting, user=user, role=role)


def items_of(agency, meeting) -> list[AgendaItem]:
    with schema_context(agency.schema_name):
        return list(meeting.agenda.all())


@pytest.fixture
def sample_record(monkeypatch):
    """The seams return sample data: two present, one absent, notes and one closed poll on
    the first agenda item."""
    state: dict = {"item_id": None}

    def attendance(meeting):
        rows = [
            {"name": name, "role": "member", "presence": "present", "presence_label": "Present"}
            for name in ATTENDEES
        ]
        rows.append(
            {"name": ABSENT, "role": "member", "presence": "absent", "presence_label": "Absent"}
        )
        return rows

    def notes(meeting):
        first = meeting.agenda.order_by("position").first()
        state["item_id"] = first.pk
        return {first.pk: "ناقش المجلس بنود الميزانية.", None: "لا ملاحظات أخرى."}

    def polls(meeting):
        first = meeting.agenda.order_by("position").first()
        return [
            {
                "agenda_item_id": first.pk,
                "question": QUESTION,
                "secret": False,
                "options": [
                    {"label": "نعم", "count": 7, "weight": "7"},
                    {"label": "لا", "count": 2, "weight": "2"},
                    {"label": "امتناع", "count": 1, "weight": "1"},
                ],
                "rule": "simple",
                "quorum": True,
                "carried": True,
                "closed_at": timezone.now(),
            }
        ]

    monkeypatch.setattr("meetings.record.attendance_rows", attendance)
    monkeypatch.setattr("meetings.record.shared_notes", notes)
    monkeypatch.setattr("meetings.record.poll_results", polls)
    return state
