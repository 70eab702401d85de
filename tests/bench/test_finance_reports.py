"""Financial reports over a large ledger (issue 14, R-43): one agency with 100,000 posted
vouchers (500,000 ledger lines and as many voucher lines) in one fiscal year; p95 of the trial
balance, an account statement and budget against actual for the whole year (aim: < 300 ms).

    .venv/bin/python infra/run.py bench -- -q -k finance_reports -s

The rows are inserted by ``INSERT ... SELECT generate_series`` straight into the agency's
tables (the posting service is not the subject; each voucher balances: four debit lines on
expense or asset accounts, one credit line on cash or bank for their sum, all in open months).
Then ``VACUUM (ANALYZE)`` as the owner role: the steady state autovacuum would reach.
"""

import os
import time
import uuid
from datetime import date

import psycopg
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from finance.constants import AccountKind
from finance.models import Account, BudgetLine, FiscalYear
from finance.reports import selectors
from finance.reports.scope import ReportScope
from tenants.services import agency_onboard
from tenants.staff.models import Department
from tests import roles
from tests.bench.helpers import bench, load, pct
from tests.factories import make_beneficiary
from tests.finance import builders_reports as builders

# BENCH_FINANCE_VOUCHERS: a smaller ledger while working on a benchmark (figures quote 100,000)
VOUCHERS = int(os.environ.get("BENCH_FINANCE_VOUCHERS", "100000"))
LINES_PER_VOUCHER = 5
DEPARTMENTS = 8
EXPENSE_LEAVES = 40
ASSET_LEAVES = 10
RUNS = 30


def _owner_autocommit(sql: str) -> None:
    owner = roles.credentials("owner")
    params = {
        "dbname": connection.settings_dict["NAME"],
        "user": owner["USER"] or None,
        "password": owner["PASSWORD"] or None,
        "host": owner["HOST"] or None,
        "port": owner["PORT"] or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        conn.execute(sql)


def _chart() -> tuple[list[int], list[int], int, int]:
    """A chart with expense and asset leaves; (expense ids, asset ids, cash, bank). The
    agency's default chart (finance 0003, same codes) goes first."""
    builders._default_chart_clear()
    groups = {}
    for code, kind in (
        ("1", AccountKind.ASSET),
        ("3", AccountKind.EQUITY),
        ("4", AccountKind.REVENUE),
        ("5", AccountKind.EXPENSE),
    ):
        groups[code] = Account.objects.create(
            code=code,
            name_ar=f"مجموعة {code}",
            name_en=f"Group {code}",
            kind=kind,
            is_postable=False,
        )
    cash = Account.objects.create(
        code="1101", name_ar="الصندوق", name_en="Cash", kind=AccountKind.ASSET, parent=groups["1"]
    )
    bank = Account.objects.create(
        code="1102", name_ar="البنك", name_en="Bank", kind=AccountKind.ASSET, parent=groups["1"]
    )
    assets = [
        Account.objects.create(
            code=f"12{i:02d}",
            name_ar=f"أصل {i}",
            name_en=f"Asset {i}",
            kind=AccountKind.ASSET,
            parent=groups["1"],
        ).pk
        for i in range(ASSET_LEAVES)
    ]
    subgroups = [
        Account.objects.create(
            code=f"5{g}",
            name_ar=f"مصروفات {g}",
            name_en=f"Expenses {g}",
            kind=AccountKind.EXPENSE,
            parent=groups["5"],
            is_postable=False,
        )
        for g in range(1, 5)
    ]
    expenses = [
        Account.objects.create(
            code=f"{subgroups[i % 4].code}{i:02d}",
            name_ar=f"مصروف {i}",
            name_en=f"Expense {i}",
            kind=AccountKind.EXPENSE,
            parent=subgroups[i % 4],
        ).pk
        for i in range(EXPENSE_LEAVES)
    ]
    return expenses, assets, cash.pk, bank.pk


def _books() -> tuple[list[int], list[int], int, int, FiscalYear, list[int]]:
    """``_chart``, fiscal year 2026, DEPARTMENTS departments and a budget line for each expense
    account in each department; (expense ids, asset ids, cash, bank, year, department ids).
    Run inside the agency's schema; shared with the approval benchmark."""
    expenses, assets, cash, bank = _chart()
    year = builders.make_year(2026)
    departments = [
        Department.objects.create(name_ar=f"إدارة {i}", name_en=f"Department {i}").pk
        for i in range(DEPARTMENTS)
    ]
    BudgetLine.objects.bulk_create(
        BudgetLine(fiscal_year=year, account_id=a, department_id=d, amount=250_000)
        for a in expenses
        for d in departments
    )
    return expenses, assets, cash, bank, year, departments


def _generate(
    schema: str,
    year: FiscalYear,
    maker: User,
    approver: User,
    expenses,
    assets,
    cash,
    bank,
    departments,
) -> None:
    debit_accounts = expenses + assets
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {schema}.finance_voucher (type, fiscal_year_id, number, date, period_id,
                department_id, counterparty, description, status, total, maker_id,
                review_round, created_at, updated_at, submitted_at, posted_at)
            SELECT (ARRAY['receipt','payment','journal'])[1 + g %% 3], %(year)s, g, d.day, p.id,
                (%(departments)s::bigint[])[1 + g %% {len(departments)}], '', 'bench', 'draft',
                0, %(maker)s, 1, now(), now(), now(), NULL
            FROM generate_series(1, %(n)s) g
            CROSS JOIN LATERAL (SELECT DATE '2026-01-01' + (g * 7919 %% 365) AS day) d
            JOIN {schema}.finance_period p
              ON p.fiscal_year_id = %(year)s AND d.day BETWEEN p.start AND p."end"
            """,
            {"year": year.pk, "departments": departments, "maker": maker.pk, "n": VOUCHERS},
        )
        # Four debits from the voucher's number, the fifth line credits their sum.
        amount = "(((v.number * 37 + k * 101) %% 50000) / 100.0 + 1)::numeric(14,2)"
        total = " + ".join(
            f"(((v.number * 37 + {k} * 101) %% 50000) / 100.0 + 1)::numeric(14,2)"
            for k in range(1, 5)
        )
        cursor.execute(
            f"""
            UPDATE {schema}.finance_voucher v SET total = {total} WHERE fiscal_year_id = %s
            """,
            [year.pk],
        )
        select = f"""
            SELECT v.id, k,
                CASE WHEN k = 5 THEN (CASE WHEN v.number %% 2 = 0 THEN {cash} ELSE {bank} END)
                     ELSE (%(accounts)s::bigint[])
                          [1 + (v.number * 7 + k * 13) %% {len(debit_accounts)}]
                END AS account_id,
                CASE WHEN k = 5 THEN NULL ELSE v.department_id END AS department_id,
                CASE WHEN k = 5 THEN 0 ELSE {amount} END AS debit,
                CASE WHEN k = 5 THEN v.total ELSE 0 END AS credit,
                v.number, v.fiscal_year_id, v.period_id, v.date
            FROM {schema}.finance_voucher v CROSS JOIN generate_series(1, 5) k
            WHERE v.fiscal_year_id = %(year)s
        """
        params = {"accounts": debit_accounts, "year": year.pk}
        cursor.execute(
            f"""
            INSERT INTO {schema}.finance_voucherline (voucher_id, position, account_id,
                department_id, debit, credit, description)
            SELECT id, k, account_id, department_id, debit, credit, '' FROM ({select}) s
            """,
            params,
        )
        # Into review once its lines are in (the lines of a voucher in review or posted are
        # final: 0002_ledger_rules, 0006), then its final approval as the review chain records
        # it (one final level, the approver eligible; the decisions pass 0002_review's checks),
        # and only then posted (0006 refuses a posting without it).
        cursor.execute(
            f"UPDATE {schema}.finance_voucher SET status = 'in_review' WHERE fiscal_year_id = %s",
            [year.pk],
        )
        cursor.execute(
            f"""
            INSERT INTO {schema}.finance_reviewstep (voucher_id, round, position, kind,
                label_ar, label_en, eligible_ids, required, is_final, started_at, outcome)
            SELECT id, 1, 1, 'named', '', '', ARRAY[%(approver)s]::bigint[], 1, true, now(), ''
            FROM {schema}.finance_voucher WHERE fiscal_year_id = %(year)s
            """,
            {"approver": approver.pk, "year": year.pk},
        )
        cursor.execute(
            f"""
            INSERT INTO {schema}.finance_reviewdecision (voucher_id, round, step_id, action,
                actor_id, member_id, reason, at)
            SELECT v.id, 1, NULL, 'submit', v.maker_id, v.maker_id, '', now()
            FROM {schema}.finance_voucher v WHERE v.fiscal_year_id = %(year)s
            UNION ALL
            SELECT s.voucher_id, 1, s.id, 'approve', %(approver)s, %(approver)s, '', now()
            FROM {schema}.finance_reviewstep s JOIN {schema}.finance_voucher v
              ON v.id = s.voucher_id WHERE v.fiscal_year_id = %(year)s
            """,
            {"approver": approver.pk, "year": year.pk},
        )
        cursor.execute(
            f"UPDATE {schema}.finance_reviewstep SET completed_at = now(), outcome = 'approved'"
        )
        cursor.execute(
            f"UPDATE {schema}.finance_voucher SET status = 'posted', posted_at = now()"
            " WHERE fiscal_year_id = %s",
            [year.pk],
        )
        cursor.execute(
            f"""
            INSERT INTO {schema}.finance_ledgerline (voucher_id, entry_number, fiscal_year_id,
                period_id, date, account_id, department_id, debit, credit, description,
                posted_at)
            SELECT id, number, fiscal_year_id, period_id, date, account_id, department_id,
                debit, credit, '', now() FROM ({select}) s
            """,
            params,
        )


def _time(label: str, call) -> str:
    call()  # warm
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    flag = "" if pct(timings, 0.95) < 300 else "  ← over the 300 ms aim"
    return (
        f"{label:<44} p50 {pct(timings, 0.5):6.1f} ms / p95 {pct(timings, 0.95):6.1f} ms / "
        f"max {max(timings):6.1f} ms{flag}"
    )


def test_bench_finance_reports(committed_db):
    tag = uuid.uuid4().hex[:8]
    agency = agency_onboard(
        slug=f"finbench-{tag}",
        name_ar="جهة المالية",
        name_en="Finance bench",
        admin_email=f"admin-{tag}@bench.example",
    )
    schema = agency.schema_name
    maker = User.objects.get(email=f"admin-{tag}@bench.example")
    approver = make_beneficiary(email=f"approver-{tag}@bench.example")
    started = time.perf_counter()
    with schema_context(schema):
        expenses, assets, cash, bank, year, departments = _books()
        _generate(schema, year, maker, approver, expenses, assets, cash, bank, departments)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    for table in (
        "finance_voucher",
        "finance_voucherline",
        "finance_ledgerline",
        "finance_budgetline",
        "finance_account",
    ):
        _owner_autocommit(f"VACUUM (ANALYZE) {schema}.{table}")
    vacuumed = time.perf_counter() - started

    with schema_context(schema):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*), sum(debit) - sum(credit), "
                f"pg_size_pretty(pg_total_relation_size('{schema}.finance_ledgerline')) "
                f"FROM {schema}.finance_ledgerline"
            )
            lines, difference, size = cursor.fetchone()
        assert lines == VOUCHERS * LINES_PER_VOUCHER and difference == 0
        whole = ReportScope(fiscal_year=year, start=date(2026, 1, 1), end=date(2026, 12, 31))
        expense = Account.objects.get(pk=expenses[0])
        cash_account = Account.objects.get(pk=cash)
        half = ReportScope(fiscal_year=year, start=date(2026, 7, 1), end=date(2026, 12, 31))

        def statement(account, scope=whole, page=1):
            def call():
                s = ReportScope(fiscal_year=year, start=scope.start, end=scope.end, account=account)
                result = selectors.account_statement(scope=s, page_number=page)
                list(result.page.object_list)

            return call

        tb = selectors.trial_balance(scope=whole)
        assert tb.balances
        figures = [
            _time("trial balance, year", lambda: selectors.trial_balance(scope=whole)),
            _time("trial balance, July-December", lambda: selectors.trial_balance(scope=half)),
            _time(f"account statement, year, {expense.code} (page 1)", statement(expense)),
            _time(
                f"account statement, year, {expense.code} (last page)",
                statement(expense, page=10_000),
            ),
            _time("account statement, year, cash (50,000 lines)", statement(cash_account)),
            _time(
                "budget against actual, year", lambda: selectors.budget_against_actual(scope=whole)
            ),
            _time("general ledger, year (page 1)", lambda: selectors.general_ledger(scope=whole)),
            _time(
                "vouchers by month, year",
                lambda: selectors.vouchers_summary(scope=whole, by="period"),
            ),
        ]
    bench(
        "finance reports",
        f"{load()}",
        f"{VOUCHERS:,} posted vouchers, {lines:,} ledger lines ({size}), "
        f"{len(expenses) + len(assets) + 2} leaf accounts, {DEPARTMENTS} departments; "
        f"generated in {generated:.1f} s, VACUUM ANALYZE {vacuumed:.1f} s",
        *figures,
    )
