"""Voting over the meeting's socket (R-33, issue 13's benchmark): the same service as the HTTP
vote, answered on the voter's socket only with the receipt code; every refusal of the HTTP path
holds (not entitled, twice, observer, someone else's vote, a closed poll, another meeting's
poll, malformed input), nothing changed; strangers cannot even open the socket."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from core.realtime import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from meetings.constants import MeetingStatus, Mode
from meetings.consumers import MeetingConsumer
from meetings.models import Meeting
from meetings.models_voting import Poll, PollReceipt, PollVoter
from meetings.services import voting
from portal.asgi import application
from tests.factories import make_beneficiary
from tests.meetings.room_helpers import add_participant, make_room, signed_in
from tests.meetings.test_room_socket import headers_for, socket_path, try_connect
from tests.meetings.voting_helpers import open_poll


@pytest.fixture(autouse=True)
def _on_the_test_connection(monkeypatch):
    # database_sync_to_async must not close the connection that holds the test's transaction,
    # and the vote must run on the thread that holds it
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    monkeypatch.setattr(MeetingConsumer, "vote_thread_sensitive", True)


@pytest.fixture
def world(agency_a, agency_b):
    world = make_room(agency_a, agency_b)
    with schema_context(agency_a.schema_name):
        # a hybrid meeting: every member is entitled, present or not
        for key in ("meeting", "other_meeting"):
            Meeting.objects.filter(pk=world[key].pk).update(
                mode=Mode.HYBRID, status=MeetingStatus.IN_PROGRESS
            )
            world[key].refresh_from_db()
        world["poll"] = open_poll(
            world["meeting"],
            world["participants"]["chair"],
            secret=True,
            entitlement="all",
            reason="test",
        )
        world["other_poll"] = open_poll(
            world["other_meeting"],
            add_participant(agency_a, world["other_meeting"], make_beneficiary(), role="chair"),
            entitlement="all",
            reason="test",
        )
    return world


def exchange(world, key: str, *messages: dict) -> list[dict]:
    """Open ``key``'s socket on the meeting, send each message, return the answers."""
    headers = headers_for(signed_in(world["people"][key]))

    async def run():
        communicator = WebsocketCommunicator(application, socket_path(world), headers=headers)
        connected, code = await communicator.connect(timeout=3)
        assert connected, code
        assert (await communicator.receive_json_from(timeout=3))["type"] == "hello"
        answers = []
        for message in messages:
            await communicator.send_json_to(message)
            answers.append(await communicator.receive_json_from(timeout=5))
        await communicator.disconnect()
        return answers

    return async_to_sync(run)()


def vote(world, key: str, *, voter: str | None = None, choices=(1,), poll=None, ref="r") -> dict:
    return {
        "type": "vote",
        "poll": (poll or world["poll"]).pk,
        "voter": world["participants"][voter or key].pk,
        "choices": list(choices),
        "ref": ref,
    }


def recorded(world) -> tuple[int, int, dict]:
    with schema_context(world["agency"].schema_name):
        poll = world["poll"]
        return (
            PollVoter.objects.filter(poll=poll).count(),
            PollReceipt.objects.filter(poll=poll).count(),
            # an open secret poll's tally is sealed until the close
            {
                position: count
                for position, (count, _weight) in enumerate(
                    voting._unseal(Poll.objects.get(pk=poll.pk).sealed_tally), start=1
                )
            },
        )


def test_a_member_votes_once_over_the_socket_and_gets_a_receipt(world):
    first, second = exchange(
        world, "member", vote(world, "member", choices=[2], ref="a"), vote(world, "member")
    )
    assert first["type"] == "vote_recorded" and first["ref"] == "a"
    assert first["poll"] == world["poll"].pk
    assert len(first["code"]) == 14
    assert second["type"] == "vote_refused"
    assert second["errors"] == [_("This vote has already been cast.")]
    assert recorded(world) == (1, 1, {1: 0, 2: 1, 3: 0})
    with schema_context(world["agency"].schema_name):
        assert voting.receipt_check(
            actor=world["people"]["member"], poll=world["poll"], code=first["code"]
        )


def test_refusals_change_nothing(world):
    agency, meeting = world["agency"], world["meeting"]
    late = make_beneficiary()
    world["people"]["late"] = late
    # invited after the poll opened: a participant, but not entitled in this poll
    world["participants"]["late"] = add_participant(agency, meeting, late)
    cases = [
        ("late", vote(world, "late"), "This vote is not entitled in this poll."),
        ("observer", vote(world, "observer"), "Observers do not vote."),
        ("member", vote(world, "member", voter="member2"), "You do not hold this member's proxy."),
        ("member", vote(world, "member", poll=world["other_poll"]), "This vote cannot be cast."),
        ("member", {**vote(world, "member"), "choices": "1"}, "This vote cannot be cast."),
        ("member", {**vote(world, "member"), "choices": [True]}, "This vote cannot be cast."),
        ("member", {**vote(world, "member"), "poll": None}, "This vote cannot be cast."),
        ("member", vote(world, "member", choices=[1, 2]), "Choose one answer."),
        ("member", vote(world, "member", choices=[9]), "Choose one answer."),
    ]
    for key, message, error in cases:
        (answer,) = exchange(world, key, message)
        assert answer["type"] == "vote_refused", (key, message, answer)
        assert answer["errors"] == [_(error)], (key, message, answer)
    assert recorded(world) == (0, 0, {1: 0, 2: 0, 3: 0})


def test_a_closed_poll_refuses(world):
    with schema_context(world["agency"].schema_name):
        voting.poll_close(actor=world["people"]["chair"], poll=world["poll"])
    (answer,) = exchange(world, "member", vote(world, "member"))
    assert answer == {
        "type": "vote_refused",
        "poll": world["poll"].pk,
        "ref": "r",
        "errors": [_("This poll is closed.")],
    }


def test_strangers_cannot_open_the_socket_to_vote(world):
    path = socket_path(world)
    assert try_connect(path, headers_for(None)) == (False, CLOSE_UNAUTHENTICATED)
    for key in ("outsider", "employee", "other_agency_employee", "other_meeting_member"):
        assert try_connect(path, headers_for(signed_in(world["people"][key]))) == (
            False,
            CLOSE_NOT_FOUND,
        ), key


def test_other_messages_are_ignored_and_ping_answered(world):
    headers = headers_for(signed_in(world["people"]["member"]))

    async def run():
        communicator = WebsocketCommunicator(application, socket_path(world), headers=headers)
        assert (await communicator.connect(timeout=3))[0]
        await communicator.receive_json_from(timeout=3)
        await communicator.send_to(text_data="not json")
        await communicator.send_json_to({"type": "tally"})
        await communicator.send_json_to(["vote"])
        await communicator.send_json_to({"type": "ping"})
        answer = await communicator.receive_json_from(timeout=3)
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()
        return answer

    assert async_to_sync(run)() == {"type": "pong"}
    assert recorded(world) == (0, 0, {1: 0, 2: 0, 3: 0})


def test_a_database_error_is_answered_and_records_nothing(world, monkeypatch):
    """A connection the server dropped (or any database error) gets the voter an answer to send
    again, not a silent socket; the vote's transaction rolled back."""

    def broken(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(voting, "poll_vote", broken)
    (answer,) = exchange(world, "member", vote(world, "member"))
    assert answer == {
        "type": "vote_refused",
        "poll": world["poll"].pk,
        "ref": "r",
        "errors": [_("The vote could not be recorded. Please send it again.")],
    }
    assert recorded(world) == (0, 0, {1: 0, 2: 0, 3: 0})
