"""What the finance app brings to the platform (see core.modules)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Module, Permissions
from finance import declarations_reports


class Perm(Permissions):
    ENTER = "finance.enter", _("Enter vouchers")
    REVIEW = "finance.review", _("Review vouchers")
    APPROVE = "finance.approve", _("Give final approval to vouchers")
    CONFIGURE = "finance.configure", _("Configure the chart of accounts, review chains and budgets")
    REPORTS = "finance.reports", _("See financial reports")
    CLOSE_PERIODS = "finance.close_periods", _("Close and reopen accounting periods")


MODULE = Module(
    name="finance",
    permissions=Perm,
    permission_help={
        Perm.ENTER: _("Enter receipt, payment and journal vouchers and submit them for review."),
        Perm.REVIEW: _("Act on the review levels you are named for, never on your own vouchers."),
        Perm.APPROVE: _("The last level of a review chain; approval posts to the ledger."),
        Perm.CONFIGURE: _("Accounts, fiscal years, review levels, budgets and finance settings."),
        Perm.REPORTS: _("Trial balance, account statements, budget against actual, exports."),
        Perm.CLOSE_PERIODS: _("Closing a period stops postings into it; reopening is audited."),
    },
    audit_actions={**declarations_reports.AUDIT_ACTIONS},
    menu=[*declarations_reports.MENU],
    workspace_urls="finance.urls.workspace_urlpatterns",
)
