"""The participants' meeting page reads the meeting's participants and its agenda once, with
the meeting, and hands them to every part (room, voting, minutes): its query count is fixed,
the same with 3 participants, agenda items and polls as with 30 (and their opinions,
speakers, proxies and votes)."""

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from meetings.models import AgendaItem, Meeting
from meetings.models_room import Opinion, SharedNote, Speaker
from meetings.models_voting import Proxy
from meetings.services import voting
from meetings.services.room import speaker_raise_hand
from tests.meetings.factories import meetings_viewer
from tests.meetings.voting_helpers import add_participant, board, open_poll

pytestmark = pytest.mark.django_db

# What the page costs, whatever the meeting's size: session, user, agency, the meeting, its
# participants, agenda and documents, the viewer's membership, the room's discussion, notes
# and speakers, the polls with their options, results and counts, the viewer's proxies and
# ballots, the minutes, the notification badge.
BUDGET = 25


def _grow(agency, meeting, chair, members, *, size: int) -> None:
    """Bring the meeting to ``size`` members, agenda items and polls (a third of the polls
    closed, the rest open), with an opinion, a raised hand and a vote from each member, and a
    proxy held by the first member."""
    with schema_context(agency.schema_name):
        while len(members) < size:
            members.append(add_participant(meeting))
        first = AgendaItem.objects.filter(meeting=meeting).count() + 1
        for position in range(first, size + 1):
            AgendaItem.objects.create(meeting=meeting, position=position, title=f"بند {position}")
        item = AgendaItem.objects.filter(meeting=meeting).first()
        Meeting.objects.filter(pk=meeting.pk).update(current_item=item)
        SharedNote.objects.get_or_create(meeting=meeting, agenda_item=item, defaults={"text": "…"})
        for member in members:
            Opinion.objects.create(
                meeting=meeting, agenda_item=item, participant=member, text="رأي"
            )
            if not Speaker.objects.filter(participant=member).exists():
                speaker_raise_hand(actor=member.user, meeting=meeting)
        if not Proxy.objects.filter(meeting=meeting).exists():
            voting.proxy_grant(actor=members[1].user, meeting=meeting, holder_id=members[0].pk)
        fresh = Meeting.objects.get(pk=meeting.pk)
        polls = [open_poll(fresh, chair, question=f"سؤال {n}?") for n in range(size)]
        for n, poll in enumerate(polls):
            voter = members[2 + n % (len(members) - 2)]
            option = poll.options.order_by("position").first()
            voting.poll_vote(
                actor=voter.user, poll=poll, voter_id=voter.pk, choices=[option.position]
            )
            if n % 3 == 0:
                voting.poll_close(actor=chair.user, poll=poll)


def _queries(client, url, django_assert_max_num_queries) -> int:
    client.get(url)  # the session and the language settle on a first visit
    with django_assert_max_num_queries(BUDGET) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_meeting_page_reads_a_fixed_number_of_queries(
    client, agency_a, django_assert_max_num_queries, django_assert_num_queries
):
    with schema_context(agency_a.schema_name):
        meeting, chair, members = board(3)
    url = reverse(
        "meetings:meeting", kwargs={"agency_slug": agency_a.slug, "meeting_id": meeting.pk}
    )
    viewers = {
        "proxy holder": lambda: members[0].user,
        "chair": lambda: chair.user,
        "employee who sees every meeting": lambda: supervisor,
    }
    supervisor = meetings_viewer(agency_a)
    _grow(agency_a, meeting, chair, members, size=3)
    small = {}
    for who, user in viewers.items():
        client.force_login(user())
        small[who] = _queries(client, url, django_assert_max_num_queries)
    _grow(agency_a, meeting, chair, members, size=30)
    for who, user in viewers.items():
        client.force_login(user())
        client.get(url)
        with django_assert_num_queries(small[who], info=who):
            page = client.get(url)
        assert page.status_code == 200
        assert "سؤال 29?" in page.content.decode()
    # what the viewers see differs (the proxy holder's ballots, the chair's poll form)
    client.force_login(members[0].user)
    assert client.get(url).context["polls"][-1].ballots
