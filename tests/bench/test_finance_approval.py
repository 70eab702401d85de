"""Approving vouchers in an agency with a large ledger (issue 14, R-41): one agency with
100,000 posted vouchers (500,000 ledger lines, built by the financial reports benchmark's
``INSERT ... SELECT generate_series``), a review chain of two role levels and final approval;
p50 / p95 / max of (a) ``voucher_approve`` at the middle level (level 2: one earlier approver
to exclude), (b) the same action posted through the real view with the Django test client
(a logged-in reviewer, CSRF checks on, the token taken from the voucher's page), (c) final
approval, which posts the voucher to the ledger (journal entry number, five ledger lines, the
ledger's triggers), through the service and through the view. Aim: p95 < 100 ms.

    .venv/bin/python infra/run.py bench -- -q -k finance_approval -s

The vouchers approved are entered, submitted and approved at level 1 through the real services
(not timed). Each has five lines like the ledger's (four debits, one credit). The query counts
printed are those of one approval (the same counts are asserted in CI by
tests/finance/test_review_queries.py, independent of the voucher's number of lines).
``BENCH_SHOW_QUERIES=1`` prints the SQL of one approval at each level; ``BENCH_PROFILE=1``
prints a cProfile of 50 middle-level approvals through the service.
"""

import cProfile
import io
import os
import pstats
import re
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import User
from finance.constants import VoucherStatus, VoucherType
from finance.models import Account, LedgerLine, NumberCounter, Voucher
from finance.models_review import ReviewStep
from finance.services import review, vouchers
from finance.services.numbers import LEDGER
from finance.services.review_config import LevelInput, review_chain_save
from tenants.services import agency_onboard
from tenants.staff.models import Department, Membership, Role
from tests.bench.helpers import bench, load, pct
from tests.bench.test_finance_reports import (
    VOUCHERS,
    _books,
    _generate,
    _owner_autocommit,
)
from tests.factories import make_beneficiary, make_employee

SAMPLES = int(os.environ.get("BENCH_APPROVAL_SAMPLES", "200"))
WARM = 5
PEOPLE_PER_LEVEL = 3
AIM_MS = 100


def _timings(label: str, timings: list[float], queries: int) -> str:
    flag = "" if pct(timings, 0.95) < AIM_MS else f"  ← over the {AIM_MS} ms aim"
    return (
        f"{label:<40} p50 {pct(timings, 0.5):6.1f} ms / p95 {pct(timings, 0.95):6.1f} ms / "
        f"max {max(timings):6.1f} ms ({len(timings)} samples, {queries} queries){flag}"
    )


def _role(codename: str, permission: str) -> Role:
    return Role.objects.create(
        codename=codename, name_ar=codename, name_en=codename, permissions=[permission]
    )


def _vouchers(maker: User, department: Department, accounts: list[Account], bank, count: int):
    """``count`` payment vouchers of ``maker`` with five lines, submitted and approved at
    level 1 (each by one of the level's reviewers in turn): waiting at level 2."""
    made = []
    for i in range(count):
        amounts = [Decimal(100 + (i * 37 + k * 11) % 900) + Decimal("0.25") for k in range(4)]
        lines = [
            {
                "account": accounts[(i + k) % len(accounts)],
                "debit": a,
                "credit": "",
                "description": "",
            }
            for k, a in enumerate(amounts)
        ]
        lines.append({"account": bank, "debit": "", "credit": sum(amounts), "description": ""})
        voucher = vouchers.voucher_create(
            by=maker,
            type=VoucherType.PAYMENT,
            date=date(2026, 1, 1) + timedelta(days=i % 365),
            department=department,
            counterparty="مؤسسة التوريد",
            description="شراء لوازم",
            lines=lines,
        )
        made.append(review.voucher_submit(voucher, by=maker))
    return made


def _approve_all(items, people, position):
    for i, voucher in enumerate(items):
        review.voucher_approve(voucher, by=people[i % len(people)], position=position)


def _service_run(items, people, position) -> tuple[list[float], int]:
    """Time ``voucher_approve`` on each voucher (approvers in turn); the queries of the first."""
    timings = []
    queries = 0
    for i, voucher in enumerate(items):
        by = people[i % len(people)]
        fresh = Voucher.objects.get(pk=voucher.pk)  # as a caller would hold it
        if i == 0:
            with CaptureQueriesContext(connection) as captured:
                review.voucher_approve(fresh, by=by, position=position)
            queries = len(captured)
            if os.environ.get("BENCH_SHOW_QUERIES"):
                print(f"\n-- approve at level {position}, service: {queries} queries")
                for query in captured.captured_queries:
                    print(query["sql"][:300])
            continue
        started = time.perf_counter()
        review.voucher_approve(fresh, by=by, position=position)
        timings.append((time.perf_counter() - started) * 1000)
    return timings, queries


def _client(user: User, page: str) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.get(page)
    assert response.status_code == 200, response.status_code
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert token, "no CSRF token on the voucher's page"
    return client, token.group(1)


def _http_run(agency, items, people, position) -> tuple[list[float], int]:
    """POST each voucher's approve URL as the level's reviewers in turn (302 expected); the
    queries of the first POST (its session, tenant and membership loads included)."""
    try:
        return _posts(agency.slug, items, people, position)
    finally:
        connection.set_schema(agency.schema_name)  # the middleware moved the connection


def _posts(slug: str, items, people, position) -> tuple[list[float], int]:
    base = f"/a/{slug}/finance/review/vouchers/"
    clients = [_client(person, f"{base}{items[0].pk}/") for person in people]
    timings = []
    queries = 0
    for i, voucher in enumerate(items):
        client, token = clients[i % len(clients)]
        data = {"csrfmiddlewaretoken": token, "position": position}
        url = f"{base}{voucher.pk}/approve/"
        if i == 0:
            with CaptureQueriesContext(connection) as captured:
                response = client.post(url, data)
            queries = len(captured)
        else:
            started = time.perf_counter()
            response = client.post(url, data)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302, response.status_code
    return timings, queries


def _profile(items, people, position) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    _approve_all(items, people, position)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def test_bench_finance_approval(committed_db):
    before = load()
    tag = uuid.uuid4().hex[:8]
    agency = agency_onboard(
        slug=f"finappr-{tag}",
        name_ar="جهة الاعتماد",
        name_en="Approval bench",
        admin_email=f"admin-{tag}@bench.example",
    )
    schema = agency.schema_name
    admin = User.objects.get(email=f"admin-{tag}@bench.example")
    # the generated history's final approvals, by someone other than their maker
    approver = make_beneficiary(email=f"approver-{tag}@bench.example")
    started = time.perf_counter()
    with schema_context(schema):
        expenses, assets, cash, bank, year, departments = _books()
        _generate(schema, year, admin, approver, expenses, assets, cash, bank, departments)
        # the generated vouchers hold numbers 1..VOUCHERS of every type and entry numbers as
        # many: the counters continue from there
        NumberCounter.objects.bulk_create(
            NumberCounter(key=key, fiscal_year=year, last=VOUCHERS)
            for key in [*VoucherType.values, LEDGER]
        )
        roles = {
            "r1": _role(f"bench_review_1_{tag}", "finance.review"),
            "r2": _role(f"bench_review_2_{tag}", "finance.review"),
            "final": _role(f"bench_final_{tag}", "finance.approve"),
        }
    generated = time.perf_counter() - started
    for table in ("finance_voucher", "finance_voucherline", "finance_ledgerline"):
        _owner_autocommit(f"VACUUM (ANALYZE) {schema}.{table}")

    maker = make_employee(agency, roles=("employee",))
    configurer = make_employee(agency, roles=("employee",))
    people = {
        level: [make_employee(agency, roles=(role.codename,)) for _ in range(PEOPLE_PER_LEVEL)]
        for level, role in roles.items()
    }
    with schema_context(schema):
        Membership.objects.filter(user=maker).update(granted_permissions=["finance.enter"])
        Membership.objects.filter(user=configurer).update(granted_permissions=["finance.configure"])
        review_chain_save(
            actor=configurer,
            voucher_type=VoucherType.PAYMENT,
            department_id=None,
            min_amount="0",
            max_amount=None,
            levels=[LevelInput(kind="role", role_id=role.pk) for role in roles.values()],
        )
        department = Department.objects.get(pk=departments[0])
        accounts = list(Account.objects.filter(pk__in=expenses[:8]))
        bank_account = Account.objects.get(pk=bank)
        started = time.perf_counter()
        total = 2 * (SAMPLES + 1) + 2 * WARM
        made = _vouchers(maker, department, accounts, bank_account, total)
        _approve_all(made, people["r1"], 1)
        prepared = time.perf_counter() - started
        warm, made = made[: 2 * WARM], made[2 * WARM :]
        by_service, by_http = made[: SAMPLES + 1], made[SAMPLES + 1 :]

        # warm both paths (connection, caches, plans) at level 2 and final
        _approve_all(warm[:WARM], people["r2"], 2)
        _approve_all(warm[:WARM], people["final"], 3)
        _http_run(agency, warm[WARM:], people["r2"], 2)
        _http_run(agency, warm[WARM:], people["final"], 3)

        middle, middle_queries = _service_run(by_service, people["r2"], 2)
        middle_http, middle_http_queries = _http_run(agency, by_http, people["r2"], 2)
        final, final_queries = _service_run(by_service, people["final"], 3)
        final_http, final_http_queries = _http_run(agency, by_http, people["final"], 3)

        ids = [v.pk for v in by_service + by_http + warm]
        posted = Voucher.objects.filter(pk__in=ids, status=VoucherStatus.POSTED).count()
        approved_steps = ReviewStep.objects.filter(voucher_id__in=ids, outcome="approved").count()
        ledger_lines = LedgerLine.objects.filter(voucher_id__in=ids).count()
        entries = list(
            LedgerLine.objects.filter(voucher_id__in=ids)
            .order_by("entry_number")
            .values_list("entry_number", flat=True)
            .distinct()
        )
        total_lines = LedgerLine.objects.count()
        profile = None
        if os.environ.get("BENCH_PROFILE"):
            extra = _vouchers(maker, department, accounts, bank_account, 50)
            _approve_all(extra, people["r1"], 1)
            profile = _profile(extra, people["r2"], 2)

    # every approval went through: 3 steps each, posted, five ledger lines, gapless entries
    assert posted == len(ids) and approved_steps == 3 * len(ids)
    assert ledger_lines == 5 * len(ids)
    assert entries == list(range(VOUCHERS + 1, VOUCHERS + 1 + len(ids)))
    bench(
        "finance approval",
        f"before: {before}; after: {load()}",
        f"{VOUCHERS:,} posted vouchers generated ({total_lines:,} ledger lines at the end) in "
        f"{generated:.1f} s; chain: 2 role levels + final ({PEOPLE_PER_LEVEL} people each); "
        f"{total} vouchers of 5 lines entered, submitted and approved at level 1 in "
        f"{prepared:.1f} s",
        _timings("(a) approve, level 2, service", middle, middle_queries),
        _timings("(b) approve, level 2, HTTP POST", middle_http, middle_http_queries),
        _timings("(c) final approval + posting, service", final, final_queries),
        _timings("(c) final approval + posting, HTTP POST", final_http, final_http_queries),
        f"checked: {posted} posted, {ledger_lines} ledger lines, entries "
        f"{entries[0]}..{entries[-1]} without gaps",
    )
    if profile:
        print(profile)
