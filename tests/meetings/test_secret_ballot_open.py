"""A secret poll while it is open (the threat model's "during"): whoever reads the database
after any one vote cannot tell what that vote was. The running tally is encrypted under a key
the database does not hold, in a form whose length never changes; the plain tallies stay at
zero until the close, which writes them once."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_context

from meetings.constants import MeetingStatus
from meetings.models_voting import Poll, PollOption, PollReceipt, PollVoter
from meetings.services import room, voting
from tests.meetings.voting_helpers import add_participant, board, open_poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha(agency_a):
    with schema_context(agency_a.schema_name), translation.override("en"):
        yield agency_a


def _readable(poll: Poll) -> dict:
    """Everything of the poll a SQL reader sees, but for its ids, random keys, the ciphertext
    and the system columns (which every vote sets the same way whatever its choice)."""
    poll = Poll.objects.get(pk=poll.pk)
    return {
        "poll": (poll.status, poll.voted_count, len(poll.sealed_tally)),
        "options": [
            (o.position, o.code, o.count, o.weight) for o in PollOption.objects.filter(poll=poll)
        ],
        "voters": sorted(
            (v.voter_id, v.cast_by_id, v.choices) for v in PollVoter.objects.filter(poll=poll)
        ),
        "receipts": PollReceipt.objects.filter(poll=poll).count(),
    }


def test_the_tables_read_the_same_whatever_the_vote(alpha):
    """The same member votes yes in one poll and no in another, in the same situation: every
    table reads the same for both polls (the choice is only inside the ciphertext)."""
    meeting, chair, members = board(3)
    member = members[0]
    after = []
    for choice in (1, 2, 3):
        poll = open_poll(meeting, chair, secret=True)
        before = _readable(poll)
        voting.poll_vote(actor=member.user, poll=poll, voter_id=member.pk, choices=[choice])
        state = _readable(poll)
        assert state["options"] == before["options"]  # every plain tally still at zero
        assert all(count == 0 for _, _, count, _ in state["options"])
        assert state["poll"][2] == before["poll"][2]  # the ciphertext's length never changes
        after.append({**state, "voters": [(v, c, ch) for v, c, ch in state["voters"]]})
    assert after[0] == after[1] == after[2]


def test_the_sealed_tally_counts_and_the_close_writes_it(alpha):
    meeting, chair, members = board(5)
    heavy = add_participant(meeting, weight="2.5")
    poll = open_poll(meeting, chair, secret=True)
    lengths = set()
    for member, choice in zip([*members, heavy], [1, 1, 2, 3, 1, 2], strict=True):
        voting.poll_vote(actor=member.user, poll=poll, voter_id=member.pk, choices=[choice])
        lengths.add(len(Poll.objects.get(pk=poll.pk).sealed_tally))
    assert len(lengths) == 1
    assert voting._unseal(Poll.objects.get(pk=poll.pk).sealed_tally) == [
        (3, Decimal("3")),
        (2, Decimal("3.5")),
        (1, Decimal("1")),
    ]
    result = voting.poll_close(actor=chair.user, poll=poll)
    closed = Poll.objects.get(pk=poll.pk)
    assert closed.sealed_tally == "" and closed.voted_count == 6
    assert [(o.count, o.weight) for o in PollOption.objects.filter(poll=poll)] == [
        (3, Decimal("3")),
        (2, Decimal("3.5")),
        (1, Decimal("1")),
    ]
    assert result.voters == 6


def test_the_ciphertext_is_not_readable_without_the_key(alpha):
    meeting, chair, members = board(2)
    poll = open_poll(meeting, chair, secret=True)
    voting.poll_vote(actor=members[0].user, poll=poll, voter_id=members[0].pk, choices=[2])
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_tally FROM meetings_poll WHERE id = %s", [poll.pk])
        (stored,) = cursor.fetchone()
    assert stored and "0000001" not in stored and "|" not in stored


def test_a_poll_opens_only_while_the_meeting_is_under_way(alpha):
    meeting, chair, members = board(2, status=MeetingStatus.SCHEDULED)
    poll = voting.poll_create(
        actor=chair.user,
        meeting=meeting,
        data={"question": "Q?", "kind": "yes_no", "entitlement": "present"},
    )
    with pytest.raises(ValidationError) as caught:
        voting.poll_open(actor=chair.user, poll=poll)
    assert "under way" in " ".join(caught.value.messages)
    assert Poll.objects.get(pk=poll.pk).status == "draft"


def test_the_meeting_does_not_close_while_a_poll_is_open(alpha):
    meeting, chair, members = board(2)
    poll = open_poll(meeting, chair, secret=True)
    with pytest.raises(ValidationError) as caught:
        room.meeting_close(actor=chair.user, meeting=meeting)
    assert "still open" in " ".join(caught.value.messages)
    voting.poll_close(actor=chair.user, poll=poll)
    assert room.meeting_close(actor=chair.user, meeting=meeting).status == MeetingStatus.CLOSED
