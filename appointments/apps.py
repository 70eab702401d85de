from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    label = "appointments"
    verbose_name = _("Calendar")

    def ready(self) -> None:
        from tenants.selectors import audit_scope_register

        audit_scope_register(_audit_scope)


def _audit_scope(*, department_ids, members):
    """For a department subtree's audit trail: the appointments of its members. (Events
    recorded before the calendar left the requests app name ``requests_app.appointment``;
    their actor is the appointment's owner, so the actor clause keeps them in scope.)"""
    from appointments.models import Appointment

    return [(Appointment, Appointment.objects.filter(membership__in=members))]
