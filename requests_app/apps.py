from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    name = "requests_app"
    label = "requests_app"
    verbose_name = _("Requests")

    def ready(self) -> None:
        from appointments.sources import Source, source_register
        from requests_app.selectors import request_calendar_link
        from tenants.selectors import audit_scope_register

        audit_scope_register(_audit_scope)
        # The calendar page offers to link an appointment to a request by its reference.
        source_register(
            Source(
                field="request_reference",
                label=_("Request reference (optional)"),
                not_found=_("No such request in your reach."),
                find=request_calendar_link,
            )
        )


def _audit_scope(*, department_ids, members):
    """For a department subtree's audit trail: its requests."""
    from requests_app.models import Request

    return [(Request, Request.objects.filter(department_id__in=department_ids))]
