"""What the room part of meetings declares to the platform (merged in meetings.module)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Event, MenuEntry  # noqa: F401

AUDIT_ACTIONS: dict = {
    "meetings.started": _("Meeting started"),
    "meetings.closed": _("Meeting closed"),
    "meetings.current_item": _("Meeting moved to another agenda item"),
    "meetings.opinion_posted": _("Opinion posted in a meeting"),
    "meetings.shared_notes": _("Meeting's shared notes edited"),
    "meetings.floor_given": _("Floor given to a speaker"),
    "meetings.attendance_check_in": _("Checked in to a meeting"),
    "meetings.attendance_leave": _("Left a meeting"),
    "meetings.attendance_marked_present": _("Marked present at a meeting"),
    "meetings.attendance_marked_absent": _("Marked absent from a meeting"),
    "meetings.attendance_marked_excused": _("Marked excused from a meeting"),
}
EVENTS: dict[str, Event] = {}
MENU: list[MenuEntry] = []
