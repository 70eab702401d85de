"""Votes at the same moment on separate connections (real transactions, committed data, as in
tests/requests/test_concurrency.py): the same vote sent eight times at once is counted once;
twenty voters at once are each counted once, and the tally adds up."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import translation
from django_tenants.utils import schema_context

from meetings.models_voting import Poll, PollReceipt, PollVoter
from meetings.services import voting
from tenants.models import Agency
from tenants.services import agency_onboard
from tests.meetings.voting_helpers import board, open_poll


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    assert not connection.in_atomic_block
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
            (last_job,) = cursor.fetchone()
        tag = uuid.uuid4().hex[:8]
        agency = agency_onboard(
            slug=f"vote-{tag}",
            name_ar="جهة التصويت",
            name_en="Voting Agency",
            code=f"V{tag[:6].upper()}",
            admin_email=f"admin-{tag}@vote.example",
        )
        connection.set_schema_to_public()
        try:
            yield agency
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE procrastinate_jobs SET status = 'cancelled'"
                    " WHERE id > %s AND status = 'todo'",
                    [last_job],
                )
            Agency.objects.filter(pk=agency.pk).update(is_active=False)
            connections.close_all()


def at_once(agency, calls):
    """Run every call in its own thread and connection, released together."""
    start = threading.Barrier(len(calls))

    def run(call):
        try:
            with schema_context(agency.schema_name), translation.override("en"):
                start.wait()
                try:
                    return call()
                except ValidationError as exc:
                    return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_concurrent_votes_are_each_counted_exactly_once(committed):
    with schema_context(committed.schema_name):
        meeting, chair, members = board(20)
        poll = open_poll(meeting, chair, secret=True)
    connection.set_schema_to_public()

    member = members[0]
    same_vote = [
        lambda: voting.poll_vote(actor=member.user, poll=poll, voter_id=member.pk, choices=[1])
    ] * 8
    results = at_once(committed, same_vote)
    codes = [r for r in results if isinstance(r, str)]
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(codes) == 1 and len(refusals) == 7, results
    assert all("already been cast" in r.messages[0] for r in refusals)

    others = [
        (
            lambda m=m, i=i: voting.poll_vote(
                actor=m.user, poll=poll, voter_id=m.pk, choices=[1 + i % 3]
            )
        )
        for i, m in enumerate(members[1:])
    ]
    results = at_once(committed, others)
    assert all(isinstance(r, str) for r in results), results
    with schema_context(committed.schema_name):
        assert PollVoter.objects.filter(poll=poll).count() == 20
        sealed = Poll.objects.get(pk=poll.pk)
        assert sealed.voted_count == 20
        # While open the tally is sealed (the plain one is written at the close).
        counts = {i: count for i, (count, _) in enumerate(voting._unseal(sealed.sealed_tally), 1)}
    assert counts == {1: 1 + 7, 2: 6, 3: 6}  # members 1..19 by i % 3, plus the first vote


@pytest.mark.parametrize("secret", [True, False])
def test_votes_racing_the_close_are_counted_in_its_result_or_refused(committed, secret):
    """A vote writes its rows before it takes the poll's lock; the close locks the poll too.
    Votes sent at the moment of the close neither deadlock with it nor slip past it: each is
    in the result or refused as closed, never both and never lost."""
    with schema_context(committed.schema_name):
        meeting, chair, members = board(16)
        poll = open_poll(meeting, chair, secret=secret)
    connection.set_schema_to_public()

    votes = [
        (lambda m=m: voting.poll_vote(actor=m.user, poll=poll, voter_id=m.pk, choices=[1]))
        for m in members
    ]
    close = [lambda: voting.poll_close(actor=chair.user, poll=poll, casting="yes")]
    results = at_once(committed, votes[:8] + close + votes[8:])
    result = results[8]
    answers = results[:8] + results[9:]
    assert not isinstance(result, ValidationError), result
    recorded = [r for r in answers if isinstance(r, str)]
    refused = [r for r in answers if isinstance(r, ValidationError)]
    assert len(recorded) + len(refused) == 16, answers
    assert all(r.messages == ["This poll is closed."] for r in refused), refused
    with schema_context(committed.schema_name):
        assert PollVoter.objects.filter(poll=poll).count() == len(recorded)
        assert Poll.objects.get(pk=poll.pk).status == "closed"
        counts = {o.position: o.count for o in result.poll.options.all()}
    assert counts[1] == len(recorded) and counts[2] == counts[3] == 0, counts


def test_settle_pushes_the_latest_offer_once_after_the_delay_unless_discarded():
    from meetings.live import Settle

    pushed = []
    done = threading.Event()
    settle = Settle(0.2)
    settle.offer("poll", lambda: pushed.append("a"))
    settle.offer("poll", lambda: (pushed.append("b"), done.set()))
    settle.offer("other", lambda: pushed.append("x"))
    settle.offer("gone", lambda: pushed.append("never"))
    settle.discard("gone")  # a push that made it needless went out
    assert pushed == [] and settle.pending("poll")
    assert done.wait(2)
    threading.Event().wait(0.3)
    assert sorted(pushed) == ["b", "x"]  # one push per key, the latest offered
    assert not settle.pending("poll") and not settle.pending("gone")


def test_a_large_poll_pushes_at_its_steps_and_settles_on_the_committed_count(
    committed, monkeypatch
):
    """More voters than PROGRESS_STEPS: votes from many threads give about PROGRESS_STEPS
    pushes, not one per vote, and a count between two steps is still pushed (by the settle,
    from its own thread and connection) with the committed count."""
    pushes = []
    monkeypatch.setattr(
        voting, "_progress_publish", lambda poll, voted: pushes.append((poll.pk, voted))
    )
    entitled = 2 * voting.PROGRESS_STEPS + 1  # a push every second vote
    with schema_context(committed.schema_name):
        meeting, chair, members = board(entitled - 1)
        poll = open_poll(meeting, chair, secret=True)
    connection.set_schema_to_public()
    voters = [chair, *members][: entitled - 2]  # 99 vote: the last count is not a step
    calls = [
        (lambda m=m: voting.poll_vote(actor=m.user, poll=poll, voter_id=m.pk, choices=[1]))
        for m in voters
    ]
    started = time.monotonic()
    results = at_once(committed, calls)
    assert all(isinstance(r, str) for r in results), results
    wait = threading.Event()
    for _ in range(40):  # the settle is due SETTLE_SECONDS after the last vote
        if (poll.pk, len(voters)) in pushes:
            break
        wait.wait(0.1)
    assert (poll.pk, len(voters)) in pushes  # the final count is pushed
    steps = len(voters) // 2
    elapsed = time.monotonic() - started
    assert set(range(2, len(voters), 2)) <= {v for _, v in pushes}  # every step
    # besides the steps, at most one settle push per SETTLE_SECONDS
    assert len(pushes) <= steps + elapsed / voting.SETTLE_SECONDS + 1, (elapsed, pushes)


def test_a_vote_that_wrote_its_rows_before_the_close_is_refused_under_the_lock(
    committed, monkeypatch
):
    """The vote's rows are written before it takes the poll's lock: a close that commits in
    between wins, and the vote, finding the poll closed under the lock, rolls back its rows."""
    with schema_context(committed.schema_name):
        meeting, chair, members = board(3)
        poll = open_poll(meeting, chair, secret=True)
    connection.set_schema_to_public()
    written, closed = threading.Event(), threading.Event()
    digest = voting.receipt_digest

    def digest_then_wait(poll_id, code):
        # called between the voter row's INSERT and the receipt's, in the voting thread only
        if threading.current_thread().name.startswith("voter"):
            written.set()
            assert closed.wait(10)
        return digest(poll_id, code)

    monkeypatch.setattr(voting, "receipt_digest", digest_then_wait)
    member = members[0]
    outcome = {}

    def cast():
        with schema_context(committed.schema_name), translation.override("en"):
            try:
                voting.poll_vote(actor=member.user, poll=poll, voter_id=member.pk, choices=[1])
            except ValidationError as exc:
                outcome["refused"] = exc.messages
            finally:
                connection.close()

    voter = threading.Thread(target=cast, name="voter")
    voter.start()
    assert written.wait(10)
    with schema_context(committed.schema_name):
        result = voting.poll_close(actor=chair.user, poll=poll, casting="yes")
    closed.set()
    voter.join(10)
    assert outcome == {"refused": ["This poll is closed."]}
    with schema_context(committed.schema_name):
        assert not PollVoter.objects.filter(poll=poll).exists()
        assert not PollReceipt.objects.filter(poll=poll).exists()
        assert result.poll.options.get(position=1).count == 0
