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

from meetings.models_voting import Poll, PollVoter
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


def test_throttle_pushes_the_first_at_once_and_folds_the_rest_into_the_last():
    from meetings.live import Throttle

    pushed = []
    done = threading.Event()
    throttle = Throttle(0.2)
    throttle.offer("poll", lambda: pushed.append("a"))
    assert pushed == ["a"]  # the first of a burst: at once
    throttle.offer("poll", lambda: pushed.append("b"))
    throttle.offer("poll", lambda: (pushed.append("c"), done.set()))
    throttle.offer("other", lambda: pushed.append("x"))  # another key keeps its own pace
    assert pushed == ["a", "x"]
    assert done.wait(2)
    assert pushed == ["a", "x", "c"]  # one trailing push, the latest offered


def test_a_large_poll_pushes_a_few_times_and_always_the_final_count(committed, monkeypatch):
    """More voters than PROGRESS_EVERY_VOTE_UP_TO: votes from many threads give far fewer
    pushes than votes, and the last push (from the throttle's own thread and connection)
    carries the committed final count."""
    pushes = []
    monkeypatch.setattr(
        voting, "_progress_publish", lambda poll, voted: pushes.append((poll.pk, voted))
    )
    n = voting.PROGRESS_EVERY_VOTE_UP_TO + 10
    with schema_context(committed.schema_name):
        meeting, chair, members = board(n - 1)
        poll = open_poll(meeting, chair, secret=True)
    connection.set_schema_to_public()
    voters = [chair, *members]
    calls = [
        (lambda m=m: voting.poll_vote(actor=m.user, poll=poll, voter_id=m.pk, choices=[1]))
        for m in voters
    ]
    started = time.monotonic()
    results = at_once(committed, calls)
    assert all(isinstance(r, str) for r in results), results
    deadline = threading.Event()
    for _ in range(20):  # the trailing push is due within 1 / PROGRESS_PER_SECOND s
        if (poll.pk, n) in pushes:
            break
        deadline.wait(0.1)
    assert (poll.pk, n) in pushes  # the final count is pushed
    # at most one push per interval (a leading and a trailing one at the edges)
    elapsed = time.monotonic() - started
    assert len(pushes) <= elapsed * voting.PROGRESS_PER_SECOND + 2, (elapsed, pushes)
