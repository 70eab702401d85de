"""The live room (R-32): start and close, the chair's current item, opinions, private notes,
the secretary's shared notes and the speakers' queue; who may do each, and what is pushed."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import schema_context

from core.audit import _trail
from meetings import record
from meetings.constants import MeetingStatus
from meetings.models import Meeting
from meetings.models_room import Opinion, PrivateNote, Speaker, SpeakerStatus
from meetings.services import room as room_services
from tests.meetings.room_helpers import make_room, signed_in, url


@pytest.fixture
def world(agency_a, agency_b):
    return make_room(agency_a, agency_b)


@pytest.fixture
def published(monkeypatch):
    """What the services push to the meeting's group (event, data), in order."""
    sent = []

    def collect(meeting_id, event, **data):
        sent.append((event, data))

    monkeypatch.setattr("meetings.services.room.meeting_publish", collect)
    monkeypatch.setattr("meetings.services.attendance.meeting_publish", collect)
    return sent


def started(world) -> Meeting:
    with schema_context(world["agency"].schema_name):
        return room_services.meeting_start(actor=world["people"]["chair"], meeting=world["meeting"])


def fresh(world) -> Meeting:
    return Meeting.objects.get(pk=world["meeting"].pk)


def test_start_and_close_by_chair_or_secretary_only(world, published):
    with schema_context(world["agency"].schema_name):
        for key in ("member", "observer", "outsider", "employee"):
            with pytest.raises(PermissionDenied):
                room_services.meeting_start(actor=world["people"][key], meeting=fresh(world))
        assert fresh(world).status == MeetingStatus.SCHEDULED
        meeting = room_services.meeting_start(
            actor=world["people"]["secretary"], meeting=fresh(world)
        )
        assert meeting.status == MeetingStatus.IN_PROGRESS and meeting.started_at
        assert meeting.current_item.position == 1  # the meeting starts on the first item
        with pytest.raises(ValidationError):
            room_services.meeting_start(actor=world["people"]["chair"], meeting=fresh(world))
        for key in ("member", "observer"):
            with pytest.raises(PermissionDenied):
                room_services.meeting_close(actor=world["people"][key], meeting=fresh(world))
        meeting = room_services.meeting_close(actor=world["people"]["chair"], meeting=fresh(world))
        assert meeting.status == MeetingStatus.CLOSED and meeting.closed_at
        actions = list(
            _trail("agency")
            .objects.filter(action__in=["meetings.started", "meetings.closed"])
            .values_list("action", flat=True)
            .order_by("id")
        )
        assert actions == ["meetings.started", "meetings.closed"]
        closed = _trail("agency").objects.get(action="meetings.closed")
        assert "quorum" in closed.after
    events = [event for event, _data in published]
    assert events == ["status", "current_item", "status"]


def test_only_the_chair_moves_the_meeting(world, published):
    started(world)
    with schema_context(world["agency"].schema_name):
        second = fresh(world).agenda.get(position=2)
        for key in ("secretary", "member", "observer"):
            with pytest.raises(PermissionDenied):
                room_services.meeting_set_current_item(
                    actor=world["people"][key], meeting=fresh(world), item_id=second.pk
                )
        foreign = world["other_meeting"].agenda.first()
        with pytest.raises(ValidationError):
            room_services.meeting_set_current_item(
                actor=world["people"]["chair"], meeting=fresh(world), item_id=foreign.pk
            )
        room_services.meeting_set_current_item(
            actor=world["people"]["chair"], meeting=fresh(world), item_id=second.pk
        )
        assert fresh(world).current_item_id == second.pk
    assert published[-1] == (
        "current_item",
        {"item_id": second.pk, "position": 2, "title": second.title},
    )


def test_opinions_from_participants_including_observers(world, published):
    meeting = started(world)
    with schema_context(world["agency"].schema_name):
        item = meeting.current_item_id
        room_services.opinion_post(
            actor=world["people"]["observer"], meeting=fresh(world), item_id=item, text="رأي"
        )
        with pytest.raises(ValidationError):
            room_services.opinion_post(
                actor=world["people"]["member"], meeting=fresh(world), item_id=item, text="  "
            )
        for key in ("outsider", "employee", "other_meeting_member"):
            with pytest.raises(PermissionDenied):
                room_services.opinion_post(
                    actor=world["people"][key], meeting=fresh(world), item_id=item, text="x"
                )
        assert Opinion.objects.count() == 1
    assert published[-1][0] == "opinion" and published[-1][1]["text"] == "رأي"


def test_private_notes_are_the_authors_only(world, published):
    agency, meeting = world["agency"], started(world)
    before = len(published)
    secret = "ملاحظتي الخاصة جدا"
    response = signed_in(world["people"]["member"]).post(
        url(agency, meeting, "room/note/"),
        {"item": meeting.current_item_id, "text": secret},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and response.json()["ok"]
    assert len(published) == before  # nothing pushed to the group
    with schema_context(agency.schema_name):
        assert PrivateNote.objects.get().text == secret
        assert not _trail("agency").objects.filter(after__icontains=secret).exists()
    mine = signed_in(world["people"]["member"]).get(url(agency, meeting, "room/"))
    assert secret in mine.content.decode()
    for key in ("chair", "secretary", "member2", "observer"):
        page = signed_in(world["people"][key]).get(url(agency, meeting, "room/"))
        assert page.status_code == 200
        assert secret not in page.content.decode()


def test_shared_notes_by_the_secretary_reach_everyone(world, published):
    meeting = started(world)
    with schema_context(world["agency"].schema_name):
        item = meeting.current_item_id
        for key in ("chair", "member", "observer"):
            with pytest.raises(PermissionDenied):
                room_services.shared_notes_save(
                    actor=world["people"][key], meeting=fresh(world), item_id=item, text="x"
                )
        room_services.shared_notes_save(
            actor=world["people"]["secretary"], meeting=fresh(world), item_id=item, text="أ"
        )
        room_services.shared_notes_save(
            actor=world["people"]["secretary"], meeting=fresh(world), item_id=item, text="ب"
        )
        room_services.shared_notes_save(
            actor=world["people"]["secretary"], meeting=fresh(world), item_id=None, text="عام"
        )
        assert record.shared_notes(fresh(world)) == {item: "ب", None: "عام"}
    assert published[-1][0] == "shared_notes" and published[-1][1]["text"] == "عام"
    page = signed_in(world["people"]["observer"]).get(url(world["agency"], meeting, "room/"))
    assert "عام" in page.content.decode()


def test_speakers_queue(world, published):
    started(world)
    people = world["people"]
    with schema_context(world["agency"].schema_name):
        room_services.speaker_raise_hand(actor=people["member"], meeting=fresh(world))
        room_services.speaker_raise_hand(actor=people["member"], meeting=fresh(world))  # kept
        room_services.speaker_raise_hand(actor=people["observer"], meeting=fresh(world))
        assert Speaker.objects.filter(status=SpeakerStatus.WAITING).count() == 2
        for key in ("secretary", "member"):
            with pytest.raises(PermissionDenied):
                room_services.speaker_give_floor(actor=people[key], meeting=fresh(world))
        with pytest.raises(ValidationError):
            room_services.speaker_give_floor(actor=people["chair"], meeting=fresh(world), seconds=5)
        first = room_services.speaker_give_floor(actor=people["chair"], meeting=fresh(world))
        assert first.participant_id == world["participants"]["member"].pk
        assert first.planned_seconds == 180 and first.started_at
        second = room_services.speaker_give_floor(
            actor=people["chair"], meeting=fresh(world), seconds=120
        )
        assert second.participant_id == world["participants"]["observer"].pk
        first.refresh_from_db()
        assert first.status == SpeakerStatus.DONE and first.ended_at
        room_services.speaker_lower_hand(actor=people["observer"], meeting=fresh(world))
        assert not Speaker.objects.filter(
            status__in=[SpeakerStatus.WAITING, SpeakerStatus.SPEAKING]
        ).exists()
        with pytest.raises(PermissionDenied):
            room_services.speaker_raise_hand(actor=people["outsider"], meeting=fresh(world))
    queue = [data["queue"] for event, data in published if event == "speakers"]
    assert [s["status"] for s in queue[2]] == ["speaking", "waiting"]  # first floor given


def test_room_page_queries_do_not_grow(world, django_assert_max_num_queries):
    agency, meeting = world["agency"], started(world)
    chair = signed_in(world["people"]["chair"])
    chair.get(url(agency, meeting, "room/"))
    with django_assert_max_num_queries(30) as few:
        assert chair.get(url(agency, meeting, "room/")).status_code == 200
    people = [world["people"][key] for key in ("member", "member2", "observer", "secretary")]
    with schema_context(agency.schema_name):
        for person in people:
            room_services.opinion_post(
                actor=person, meeting=fresh(world), item_id=meeting.current_item_id, text="رأي"
            )
            room_services.speaker_raise_hand(actor=person, meeting=fresh(world))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert chair.get(url(agency, meeting, "room/")).status_code == 200


def test_presence_is_pushed_with_the_words_of_each_language(world, published):
    from meetings.services.attendance import attendance_check_in

    with schema_context(world["agency"].schema_name):
        attendance_check_in(actor=world["people"]["member"], meeting=fresh(world))
    (presence_event, presence), (quorum_event, quorum) = published[-2:]
    assert (presence_event, quorum_event) == ("presence", "quorum")
    assert set(presence["presence_labels"]) == set(quorum["descriptions"]) == {"ar", "en"}
    assert presence["presence_labels"]["en"] == "Present"
    assert presence["presence_labels"]["ar"] != "Present"
    assert quorum["descriptions"]["en"].startswith("1 of 4 voting members present")
    assert quorum["present"] == 1 and quorum["reached"] is False
