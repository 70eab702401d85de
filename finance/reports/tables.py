"""Each report as one table (header, rows of typed cells, totals): what the page shows, and
what the XLSX and PDF exports write, so the three never disagree.

Cells carry their kind: amounts are ``Decimal`` shown with two places and the language's
separators (Arabic: ٫ and ٬, Latin digits, as everywhere in the project), numbers in
spreadsheets stay numbers (format ``#,##0.00``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from finance.reports import selectors
from finance.reports.scope import ZERO

AMOUNT, COUNT, TEXT, DATE, PERCENT = "amount", "count", "text", "date", "percent"
XLSX_FORMATS = {AMOUNT: "#,##0.00", PERCENT: "0.0", COUNT: "0"}


@dataclass(frozen=True)
class Cell:
    value: object
    kind: str = TEXT


@dataclass
class Row:
    cells: list[Cell]
    depth: int = 0
    emphasis: bool = False  # a parent account, an opening line, a total
    warn: bool = False  # over budget


@dataclass
class Table:
    title: str
    header: list[str]
    kinds: list[str]
    rows: list[Row] = field(default_factory=list)
    totals: list[Row] = field(default_factory=list)

    def add(self, *values, depth: int = 0, emphasis: bool = False, warn: bool = False) -> None:
        self.rows.append(self._row(values, depth, emphasis, warn))

    def total(self, *values) -> None:
        self.totals.append(self._row(values, 0, True, False))

    def _row(self, values, depth, emphasis, warn) -> Row:
        return Row(
            [Cell(v, k) for v, k in zip(values, self.kinds, strict=True)], depth, emphasis, warn
        )

    def export_rows(self) -> list[list]:
        """Rows for a spreadsheet: amounts as numbers, everything else as text."""
        result = []
        for row in [*self.rows, *self.totals]:
            cells = []
            for index, cell in enumerate(row.cells):
                value = cell.value
                if cell.kind == DATE and value is not None:
                    value = value.isoformat()
                elif cell.kind == TEXT and index == 0 and row.depth:
                    value = "  " * row.depth + str(value)
                elif cell.kind == TEXT and value is not None:
                    value = str(value)
                cells.append(value)
            result.append(cells)
        return result

    @property
    def columns(self) -> list[tuple[str, str]]:
        return list(zip(self.header, self.kinds, strict=True))

    def column_formats(self) -> dict[int, str]:
        return {i: XLSX_FORMATS[k] for i, k in enumerate(self.kinds) if k in XLSX_FORMATS}


def vouchers_table(summary: selectors.VoucherSummary, grouping_label: str) -> Table:
    if summary.by == "account":
        table = Table(
            _("Vouchers by account"),
            [
                grouping_label,
                _("Vouchers"),
                _("Debit"),
                _("Credit"),
                _("Posted vouchers"),
                _("Posted debit"),
            ],
            [TEXT, COUNT, AMOUNT, AMOUNT, COUNT, AMOUNT],
        )
        for g in summary.groups:
            table.add(g.label, g.count, g.debit, g.credit, g.posted_count, g.posted_amount)
        table.total(
            _("Total"),
            summary.count,
            summary.debit,
            summary.credit,
            summary.posted_count,
            summary.posted_amount,
        )
        return table
    table = Table(
        _("Vouchers by %(grouping)s") % {"grouping": grouping_label},
        [grouping_label, _("Vouchers"), _("Amount"), _("Posted vouchers"), _("Posted amount")],
        [TEXT, COUNT, AMOUNT, COUNT, AMOUNT],
    )
    for g in summary.groups:
        table.add(g.label, g.count, g.amount, g.posted_count, g.posted_amount)
    table.total(
        _("Total"), summary.count, summary.amount, summary.posted_count, summary.posted_amount
    )
    return table


def _line_cells(line) -> list:
    voucher = line.voucher
    return [
        line.date,
        line.entry_number,
        f"{voucher.get_type_display()} {voucher.number}",
        line.description or voucher.description,
        line.department.name if line.department_id else "",
        line.debit,
        line.credit,
        line.balance,
    ]


LINE_HEADER_KINDS = [DATE, COUNT, TEXT, TEXT, TEXT, AMOUNT, AMOUNT, AMOUNT]


def _line_header() -> list[str]:
    return [
        _("Date"),
        _("Entry"),
        _("Voucher"),
        _("Description"),
        _("Cost centre"),
        _("Debit"),
        _("Credit"),
        _("Balance"),
    ]


def statement_table(account, opening: Decimal, lines, *, debit=None, credit=None) -> Table:
    table = Table(
        _("Account statement: %(account)s") % {"account": f"{account.code} · {account.name}"},
        _line_header(),
        LINE_HEADER_KINDS,
    )
    table.add(None, None, "", _("Opening balance"), "", None, None, opening, emphasis=True)
    for line in lines:
        table.add(*_line_cells(line))
    if debit is not None:
        table.total(
            None,
            None,
            "",
            _("Total and closing balance"),
            "",
            debit,
            credit,
            opening + debit - credit,
        )
    return table


def ledger_table(accounts: list[selectors.LedgerAccount]) -> Table:
    table = Table(_("General ledger"), _line_header(), LINE_HEADER_KINDS)
    for entry in accounts:
        label = f"{entry.account.code} · {entry.account.name}"
        table.add(
            None, None, label, _("Opening balance"), "", None, None, entry.opening, emphasis=True
        )
        for line in entry.lines:
            table.add(*_line_cells(line))
        table.add(
            None,
            None,
            label,
            _("Total and closing balance"),
            "",
            entry.debit,
            entry.credit,
            entry.closing,
            emphasis=True,
        )
    return table


def trial_balance_table(report: selectors.TrialBalance) -> Table:
    table = Table(
        _("Trial balance"),
        [
            _("Account"),
            _("Opening debit"),
            _("Opening credit"),
            _("Debits of the period"),
            _("Credits of the period"),
            _("Closing debit"),
            _("Closing credit"),
        ],
        [TEXT, AMOUNT, AMOUNT, AMOUNT, AMOUNT, AMOUNT, AMOUNT],
    )
    for row in report.rows:
        table.add(
            f"{row.account.code} · {row.account.name}",
            row.opening_debit,
            row.opening_credit,
            row.debit,
            row.credit,
            row.closing_debit,
            row.closing_credit,
            depth=row.depth,
            emphasis=not row.account.is_postable,
        )
    table.total(
        _("Total"),
        report.opening_debit,
        report.opening_credit,
        report.totals.debit,
        report.totals.credit,
        report.closing_debit,
        report.closing_credit,
    )
    return table


def budget_table(report: selectors.BudgetReport, rows=None) -> Table:
    table = Table(
        _("Budget against actual"),
        [
            _("Account"),
            _("Department"),
            _("Budget"),
            _("Actual"),
            _("Variance"),
            _("Used %"),
        ],
        [TEXT, TEXT, AMOUNT, AMOUNT, AMOUNT, PERCENT],
    )
    for row in report.rows if rows is None else rows:
        table.add(
            f"{row.account.code} · {row.account.name}",
            row.department or _("(none)"),
            row.budget,
            row.actual,
            row.variance,
            row.percentage,
            warn=row.is_over,
        )
    for label, (budget, actual) in (
        (_("Total expenses"), report.expense),
        (_("Total revenue"), report.revenue),
    ):
        percentage = (actual * 100 / budget).quantize(Decimal("0.1")) if budget else None
        table.total(label, "", budget, actual, budget - actual, percentage)
    return table


__all__ = ["ZERO", "Table", "Cell", "Row"]


def waiting_table(levels: list[selectors.WaitingLevel]) -> Table:
    from finance.templatetags.finance_review import waited

    table = Table(
        _("Vouchers waiting at each level"),
        [_("Level"), _("Vouchers"), _("Amount"), _("Average wait"), _("Longest wait")],
        [TEXT, COUNT, AMOUNT, TEXT, TEXT],
    )
    for level in levels:
        table.add(
            f"{level.position} · {level.label}",
            level.count,
            level.amount,
            waited(level.average),
            waited(level.longest),
        )
    count = sum(level.count for level in levels)
    amount = sum((level.amount for level in levels), ZERO)
    table.total(_("Total"), count, amount, "", "")
    return table
