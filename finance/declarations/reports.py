"""What finance's budgets and reports declare to the platform (merged in finance.module)."""

from django.utils.translation import gettext_lazy as _

from core.modules import MenuEntry

AUDIT_ACTIONS: dict = {
    "finance.budget_set": _("Budget set"),
    "finance.budget_revise": _("Budget revised"),
    "finance.budget_control": _("Budget control changed"),
}
MENU: list[MenuEntry] = [
    MenuEntry("workspace:finance_reports", _("Financial reports"), ("finance.reports",), order=62),
    MenuEntry(
        "workspace:finance_budgets",
        _("Budgets"),
        ("finance.configure", "finance.reports"),
        order=63,
    ),
]

EVENTS: dict = {}
