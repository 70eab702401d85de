"""The real job worker (`manage.py procrastinate worker` in a subprocess) on committed data.

The worker is another process, so it only sees committed rows: ``db`` is overridden below to
open no test transaction, and the tests create and read rows inside
``django_db_blocker.unblock()`` (autocommit), with unique emails, identity numbers and mobiles.
SMS go through the console backend, which writes one SmsMessage row per message sent: counting
rows counts messages.

Every job of a test is deferred on a queue of its own (``test-worker-<n>``) and the test's workers
listen only to it. That keeps them off other queues, but a worker started without ``--queues``
listens to every queue: tests/e2e's live server keeps one running for the rest of the session once
an e2e test has run (pytest-django runs these tests before the browser tests, so normally there is
none). When such a worker is alive (``other_workers``), the assertions about *which* worker ran a
job are left out and the kill test is skipped (it needs to own the job); the exactly-once
assertions hold whoever runs the jobs. Subprocesses are killed and the test's jobs
removed at teardown, so no committed job is left for tests.jobs.run_pending_jobs in later tests.
"""

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from accounts.models import SmsMessage, User
from notifications import tasks
from notifications.models import Delivery, Notification
from notifications.services import notification_render, notification_send
from tests.e2e.conftest import _database_url
from tests.factories import make_beneficiary, mobile_number, national_id

ROOT = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT = 20
SLOW_BACKEND = "tests.notifications.slow_backend.SlowConsoleBackend"


@pytest.fixture
def db(django_db_setup):
    """pytest-django's ``db`` replaced, for this module only, by one that opens NO test
    transaction: the worker is another process and sees only committed rows.

    Asking for a fixture named ``db`` is what makes pytest-django create the test database even
    when only this file runs (never the development database), and sort these tests with the
    database tests, ahead of the browser tests, whose live server keeps a worker on every queue
    for the rest of the session (see ``other_workers``).
    """


class Rollback(Exception):
    pass


@pytest.fixture
def committed(db, django_db_blocker):
    """``with committed(): ...`` reads/writes committed rows of the test database."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = database["NAME"]
    if not (database.get("TEST", {}).get("NAME") == name or name.startswith("test_")):
        pytest.fail(f"refusing to commit into {name!r}: it is not a test database")

    @contextlib.contextmanager
    def unblocked():
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            yield

    return unblocked


def _sql(query: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def queue(committed):
    """A queue of this test's own; at teardown its jobs (and the periodic jobs its workers
    deferred on the default queue, which nobody here runs) are deleted."""
    name = f"test-worker-{uuid.uuid4().hex[:10]}"
    with committed():
        start = _sql("SELECT COALESCE(MAX(id), 0) FROM procrastinate_jobs")[0][0]
    yield name
    with committed():
        _sql(
            "DELETE FROM procrastinate_jobs WHERE id > %s AND (queue_name = %s OR "
            "(task_name = 'jobs.retry_stalled' AND status = 'todo'))",
            [start, name],
        )


@pytest.fixture
def other_workers(committed) -> int:
    """Workers of other processes alive when the test starts (a heartbeat in the last 20 s;
    procrastinate beats every 10 s). Any of them may listen to every queue, ours included."""
    with committed():
        return _sql(
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > now() - interval '20 seconds'"
        )[0][0]


@pytest.fixture
def seed() -> int:
    """Large random seed for tests.factories, distinct from the e2e range (5M-9M)."""
    return 20_000_000 + random.randrange(70_000_000)


@pytest.fixture
def make_users(committed, seed):
    created: list[int] = []

    def make(count: int) -> list[User]:
        users = []
        with committed():
            for _ in range(count):
                n = seed + len(created)
                user = make_beneficiary(
                    email=f"worker-{n}@example.sa",
                    mobile=mobile_number(n),
                    identity_number=national_id(n),
                    preferred_language="en",
                )
                created.append(user.pk)
                users.append(user)
        return users

    yield make
    with committed():
        mobiles = list(User.objects.filter(pk__in=created).values_list("mobile", flat=True))
        SmsMessage.objects.filter(to__in=mobiles).delete()
        # (users stay, as in tests/e2e: deleting one cascades into agency-schema tables)
        Notification.objects.filter(recipient_id__in=created).delete()


def send_on_queue(queue_name: str, **kwargs) -> tuple[int, list[int]]:
    """notification_send, then its rendering (done here, in process: these tests are about the
    delivery jobs), with the delivery jobs deferred on ``queue_name`` (the test's own); returns
    the notification id and its delivery ids (email/SMS)."""
    original = tasks.deliver.defer, tasks.render.defer
    rendered: list[int] = []

    def defer(**job_kwargs):
        return tasks.deliver.configure(queue=queue_name).defer(**job_kwargs)

    tasks.deliver.defer = defer
    tasks.render.defer = lambda *, notification_id: rendered.append(notification_id)
    try:
        notification = notification_send(**kwargs)
        assert rendered == [notification.pk]  # notification_send defers its rendering
        notification_render(notification_id=notification.pk)
    finally:
        tasks.deliver.defer, tasks.render.defer = original
    ids = list(
        Delivery.objects.filter(notification=notification, channel__in=["sms", "email"])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return notification.pk, ids


def send_code(queue_name: str, user: User, key: str, code: str) -> int:
    """One committed SMS (the mobile verification code event); returns its delivery id."""
    _notification, (delivery_id,) = send_on_queue(
        queue_name,
        recipient=user,
        event="account.mobile_code",
        context={"code": code},
        idempotency_key=key,
    )
    return delivery_id


def jobs_of(delivery_ids: list[int]) -> list[tuple]:
    """(id, status, attempts, worker_id, queue_name) of the deliver jobs of these deliveries."""
    return _sql(
        "SELECT id, status, attempts, worker_id, queue_name FROM procrastinate_jobs "
        "WHERE task_name = 'notifications.deliver' AND (args->>'delivery_id')::bigint = ANY(%s) "
        "ORDER BY id",
        [list(delivery_ids)],
    )


def sms_to(mobile: str) -> list[str]:
    return list(SmsMessage.objects.filter(to=mobile).order_by("id").values_list("body", flat=True))


class Worker:
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_started(self) -> "Worker":
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while "Starting worker on" not in self.log:
            if self.process.poll() is not None:
                pytest.fail(f"worker exited with {self.process.returncode}:\n{self.log[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker did not start in {WORKER_START_TIMEOUT}s:\n{self.log[-4000:]}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no chance to mark its job."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(committed, tmp_path, django_db_blocker):
    """start_worker(queue, name, **env) -> a running `manage.py procrastinate worker`."""
    from django.conf import settings

    workers: list[Worker] = []
    base_env = dict(os.environ)
    base_env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    base_env.update(
        DATABASE_URL=_database_url(settings.DATABASES["default"]),
        DB_CONN_MAX_AGE="0",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        SMS_BACKEND="notifications.backends.sms.ConsoleSmsBackend",
    )
    base_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def start(queue_name: str, name: str, *, concurrency: int = 1, **env: str) -> Worker:
        log_path = tmp_path / f"{name}.log"
        log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "procrastinate",
                "worker",
                "--name",
                name,
                "--queues",
                queue_name,
                "--concurrency",
                str(concurrency),
                "--fetch-job-polling-interval",
                "1",
            ],
            cwd=ROOT,
            env={**base_env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole
        )
        log.close()
        worker = Worker(process, log_path)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    with django_db_blocker.unblock():
        connections.close_all()


def wait_for(predicate, *, timeout: float = 20, what: str = "", workers=()) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.log_path.name}\n{w.log[-3000:]}" for w in workers)
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs}")
        time.sleep(0.05)


def statuses(delivery_ids: list[int]) -> Counter:
    return Counter(Delivery.objects.filter(pk__in=delivery_ids).values_list("status", flat=True))


# --- the rendering job --------------------------------------------------------------------------


def test_worker_renders_a_committed_notification_then_sends_it_once(
    committed, queue, make_users, start_worker
):
    """The whole path through the real worker: notification_send records the event and defers
    the rendering job; the worker renders, writes the delivery and queues its sending on the
    same queue, then sends it once. Running the rendering job again adds nothing."""
    (user,) = make_users(1)
    original = tasks.render.defer
    tasks.render.defer = tasks.render.configure(queue=queue).defer
    try:
        with committed():
            notification = notification_send(
                recipient=user,
                event="account.mobile_code",
                context={"code": "444444"},
                idempotency_key=f"{queue}-render",
            )
            assert not Delivery.objects.filter(notification=notification).exists()
            assert notification.rendered_at is None and "444444" not in str(notification.context)
    finally:
        tasks.render.defer = original
    worker = start_worker(queue, "render").wait_started()
    with committed():

        def sent() -> bool:
            return set(
                Delivery.objects.filter(notification=notification).values_list("status", flat=True)
            ) == {"sent"}

        wait_for(sent, what="the rendered code to be sent", workers=[worker])
        assert sms_to(user.mobile) == ["Muamalat verification code: 444444"]
        notification.refresh_from_db()
        assert notification.rendered_at and notification.context == {}
        notification_render(notification_id=notification.pk)  # a re-run: nothing more
        assert Delivery.objects.filter(notification=notification).count() == 1
        worker.stop()
        assert sms_to(user.mobile) == ["Muamalat verification code: 444444"]
        tasks_run = _sql(
            "SELECT task_name, status FROM procrastinate_jobs WHERE queue_name = %s ORDER BY id",
            [queue],
        )
        assert tasks_run == [
            ("notifications.render", "succeeded"),
            ("notifications.deliver", "succeeded"),
        ]


# --- a) rolled back: never runs ---------------------------------------------------------------


def test_job_deferred_in_a_rolled_back_transaction_never_runs(
    committed, queue, make_users, start_worker
):
    rolled_back_user, sentinel_user = make_users(2)
    with committed():
        with pytest.raises(Rollback), transaction.atomic():
            delivery_id = send_code(queue, rolled_back_user, f"{queue}-rolled-back", "111111")
            # Inside the transaction the job row exists, like the delivery it belongs to.
            assert [job[1] for job in jobs_of([delivery_id])] == ["todo"]
            raise Rollback
        assert jobs_of([delivery_id]) == []
        assert not Delivery.objects.filter(pk=delivery_id).exists()
        assert not _sql("SELECT 1 FROM procrastinate_jobs WHERE queue_name = %s", [queue])
        # Committed after it: when this one is sent, the worker has been through the queue.
        sentinel_id = send_code(queue, sentinel_user, f"{queue}-sentinel", "222222")

    worker = start_worker(queue, "rollback").wait_started()
    with committed():
        wait_for(
            lambda: statuses([sentinel_id]) == {"sent": 1},
            what="the committed sentinel to be sent",
            workers=[worker],
        )
        assert sms_to(rolled_back_user.mobile) == []
        assert sms_to(sentinel_user.mobile) == ["Muamalat verification code: 222222"]
        wait_for(
            lambda: [job[1] for job in jobs_of([sentinel_id])] == ["succeeded"],
            what="the sentinel's job to be marked succeeded",
            workers=[worker],
        )
        # the one job the worker ran on this queue was the sentinel's
        jobs_on_queue = _sql(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s", [queue]
        )
        assert jobs_on_queue == [(1,)]


# --- b) committed: sent ---------------------------------------------------------------------


def test_committed_notification_is_sent_by_the_worker_once_even_if_deferred_again(
    committed, queue, make_users, start_worker, other_workers
):
    (user,) = make_users(1)
    with committed(), transaction.atomic():
        _notification_id, delivery_ids = send_on_queue(
            queue, recipient=user, event="account.welcome", idempotency_key=f"{queue}-welcome"
        )
    assert len(delivery_ids) == 2  # email and SMS (in-app needs no job)

    worker = start_worker(queue, "committed").wait_started()
    with committed():
        wait_for(
            lambda: statuses(delivery_ids) == {"sent": 2},
            timeout=20,
            what="the email and SMS deliveries to be sent",
            workers=[worker],
        )
        email, sms = (
            Delivery.objects.get(pk=delivery_ids[0]),
            Delivery.objects.get(pk=delivery_ids[1]),
        )
        assert (email.channel, sms.channel) == ("email", "sms")
        assert len(sms_to(user.mobile)) == 1
        assert sms.provider_message_id.startswith("local-")
        assert (email.attempts, sms.attempts) == (1, 1)
        wait_for(
            lambda: {job[1] for job in jobs_of(delivery_ids)} == {"succeeded"},
            what="the jobs to be marked succeeded",
            workers=[worker],
        )
    # The console email backend wrote the message to the worker's output, once.
    emails_in_log = worker.log.count(f"To: {user.email}")
    if not other_workers:
        assert emails_in_log == 1, worker.log[-3000:]

    # The idempotency guard: the same deliveries deferred again are left alone.
    with committed(), transaction.atomic():
        for delivery_id in delivery_ids:
            tasks.deliver.configure(queue=queue).defer(delivery_id=delivery_id)
    with committed():
        wait_for(
            lambda: [job[1] for job in jobs_of(delivery_ids)] == ["succeeded"] * 4,
            what="the repeated jobs to run",
            workers=[worker],
        )
        assert len(sms_to(user.mobile)) == 1
        assert set(
            Delivery.objects.filter(pk__in=delivery_ids).values_list("status", "attempts")
        ) == {("sent", 1)}
    assert worker.log.count(f"To: {user.email}") == emails_in_log


# --- c) killed mid-job: retried, sent exactly once -------------------------------------------


@pytest.mark.parametrize(
    ("phase", "slow_env"),
    [
        # killed while calling the provider: delivery committed as "sending", nothing sent yet
        ("before_send", {"SLOW_SMS_BEFORE": "60"}),
        # killed after the message was sent and the delivery committed as "sent", before the
        # job was marked succeeded: the re-run must not send again (the idempotency guard)
        ("after_sent", {"SLOW_SMS_AFTER_SENT": "60"}),
    ],
)
def test_worker_killed_mid_job_the_stalled_job_is_retried_and_sent_exactly_once(
    committed, queue, make_users, start_worker, other_workers, phase, slow_env
):
    if other_workers:
        pytest.skip(
            f"{other_workers} other job worker(s) alive (tests/e2e's live_url keeps one, on all "
            "queues, until the session ends): the worker to kill could not own the job"
        )
    (user,) = make_users(1)
    with committed(), transaction.atomic():
        delivery_id = send_code(queue, user, f"{queue}-code", "333333")

    first = start_worker(queue, f"doomed-{phase}", SMS_BACKEND=SLOW_BACKEND, **slow_env)
    first.wait_started()
    stuck_status = "sending" if phase == "before_send" else "sent"
    with committed():
        wait_for(
            lambda: (
                statuses([delivery_id]) == {stuck_status: 1}
                and [job[1] for job in jobs_of([delivery_id])] == ["doing"]
            ),
            what=f"the job to be in flight with the delivery {stuck_status}",
            workers=[first],
        )
    first.kill()

    with committed():
        ((job_id, status, attempts, worker_id, _queue),) = jobs_of([delivery_id])
        # Nobody will finish it: the job stays "doing" with the dead worker's id.
        assert (status, attempts) == ("doing", 0)
        assert worker_id is not None
        delivery = Delivery.objects.get(pk=delivery_id)
        assert (delivery.status, delivery.attempts) == (stuck_status, 1)
        assert len(sms_to(user.mobile)) == (0 if phase == "before_send" else 1)
        # Time passes: the dead worker's last heartbeat is now older than the stalled threshold
        # (30 s) that retry_stalled_jobs uses.
        _sql(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '5 minutes' "
            "WHERE id = %s",
            [worker_id],
        )
        # The periodic task, run now on this test's queue by the next worker.
        with transaction.atomic():
            tasks.retry_stalled_jobs.configure(
                queue=queue, queueing_lock=f"retry_stalled-{queue}"
            ).defer(timestamp=int(time.time()))

    second = start_worker(queue, f"rescuer-{phase}").wait_started()
    with committed():
        wait_for(
            lambda: [job[1] for job in jobs_of([delivery_id])] == ["succeeded"],
            what="the stalled job to be retried and succeed",
            workers=[first, second],
        )
        assert f"retrying stalled job {job_id}" in second.log
        ((_id, _status, attempts, _worker, _queue),) = jobs_of([delivery_id])
        # procrastinate counted two runs: the lost one (at the retry) and the one that finished
        assert attempts == 2
        delivery = Delivery.objects.get(pk=delivery_id)
        assert delivery.status == "sent"
        assert sms_to(user.mobile) == ["Muamalat verification code: 333333"]
        # before_send: the re-run sent it (second attempt); after_sent: the guard left it alone.
        assert delivery.attempts == (2 if phase == "before_send" else 1)


# --- d) two workers, 50 deliveries ----------------------------------------------------------


def test_two_workers_send_each_of_50_messages_exactly_once(
    committed, queue, make_users, start_worker, other_workers
):
    users = make_users(5)
    # Both workers are listening before the jobs exist, and each send takes a little time, so
    # they compete for the same jobs.
    workers = [
        start_worker(
            queue, f"pair-{n}", concurrency=4, SMS_BACKEND=SLOW_BACKEND, SLOW_SMS_EACH="0.05"
        )
        for n in (1, 2)
    ]
    for worker in workers:
        worker.wait_started()

    expected: list[tuple[str, str]] = []
    with committed(), transaction.atomic():
        delivery_ids = []
        for n in range(50):
            user = users[n % len(users)]
            code = f"{n:06d}"
            delivery_ids.append(send_code(queue, user, f"{queue}-{n}", code))
            expected.append((user.mobile, f"Muamalat verification code: {code}"))
    assert len(set(delivery_ids)) == 50

    with committed():
        wait_for(
            lambda: statuses(delivery_ids) == {"sent": 50},
            timeout=20,
            what="all 50 deliveries to be sent",
            workers=workers,
        )
        sent = list(
            SmsMessage.objects.filter(to__in=[u.mobile for u in users]).values_list("to", "body")
        )
        duplicates = [item for item, count in Counter(sent).items() if count > 1]
        assert duplicates == []
        assert sorted(sent) == sorted(expected)
        assert set(
            Delivery.objects.filter(pk__in=delivery_ids).values_list("attempts", flat=True)
        ) == {1}
        wait_for(
            lambda: {job[1] for job in jobs_of(delivery_ids)} == {"succeeded"},
            what="every job to be marked succeeded",
            workers=workers,
        )
        job_ids = {job[0] for job in jobs_of(delivery_ids)}
        assert len(job_ids) == 50

    # Each job started in exactly one worker, and both workers took a share.
    started = [
        {job_id for job_id in job_ids if f"notifications.deliver[{job_id}](" in worker.log}
        for worker in workers
    ]
    print(f"\n[worker] jobs run per worker: {[len(s) for s in started]}")
    assert started[0] & started[1] == set()
    if not other_workers:  # otherwise a worker of another process may have run some
        assert started[0] | started[1] == job_ids
        assert started[0] and started[1], [len(s) for s in started]


def test_worker_logs_hold_no_reset_link(committed, queue, start_worker, make_users, tmp_path):
    """A password reset sent by the real worker logging at DEBUG: procrastinate writes each
    job's arguments to its log, so they must hold only the outbox row's id; the link is only in
    the email delivered."""
    import re

    from allauth.account.models import EmailAddress
    from django.test import Client
    from django.urls import reverse

    from notifications.models import AccountEmail

    (user,) = make_users(1)
    delivered = tmp_path / "emails.txt"
    original = tasks.send_account_email.defer
    tasks.send_account_email.defer = tasks.send_account_email.configure(queue=queue).defer
    try:
        with committed():
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
            response = Client().post(reverse("account_reset_password"), {"email": user.email})
            assert response.status_code == 302
            email_id = AccountEmail.objects.get(to=[user.email]).pk
        worker = start_worker(
            queue,
            "reset-mail",
            LOG_LEVEL="DEBUG",
            EMAIL_BACKEND="tests.notifications.file_email_backend.FileEmailBackend",
            TEST_EMAIL_FILE=str(delivered),
        ).wait_started()

        def sent() -> bool:
            with committed():
                return AccountEmail.objects.get(pk=email_id).status == "sent"

        wait_for(sent, what="the reset email", workers=[worker])
        link = re.search(r"/accounts/password/reset/key/([^/\s]+)/", delivered.read_text())
        assert link, delivered.read_text()
        worker.stop()
        log = worker.log
        assert f"email_id={email_id}" in log  # the job's arguments are logged ...
        assert link.group(1) not in log  # ... and hold no key
        with committed():
            args = _sql("SELECT args::text FROM procrastinate_jobs WHERE queue_name = %s", [queue])
            assert args and all(link.group(1) not in row[0] for row in args)
            assert link.group(1) not in AccountEmail.objects.get(pk=email_id).body
    finally:
        tasks.send_account_email.defer = original
        with committed():
            AccountEmail.objects.filter(to=[user.email]).delete()
            EmailAddress.objects.filter(user=user).delete()
