"""Who may do what with a request (R-11..R-14): one answer for the services (which refuse
through ``core.actions.require``), the views (404 for a request one may not open, 403 for an
action one may not take) and the templates (which buttons show).

Every function takes the acting user and, where there is one, the object; the user's
permissions in the current agency come from ``user.has_perm`` (tenants.backends, cached per
user object), so a policy asked several times in one request costs its queries once.
"""

from __future__ import annotations

from accounts.models import User
from requests_app.models import ApprovalRequest, Request
from requests_app.module import Perm
from tenants.backends import membership_cached
from tenants.selectors import department_scope


def uses_workspace(actor: User) -> bool:
    """Works requests at all: an employee, an agency-wide viewer or a supervisor."""
    return (
        actor.has_perm(Perm.WORK.perm)
        or actor.has_perm(Perm.VIEW_ALL.perm)
        or actor.has_perm(Perm.SUPERVISE.perm)
    )


def sees_all(actor: User) -> bool:
    """Sees beyond their own queue: agency-wide (view_all) or as a supervisor."""
    return actor.has_perm(Perm.VIEW_ALL.perm) or actor.has_perm(Perm.SUPERVISE.perm)


def _is_assignee(actor: User, item: Request) -> bool:
    return item.assignee_id is not None and item.assignee.user_id == actor.pk


def can_open(actor: User, item: Request) -> bool:
    """Opens the request in the workspace (R-14): an agency-wide viewer any request, a
    supervisor those of their department subtree (every one without a department), anyone
    else the requests assigned to them. The same rule as selectors.workspace_requests, for one
    object already loaded."""
    if not actor.is_authenticated or not uses_workspace(actor):
        return False
    if actor.has_perm(Perm.VIEW_ALL.perm) or _is_assignee(actor, item):
        return True
    if actor.has_perm(Perm.SUPERVISE.perm):
        membership = membership_cached(actor)
        if membership is None or not membership.is_active:
            return False
        scope = department_scope(membership=membership, user=actor)
        return scope is None or item.department_id in scope
    return False


def can_work(actor: User, item: Request) -> bool:
    """Start, ask the beneficiary, resolve, reject: whoever may open the request."""
    return can_open(actor, item)


def can_comment(actor: User, item: Request) -> bool:
    """The request's beneficiary (external comments only, checked by the service), or staff
    who may open it."""
    return item.beneficiary_id == actor.pk or can_open(actor, item)


def can_reopen(actor: User, item: Request) -> bool:
    return actor.has_perm(Perm.REOPEN.perm) and can_open(actor, item)


def can_ask_change(actor: User, item: Request) -> bool:
    """Reassign or postpone: done directly with the permission, otherwise asked of a
    supervisor — either way by someone who may open the request."""
    return can_open(actor, item)


def reopens(actor: User) -> bool:
    """Holds the reopen permission: the button on a page already shown to someone who may open
    the request (the service asks can_reopen)."""
    return actor.has_perm(Perm.REOPEN.perm)


def reassigns_directly(actor: User) -> bool:
    return actor.has_perm(Perm.REASSIGN.perm)


def postpones_directly(actor: User) -> bool:
    return actor.has_perm(Perm.POSTPONE.perm)


def decides_approvals(actor: User) -> bool:
    """Sees the approvals page: a supervisor or an agency-wide viewer."""
    return sees_all(actor)


def decide_refusal(actor: User, approval: ApprovalRequest) -> str | None:
    """Why ``actor`` may not decide ``approval`` (a translated message), or None: only a
    supervisor of the request, never on their own request."""
    from django.utils.translation import gettext as _

    membership = membership_cached(actor) if actor.is_authenticated else None
    if membership is None or not membership.is_active or not sees_all(actor):
        return _("Only a supervisor can decide.")
    if approval.requested_by_id == actor.pk:
        return _("You cannot decide on your own request.")
    if not can_open(actor, approval.request):
        return _("This request is not under your supervision.")
    return None


def manages_catalogue(actor: User) -> bool:
    """Edits the agency's services (transaction types) in the catalogue."""
    return actor.has_perm(Perm.MANAGE_CATALOGUE.perm)


def manages_distribution(actor: User) -> bool:
    """Edits distribution rules and employees' profiles, schedules and leave."""
    return actor.has_perm(Perm.MANAGE_DISTRIBUTION.perm)


def manages_sla(actor: User) -> bool:
    """Edits service levels, the working calendar and holidays."""
    return actor.has_perm(Perm.MANAGE_SLA.perm)
