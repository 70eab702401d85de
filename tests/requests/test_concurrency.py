"""Concurrent submissions spread correctly (R-10): real transactions on real connections.

These tests cannot run in the per-test transaction of the ``db`` fixture: the submissions run
in 16 threads, each with its own database connection, and only see committed rows. So the
agency, its department, employees, type and beneficiaries are committed first (inside
``django_db_blocker.unblock()``, in a fresh agency with unique slug and emails), and every
thread closes its connection when its work is done. Nothing is cleaned up: the test database
is dropped at the end of the run. The deliveries the submissions scheduled are cancelled, so
later tests that run pending jobs do not find them.
"""

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context

from requests_app.constants import OPEN_STATUSES, Chooser, Priority, Status
from requests_app.models import Assignment, EmployeeProfile, Request
from requests_app.public.models import RequestIndex
from requests_app.services import distribution_rule_save, request_submit
from tenants.models import Agency
from tenants.services import agency_onboard, department_save
from tenants.staff.models import Membership
from tests.factories import make_beneficiary, make_employee, make_type, national_id

WORKERS = 16


CREATED: list[int] = []  # agencies these tests committed


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Autocommit access to the test database for this thread and, the blocker being
    process-wide, for the worker threads. Afterwards the procrastinate jobs deferred meanwhile
    are cancelled and the agencies created are deactivated, so later tests of the session
    (public catalogue, pending jobs) do not find them."""
    assert not connection.in_atomic_block
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
            (last_job,) = cursor.fetchone()
        try:
            yield
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE procrastinate_jobs SET status = 'cancelled' "
                    "WHERE id > %s AND status = 'todo'",
                    [last_job],
                )
            Agency.objects.filter(pk__in=CREATED).update(is_active=False)
            connections.close_all()


class Setup:
    """A fresh agency with one department of ``n`` employees, a type bound to it, and
    beneficiaries: all committed."""

    def __init__(self, *, chooser: str, employees: int = 5, beneficiaries: int = 10):
        tag = uuid.uuid4().hex[:8]
        self.tag = tag
        self.agency = agency_onboard(
            slug=f"conc-{tag}",
            name_ar="جهة التزامن",
            name_en="Concurrency Agency",
            code=f"C{tag[:6].upper()}",
            admin_email=f"admin-{tag}@conc.example",
        )
        CREATED.append(self.agency.pk)
        connection.set_schema_to_public()
        self.admin = make_employee(self.agency, roles=("admin",), email=f"boss-{tag}@conc.example")
        with schema_context(self.agency.schema_name):
            self.department = department_save(
                actor=self.admin, name_ar="قسم الطلبات", name_en="Requests"
            )
            self.rule = distribution_rule_save(
                actor=self.admin,
                data={"name_ar": "قاعدة", "name_en": f"Concurrent {chooser}", "chooser": chooser},
            )
        self.members: list[Membership] = []
        for i in range(employees):
            user = make_employee(self.agency, email=f"staff{i}-{tag}@conc.example")
            with schema_context(self.agency.schema_name):
                membership = Membership.objects.get(user_id=user.pk)
                membership.department = self.department
                membership.save(update_fields=["department"])
            self.members.append(membership)
        self.type = make_type(
            self.agency, actor=self.admin, department=self.department, rule=self.rule
        )
        seed = random.randrange(60_000_000, 99_000_000)
        self.beneficiaries = [
            make_beneficiary(
                email=f"person{i}-{tag}@conc.example",
                identity_number=national_id(seed + i),
                mobile=f"+96658{(seed + i) % 10_000_000:07d}",
            )
            for i in range(beneficiaries)
        ]
        connection.set_schema_to_public()
        assert not connection.in_atomic_block  # all of the above is committed

    def submit_concurrently(self, n: int) -> tuple[list[tuple], float, int]:
        """``n`` submissions from ``WORKERS`` threads (each takes every WORKERS-th one, on its
        own connection, closed when its share is done); returns results, seconds and the most
        submissions seen in flight at once."""
        lock = threading.Lock()
        in_flight = 0
        peak = 0
        start = threading.Barrier(WORKERS)

        def submit(i: int):
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            try:
                item = request_submit(
                    agency=self.agency,
                    beneficiary=self.beneficiaries[i % len(self.beneficiaries)],
                    transaction_type_id=self.type.pk,
                    subject=f"طلب متزامن {i}",
                    description="وصف",
                )
            finally:
                with lock:
                    in_flight -= 1
            return item.pk, item.reference, item.assignee_id

        def share(first: int) -> list[tuple]:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    (pid,) = cursor.fetchone()
                start.wait(timeout=30)  # every thread connected: all leave together
                return [(*submit(i), pid) for i in range(first, n, WORKERS)]
            finally:
                connections.close_all()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            shares = list(pool.map(share, range(WORKERS)))
        seconds = time.perf_counter() - started
        results = sorted((row for rows in shares for row in rows), key=lambda row: row[1])
        assert len({row[3] for row in results}) == WORKERS, "each thread its own connection"
        return results, seconds, peak

    def open_counts(self) -> dict[int, int]:
        with schema_context(self.agency.schema_name):
            counts = Counter(
                Request.objects.filter(status__in=OPEN_STATUSES).values_list(
                    "assignee_id", flat=True
                )
            )
        return {m.pk: counts.get(m.pk, 0) for m in self.members}


def _thread_pid() -> tuple[int, int]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return threading.get_ident(), cursor.fetchone()[0]
    finally:
        connections.close_all()


def test_threads_query_on_their_own_connections(committed):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (main_pid,) = cursor.fetchone()
    barrier = threading.Barrier(4)

    def probe(_):
        barrier.wait(timeout=10)  # four threads at once: four connections at once
        return _thread_pid()

    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = list(pool.map(probe, range(4)))
    assert len({ident for ident, _pid in seen}) == 4
    pids = {pid for _ident, pid in seen}
    assert len(pids) == 4 and main_pid not in pids


def _check_references(setup: Setup, results, n: int):
    year = timezone.localdate().year
    prefix = f"{setup.agency.code}-{year}-"
    references = [reference for _pk, reference, _assignee, _pid in results]
    assert all(r.startswith(prefix) for r in references), references[:3]
    numbers = sorted(int(r.removeprefix(prefix)) for r in references)
    assert numbers == list(range(1, n + 1)), "references must be unique and gapless"
    assert len(set(references)) == n


def _check_assignments(setup: Setup, results, n: int):
    with schema_context(setup.agency.schema_name):
        rows = dict(Request.objects.values_list("pk", "assignee_id"))
        assignments = list(Assignment.objects.values_list("request_id", "assignee_id"))
        index = dict(
            RequestIndex.objects.filter(agency=setup.agency).values_list(
                "request_id", "assignee_user_id"
            )
        )
        user_of = dict(Membership.objects.values_list("pk", "user_id"))
    submitted = {pk: assignee for pk, _ref, assignee, _pid in results}
    assert len(submitted) == n
    # What each submission returned is what was committed.
    assert {pk: rows[pk] for pk in submitted} == submitted
    # Exactly one Assignment per request, with an assignee, the request's own.
    per_request = Counter(request_id for request_id, _assignee in assignments)
    assert set(per_request) == set(submitted)
    assert set(per_request.values()) == {1}, "a request was assigned twice"
    assert all(assignee is not None for _r, assignee in assignments)
    assert dict(assignments) == submitted
    # The public index says the same.
    assert {pk: index[pk] for pk in submitted} == {
        pk: user_of[assignee] for pk, assignee in submitted.items()
    }


def test_200_concurrent_submissions_round_robin_40_each(committed):
    n = 200
    setup = Setup(chooser=Chooser.ROUND_ROBIN)
    results, seconds, peak = setup.submit_concurrently(n)
    per_employee = Counter(assignee for _pk, _ref, assignee, _pid in results)
    print(
        f"\n[concurrency] round robin: {n} submissions, {WORKERS} threads, {seconds:.2f}s "
        f"({n / seconds:.0f}/s), peak {peak} in flight, "
        f"{len({pid for *_rest, pid in results})} backends; per employee "
        f"{sorted(per_employee.values())}"
    )
    assert peak > 1, "the submissions did not overlap"
    assert set(per_employee) == {m.pk for m in setup.members}
    assert all(abs(count - n // 5) <= 1 for count in per_employee.values()), per_employee
    _check_assignments(setup, results, n)
    _check_references(setup, results, n)
    # Numbered and assigned under the same locks, in the same order: in reference order the
    # assignees are a perfect rotation.
    in_order = [assignee for _pk, _ref, assignee, _pid in sorted(results, key=lambda r: r[1])]
    assert len(set(in_order[:5])) == 5
    assert in_order == in_order[:5] * (n // 5)
    with schema_context(setup.agency.schema_name):
        totals = dict(EmployeeProfile.objects.values_list("membership_id", "assigned_total"))
        stamps = list(
            EmployeeProfile.objects.order_by("last_assigned_at").values_list(
                "last_assigned_at", flat=True
            )
        )
    assert totals == {m.pk: per_employee[m.pk] for m in setup.members}
    assert len(set(stamps)) == len(stamps), "round robin stamps must be a strict order"


def test_100_concurrent_submissions_least_load_even_out(committed):
    n = 100
    setup = Setup(chooser=Chooser.LEAST_LOAD)
    preload = [0, 4, 8, 12, 16]
    with schema_context(setup.agency.schema_name):
        Request.objects.bulk_create(
            Request(
                reference=f"PRE-{setup.tag}-{member.pk}-{k}",
                transaction_type=setup.type,
                beneficiary=setup.beneficiaries[0],
                subject="حمل سابق",
                description="حمل سابق",
                priority=Priority.NORMAL,
                status=Status.IN_PROGRESS,
                department=setup.department,
                assignee=member,
            )
            for member, load in zip(setup.members, preload, strict=True)
            for k in range(load)
        )
    before = setup.open_counts()
    assert sorted(before.values()) == preload
    results, seconds, peak = setup.submit_concurrently(n)
    after = setup.open_counts()
    gained = {pk: after[pk] - before[pk] for pk in after}
    print(
        f"\n[concurrency] least load: {n} submissions, {WORKERS} threads, {seconds:.2f}s "
        f"({n / seconds:.0f}/s), peak {peak} in flight; open before {sorted(before.values())}, "
        f"after {sorted(after.values())}, gained {sorted(gained.values())}"
    )
    assert peak > 1, "the submissions did not overlap"
    assert sum(after.values()) == sum(preload) + n
    assert max(after.values()) - min(after.values()) <= 1, after
    # The most loaded employee received the least.
    most_loaded = setup.members[-1].pk
    assert gained[most_loaded] == min(gained.values())
    _check_assignments(setup, results, n)
    _check_references(setup, results, n)


def test_engine_alone_serialises_on_its_row_locks(committed):
    """The engine's own locks, without the reference counter's: each thread creates its
    request with a reference of its own (no shared counter row) and runs the engine; only the
    candidates' profile locks stand between concurrent least-load choices."""
    from django.db import transaction

    from requests_app.services import distribution_assign

    n = 100
    setup = Setup(chooser=Chooser.LEAST_LOAD, beneficiaries=1)
    lock = threading.Lock()
    in_flight = peak = 0

    def assign(i: int):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            with schema_context(setup.agency.schema_name), transaction.atomic():
                item = Request.objects.create(
                    reference=f"ENG-{setup.tag}-{i}",
                    transaction_type=setup.type,
                    beneficiary=setup.beneficiaries[0],
                    subject="s",
                    description="d",
                    priority=Priority.NORMAL,
                    department=setup.department,
                )
                assignee, decision = distribution_assign(request=item)
                Assignment.objects.create(request=item, assignee=assignee, decision=decision)
                item.assignee = assignee
                item.save(update_fields=["assignee"])
                return item.pk, item.reference, assignee.pk if assignee else None, 0
        finally:
            with lock:
                in_flight -= 1
            connections.close_all()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(assign, range(n)))
    seconds = time.perf_counter() - started
    counts = setup.open_counts()
    print(
        f"\n[concurrency] engine alone, least load: {n} assignments, {WORKERS} threads, "
        f"{seconds:.2f}s ({n / seconds:.0f}/s), peak {peak} in flight; open {counts}"
    )
    assert peak > 1
    assert sorted(counts.values()) == [n // 5] * 5, counts
    _check_assignments_engine(setup, results, n)


def _check_assignments_engine(setup: Setup, results, n: int):
    with schema_context(setup.agency.schema_name):
        assignments = list(Assignment.objects.values_list("request_id", "assignee_id"))
    per_request = Counter(request_id for request_id, _assignee in assignments)
    assert len(per_request) == n and set(per_request.values()) == {1}
    assert dict(assignments) == {pk: assignee for pk, _ref, assignee, _pid in results}
