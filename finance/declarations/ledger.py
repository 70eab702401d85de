"""What the ledger foundation of finance declares: the chart, fiscal years and periods,
vouchers and posting (merged in finance.module)."""

from django.utils.translation import gettext_lazy as _

from core.modules import MenuEntry

AUDIT_ACTIONS: dict = {
    "finance.account_save": _("Account of the chart saved"),
    "finance.account_deactivate": _("Account of the chart deactivated"),
    "finance.account_delete": _("Unused account deleted from the chart"),
    "finance.fiscal_year_create": _("Fiscal year created"),
    "finance.period_close": _("Accounting period closed"),
    "finance.period_reopen": _("Accounting period reopened"),
    "finance.opening_balances_save": _("Opening balances saved"),
    "finance.voucher_create": _("Voucher entered"),
    "finance.voucher_update": _("Voucher corrected"),
    "finance.voucher_cancel": _("Voucher cancelled"),
    "finance.voucher_post": _("Voucher posted to the general ledger"),
    "finance.voucher_reverse": _("Reversing voucher entered"),
}
EVENTS: dict = {}
MENU: list[MenuEntry] = [
    MenuEntry(
        "workspace:finance_vouchers",
        _("Vouchers"),
        (
            "finance.enter",
            "finance.review",
            "finance.approve",
            "finance.reports",
            "finance.configure",
        ),
        order=50,
    ),
    MenuEntry(
        "workspace:finance_accounts", _("Chart of accounts"), ("finance.configure",), order=52
    ),
    MenuEntry(
        "workspace:finance_fiscal_years",
        _("Fiscal years and periods"),
        ("finance.configure", "finance.close_periods"),
        order=53,
    ),
]
