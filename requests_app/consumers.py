"""The workspace request page's socket: it hears when the request changes (another employee
comments, acts, reassigns…) and offers to reload (frontend/static/frontend/object_live.js)."""

from requests_app import selectors
from requests_app.models import Request
from requests_app.module import Perm
from requests_app.services.live import REQUEST_KIND, request_version
from tenants.realtime import AgencyObjectConsumer
from tenants.selectors import membership_for

# Who may work on requests at all (as views_workspace._may_work).
WORKING = (Perm.WORK, Perm.VIEW_ALL, Perm.SUPERVISE)


def may_open_request(user, request_id: int) -> bool:
    """Whether the employee may open the request's workspace page: the same rule as the page
    itself (views_workspace._request_or_404). In the agency's schema. The one place to switch
    to a policy when requests have one."""
    if not any(user.has_perm(code.perm) for code in WORKING):
        return False
    membership = membership_for(user=user)
    if membership is None or not membership.is_active:
        return False
    found = selectors.workspace_request(membership=membership, user=user, request_id=request_id)
    return found is not None


class RequestConsumer(AgencyObjectConsumer):
    """``/ws/a/<agency_slug>/requests/<request_id>/``: employees who may open the request."""

    kind = REQUEST_KIND
    object_kwarg = "request_id"

    def authorize(self, user, object_id) -> bool:
        return may_open_request(user, object_id)

    def version(self, object_id) -> str | None:
        updated_at = (
            Request.objects.filter(pk=object_id).values_list("updated_at", flat=True).first()
        )
        return request_version(updated_at) if updated_at is not None else None
