from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    name = "requests_app"
    label = "requests_app"
    verbose_name = _("Requests")

    def ready(self) -> None:
        from tenants.selectors import audit_scope_register

        audit_scope_register(_audit_scope)


def _audit_scope(*, department_ids, members):
    """For a department subtree's audit trail: its requests and its members' appointments."""
    from requests_app.models import Appointment, Request

    return [
        (Request, Request.objects.filter(department_id__in=department_ids)),
        (Appointment, Appointment.objects.filter(membership__in=members)),
    ]
