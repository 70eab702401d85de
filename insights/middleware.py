"""Time present in the workspaces (R-51), recorded by the statistics app itself."""

from insights.services import presence_touch


class PresenceMiddleware:
    """An active employee's request to their agency's workspace counts as time present.

    The workspace guard (``tenants.decorators.workspace_view``) sets ``request.membership``
    once it has found the active employee, before any permission check; the time is recorded
    when the response is ready (a refused page counts, as the employee is at work there).
    Other pages and other people record nothing. Writes are throttled per minute
    (``presence_touch``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        agency = getattr(request, "agency", None)
        membership = getattr(request, "membership", None)
        if agency is not None and membership is not None and membership.is_active:
            presence_touch(agency=agency, user=request.user)
        return response
