"""Request benchmarks (issue 4): they print figures (lines starting with "BENCH") and are not
part of the CI pass/fail.

    .venv/bin/python infra/run.py bench -- -k requests -v -s

a) submissions per second end-to-end over HTTP: CLIENTS concurrent clients (threads with httpx,
   each logged in as its own beneficiary) POST /requests/new/<slug>/ and then confirm on its
   "check your answers" page (issue 12: one submission is these two POSTs) to a real daphne server
   (subprocess on the bench test database) for SECONDS; then the same server's rate for trivial
   pages (GET /healthz, GET /) as the ceiling.
b) the workspace queue page (/a/<slug>/requests/) with 10,000 requests in the agency, in process
   (django.test.Client): p50/p95 and query count, as an admin (scope=all) and as one employee.
c) "My requests" (/requests/) for a beneficiary with 200 requests across 50 real agencies (plus a
   few thousand index rows of other people), in process.

Everything is committed (``committed_db``) in the bench test database, dropped at the end.
Settings: BENCH_REQUEST_CLIENTS (16), BENCH_REQUEST_SECONDS (15), BENCH_PAGE_GETS (50),
REDIS_URL (redis://127.0.0.1:6379/0, used by the server when reachable).
"""

import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from requests_app.constants import Category, Priority, Status
from requests_app.models import Request
from requests_app.public.models import RequestIndex
from requests_app.search import normalize
from tenants.models import Agency
from tenants.services import agency_onboard, department_save
from tenants.staff.models import Membership
from tests.bench.helpers import bench, load, pct
from tests.e2e.conftest import _database_url
from tests.factories import PNG_BYTES, make_beneficiary, make_employee, make_type, national_id

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = int(os.environ.get("BENCH_REQUEST_CLIENTS", "16"))
SECONDS = float(os.environ.get("BENCH_REQUEST_SECONDS", "15"))
CEILING_SECONDS = min(SECONDS, 10.0)
GETS = int(os.environ.get("BENCH_PAGE_GETS", "50"))
WARMUP = 5
QUEUE_ROWS = 10_000
QUEUE_EMPLOYEES = 10
MINE_AGENCIES = 50
MINE_ROWS = 200
OTHER_INDEX_ROWS = 4_000
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
START_TIMEOUT = 60
# National ids of this file's people: 10-29 million (other benchmarks use 30 million and up,
# the browser tests 5-9 million); no mobiles, so the unique mobile never clashes.
_ids = iter(range(10_000_000 + random.randrange(10_000_000), 30_000_000))


# --- helpers -----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def people(count: int, tag: str) -> list[User]:
    users = []
    for _ in range(count):
        n = next(_ids)
        users.append(
            make_beneficiary(
                email=f"bench-req-{tag}-{n}@example.sa",
                identity_number=national_id(n),
                mobile=None,
                preferred_language="ar",
            )
        )
    return users


def onboard(slug: str, code: str) -> Agency:
    agency = Agency.objects.filter(slug=slug).first() or agency_onboard(
        slug=slug,
        name_ar=f"جهة {slug}",
        name_en=f"Agency {slug}",
        code=code,
        admin_email=f"admin@{slug}.example",
    )
    connection.set_schema_to_public()
    return agency


def staffed_agency(slug: str, code: str, employees: int) -> dict:
    """An agency with a department of ``employees`` employees (role employee), an admin outside
    it, and one catalogue service bound to the department."""
    agency = onboard(slug, code)
    admin = make_employee(agency, roles=("admin",), email=f"bench-admin@{slug}.example")
    staff = [
        make_employee(agency, roles=("employee",), email=f"bench-staff{i}@{slug}.example")
        for i in range(employees)
    ]
    with schema_context(agency.schema_name):
        department = department_save(actor=admin, name_ar="قسم الخدمات", name_en="Services")
        Membership.objects.filter(user_id__in=[u.pk for u in staff]).update(department=department)
        memberships = list(Membership.objects.filter(user_id__in=[u.pk for u in staff]))
    service = make_type(
        agency, actor=admin, department=department, name_ar="شهادة خبرة", name_en="Certificate"
    )
    connection.set_schema_to_public()
    return {
        "agency": agency,
        "admin": admin,
        "staff": staff,
        "memberships": memberships,
        "department": department,
        "type": service,
    }


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def time_gets(client: Client, url: str, gets: int = GETS) -> tuple[list[float], list[int], int]:
    """Warm up, then time ``gets`` GETs; the query count of every GET is captured too."""
    for _ in range(WARMUP):
        assert client.get(url).status_code == 200, url
    durations, queries = [], []
    size = 0
    for _ in range(gets):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            durations.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        queries.append(len(captured.captured_queries))
        size = len(response.content)
        connection.set_schema_to_public()
    show_queries(url, captured)
    return durations, queries, size


def show_queries(label: str, captured: CaptureQueriesContext) -> None:
    """With BENCH_SHOW_QUERIES=1, print the SQL of one request (to see what the count is)."""
    if not os.environ.get("BENCH_SHOW_QUERIES"):
        return
    print(f"\nBENCH-SQL {label}: {len(captured.captured_queries)} queries")
    for query in captured.captured_queries:
        print(f"BENCH-SQL   {query['time']}s {query['sql'][:220]}")


def page_line(label: str, durations: list[float], queries: list[int], size: int) -> str:
    counts = sorted(set(queries))
    constant = "constant" if len(counts) == 1 else f"VARIES {counts}"
    line = (
        f"{label}: p50 {ms(statistics.median(durations))}, p95 {ms(pct(durations, 0.95))}, "
        f"max {ms(max(durations))}; {queries[0]} queries ({constant})"
    )
    return line + (f"; {size // 1024} KiB" if size else "")


def explain_slowest(client: Client, url: str, agency: Agency) -> None:
    """EXPLAIN ANALYZE of the slowest query of one GET (with BENCH_SHOW_QUERIES=1)."""
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    connection.set_schema_to_public()
    slowest = max(captured.captured_queries, key=lambda query: float(query["time"]))
    with schema_context(agency.schema_name), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
        plan = [line for (line,) in cursor.fetchall()]
    connection.set_schema_to_public()
    print(f"\nBENCH-SQL slowest query of {url} ({slowest['time']}s):\n{slowest['sql']}")
    for line in plan:
        print(f"BENCH-SQL   {line}")


# --- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_reachable(url: str) -> bool:
    match = re.match(r"redis://([^:/]+):?(\d+)?", url)
    if not match:
        return False
    try:
        with socket.create_connection((match[1], int(match[2] or 6379)), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:
    """In the child: be killed when the benchmark process dies (no orphaned server)."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextmanager
def daphne_server(log_path: Path):
    """daphne (one process, as `make run` has it) on the bench test database."""
    db = settings.DATABASES["default"]
    assert db.get("TEST", {}).get("NAME") == db["NAME"] or db["NAME"].startswith(
        ("test_", "bench_")
    ), f"refusing to serve {db['NAME']!r}"
    port = _free_port()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        DATABASE_URL=_database_url(db),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"http://127.0.0.1:{port}",
        DB_CONN_MAX_AGE="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if _redis_reachable(REDIS_URL):
        env["REDIS_URL"] = REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            + ["portal.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert server.poll() is None, "daphne exited:\n" + log_path.read_text()[-3000:]
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                assert time.monotonic() < deadline, "daphne did not start:\n" + log_path.read_text()
                time.sleep(0.2)
            yield base, ("redis" if "REDIS_URL" in env else "in-memory")
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=5)


def run_clients(work, count: int, seconds: float) -> dict:
    """``count`` threads; each runs ``work.setup(index)``, then all start together and call
    ``work.loop(state, stop)`` until ``stop`` is set, ``seconds`` later. The elapsed time runs
    from the start until the last in-flight call has returned."""
    barrier = threading.Barrier(count + 1)
    stop = threading.Event()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def thread_main(index: int) -> None:
        try:
            state = work.setup(index)
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(f"setup: {exc!r}")
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            work.teardown(state)
            return
        try:
            mine, bad = work.loop(state, stop)
        finally:
            work.teardown(state)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=thread_main, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        stop.set()
        for thread in threads:
            thread.join(30)
        pytest.fail(f"clients could not start: {errors[:3]}")
    started = time.perf_counter()
    try:
        time.sleep(seconds)
    finally:
        stop.set()
    for thread in threads:
        thread.join(120)
    elapsed = time.perf_counter() - started
    assert not any(thread.is_alive() for thread in threads), "a client did not stop"
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


def rate_line(label: str, result: dict) -> str:
    latencies, elapsed = result["latencies"], result["elapsed"]
    if not latencies:
        return f"{label}: nothing succeeded; errors {result['errors'][:3]}"
    return (
        f"{label}: {len(latencies)} in {elapsed:.1f} s = {len(latencies) / elapsed:.1f}/s; "
        f"p50 {ms(statistics.median(latencies))}, p95 {ms(pct(latencies, 0.95))}, "
        f"max {ms(max(latencies))}; errors {len(result['errors'])}"
    )


class Submitter:
    """One beneficiary per thread: GET the form (CSRF token), then POST until told to stop.
    Thread ``i`` submits to ``targets[i % len(targets)]`` (agency slug, type id)."""

    def __init__(self, base: str, targets: list[tuple[str, int]], cookies: list[str], attach):
        self.base, self.targets, self.cookies, self.attach = base, targets, cookies, attach

    def setup(self, index: int):
        slug, type_id = self.targets[index % len(self.targets)]
        http = httpx.Client(
            base_url=self.base,
            cookies={settings.SESSION_COOKIE_NAME: self.cookies[index]},
            timeout=60,
            follow_redirects=False,
        )
        form = http.get(f"/requests/new/{slug}/?type={type_id}")
        assert form.status_code == 200, form.status_code
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token and http.cookies.get(settings.CSRF_COOKIE_NAME), "no CSRF token"
        return {"http": http, "token": token[1], "index": index, "slug": slug, "type": type_id}

    def loop(self, state, stop: threading.Event):
        http, latencies, errors, n = state["http"], [], [], 0
        slug = state["slug"]
        url = f"/requests/new/{slug}/"
        while not stop.is_set():
            n += 1
            data = {
                "csrfmiddlewaretoken": state["token"],
                "transaction_type": str(state["type"]),
                "subject": f"طلب أداء {state['index']}-{n}",
                "priority": Priority.NORMAL,
                "description": "وصف طلب لقياس الأداء: إصدار شهادة خبرة.",
            }
            files = {"attachments": ("scan.png", PNG_BYTES, "image/png")} if self.attach else None
            started = time.perf_counter()
            try:
                # The form (files stored first, the draft in the session), then the
                # confirmation on "check your answers", which submits (issue 12).
                response = http.post(url, data=data, files=files)
                if response.status_code == 302:
                    response = http.post(
                        response.headers["location"],
                        data={"csrfmiddlewaretoken": state["token"]},
                    )
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
                continue
            took = time.perf_counter() - started
            location = response.headers.get("location", "")
            if response.status_code == 302 and f"/requests/{slug}/" in location:
                latencies.append(took)
            else:
                errors.append(f"{response.status_code} {location or response.text[:200]}")
        return latencies, errors

    def teardown(self, state):
        state["http"].close()


class Getter:
    def __init__(self, base: str, path: str):
        self.base, self.path = base, path

    def setup(self, index: int):
        return httpx.Client(base_url=self.base, timeout=60)

    def loop(self, http, stop: threading.Event):
        latencies, errors = [], []
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = http.get(self.path)
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
                continue
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors.append(str(response.status_code))
        return latencies, errors

    def teardown(self, http):
        http.close()


# --- a) submissions per second over HTTP -------------------------------------------------------


def test_bench_requests_submissions_per_second_over_http(committed_db, tmp_path):
    setups = [staffed_agency("reqbench", "RQB", employees=5)]
    setups += [staffed_agency(f"reqbench{i}", f"RQB{i}", employees=5) for i in (2, 3, 4)]
    main = setups[0]
    agency, service = main["agency"], main["type"]
    one = [(agency.slug, service.pk)]
    four = [(s["agency"].slug, s["type"].pk) for s in setups]
    beneficiaries = people(CLIENTS, "http")
    cookies = [
        logged_in(user).cookies[settings.SESSION_COOKIE_NAME].value for user in beneficiaries
    ]
    connection.close()  # nothing of ours holds a lock while the server works

    load_before = load()
    with daphne_server(tmp_path / "daphne.log") as (base, layer):
        plain = run_clients(Submitter(base, one, cookies, attach=False), CLIENTS, SECONDS)
        attached = run_clients(Submitter(base, one, cookies, attach=True), CLIENTS, SECONDS)
        spread = run_clients(Submitter(base, four, cookies, attach=False), CLIENTS, SECONDS)
        healthz = run_clients(Getter(base, "/healthz"), CLIENTS, CEILING_SECONDS)
        home = run_clients(Getter(base, "/"), CLIENTS, CEILING_SECONDS)
    load_after = load()

    # The same POST in process, one at a time: the cost of the view and the service alone.
    client = logged_in(beneficiaries[0])
    url = f"/requests/new/{agency.slug}/"
    form = {
        "transaction_type": str(service.pk),
        "subject": "طلب أداء في العملية",
        "priority": Priority.NORMAL,
        "description": "وصف طلب لقياس الأداء.",
    }
    durations, queries = [], []
    for _ in range(GETS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post(url, form)
            assert response.status_code == 302, response.content[:500]
            response = client.post(response["Location"])  # check your answers: submit
            durations.append(time.perf_counter() - started)
        assert response.status_code == 302, response.content[:500]
        assert "/submitted/" in response["Location"]
        queries.append(len(captured.captured_queries))
        connection.set_schema_to_public()
    show_queries(f"POST {url}", captured)
    profiled = 0
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20):
            client.post(url, form)
            profiled += 1
        profiler.disable()
        connection.set_schema_to_public()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)

    made, unassigned, spreads = 0, 0, []
    for setup in setups:
        with schema_context(setup["agency"].schema_name):
            made += Request.objects.count()
            unassigned += Request.objects.filter(assignee__isnull=True).count()
            spreads.append(
                sorted(
                    n
                    for _assignee, n in Request.objects.values_list("assignee").annotate(
                        n=Count("id")
                    )
                )
            )
        connection.set_schema_to_public()
    indexed = RequestIndex.objects.filter(agency__in=[s["agency"] for s in setups]).count()
    succeeded = sum(len(r["latencies"]) for r in (plain, attached, spread))
    succeeded += len(durations) + profiled
    bench(
        f"requests.submit over HTTP: {CLIENTS} clients (httpx, threads), daphne (1 process, "
        f"channel layer {layer}), 5 employees per agency, round robin; {load_before} before, "
        f"{load_after} after",
        rate_line("POST /requests/new/, one agency (no attachment)", plain),
        rate_line("POST /requests/new/, one agency (one 67-byte PNG)", attached),
        rate_line("POST /requests/new/, 4 agencies x 4 clients (no attachment)", spread),
        rate_line("ceiling GET /healthz (DB + channel-layer round trip)", healthz),
        rate_line("ceiling GET / (anonymous home page)", home),
        page_line(f"in process, sequential POST x{GETS} (no HTTP)", durations, queries, 0)
        + f" = {len(durations) / sum(durations):.1f}/s on one thread",
        f"check: {made} requests for {succeeded} redirects, {indexed} index rows, "
        f"{unassigned} unassigned, per employee {spreads}",
    )
    for result in (plain, attached, spread, healthz, home):
        if result["errors"]:
            print(f"BENCH   first errors: {result['errors'][:3]}")
    assert made == succeeded == indexed
    assert unassigned == 0
    assert all(max(counts) - min(counts) <= 1 for counts in spreads), spreads


# --- b) the queue with 10,000 requests ---------------------------------------------------------


def test_bench_requests_queue_page_with_10000_requests(committed_db):
    setup = staffed_agency("reqqueue", "RQQ", employees=QUEUE_EMPLOYEES)
    agency, service, memberships = setup["agency"], setup["type"], setup["memberships"]
    beneficiaries = people(100, "queue")
    rng = random.Random(4)
    statuses = [Status.NEW, Status.IN_PROGRESS, Status.AWAITING_BENEFICIARY]
    statuses += [Status.CLOSED, Status.REJECTED]
    weights = [15, 25, 10, 40, 10]
    now = timezone.now()
    started = time.perf_counter()
    with schema_context(agency.schema_name):
        Request.objects.bulk_create(
            [
                Request(
                    reference=f"RQQ-2026-{i:06d}",
                    transaction_type=service,
                    beneficiary=beneficiaries[i % len(beneficiaries)],
                    subject=f"طلب رقم {i} بخصوص شهادة خبرة",
                    description="وصف الطلب",
                    priority=rng.choice(Priority.values),
                    status=rng.choices(statuses, weights)[0],
                    department=setup["department"],
                    assignee=memberships[i % QUEUE_EMPLOYEES],
                    due_at=now + timedelta(hours=rng.randrange(-200, 200)),
                )
                for i in range(1, QUEUE_ROWS + 1)
            ],
            batch_size=2_000,
        )
        with connection.cursor() as cursor:  # spread over a year, like a real queue
            cursor.execute(
                "UPDATE requests_app_request SET created_at = now() - id * interval '50 minutes', "
                "updated_at = now() - id * interval '20 minutes'"
            )
            cursor.execute(f"ANALYZE {Request._meta.db_table}")
        total = Request.objects.count()
    connection.set_schema_to_public()
    loaded = time.perf_counter() - started

    queue = f"/a/{agency.slug}/requests/"
    admin = logged_in(setup["admin"])
    employee = logged_in(setup["staff"][0])
    lines = [
        page_line(f"admin, scope=all ({total} rows)", *time_gets(admin, queue + "?scope=all")),
        page_line(
            "admin, scope=all, state=new, sort=due",
            *time_gets(admin, queue + "?scope=all&state=new&sort=due"),
        ),
        page_line(
            "admin, scope=all, search 'رقم 77'",
            *time_gets(admin, queue + "?scope=all&q=" + "رقم 77"),
        ),
        page_line(
            f"employee, own queue ({total // QUEUE_EMPLOYEES} rows)", *time_gets(employee, queue)
        ),
        page_line(
            "employee, page 10 of own queue", *time_gets(employee, queue + "?page=10&sort=oldest")
        ),
    ]
    if os.environ.get("BENCH_SHOW_QUERIES"):
        explain_slowest(admin, queue + "?scope=all", agency)
    bench(
        f"workspace queue /a/<slug>/requests/ with {total} requests (bulk-created in "
        f"{loaded:.1f} s), {GETS} GETs each, in process (django.test.Client); {load()}",
        *lines,
    )
    assert total == QUEUE_ROWS


# --- c) "My requests" with 200 requests across 50 agencies -------------------------------------


def test_bench_requests_my_requests_across_50_agencies(committed_db):
    started = time.perf_counter()
    agencies = []
    for i in range(MINE_AGENCIES):
        # A new PostgreSQL backend now and then: onboarding slows down on a backend that has
        # already cloned many schemas (see test_provisioning.py d).
        if i % 5 == 0:
            connection.close()
        agencies.append(onboard(f"reqmine{i:02d}", f"RM{i:02d}"))
    onboarded = time.perf_counter() - started
    person = people(1, "mine")[0]
    others = people(100, "mine-other")
    rng = random.Random(5)
    now = timezone.now()
    next_id = {agency.pk: 0 for agency in agencies}

    def row(agency: Agency, beneficiary: User) -> RequestIndex:
        next_id[agency.pk] += 1
        number = next_id[agency.pk]
        reference = f"{agency.code}-2026-{number:06d}"
        subject = f"طلب {number} إلى {agency.name_ar}"
        created = now - timedelta(minutes=rng.randrange(60 * 24 * 365))
        status = rng.choice(Status.values)
        return RequestIndex(
            agency=agency,
            request_id=number,
            reference=reference,
            beneficiary=beneficiary,
            type_id=1,
            type_name_ar="شهادة خبرة",
            type_name_en="Experience certificate",
            category=Category.TRANSACTION,
            subject=subject,
            status=status,
            priority=rng.choice(Priority.values),
            assignee_name_ar="موظف الخدمة",
            assignee_name_en="Service employee",
            created_at=created,
            updated_at=created,
            due_at=created + timedelta(hours=72),
            is_late=status in (Status.NEW, Status.IN_PROGRESS) and rng.random() < 0.2,
            search_text=normalize(
                f"{reference} {subject} شهادة خبرة Experience certificate "
                f"{agency.name_ar} {agency.name_en}"
            ),
        )

    rows = [row(agencies[i % MINE_AGENCIES], person) for i in range(MINE_ROWS)]
    rows += [row(rng.choice(agencies), rng.choice(others)) for _ in range(OTHER_INDEX_ROWS)]
    RequestIndex.objects.bulk_create(rows, batch_size=2_000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {RequestIndex._meta.db_table}")
    mine = RequestIndex.objects.filter(beneficiary=person)
    assert mine.count() == MINE_ROWS
    assert mine.values("agency").distinct().count() == MINE_AGENCIES

    client = logged_in(person)
    total = RequestIndex.objects.count()
    bench(
        f"my requests /requests/: one beneficiary with {MINE_ROWS} requests across "
        f"{MINE_AGENCIES} agencies ({MINE_AGENCIES} onboarded in {onboarded:.1f} s), "
        f"{total} index rows in all, {GETS} GETs each, in process; {load()}",
        page_line("first page (25 rows)", *time_gets(client, "/requests/")),
        page_line("page 8 (last)", *time_gets(client, "/requests/?page=8")),
        page_line("status=closed", *time_gets(client, "/requests/?status=closed")),
        page_line("search 'شهادة'", *time_gets(client, "/requests/?q=شهادة")),
        page_line("JSON API /api/requests/", *time_gets(client, "/api/requests/")),
    )
