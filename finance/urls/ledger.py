"""URLs of the ledger foundation: vouchers, the chart, fiscal years and periods."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from finance.views import chart, vouchers

workspace_urlpatterns: list = [
    path("finance/vouchers/", vouchers.voucher_list, name="finance_vouchers"),
    path("finance/vouchers/new/", vouchers.voucher_new, name="finance_voucher_new"),
    path("finance/vouchers/<id:voucher_id>/", vouchers.voucher_detail, name="finance_voucher"),
    path(
        "finance/vouchers/<id:voucher_id>/edit/",
        vouchers.voucher_edit,
        name="finance_voucher_edit",
    ),
    path(
        "finance/vouchers/<id:voucher_id>/cancel/",
        vouchers.voucher_cancel,
        name="finance_voucher_cancel",
    ),
    path(
        "finance/vouchers/<id:voucher_id>/reverse/",
        vouchers.voucher_reverse,
        name="finance_voucher_reverse",
    ),
    path(
        "finance/vouchers/<id:voucher_id>/attachments/<id:attachment_id>/",
        vouchers.voucher_attachment,
        name="finance_voucher_attachment",
    ),
    path("finance/accounts/", chart.account_list, name="finance_accounts"),
    path("finance/accounts/new/", chart.account_new, name="finance_account_new"),
    path("finance/accounts/<id:account_id>/", chart.account_edit, name="finance_account_edit"),
    path(
        "finance/accounts/<id:account_id>/remove/",
        chart.account_remove,
        name="finance_account_remove",
    ),
    path("finance/years/", chart.fiscal_year_list, name="finance_fiscal_years"),
    path("finance/years/new/", chart.fiscal_year_new, name="finance_fiscal_year_new"),
    path(
        "finance/years/<id:fiscal_year_id>/opening/",
        chart.opening_balances,
        name="finance_opening_balances",
    ),
    path("finance/periods/<id:period_id>/close/", chart.period_close, name="finance_period_close"),
    path(
        "finance/periods/<id:period_id>/reopen/",
        chart.period_reopen,
        name="finance_period_reopen",
    ),
]
