"""The workspace request page's socket: it hears when the request changes (another employee
comments, acts, reassigns…) and offers to reload (frontend/static/frontend/object_live.js)."""

from requests_app import policies
from requests_app.models import Request
from requests_app.services.live import REQUEST_KIND, request_version
from tenants.realtime import AgencyObjectConsumer


def may_open_request(user, request_id: int) -> bool:
    """Whether the employee may open the request's workspace page: the requests policy
    (requests_app.policies.can_open), the page's own rule. In the agency's schema."""
    item = Request.objects.select_related("assignee").filter(pk=request_id).first()
    return item is not None and policies.can_open(user, item)


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
