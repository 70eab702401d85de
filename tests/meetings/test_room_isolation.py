"""Every URL of the room part refuses whoever is not the meeting's: another agency's employee,
an employee of the agency who is not invited, an outside person who is not invited, a
participant of another meeting (404: not told apart from an unknown meeting), and an anonymous
visitor (sent to sign in); roles inside the meeting are checked by the services (403)."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from meetings.models_room import AttendanceEvent, Opinion, PrivateNote, SharedNote, Speaker
from meetings.services.attendance import qr_token
from tests.meetings.room_helpers import make_room, signed_in, url

OUTSIDERS = ("other_agency_employee", "employee", "outsider", "other_meeting_member")


@pytest.fixture
def world(agency_a, agency_b):
    return make_room(agency_a, agency_b)


def routes(world) -> list[tuple[str, str, dict]]:
    member = world["participants"]["member"]
    return [
        ("get", "room/", {}),
        ("get", "attendance/", {}),
        ("get", "qr/", {}),
        ("get", "qr/code/", {}),
        ("post", "start/", {}),
        ("post", "close/", {}),
        ("post", "check-in/", {}),
        ("post", "leave/", {}),
        ("post", f"attendance/{member.pk}/", {"presence": "present"}),
        ("post", "room/item/", {}),
        ("post", "room/opinions/", {"text": "x"}),
        ("post", "room/note/", {"text": "x"}),
        ("post", "room/shared-notes/", {"text": "x"}),
        ("post", "room/hand/", {}),
        ("post", "room/floor/", {}),
    ]


def test_strangers_are_refused_everywhere(world):
    agency, meeting = world["agency"], world["meeting"]
    clients = {key: signed_in(world["people"][key]) for key in OUTSIDERS}
    clients["anonymous"] = Client()
    for method, suffix, data in routes(world):
        for who, client in clients.items():
            response = getattr(client, method)(url(agency, meeting, suffix), data)
            expected = 302 if who == "anonymous" else 404
            assert response.status_code == expected, (who, method, suffix, response.status_code)
            if who == "anonymous":
                assert "login" in response["Location"]
    with schema_context(agency.schema_name):
        for model in (AttendanceEvent, Opinion, PrivateNote, SharedNote, Speaker):
            assert not model.objects.exists(), model
        meeting.refresh_from_db()
        assert meeting.status == "scheduled"


def test_another_agency_with_the_same_meeting_id_is_not_reached(world, agency_b):
    # beta has no meeting with this id: the URL with beta's slug answers 404 for alpha's member
    member = signed_in(world["people"]["member"])
    response = member.get(f"/meetings/{agency_b.slug}/{world['meeting'].pk}/room/")
    assert response.status_code == 404


def test_qr_check_in_refuses_strangers_without_telling_the_meeting(world):
    agency, meeting = world["agency"], world["meeting"]
    with schema_context(agency.schema_name):
        token = qr_token(meeting=meeting)
    path = url(agency, meeting, f"qr/{token}/")
    for who in OUTSIDERS:
        response = signed_in(world["people"][who]).get(path)
        assert response.status_code == 400, who
        assert "Board meeting" not in response.content.decode()
        assert "اجتماع المجلس" not in response.content.decode()
    assert Client().get(path).status_code == 302
    with schema_context(agency.schema_name):
        assert not AttendanceEvent.objects.exists()


def test_roles_inside_the_meeting(world):
    """(who, method, path, expected status): secretary-only and chair-only actions."""
    agency, meeting = world["agency"], world["meeting"]
    member = world["participants"]["member2"]
    table = [
        ("member", "get", "attendance/", 403),
        ("observer", "get", "attendance/", 403),
        ("chair", "get", "attendance/", 403),
        ("secretary", "get", "attendance/", 200),
        ("member", "get", "qr/", 403),
        ("observer", "get", "qr/code/", 403),
        ("member", "post", f"attendance/{member.pk}/", 403),
        ("observer", "post", f"attendance/{member.pk}/", 403),
        ("member", "post", "room/shared-notes/", 403),
        ("observer", "post", "room/shared-notes/", 403),
        ("member", "post", "start/", 403),
        ("observer", "post", "start/", 403),
        ("member", "get", "room/", 200),
        ("observer", "get", "room/", 200),
        ("chair", "post", "start/", 302),
        ("secretary", "post", "room/item/", 403),
        ("member", "post", "room/item/", 403),
        ("member", "post", "room/floor/", 403),
        ("observer", "post", "room/floor/", 403),
        ("secretary", "post", "room/floor/", 403),
        ("chair", "post", "room/floor/", 302),
    ]
    for who, method, suffix, expected in table:
        client = signed_in(world["people"][who])
        data = {"presence": "present"} if "attendance/" in suffix else {}
        response = getattr(client, method)(url(agency, meeting, suffix), data)
        assert response.status_code == expected, (who, method, suffix, response.status_code)


def test_the_table_covers_every_room_url(world):
    from meetings.urls.room import public_urlpatterns, workspace_urlpatterns

    covered = {suffix.split("/")[0] for _method, suffix, _data in routes(world)}
    for pattern in public_urlpatterns:
        first = str(pattern.pattern).split("/")[2]  # after <slug>/<id>/
        assert first in covered | {"qr"}, pattern.name
    assert len(public_urlpatterns) == len(routes(world)) + 1  # + the QR check-in, tested above
    assert workspace_urlpatterns == []
