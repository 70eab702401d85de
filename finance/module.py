"""What the finance app brings to the platform (see core.modules)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Module, Permissions
from finance.declarations import ledger, reports, review


class Perm(Permissions):
    ENTER = "finance.enter", _("Enter vouchers")
    REVIEW = "finance.review", _("Review vouchers")
    APPROVE = "finance.approve", _("Give final approval to vouchers")
    CONFIGURE = "finance.configure", _("Configure the chart of accounts, review chains and budgets")
    REPORTS = "finance.reports", _("See financial reports")
    CLOSE_PERIODS = "finance.close_periods", _("Close and reopen accounting periods")


_PARTS = (ledger, review, reports)

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
    audit_actions={code: label for part in _PARTS for code, label in part.AUDIT_ACTIONS.items()},
    events={code: event for part in _PARTS for code, event in part.EVENTS.items()},
    menu=[entry for part in _PARTS for entry in part.MENU],
    workspace_urls="finance.urls.workspace_urlpatterns",
    onboard="finance.services.chart.finance_onboard",
)
