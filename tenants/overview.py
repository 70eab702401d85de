"""The staff steps of a new agency's first-run checklist (core.modules.Module.setup_steps)."""

from django.utils.translation import gettext_lazy as _

from core.modules import SetupStep
from tenants.module import Perm
from tenants.staff.models import Department, Membership
from tenants.urls_helpers import workspace_reverse


def setup_steps(request) -> list[SetupStep]:
    """Departments (at least one active) and staff (an active employee besides oneself), for
    whoever manages them."""
    steps = []
    if request.user.has_perm(Perm.MANAGE_DEPARTMENTS.perm):
        steps.append(
            SetupStep(
                label=_("Create your departments"),
                done=Department.objects.filter(is_active=True).exists(),
                url=workspace_reverse(request, "workspace:department_list"),
                order=10,
            )
        )
    if request.user.has_perm(Perm.MANAGE_EMPLOYEES.perm):
        steps.append(
            SetupStep(
                label=_("Invite your staff"),
                done=Membership.objects.filter(is_active=True)
                .exclude(user_id=request.user.pk)
                .exists(),
                url=workspace_reverse(request, "workspace:staff_invite"),
                order=20,
            )
        )
    return steps
