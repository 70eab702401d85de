"""The financial reports' figures (R-43): trial balance, account statement, general ledger,
vouchers by dimension, budget against actual; and their query counts, which do not grow with
the ledger."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from finance.reports import selectors
from finance.reports.scope import ReportScope
from tests.finance import reports_fixtures

books = reports_fixtures.books
D = Decimal


def scope(books, start=date(2026, 1, 1), end=date(2026, 12, 31), **kwargs) -> ReportScope:
    return ReportScope(fiscal_year=books["year"], start=start, end=end, **kwargs)


def by_code(report):
    return {row.account.code: row for row in report.rows}


def test_trial_balance_of_the_year_balances_and_rolls_parents_up(books):
    with schema_context(books["agency"].schema_name):
        report = selectors.trial_balance(scope=scope(books))
    rows = by_code(report)
    assert (rows["1101"].opening, rows["1101"].debit, rows["1101"].credit) == (
        D("10000"),
        D("2000"),
        D("3500"),
    )
    assert rows["1101"].closing == D("8500")
    assert rows["3101"].closing_credit == D("10000")
    assert rows["4101"].closing_credit == D("2000")
    # Parents carry their children; the in-review voucher is not in the ledger.
    assert rows["51"].debit == rows["5"].debit == D("3500")
    assert rows["11"].closing == rows["1"].closing == D("8500")
    assert "1102" not in rows  # nothing posted on it
    assert report.balances
    assert (report.opening_debit, report.opening_credit) == (D("10000"), D("10000"))
    assert (report.totals.debit, report.totals.credit) == (D("5500"), D("5500"))
    assert (report.closing_debit, report.closing_credit) == (D("12000"), D("12000"))
    # Parents before children, by code.
    codes = [row.account.code for row in report.rows]
    assert codes.index("1") < codes.index("11") < codes.index("1101") < codes.index("3")


def test_trial_balance_from_february_opens_with_january(books):
    with schema_context(books["agency"].schema_name):
        report = selectors.trial_balance(scope=scope(books, start=date(2026, 2, 1)))
    rows = by_code(report)
    assert rows["1101"].opening == D("7000")
    assert rows["5101"].opening == D("3000") and rows["5101"].debit == 0
    assert (report.totals.debit, report.totals.credit) == (D("2500"), D("2500"))
    assert report.balances


def test_trial_balance_of_one_department_and_one_account(books):
    with schema_context(books["agency"].schema_name):
        report = selectors.trial_balance(scope=scope(books, department=books["dept_b"]))
        rows = by_code(report)
        assert set(rows) == {"5", "51", "5102"} and rows["5102"].debit == D("500")
        report = selectors.trial_balance(scope=scope(books, account=books["accounts"]["51"]))
    assert {row.account.code for row in report.rows} == {"51", "5101", "5102"}


def test_account_statement_has_opening_and_running_balance(books):
    with schema_context(books["agency"].schema_name):
        statement = selectors.account_statement(
            scope=scope(books, account=books["accounts"]["1101"])
        )
        lines = list(statement.page.object_list)
    assert statement.opening == D("10000")
    assert [line.balance for line in lines] == [D("7000"), D("6500"), D("8500")]
    assert (statement.debit, statement.credit, statement.closing) == (
        D("2000"),
        D("3500"),
        D("8500"),
    )


def test_account_statement_of_a_date_range_and_of_a_parent(books):
    with schema_context(books["agency"].schema_name):
        statement = selectors.account_statement(
            scope=scope(books, start=date(2026, 2, 6), account=books["accounts"]["1101"])
        )
        assert statement.opening == D("6500")
        assert [line.balance for line in statement.page.object_list] == [D("8500")]
        parent = selectors.account_statement(scope=scope(books, account=books["accounts"]["5"]))
    assert [line.balance for line in parent.page.object_list] == [D("3000"), D("3500")]


def test_running_balance_counts_the_pages_before(books, monkeypatch):
    reports_fixtures.more_vouchers(books, 7)
    monkeypatch.setattr(selectors, "LINES_PER_PAGE", 3)
    with schema_context(books["agency"].schema_name):
        first = selectors.account_statement(scope=scope(books, account=books["accounts"]["1102"]))
        third = selectors.account_statement(
            scope=scope(books, account=books["accounts"]["1102"]), page_number=3
        )
    assert first.page.paginator.num_pages == 3
    assert [line.balance for line in third.page.object_list] == [D("-71.75")]


def test_general_ledger_groups_lines_by_account(books):
    with schema_context(books["agency"].schema_name):
        page, accounts = selectors.general_ledger(scope=scope(books))
    assert [entry.account.code for entry in accounts] == ["1101", "4101", "5101", "5102"]
    cash = accounts[0]
    assert cash.opening == D("10000") and cash.closing == D("8500")
    assert [line.balance for line in cash.lines] == [D("7000"), D("6500"), D("8500")]
    assert page.paginator.count == 6


def test_general_ledger_carries_the_balance_across_pages(books, monkeypatch):
    monkeypatch.setattr(selectors, "LINES_PER_PAGE", 2)
    with schema_context(books["agency"].schema_name):
        _page, accounts = selectors.general_ledger(scope=scope(books), page_number=2)
    # Page 2: cash's third line (carried 6500 from page 1), then fees' first.
    assert [(e.account.code, [line.balance for line in e.lines]) for e in accounts] == [
        ("1101", [D("8500")]),
        ("4101", [D("-2000")]),
    ]


def test_vouchers_by_status_type_period_department_and_account(books):
    with schema_context(books["agency"].schema_name):
        s = scope(books)
        by_status = selectors.vouchers_summary(scope=s, by="status")
        by_type = selectors.vouchers_summary(scope=s, by="type")
        by_period = selectors.vouchers_summary(scope=s, by="period")
        by_department = selectors.vouchers_summary(scope=s, by="department")
        by_account = selectors.vouchers_summary(scope=s, by="account")
        filtered = selectors.vouchers_summary(
            scope=scope(books, account=books["accounts"]["5101"]), by="status"
        )
    assert {g.key: (g.count, g.amount) for g in by_status.groups} == {
        "posted": (3, D("5500")),
        "in_review": (1, D("1000")),
    }
    assert (by_status.count, by_status.amount, by_status.posted_amount) == (
        4,
        D("6500"),
        D("5500"),
    )
    assert {g.key: g.count for g in by_type.groups} == {"payment": 2, "receipt": 1, "journal": 1}
    assert [(g.key, g.count) for g in by_period.groups] == [(1, 1), (2, 2), (3, 1)]
    assert {g.key: g.amount for g in by_department.groups} == {
        books["dept_a"].pk: D("6000"),
        books["dept_b"].pk: D("500"),
    }
    accounts = {g.key: (g.count, g.debit, g.credit) for g in by_account.groups}
    assert accounts["5101"] == (2, D("4000"), D("0"))
    assert accounts["1101"] == (3, D("2000"), D("3500"))
    assert by_account.debit == by_account.credit == D("6500")
    assert {g.key: g.count for g in filtered.groups} == {"posted": 1, "in_review": 1}


def test_budget_against_actual(books):
    with schema_context(books["agency"].schema_name):
        report = selectors.budget_against_actual(scope=scope(books))
        february = selectors.budget_against_actual(
            scope=scope(books, start=date(2026, 2, 1), end=date(2026, 2, 28))
        )
    rows = {(r.account.code, r.department_id): r for r in report.rows}
    salaries = rows[("5101", books["dept_a"].pk)]
    assert (salaries.budget, salaries.actual, salaries.variance) == (
        D("3500"),
        D("3000"),
        D("500"),
    )
    assert salaries.percentage == D("85.7") and not salaries.is_over
    supplies = rows[("5102", books["dept_b"].pk)]
    assert supplies.is_monthly and supplies.budget == D("400") and supplies.is_over
    assert supplies.percentage == D("125.0")
    fees = rows[("4101", books["dept_a"].pk)]
    assert (fees.budget, fees.actual, fees.percentage) == (D("0"), D("2000"), None)
    assert report.expense == (D("3900"), D("3500"))
    assert report.revenue == (D("0"), D("2000"))
    feb = {(r.account.code, r.department_id): r for r in february.rows}
    # The annual budget is shown whole; February's actual only.
    assert feb[("5101", books["dept_a"].pk)].actual == 0
    assert feb[("5102", books["dept_b"].pk)].actual == D("500")


REPORTS = {
    "trial_balance": lambda s: selectors.trial_balance(scope=s),
    "statement": lambda s: selectors.account_statement(scope=s, page_number=2),
    "ledger": lambda s: selectors.general_ledger(scope=s, page_number=1),
    "vouchers_account": lambda s: selectors.vouchers_summary(scope=s, by="account"),
    "vouchers_period": lambda s: selectors.vouchers_summary(scope=s, by="period"),
    "budget": lambda s: selectors.budget_against_actual(scope=s),
}


@pytest.mark.parametrize("name", REPORTS)
def test_query_count_does_not_grow_with_the_ledger(books, name):
    def count() -> int:
        with schema_context(books["agency"].schema_name):
            s = scope(books, account=books["accounts"]["1"] if name == "statement" else None)
            with CaptureQueriesContext(connection) as captured:
                REPORTS[name](s)
        return len(captured.captured_queries)

    before = count()
    reports_fixtures.more_vouchers(books, 60)
    assert count() == before <= 8  # with the schema's search_path
