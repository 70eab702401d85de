"""What the requests app shows on the workspace overview (core.modules.Module.overview_panels
and setup_steps): the employee's workload, and the catalogue and distribution steps of a new
agency's checklist."""

from django.utils.translation import gettext_lazy as _

from core.modules import OverviewPanel, SetupStep
from requests_app import policies, selectors
from requests_app.models import DistributionRule, TransactionType
from tenants.urls_helpers import workspace_reverse


def _queue_link(request, **params) -> str:
    from urllib.parse import urlencode

    return f"{workspace_reverse(request, 'workspace:queue')}?{urlencode(params)}"


WORKLOAD_LABELS = {
    "new": _("New, not started"),
    selectors.DUE_SOON: _("Due soon"),
    selectors.LATE: _("Late"),
    "awaiting_beneficiary": _("Waiting for the beneficiary"),
    "unassigned": _("Unassigned"),
}


def _cards(request, counts: dict[str, int], **params) -> list[dict]:
    cards = []
    for key, n in counts.items():
        query = {"scope": "unassigned"} if key == "unassigned" else {**params, "state": key}
        cards.append(
            {
                "key": key,
                "label": WORKLOAD_LABELS[key],
                "count": n,
                "url": _queue_link(request, **query),
                "alert": key == selectors.LATE and n > 0,
            }
        )
    return cards


def workload(request) -> OverviewPanel | None:
    """Counts of the employee's work, and of their scope for a supervisor, each linking to the
    queue filtered the same way. Three queries (the due-soon horizon's calendar, then one)."""
    if not policies.uses_workspace(request.user):
        return None
    counts = selectors.workload_counts(
        membership=request.membership,
        user=request.user,
        horizon=selectors.due_soon_horizon(),
    )
    return OverviewPanel(
        template="requests_app/workspace/partials/overview_workload.html",
        context={
            "mine": _cards(request, counts["mine"], scope="mine"),
            "scope": _cards(request, counts["scope"], scope="all") if counts["scope"] else None,
            "due_soon_hours": selectors.DUE_SOON_WORKING_HOURS,
        },
        order=10,
    )


def setup_steps(request) -> list[SetupStep]:
    """Services in the catalogue (at least one active) and distribution rules (at least one),
    for whoever manages them."""
    steps = []
    if policies.manages_catalogue(request.user):
        steps.append(
            SetupStep(
                label=_("Add the services you offer to the catalogue"),
                done=TransactionType.objects.filter(is_active=True).exists(),
                url=workspace_reverse(request, "workspace:catalogue_list"),
                order=30,
            )
        )
    if policies.manages_distribution(request.user):
        steps.append(
            SetupStep(
                label=_("Set how requests are distributed to employees"),
                done=DistributionRule.objects.exists(),
                url=workspace_reverse(request, "workspace:distribution_list"),
                order=40,
            )
        )
    return steps
