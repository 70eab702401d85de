"""URLs of finance's budgets and reports (R-43), under /a/<slug>/ in the "workspace"
namespace (employees of the agency)."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from finance.views import budgets, reports

workspace_urlpatterns: list = [
    path("finance/reports/", reports.reports_index, name="finance_reports"),
    path("finance/reports/vouchers/", reports.report_vouchers, name="finance_report_vouchers"),
    path("finance/reports/statement/", reports.report_statement, name="finance_report_statement"),
    path("finance/reports/ledger/", reports.report_ledger, name="finance_report_ledger"),
    path(
        "finance/reports/trial-balance/",
        reports.report_trial_balance,
        name="finance_report_trial_balance",
    ),
    path("finance/reports/budget/", reports.report_budget, name="finance_report_budget"),
    path("finance/reports/waiting/", reports.report_waiting, name="finance_report_waiting"),
    path("finance/budgets/", budgets.budgets, name="finance_budgets"),
    path("finance/budgets/new/", budgets.budget_new, name="finance_budget_new"),
    path("finance/budgets/<id:line_id>/", budgets.budget_detail, name="finance_budget"),
    path("finance/budgets/control/", budgets.budget_control, name="finance_budget_control"),
]
