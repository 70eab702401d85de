"""The voting pages: who may use each URL (isolation table), bad input through the real HTTP
path (a clear error, status 400, nothing changed), the receipt shown once, query counts."""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from meetings.constants import MemberRole
from meetings.models_voting import Poll, PollVoter, Proxy
from meetings.services import voting
from tests.factories import make_beneficiary, make_employee
from tests.meetings.voting_helpers import add_participant, board, open_poll

pytestmark = pytest.mark.django_db


def ar(message: str) -> str:
    """The Arabic a page shows for ``message`` (the users' language), HTML-escaped."""
    with translation.override("ar"):
        return escape(gettext(message))


@pytest.fixture
def world(agency_a, agency_b):
    with schema_context(agency_a.schema_name):
        meeting, chair, members = board(3)
        observer = add_participant(meeting, role=MemberRole.OBSERVER)
        other_meeting, other_chair, _ = board(1)
        draft = voting.poll_create(
            actor=chair.user,
            meeting=meeting,
            data={"question": "Draft?", "kind": "yes_no", "entitlement": "present"},
        )
        poll = open_poll(meeting, chair, secret=True)
    return {
        "agency": agency_a,
        "meeting": meeting,
        "chair": chair,
        "members": members,
        "observer": observer,
        "other_participant": other_chair.user,
        "other_agency_employee": make_employee(agency_b, roles=("admin",)),
        "stranger": make_beneficiary(),
        "draft": draft,
        "poll": poll,
    }


def urls(w) -> dict[str, tuple[str, dict]]:
    base = {"agency_slug": w["agency"].slug, "meeting_id": w["meeting"].pk}
    member = w["members"][0]
    return {
        "polls": ("get", reverse("meetings:polls", kwargs=base)),
        "poll_new": ("post", reverse("meetings:poll_new", kwargs=base)),
        "poll_open": (
            "post",
            reverse("meetings:poll_open", kwargs={**base, "poll_id": w["draft"].pk}),
        ),
        "poll_close": (
            "post",
            reverse("meetings:poll_close", kwargs={**base, "poll_id": w["poll"].pk}),
        ),
        "poll_vote": (
            "post",
            reverse("meetings:poll_vote", kwargs={**base, "poll_id": w["poll"].pk}),
            {"voter": member.pk, "choice": "1"},
        ),
        "poll_receipt": (
            "post",
            reverse("meetings:poll_receipt", kwargs={**base, "poll_id": w["poll"].pk}),
        ),
        "proxy_give": ("post", reverse("meetings:proxy_give", kwargs=base), {"holder": member.pk}),
        "proxy_withdraw": ("post", reverse("meetings:proxy_withdraw", kwargs=base)),
    }


def snapshot(w):
    with schema_context(w["agency"].schema_name):
        return (
            sorted(Poll.objects.filter(meeting=w["meeting"]).values_list("pk", "status")),
            PollVoter.objects.filter(poll__meeting=w["meeting"]).count(),
            Proxy.objects.filter(meeting=w["meeting"]).count(),
        )


def send(client, entry):
    method, url, *data = entry
    return getattr(client, method)(url, data[0] if data else {"question": "x", "kind": "yes_no"})


@pytest.mark.parametrize("who", ["other_agency_employee", "stranger", "other_participant", None])
def test_outsiders_get_nothing_and_change_nothing(client, world, who):
    before = snapshot(world)
    if who:
        client.force_login(world[who])
    for name, entry in urls(world).items():
        response = send(client, entry)
        expected = 404 if who else 302
        assert response.status_code == expected, (who, name, response.status_code)
        if not who:
            assert "/login" in response["Location"] or "accounts" in response["Location"]
    assert snapshot(world) == before


def test_tables_cover_every_voting_url(world):
    from meetings.urls.voting import public_urlpatterns

    assert {p.name for p in public_urlpatterns} == set(urls(world))


def test_an_observer_cannot_vote_or_run_polls(client, world):
    before = snapshot(world)
    client.force_login(world["observer"].user)
    entries = urls(world)
    assert send(client, entries["polls"]).status_code == 200
    response = client.post(entries["poll_vote"][1], {"voter": world["observer"].pk, "choice": "1"})
    assert response.status_code == 400
    assert ar("Observers do not vote.") in response.content.decode()
    for name in ("poll_open", "poll_close", "poll_new"):
        assert send(client, entries[name]).status_code == 404, name
    assert snapshot(world) == before


def test_a_member_votes_once_and_sees_the_receipt_once(client, world):
    member = world["members"][1]
    client.force_login(member.user)
    entries = urls(world)
    page = send(client, entries["polls"]).content.decode()
    assert 'name="choice"' in page and "Approve the budget?" in page
    # while the poll is open the proxy section says why it offers nothing (never empty)
    assert ar("Proxies can be given again once the open poll is closed.") in page
    url = entries["poll_vote"][1]
    response = client.post(url, {"voter": member.pk, "choice": "2"})
    assert response.status_code == 200
    with schema_context(world["agency"].schema_name):
        assert PollVoter.objects.filter(poll=world["poll"], voter=member).exists()
    body = response.content.decode()
    code = body.split('<code dir="ltr" class="fs-5 text-reset fw-bold">')[1].split("<")[0]
    assert len(code) == 14
    again = client.get(entries["polls"][1]).content.decode()
    assert code not in again and ar("Your vote is recorded.") in again
    before = snapshot(world)
    twice = client.post(url, {"voter": member.pk, "choice": "1"})
    assert (
        twice.status_code == 400
        and ar("This vote has already been cast.") in twice.content.decode()
    )
    assert snapshot(world) == before
    check = client.post(entries["poll_receipt"][1], {"code": code})
    assert ar("A vote with this receipt code is recorded in this poll.") in check.content.decode()


def test_bad_votes_through_http(client, world):
    member = world["members"][2]
    client.force_login(member.user)
    base = {"agency_slug": world["agency"].slug, "meeting_id": world["meeting"].pk}
    draft_url = reverse("meetings:poll_vote", kwargs={**base, "poll_id": world["draft"].pk})
    before = snapshot(world)
    response = client.post(draft_url, {"voter": member.pk, "choice": "1"})
    assert (
        response.status_code == 400
        and ar("This poll is not open yet.") in response.content.decode()
    )
    vote_url = urls(world)["poll_vote"][1]
    response = client.post(vote_url, {"voter": world["members"][0].pk, "choice": "1"})
    assert (
        response.status_code == 400
        and ar("You do not hold this member's proxy.") in response.content.decode()
    )
    response = client.post(vote_url, {"voter": member.pk, "choice": "9"})
    assert response.status_code == 400
    # Unreadable answers are no answer: the translated "choose" error, not a 404 or a 500.
    for garbage in ("²", "abc", "9" * 5000, "-1", ""):
        response = client.post(vote_url, {"voter": member.pk, "choice": garbage})
        assert response.status_code == 400
        assert ar("Choose one answer.") in response.content.decode()
    assert snapshot(world) == before


def test_the_chair_prepares_opens_and_closes_through_the_pages(client, world):
    chair = world["chair"]
    client.force_login(chair.user)
    entries = urls(world)
    response = client.post(
        entries["poll_new"][1],
        {
            "question": "Choose the auditor",
            "kind": "choice",
            "options": "Firm A\nFirm B\nFirm C",
            "max_choices": "4",
            "entitlement": "present",
            "majority": "simple",
            "majority_base": "cast",
        },
    )
    assert response.status_code == 400
    assert (
        ar("A voter may choose between 1 and %(count)s options here.") % {"count": 3}
        in response.content.decode()
    )
    response = client.post(entries["poll_close"][1])
    assert response.status_code == 302
    with schema_context(world["agency"].schema_name):
        assert Poll.objects.get(pk=world["poll"].pk).status == "closed"
    page = client.get(entries["polls"][1]).content.decode()
    assert ar("Not carried") in page  # nobody voted


def test_the_polls_page_reads_a_fixed_number_of_queries(
    client, world, django_assert_max_num_queries
):
    member = world["members"][0]
    client.force_login(member.user)
    url = urls(world)["polls"][1]
    client.get(url)
    with django_assert_max_num_queries(22):
        assert client.get(url).status_code == 200
    with schema_context(world["agency"].schema_name):
        for i in range(4):
            open_poll(world["meeting"], world["chair"], question=f"More {i}?")
    with django_assert_max_num_queries(22):
        assert client.get(url).status_code == 200
