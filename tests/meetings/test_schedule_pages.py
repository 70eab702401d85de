"""The schedule part's pages: who may open each URL (the isolation table), what the pages
show, and their query budgets."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from meetings.constants import Rsvp
from meetings.models import AgendaItem, BodyMember, Meeting, MeetingDocument, Participant
from meetings.pages import meeting_path
from meetings.services import schedule as services
from tests.factories import make_beneficiary, make_employee, pdf_upload
from tests.jobs import run_pending_jobs
from tests.meetings import schedule_fixtures
from tests.meetings.factories import make_body, make_meeting, meetings_viewer, participant_for

# The schedule part's fixtures (a module of their own, not a conftest the parts would share).
cast = schedule_fixtures.cast
scheduled = schedule_fixtures.scheduled


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


@pytest.fixture
def world(scheduled, agency_b):
    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    body = make_body(agency, actor=manager, members=[(scheduled["chair"], "chair")])
    with schema_context(agency.schema_name):
        item = services.agenda_item_save(actor=manager, meeting=meeting, title="البند الأول")
        services.agenda_item_save(actor=manager, meeting=meeting, title="البند الثاني")
        document = services.document_add(
            actor=manager, meeting=meeting, upload=pdf_upload("agenda.pdf"), item=item
        )
        member = BodyMember.objects.get(body=body)
        participant = participant_for(agency, meeting, scheduled["outsider"])
    world = {
        **scheduled,
        "body": body,
        "item": item,
        "document": document,
        "member": member,
        "participant": participant,
        "employee": make_employee(agency),
        "supervisor": meetings_viewer(agency),  # meetings.view_all
        "employee_b": make_employee(agency_b),
        "admin_b": make_employee(agency_b, roles=("admin",)),
        "other_beneficiary": make_beneficiary(),
    }
    run_pending_jobs()
    mail.outbox.clear()
    return world


def workspace_urls(world) -> dict[str, tuple[str, str]]:
    slug = world["agency"].slug
    m, b = world["meeting"].pk, world["body"].pk

    def w(name, **kwargs):
        return reverse(f"workspace:{name}", kwargs={"agency_slug": slug, **kwargs})

    return {
        "bodies": ("get", w("meeting_bodies")),
        "body_new": ("get", w("meeting_body_new")),
        "body": ("get", w("meeting_body", body_id=b)),
        "member_edit": ("post", w("meeting_member_edit", body_id=b, member_id=world["member"].pk)),
        "member_remove": (
            "post",
            w("meeting_member_remove", body_id=b, member_id=world["member"].pk),
        ),
        "meeting_new": ("get", w("meeting_new")),
        "meeting": ("get", w("meeting", meeting_id=m)),
        "meeting_edit": ("get", w("meeting_edit", meeting_id=m)),
        "announce": ("post", w("meeting_announce", meeting_id=m)),
        "cancel": ("post", w("meeting_cancel", meeting_id=m)),
        "participant_add": ("post", w("meeting_participant_add", meeting_id=m)),
        "participant_remove": (
            "post",
            w("meeting_participant_remove", meeting_id=m, participant_id=world["participant"].pk),
        ),
        "agenda_add": ("post", w("meeting_agenda_add", meeting_id=m)),
        "agenda_edit": ("get", w("meeting_agenda_edit", meeting_id=m, item_id=world["item"].pk)),
        "agenda_delete": (
            "post",
            w("meeting_agenda_delete", meeting_id=m, item_id=world["item"].pk),
        ),
        "agenda_move": ("post", w("meeting_agenda_move", meeting_id=m, item_id=world["item"].pk)),
        "document_add": ("post", w("meeting_document_add", meeting_id=m)),
        "document_delete": (
            "post",
            w("meeting_document_delete", meeting_id=m, document_id=world["document"].pk),
        ),
    }


def public_urls(world) -> dict[str, tuple[str, str]]:
    kwargs = {"agency_slug": world["agency"].slug, "meeting_id": world["meeting"].pk}
    return {
        "meeting": ("get", reverse("meetings:meeting", kwargs=kwargs)),
        "ics": ("get", reverse("meetings:ics", kwargs=kwargs)),
        "document": (
            "get",
            reverse("meetings:document", kwargs={**kwargs, "document_id": world["document"].pk}),
        ),
        "rsvp": ("post", reverse("meetings:rsvp", kwargs=kwargs)),
    }


def snapshot(world) -> dict:
    with schema_context(world["agency"].schema_name):
        meeting = Meeting.objects.get(pk=world["meeting"].pk)
        return {
            "status": meeting.status,
            "sequence": meeting.sequence,
            "participants": sorted(
                Participant.objects.filter(meeting=meeting).values_list("pk", "rsvp")
            ),
            "agenda": sorted(
                AgendaItem.objects.filter(meeting=meeting).values_list("pk", "position")
            ),
            "documents": MeetingDocument.objects.filter(meeting=meeting).count(),
            "members": sorted(BodyMember.objects.values_list("pk", "is_active", "role")),
        }


POSTED = {
    "answer": Rsvp.DECLINED,
    "direction": "up",
    "title": "x",
    "role": "member",
    "weight": "1",
    "name": "Intruder",
    "email": "intruder@example.org",
}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("employee_b", 403),
        ("admin_b", 403),
        ("other_beneficiary", 403),
        ("outsider", 403),  # a participant who is not an employee uses the portal's pages
        ("employee", "refused"),  # an employee without meetings permissions, not invited
    ],
)
def test_workspace_urls_refuse_everyone_but_managers(client, world, who, expected):
    if who != "anonymous":
        client.force_login(world[who])
    before = snapshot(world)
    for name, (method, url) in workspace_urls(world).items():
        response = getattr(client, method)(url, POSTED if method == "post" else None)
        if expected == "login":
            assert response.status_code == 302, (who, name)
            assert response["Location"].startswith(reverse("account_login")), (who, name)
        elif expected == "refused":
            assert response.status_code in (403, 404), (who, name, response.status_code)
        else:
            assert response.status_code == expected, (who, name, response.status_code)
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("employee_b", 404),
        ("admin_b", 404),
        ("other_beneficiary", 404),
        ("employee", 404),
        ("outsider", 200),
        ("chair", 200),
        ("manager", 200),
        ("supervisor", 200),  # sees every meeting of the agency, answers none
    ],
)
def test_public_meeting_urls_table(client, world, who, expected):
    if who != "anonymous":
        client.force_login(world[who])
    before = snapshot(world)
    for name, (method, url) in public_urls(world).items():
        response = getattr(client, method)(url, POSTED if method == "post" else None)
        if expected == "login":
            assert response.status_code == 302, (who, name)
            assert response["Location"].startswith(reverse("account_login")), (who, name)
        elif name == "rsvp" and expected == 200:
            assert response.status_code in (302, 403), (who, name, response.status_code)
        else:
            assert response.status_code == expected, (who, name, response.status_code)
    after = snapshot(world)
    if who in ("outsider", "chair"):
        assert after["participants"] != before["participants"]  # their own answer only
        changed = set(after["participants"]) - set(before["participants"])
        answered = participant_for(world["agency"], world["meeting"], world[who])
        assert changed == {(answered.pk, Rsvp.DECLINED)}
    else:
        assert after == before


def test_my_meetings_lists_only_ones_own_across_agencies(client, world, agency_b):
    manager_b = make_employee(agency_b, roles=("admin",))
    elsewhere = make_meeting(
        agency_b,
        actor=manager_b,
        participants=[(world["outsider"], "member")],
        title_ar="اجتماع بيتا",
    )
    assert elsewhere.pk
    make_meeting(
        world["agency"],
        actor=world["manager"],
        participants=[(world["chair"], "chair")],
        title_ar="اجتماع لا يخصه",
    )
    client.force_login(world["outsider"])
    page = client.get(reverse("meetings:mine")).content.decode()
    assert "اجتماع بيتا" in page and world["meeting"].title_ar in page
    assert "اجتماع لا يخصه" not in page
    client.force_login(world["other_beneficiary"])
    page = client.get(reverse("meetings:mine")).content.decode()
    assert world["meeting"].title_ar not in page
    assert client.get(reverse("meetings:mine")).status_code == 200
    client.logout()
    assert client.get(reverse("meetings:mine")).status_code == 302


def test_the_workspace_list_shows_an_employee_only_their_meetings(client, world):
    client.force_login(world["employee"])
    url = reverse("workspace:meetings", kwargs={"agency_slug": world["agency"].slug})
    page = client.get(url).content.decode()
    assert world["meeting"].title_ar not in page
    client.force_login(world["chair"])
    page = client.get(url).content.decode()
    assert world["meeting"].title_ar in page
    # the chair (a participant, no meetings permission) is sent to the meeting's page
    meeting_url = reverse(
        "workspace:meeting",
        kwargs={"agency_slug": world["agency"].slug, "meeting_id": world["meeting"].pk},
    )
    response = client.get(meeting_url)
    assert response.status_code == 302
    assert response["Location"] == meeting_path(world["agency"], world["meeting"])


def test_the_signed_rsvp_link_page(client, world):
    agency, meeting = world["agency"], world["meeting"]
    with schema_context(agency.schema_name):
        token = services.rsvp_token(world["participant"], meeting)
    url = reverse("meetings:rsvp_link", kwargs={"agency_slug": agency.slug, "token": token})
    assert client.get(url + "?answer=accepted").status_code == 200
    response = client.post(url, {"answer": Rsvp.ACCEPTED, "note": "أكيد"})
    assert response.status_code == 302
    with schema_context(agency.schema_name):
        assert Participant.objects.get(pk=world["participant"].pk).rsvp == Rsvp.ACCEPTED
    bad = reverse("meetings:rsvp_link", kwargs={"agency_slug": agency.slug, "token": token + "x"})
    before = snapshot(world)
    response = client.post(bad, {"answer": Rsvp.DECLINED})
    assert response.status_code == 400
    assert "رابط الرد هذا غير صالح" in response.content.decode()
    assert snapshot(world) == before


def test_manager_pages_render_and_work(client, world):
    client.force_login(world["manager"])
    slug, m = world["agency"].slug, world["meeting"].pk
    page = client.get(reverse("workspace:meeting", kwargs={"agency_slug": slug, "meeting_id": m}))
    assert page.status_code == 200
    body = page.content.decode()
    assert "البند الأول" in body and "agenda.pdf" in body
    for name in ("meetings", "meeting_bodies", "meeting_new", "meeting_body_new"):
        assert (
            client.get(reverse(f"workspace:{name}", kwargs={"agency_slug": slug})).status_code
            == 200
        )
    response = client.post(
        reverse("workspace:meeting_body_new", kwargs={"agency_slug": slug}),
        {
            "name_ar": "لجنة",
            "name_en": "Committee",
            "kind": "committee",
            "quorum_kind": "share_members",
            "quorum_value": "0",
            "majority": "simple",
            "majority_base": "cast",
            "proxy_cap": "1",
        },
    )
    assert response.status_code == 200  # the form again, with the error on the field
    assert "النصاب بالنسبة أكبر من 0" in response.content.decode()
    ics = client.get(reverse("meetings:ics", kwargs={"agency_slug": slug, "meeting_id": m}))
    assert ics["Content-Type"].startswith("text/calendar")
    assert b"METHOD:REQUEST" in ics.content


def test_list_pages_stay_within_their_query_budget(client, world, django_assert_max_num_queries):
    agency, manager = world["agency"], world["manager"]
    for n in range(4):
        make_meeting(
            agency,
            actor=manager,
            participants=[(world["outsider"], "member")],
            starts_in=timedelta(days=3 + n),
        )
    client.force_login(manager)
    url = reverse("workspace:meetings", kwargs={"agency_slug": agency.slug})
    client.get(url)
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200
    client.force_login(world["outsider"])
    client.get(reverse("meetings:mine"))
    with django_assert_max_num_queries(10):
        assert client.get(reverse("meetings:mine")).status_code == 200
    # The meeting page with every part's context merged: a fixed budget that does not grow
    # with the participants.
    meeting_url = meeting_path(agency, world["meeting"])
    client.get(meeting_url)
    with django_assert_max_num_queries(30) as before:
        assert client.get(meeting_url).status_code == 200
    with schema_context(agency.schema_name):
        for n in range(6):
            Participant.objects.create(
                meeting=world["meeting"], name=f"guest {n}", email=f"guest{n}@example.org"
            )
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert client.get(meeting_url).status_code == 200
