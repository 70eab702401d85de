"""Voting services (R-33): polls, proxies, votes and the close; each bad input refused with a
clear error and nothing changed; the result final in the database."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import translation
from django_tenants.utils import schema_context

from meetings.constants import MemberRole, Mode, Presence
from meetings.models_voting import Poll, PollOption, PollResult, PollVoter, Proxy
from meetings.record import poll_results
from meetings.services import voting
from tests.meetings.voting_helpers import add_participant, board, open_poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha(agency_a):
    with schema_context(agency_a.schema_name), translation.override("en"):
        yield agency_a


def tallies(poll):
    return {
        o.code if o.code != "choice" else o.label: (o.count, o.weight)
        for o in PollOption.objects.filter(poll=poll)
    }


def refused(call, **kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        call(**kwargs)
    return " ".join(caught.value.messages)


def test_named_poll_counts_weights_and_carries(alpha):
    meeting, chair, members = board(3)
    members[0].weight = Decimal("2")
    members[0].save()
    poll = open_poll(meeting, chair)
    voting.poll_vote(actor=members[0].user, poll=poll, voter_id=members[0].pk, choices=[1])
    voting.poll_vote(actor=members[1].user, poll=poll, voter_id=members[1].pk, choices=[2])
    voting.poll_vote(actor=chair.user, poll=poll, voter_id=chair.pk, choices=[3])
    assert tallies(poll) == {
        "yes": (1, Decimal("2")),
        "no": (1, Decimal("1")),
        "abstain": (1, Decimal("1")),
    }
    assert PollVoter.objects.get(poll=poll, voter=members[1]).choices == [2]
    result = voting.poll_close(actor=chair.user, poll=poll)
    assert result.carried and result.rule == "simple" and result.voters == 3
    assert result.entitled == 4 and result.quorum_reached
    assert result.numbers["entitled_weight"] == "5.00"
    [entry] = poll_results(meeting)
    assert entry["carried"] and entry["options"][0]["count"] == 1 and not entry["secret"]


def test_secret_poll_stores_no_choice_and_gives_a_receipt(alpha):
    meeting, chair, members = board(2)
    poll = open_poll(meeting, chair, secret=True)
    code = voting.poll_vote(actor=members[0].user, poll=poll, voter_id=members[0].pk, choices=[1])
    assert PollVoter.objects.get(poll=poll).choices is None
    assert voting.receipt_check(actor=members[1].user, poll=poll, code=code)
    assert voting.receipt_check(actor=members[1].user, poll=poll, code=code.lower())
    assert not voting.receipt_check(actor=members[1].user, poll=poll, code="AAAA-BBBB-CCCC")
    voting.poll_close(actor=chair.user, poll=poll)
    assert voting.receipt_check(actor=members[0].user, poll=poll, code=code)  # after the rewrite


def test_bad_votes_are_refused_and_change_nothing(alpha):
    meeting, chair, members = board(3)
    observer = add_participant(meeting, role=MemberRole.OBSERVER)
    late = add_participant(meeting, present=False)
    draft = voting.poll_create(
        actor=chair.user,
        meeting=meeting,
        data={"question": "Q?", "kind": "yes_no", "entitlement": "present"},
    )
    assert "not open yet" in refused(
        voting.poll_vote, actor=members[0].user, poll=draft, voter_id=members[0].pk, choices=[1]
    )
    poll = voting.poll_open(actor=chair.user, poll=draft)
    voting.poll_vote(actor=members[0].user, poll=poll, voter_id=members[0].pk, choices=[1])
    before = tallies(poll)
    cases = [
        (members[0], members[0], [2], "already been cast"),  # twice
        (observer, observer, [1], "Observers do not vote"),
        (late, late, [1], "not entitled"),  # absent when the poll opened
        (members[1], members[2], [1], "do not hold this member's proxy"),
        (members[1], members[1], [4], "Choose one answer"),
        (members[1], members[1], [1, 2], "Choose one answer"),
        (members[1], members[1], [], "Choose one answer"),
    ]
    for actor, voter, choices, message in cases:
        text = refused(
            voting.poll_vote, actor=actor.user, poll=poll, voter_id=voter.pk, choices=choices
        )
        assert message in text, (actor, voter, choices, text)
    assert tallies(poll) == before
    assert PollVoter.objects.filter(poll=poll).count() == 1
    voting.poll_close(actor=chair.user, poll=poll)
    assert "closed" in refused(
        voting.poll_vote, actor=members[1].user, poll=poll, voter_id=members[1].pk, choices=[1]
    )
    assert tallies(poll) == before


def test_only_the_chair_opens_and_closes(alpha):
    meeting, chair, members = board(2)
    poll = voting.poll_create(
        actor=chair.user,
        meeting=meeting,
        data={"question": "Q?", "kind": "yes_no", "entitlement": "present"},
    )
    with pytest.raises(PermissionDenied):
        voting.poll_open(actor=members[0].user, poll=poll)
    with pytest.raises(PermissionDenied):
        voting.poll_create(actor=members[0].user, meeting=meeting, data={"question": "x"})
    voting.poll_open(actor=chair.user, poll=poll)
    with pytest.raises(PermissionDenied):
        voting.poll_close(actor=members[0].user, poll=poll)
    assert Poll.objects.get(pk=poll.pk).status == "open"


def test_opening_without_quorum_needs_a_recorded_reason(alpha):
    meeting, chair, members = board(4)
    for m in members:
        m.presence = Presence.ABSENT
        m.save()
    poll = voting.poll_create(
        actor=chair.user,
        meeting=meeting,
        data={"question": "Q?", "kind": "yes_no", "entitlement": "all"},
    )
    with pytest.raises(ValidationError) as caught:
        voting.poll_open(actor=chair.user, poll=poll)
    assert "override_reason" in caught.value.message_dict
    assert Poll.objects.get(pk=poll.pk).status == "draft"
    voting.poll_open(actor=chair.user, poll=poll, override_reason="Urgent, agreed by all")
    poll.refresh_from_db()
    assert poll.status == "open" and poll.quorum_override_reason == "Urgent, agreed by all"
    from tenants.staff.models import AuditEvent

    event = AuditEvent.objects.get(action="meetings.poll_opened", object_id=str(poll.pk))
    assert event.after["quorum_override_reason"] == "Urgent, agreed by all"
    assert event.after["entitled"] == 5


@pytest.mark.parametrize(
    "data,field",
    [
        ({"majority": "unanimity"}, "majority"),
        ({"majority_base": "everyone"}, "majority_base"),
        ({"kind": "choice", "options": ["A"]}, "options"),
        ({"kind": "choice", "options": ["A", "a ", "B"], "max_choices": 3}, "max_choices"),
        ({"max_choices": 2}, "max_choices"),
        ({"question": "  "}, "question"),
        ({"entitlement": "all", "_mode": Mode.IN_PERSON}, "entitlement"),
        ({"agenda_item": 999999}, "agenda_item"),
    ],
)
def test_invalid_poll_configuration_is_refused(alpha, data, field):
    mode = data.pop("_mode", Mode.HYBRID)
    meeting, chair, _members = board(1, mode=mode)
    values = {"question": "Q?", "kind": "yes_no", "entitlement": "present", **data}
    with pytest.raises(ValidationError) as caught:
        voting.poll_create(actor=chair.user, meeting=meeting, data=values)
    assert field in caught.value.message_dict
    assert not Poll.objects.filter(meeting=meeting).exists()


def test_proxy_holder_casts_each_vote_and_the_delegator_cannot(alpha):
    meeting, chair, members = board(3)
    absent = add_participant(meeting, present=False, weight="3")
    voting.proxy_grant(actor=absent.user, meeting=meeting, holder_id=members[0].pk)
    poll = open_poll(meeting, chair)
    assert "given your proxy" in refused(
        voting.poll_vote, actor=absent.user, poll=poll, voter_id=absent.pk, choices=[1]
    )
    voting.poll_vote(actor=members[0].user, poll=poll, voter_id=members[0].pk, choices=[2])
    voting.poll_vote(actor=members[0].user, poll=poll, voter_id=absent.pk, choices=[1])
    assert "already been cast" in refused(
        voting.poll_vote, actor=members[0].user, poll=poll, voter_id=absent.pk, choices=[2]
    )
    assert tallies(poll)["yes"] == (1, Decimal("3"))
    row = PollVoter.objects.get(poll=poll, voter=absent)
    assert row.cast_by_id == members[0].pk
    assert "while a poll is open" in refused(
        voting.proxy_revoke, actor=absent.user, meeting=meeting
    )


def test_proxy_rules(alpha):
    meeting, chair, members = board(5, proxy_cap=1)
    a, b, c, d, e = members
    voting.proxy_grant(actor=a.user, meeting=meeting, holder_id=b.pk)
    cases = [
        (a, c, "already given your proxy"),
        (b, c, "no chains"),  # a holder cannot delegate
        (c, a, "no chains"),  # a delegator cannot hold
        (c, b, "as many proxies as the rules allow"),  # cap 1
        (c, c, "to yourself"),
    ]
    for actor, holder, message in cases:
        text = refused(voting.proxy_grant, actor=actor.user, meeting=meeting, holder_id=holder.pk)
        assert message in text, (actor, holder, text)
    assert Proxy.objects.filter(meeting=meeting).count() == 1
    voting.proxy_revoke(actor=a.user, meeting=meeting)
    voting.proxy_grant(actor=d.user, meeting=meeting, holder_id=e.pk)
    meeting.proxies_allowed = False
    meeting.save()
    assert "do not allow proxies" in refused(
        voting.proxy_grant, actor=c.user, meeting=meeting, holder_id=a.pk
    )


def test_choice_poll_up_to_k(alpha):
    meeting, chair, members = board(3)
    poll = open_poll(meeting, chair, kind="choice", options=["Ali", "Sara", "Omar"], max_choices=2)
    voting.poll_vote(actor=members[0].user, poll=poll, voter_id=members[0].pk, choices=[1, 2])
    voting.poll_vote(actor=members[1].user, poll=poll, voter_id=members[1].pk, choices=[2])
    assert "between 1 and 2" in refused(
        voting.poll_vote,
        actor=members[2].user,
        poll=poll,
        voter_id=members[2].pk,
        choices=[1, 2, 3],
    )
    result = voting.poll_close(actor=chair.user, poll=poll)
    assert result.numbers["winners"] == [2, 1] and result.carried


def test_casting_vote_named_follows_the_chair_and_secret_is_cast_openly(alpha):
    meeting, chair, members = board(1)
    poll = open_poll(meeting, chair)
    voting.poll_vote(actor=chair.user, poll=poll, voter_id=chair.pk, choices=[1])
    voting.poll_vote(actor=members[0].user, poll=poll, voter_id=members[0].pk, choices=[2])
    result = voting.poll_close(actor=chair.user, poll=poll)
    assert result.carried and result.casting_vote == "yes" and result.numbers["tie"]

    secret = open_poll(meeting, chair, secret=True)
    voting.poll_vote(actor=chair.user, poll=secret, voter_id=chair.pk, choices=[1])
    voting.poll_vote(actor=members[0].user, poll=secret, voter_id=members[0].pk, choices=[2])
    with pytest.raises(ValidationError) as caught:
        voting.poll_close(actor=chair.user, poll=secret)
    assert "casting" in caught.value.message_dict
    assert Poll.objects.get(pk=secret.pk).status == "open"
    result = voting.poll_close(actor=chair.user, poll=secret, casting="no")
    assert not result.carried and result.casting_vote == "no"


def test_a_closed_poll_and_its_result_cannot_change(alpha):
    meeting, chair, members = board(2)
    poll = open_poll(meeting, chair, secret=True)
    voting.poll_vote(actor=members[0].user, poll=poll, voter_id=members[0].pk, choices=[1])
    result = voting.poll_close(actor=chair.user, poll=poll)
    statements = [
        ("UPDATE meetings_pollresult SET carried = NOT carried WHERE id = %s", result.pk),
        ("DELETE FROM meetings_pollresult WHERE id = %s", result.pk),
        ("UPDATE meetings_poll SET question = 'x' WHERE id = %s", poll.pk),
        ("UPDATE meetings_polloption SET count = count + 1 WHERE poll_id = %s", poll.pk),
        ("DELETE FROM meetings_pollvoter WHERE poll_id = %s", poll.pk),
        ("UPDATE meetings_pollreceipt SET poll_id = poll_id WHERE poll_id = %s", poll.pk),
    ]
    for sql, pk in statements:
        with pytest.raises(DatabaseError, match="final"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [pk])
    assert PollResult.objects.get(pk=result.pk).carried == result.carried


def test_a_vote_takes_a_constant_number_of_queries(alpha, django_assert_max_num_queries):
    meeting, chair, members = board(12)
    for secret in (False, True):
        poll = open_poll(meeting, chair, secret=secret)
        poll = Poll.objects.select_related("meeting").get(pk=poll.pk)
        for member in (members[0], members[10]):
            member_fresh = type(member).objects.get(pk=member.pk)
            # 9 by the service (the poll read before the writes and locked after them; + the
            # tally UPDATE on the driver's cursor, not logged), the user's row and the test
            # transaction's savepoint pair
            with django_assert_max_num_queries(12):
                voting.poll_vote(
                    actor=member_fresh.user, poll=poll, voter_id=member.pk, choices=[1]
                )


def test_no_vote_once_the_meeting_is_cancelled(alpha):
    meeting, chair, members = board(2)
    poll = open_poll(meeting, chair)
    meeting.status = "cancelled"
    meeting.save()
    with pytest.raises(PermissionDenied):
        voting.poll_vote(
            actor=members[0].user,
            poll=Poll.objects.select_related("meeting").get(pk=poll.pk),
            voter_id=members[0].pk,
            choices=[1],
        )
    assert not PollVoter.objects.filter(poll=poll).exists()
