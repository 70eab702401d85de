"""What the calendar brings to the platform (see core.modules): every active employee's own
calendar page and the reminder event. No permission: each employee has a calendar and sees
only their own."""

from django.utils.translation import gettext_lazy as _

from core.modules import EMAIL, INAPP, Event, MenuEntry, Module

MODULE = Module(
    name="appointments",
    audit_actions={
        "calendar.create": _("Appointment added to a calendar"),
        "calendar.edit": _("Appointment changed"),
        "calendar.delete": _("Appointment deleted"),
    },
    events={"calendar.reminder": Event(_("Appointment reminder"), (INAPP, EMAIL))},
    menu=[MenuEntry("workspace:calendar", _("Calendar"), order=40)],
    workspace_urls="appointments.urls.workspace_urlpatterns",
)
