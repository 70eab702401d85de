"""The financial reports' pages (finance.reports): vouchers by period, department, account, type
and status; account statement; general ledger; trial balance; budget against actual; vouchers
waiting at each level of review. Each
takes its filters from the query string and downloads as XLSX or PDF (``?export=xlsx|pdf``),
the same table as the page, in the viewer's language (right to left in Arabic)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.reports import pdf_response, table_response
from finance.forms_reports import GroupingForm, ReportFilterForm
from finance.module import Perm
from finance.reports import selectors, tables
from finance.reports.scope import ReportScope
from frontend.human import human_date_parts
from tenants.decorators import workspace_view

# Exports of lines (statement, general ledger) stop here: a larger range is narrowed first.
EXPORT_LINE_LIMIT = 20_000


def _query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return query.urlencode()


def _day(value) -> str:
    """A date as the site writes it in lists ("2 Dec 2026"), isolated in the sentence."""
    return "\u2068" + human_date_parts(value, compact=True).text + "\u2069"


def _scope_text(scope: ReportScope) -> str:
    parts = [
        _("Fiscal year %(year)s, from %(start)s to %(end)s")
        % {
            "year": scope.fiscal_year.name,
            "start": _day(scope.start),
            "end": _day(scope.end),
        }
    ]
    if scope.department is not None:
        parts.append(_("Department: %(name)s") % {"name": scope.department.name})
    if scope.account is not None:
        parts.append(
            _("Account: %(name)s") % {"name": f"{scope.account.code} · {scope.account.name}"}
        )
    return " · ".join(parts)


def _export(request, table: tables.Table, scope: ReportScope, name: str, note: str = ""):
    """The table as the download asked for (None: no export asked)."""
    fmt = request.GET.get("export")
    filename = f"{request.agency.slug}-{name}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}"
    if fmt == "xlsx":
        rows = table.export_rows()
        if note:
            rows.append([note])
        return table_response(
            fmt="xlsx",
            filename=filename,
            header=[str(h) for h in table.header],
            rows=rows,
            column_formats=table.column_formats(),
        )
    if fmt == "pdf":
        html = render_to_string(
            "finance/reports/pdf.html",
            {
                "table": table,
                "scope_text": _scope_text(scope),
                "note": note,
                "report_time": timezone.localtime(),
            },
            request=request,
        )
        response = pdf_response(html, filename)
        if response is None:
            messages.error(
                request, _("PDF reports are not available on this server at the moment.")
            )
            return redirect(request.path + "?" + _query(request))
        return response
    return None


def _limit_note(count: int) -> str:
    if count < EXPORT_LINE_LIMIT:
        return ""
    return _(
        "The download stops at %(n)s lines: choose a shorter range or one account for the rest."
    ) % {"n": EXPORT_LINE_LIMIT}


def _page(
    request,
    *,
    report: str,
    title: str,
    form: ReportFilterForm,
    build: Callable[[ReportScope], dict],
    extra_form=None,
):
    """Shared by the reports: a form with errors is shown again (400), a valid one builds the
    report's table (and its page of lines), exported when asked."""
    context = {
        "form": form,
        "extra_form": extra_form,
        "title": title,
        "report": report,
        "query": _query(request),
    }
    if not form.is_valid():
        return render(request, "finance/reports/report.html", context, status=400)
    scope = form.scope()
    built = build(scope)
    exported = _export(request, built["table"], scope, report, built.get("note", ""))
    if exported is not None:
        return exported
    context.update(built)
    context["scope_text"] = _scope_text(scope)
    return render(request, "finance/reports/report.html", context)


@workspace_view(Perm.REPORTS)
def reports_index(request):
    return render(request, "finance/reports/index.html")


@workspace_view(Perm.REPORTS)
def report_vouchers(request):
    grouping = GroupingForm(request.GET)
    by = grouping.grouping()
    label = dict(GroupingForm.base_fields["by"].choices)[by]

    def build(scope):
        summary = selectors.vouchers_summary(scope=scope, by=by)
        return {"table": tables.vouchers_table(summary, str(label))}

    return _page(
        request,
        report="vouchers",
        title=_("Vouchers by period, department, account, type and status"),
        form=ReportFilterForm.from_query(request.GET),
        build=build,
        extra_form=grouping,
    )


@workspace_view(Perm.REPORTS)
def report_statement(request):
    form = ReportFilterForm.from_query(request.GET, account_required=True, with_dates=True)

    def build(scope):
        if request.GET.get("export") in ("xlsx", "pdf"):
            opening, lines = selectors.statement_lines(scope=scope, limit=EXPORT_LINE_LIMIT)
            table = tables.statement_table(scope.account, opening, lines)
            return {"table": table, "note": _limit_note(len(lines))}
        statement = selectors.account_statement(scope=scope, page_number=request.GET.get("page"))
        table = tables.statement_table(
            scope.account,
            statement.opening,
            statement.page.object_list,
            debit=statement.debit,
            credit=statement.credit,
        )
        return {"table": table, "page": statement.page}

    return _page(request, report="statement", title=_("Account statement"), form=form, build=build)


@workspace_view(Perm.REPORTS)
def report_ledger(request):
    form = ReportFilterForm.from_query(request.GET, with_dates=True)

    def build(scope):
        if request.GET.get("export") in ("xlsx", "pdf"):
            _none, accounts = selectors.general_ledger(scope=scope, limit=EXPORT_LINE_LIMIT)
            count = sum(len(entry.lines) for entry in accounts)
            return {"table": tables.ledger_table(accounts), "note": _limit_note(count)}
        page, accounts = selectors.general_ledger(scope=scope, page_number=request.GET.get("page"))
        return {"table": tables.ledger_table(accounts), "page": page}

    return _page(request, report="ledger", title=_("General ledger"), form=form, build=build)


@workspace_view(Perm.REPORTS)
def report_trial_balance(request):
    def build(scope):
        report = selectors.trial_balance(scope=scope)
        return {"table": tables.trial_balance_table(report), "balances": report.balances}

    return _page(
        request,
        report="trial-balance",
        title=_("Trial balance"),
        form=ReportFilterForm.from_query(request.GET),
        build=build,
    )


@workspace_view(Perm.REPORTS)
def report_budget(request):
    exporting = request.GET.get("export") in ("xlsx", "pdf")

    def build(scope):
        report = selectors.budget_against_actual(scope=scope)
        if exporting:
            return {"table": tables.budget_table(report)}
        page = Paginator(report.rows, selectors.ROWS_PER_PAGE).get_page(request.GET.get("page"))
        return {"table": tables.budget_table(report, page.object_list), "page": page}

    return _page(
        request,
        report="budget",
        title=_("Budget against actual"),
        form=ReportFilterForm.from_query(request.GET),
        build=build,
    )


@workspace_view(Perm.REPORTS)
def report_waiting(request):
    def build(scope):
        return {"table": tables.waiting_table(selectors.waiting_by_level(scope=scope))}

    return _page(
        request,
        report="waiting",
        title=_("Vouchers waiting at each level"),
        form=ReportFilterForm.from_query(request.GET),
        build=build,
    )
