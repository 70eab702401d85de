"""Statistics pages. Oversight (public side, oversight users): the platform dashboard, one
agency's drill-down, exports and the monthly PDF report. Workspace (statistics.view): the
agency's own figures. Beneficiaries: their own history across agencies."""

from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from core.reports import pdf_response, table_response
from insights import charts, selectors
from insights.forms import EvaluationSettingsForm, MonthForm, PeriodForm
from insights.module import Perm
from insights.services import evaluation_settings_save
from meetings.services.decisions import decision_counts
from tenants.decorators import workspace_view
from tenants.models import Agency

FIGURE_HEADERS = [
    pgettext_lazy("count", "Received"),
    gettext_lazy("Open"),
    gettext_lazy("Completed"),
    gettext_lazy("Rejected"),
    gettext_lazy("Late"),
    gettext_lazy("Reopened"),
    gettext_lazy("Completion rate %"),
    gettext_lazy("Delay rate %"),
    gettext_lazy("Mean first response (h)"),
    gettext_lazy("p90 first response (h)"),
    gettext_lazy("Mean resolution (h)"),
    gettext_lazy("p90 resolution (h)"),
    gettext_lazy("Satisfaction (1-5)"),
]


def _round(value, digits=1):
    return None if value is None else round(value, digits)


def figure_cells(f: selectors.Figures) -> list:
    return [
        f.received,
        f.open,
        f.completed,
        f.rejected,
        f.late,
        f.reopened,
        _round(f.completion_rate),
        _round(f.delay_rate),
        _round(f.avg_first_response_hours),
        _round(f.p90_first_response_hours),
        _round(f.avg_resolution_hours),
        _round(f.p90_resolution_hours),
        _round(f.satisfaction, 2),
    ]


def _table(name_header, rows, *, link=None, extra_headers=(), extra=None) -> dict:
    return {
        "estimated": any(row.p90_estimated for row in rows),
        # Columns of their own (evaluation, presence) come first, before the common figures.
        "header": [name_header, *extra_headers, *FIGURE_HEADERS],
        "rows": [
            {
                "label": row.label or _("(none)"),
                "url": link(row) if link else None,
                "cells": (extra(row) if extra else []) + figure_cells(row),
            }
            for row in rows
        ],
    }


def _export(request, table: dict, filename: str, form=None):
    """The table as a download when asked for, and only for a valid period (an invalid one
    shows the page with its errors instead of a file of another period)."""
    fmt = request.GET.get("export")
    if fmt not in ("csv", "xlsx") or (form is not None and form.errors):
        return None
    return table_response(
        fmt=fmt,
        filename=filename,
        header=[str(h) for h in table["header"]],
        rows=[[row["label"], *row["cells"]] for row in table["rows"]],
    )


def _trend_context(period, rows) -> dict:
    labels = [date_format(row.key, "Y-m" if period.grain == "month" else "m-d") for row in rows]
    chart = charts.bar_chart(
        labels,
        [
            charts.Series(
                pgettext("count", "Received"),
                [r.received for r in rows],
                "bar bar--received",
                "#2f6f9f",
            ),
            charts.Series(
                str(_("Completed")), [r.completed for r in rows], "bar bar--completed", "#067647"
            ),
            charts.Series(str(_("Late")), [r.late for r in rows], "bar bar--late", "#b42318"),
        ],
        title=str(_("Requests received, completed and late by date received")),
    )
    return {"trend_chart": chart, "trend_rows": list(zip(labels, rows, strict=True))}


def _previous_month_value() -> str:
    first = timezone.localdate().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _status(form) -> int:
    """400 for a page shown with the errors of a submitted form."""
    return 400 if form.is_bound and form.errors else 200


def oversight_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_oversight:
            raise PermissionDenied(_("This page is for oversight bodies."))
        return view(request, *args, **kwargs)

    return wrapped


def _min_ranking() -> int:
    return settings.OVERSIGHT_RANKING_MIN_REQUESTS


AGENCY_SORTS = {
    "received": lambda r: (-r.received, r.label),
    "name": lambda r: (r.label,),
    "completion": lambda r: (r.completion_rate is None, -(r.completion_rate or 0), r.label),
    "delay": lambda r: (r.delay_rate is None, -(r.delay_rate or 0), r.label),
    "response": lambda r: (
        r.avg_first_response_hours is None,
        r.avg_first_response_hours or 0,
        r.label,
    ),
}
AGENCY_SORT_LABELS = {
    "received": gettext_lazy("Most requests"),
    "name": gettext_lazy("Name"),
    "completion": gettext_lazy("Highest completion rate"),
    "delay": gettext_lazy("Highest delay rate"),
    "response": gettext_lazy("Fastest first response"),
}
AGENCIES_PER_PAGE = 50


@oversight_required
def dashboard(request):
    form, period = PeriodForm.from_query(request.GET)
    sort = request.GET.get("sort")
    if sort not in AGENCY_SORTS:
        sort = "received"
    rows = sorted(selectors.agency_table(period), key=AGENCY_SORTS[sort])
    period_query = f"start={period.start}&end={period.end}&grain={period.grain}"

    def table_of(items):
        return _table(
            _("Agency"),
            items,
            link=lambda r: (
                reverse("insights:agency", kwargs={"agency_slug": r.extra["slug"]})
                + "?"
                + period_query
            ),
        )

    if request.GET.get("export") in ("csv", "xlsx") and not form.errors:
        selectors.agency_percentiles(period, rows)
        exported = _export(request, table_of(rows), f"agencies-{period.start}-{period.end}", form)
        if exported:
            return exported
    # A page of agencies at a time: the figures of all of them are in the exports.
    page = Paginator(rows, AGENCIES_PER_PAGE).get_page(request.GET.get("page"))
    selectors.agency_percentiles(period, list(page.object_list))
    return render(
        request,
        "insights/dashboard.html",
        {
            "form": form,
            "period": period,
            "period_query": period_query,
            "sort": sort,
            "sorts": AGENCY_SORT_LABELS,
            "page": page,
            "summary": selectors.scope_summary(period),
            "table": table_of(page.object_list),
            "rankings": selectors.rankings(rows, min_requests=_min_ranking()),
            "min_ranking": _min_ranking(),
            "month_form": MonthForm(initial={"month": _previous_month_value()}),
            **_trend_context(period, selectors.trend(period)),
        },
        status=_status(form),
    )


def _breakdown_tables(period, agency, department_ids, *, with_evaluation: bool) -> dict:
    departments = selectors.breakdown(
        period, agency=agency, by="department", department_ids=department_ids
    )
    employees = selectors.employee_table(period, agency=agency, department_ids=department_ids)
    types = selectors.breakdown(period, agency=agency, by="type", department_ids=department_ids)
    employee_headers = [_("Evaluation (0-100)")] if with_evaluation else []
    employee_headers.append(_("Hours present"))

    def employee_extra(row):
        cells = []
        if with_evaluation:
            evaluation = row.extra.get("evaluation")
            cells.append(_round(evaluation.score) if evaluation else None)
        return [*cells, _round(row.extra.get("presence_hours"))]

    return {
        "departments": _table(_("Department"), departments),
        "employees": _table(
            _("Employee"), employees, extra_headers=employee_headers, extra=employee_extra
        ),
        "types": _table(_("Service"), types),
    }


@oversight_required
def agency(request, agency_slug):
    target = get_object_or_404(
        Agency.objects.exclude(schema_name="public"), slug=agency_slug, is_active=True
    )
    form, period = PeriodForm.from_query(request.GET)
    tables = _breakdown_tables(period, target, None, with_evaluation=False)
    which = request.GET.get("table", "departments")
    if which in tables:
        exported = _export(request, tables[which], f"{target.slug}-{which}-{period.start}", form)
        if exported:
            return exported
    return render(
        request,
        "insights/agency.html",
        {
            "agency": target,
            "form": form,
            "period": period,
            "summary": selectors.scope_summary(period, agency=target),
            "tables": tables,
            "late_requests": selectors.late_open_requests(target),
            "beneficiaries": selectors.agency_beneficiaries(period, agency=target),
            **_trend_context(period, selectors.trend(period, agency=target)),
        },
        status=_status(form),
    )


def _monthly_report(request, *, back: str, back_kwargs: dict, filename: str, context):
    """The PDF of the month asked for (``context(period)`` gives the figures); a bad month,
    or a server without Pango, goes back to ``back`` with a message."""
    form = MonthForm(request.GET)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("month", [_("Choose a month.")])))
        return redirect(back, **back_kwargs)
    period = form.cleaned_data["month"]
    html = render_to_string(
        "insights/report_pdf.html",
        {
            "period": period,
            "report_time": timezone.localtime(),
            **context(period),
        },
        request=request,
    )
    response = pdf_response(html, f"{filename}-{period.start:%Y-%m}")
    if response is None:
        messages.error(request, _("PDF reports are not available on this server at the moment."))
        return redirect(back, **back_kwargs)
    return response


@oversight_required
def report(request):
    def context(period):
        rows = selectors.agency_percentiles(period, selectors.agency_table(period))
        return {
            "title": _("Monthly report of all agencies"),
            "summary": selectors.scope_summary(period),
            "table": _table(_("Agency"), rows),
            "rankings": selectors.rankings(rows, min_requests=_min_ranking()),
            "min_ranking": _min_ranking(),
            **_trend_context(period, selectors.trend(period)),
        }

    return _monthly_report(
        request, back="insights:dashboard", back_kwargs={}, filename="report", context=context
    )


def _department_scope(request) -> list[int] | None:
    """Agency-wide viewers see every department; a supervisor of a department sees it and the
    departments under it."""
    from tenants.selectors import department_scope

    return department_scope(membership=request.membership, user=request.user)


@workspace_view(Perm.VIEW)
def workspace_statistics(request):
    form, period = PeriodForm.from_query(request.GET)
    department_ids = _department_scope(request)
    tables = _breakdown_tables(period, request.agency, department_ids, with_evaluation=True)
    which = request.GET.get("table", "employees")
    if which in tables:
        exported = _export(request, tables[which], f"{request.agency.slug}-{which}", form)
        if exported:
            return exported
    return render(
        request,
        "insights/workspace.html",
        {
            "form": form,
            "period": period,
            "scoped": department_ids is not None,
            "summary": selectors.scope_summary(
                period, agency=request.agency, department_ids=department_ids
            ),
            "platform": selectors.scope_summary(period, percentiles=False),
            "tables": tables,
            "beneficiaries": selectors.agency_beneficiaries(
                period, agency=request.agency, department_ids=department_ids
            ),
            "month_form": MonthForm(initial={"month": _previous_month_value()}),
            "evaluation": selectors.evaluation_settings(request.agency),
            # The meetings' decisions register (R-34): open, done and late now (one query).
            "decisions": decision_counts(),
            **_trend_context(
                period,
                selectors.trend(period, agency=request.agency, department_ids=department_ids),
            ),
        },
        status=_status(form),
    )


@workspace_view(Perm.VIEW)
def workspace_report(request):
    department_ids = _department_scope(request)
    agency = request.agency

    def context(period):
        return {
            "title": _("Monthly report of %(agency)s") % {"agency": agency.name},
            "summary": selectors.scope_summary(
                period, agency=agency, department_ids=department_ids
            ),
            "tables": _breakdown_tables(period, agency, department_ids, with_evaluation=True),
            **_trend_context(
                period, selectors.trend(period, agency=agency, department_ids=department_ids)
            ),
        }

    return _monthly_report(
        request,
        back="workspace:statistics",
        back_kwargs={"agency_slug": agency.slug},
        filename=f"{agency.slug}-report",
        context=context,
    )


@workspace_view(Perm.MANAGE)
def evaluation_settings(request):
    from requests_app.services.survey import survey_form

    config = selectors.evaluation_settings(request.agency)
    form = EvaluationSettingsForm(
        request.POST or None, instance=config, initial={"survey_form": survey_form()}
    )
    if request.method == "POST" and form.is_valid():
        evaluation_settings_save(
            agency=request.agency,
            actor=request.user,
            data={name: form.cleaned_data[name] for name in form.Meta.fields},
            survey_form=form.cleaned_data["survey_form"],
        )
        messages.success(request, _("The evaluation settings were saved."))
        return redirect("workspace:evaluation_settings", agency_slug=request.agency.slug)
    return render(
        request,
        "insights/evaluation_settings.html",
        {"form": form},
        status=_status(form),
    )


@login_required
def my_statistics(request):
    rows = selectors.beneficiary_history(request.user)
    totals = {
        key: sum(row[key] for row in rows)
        for key in ("received", "open", "completed", "rejected", "late")
    }
    return render(request, "insights/mine.html", {"rows": rows, "totals": totals})
