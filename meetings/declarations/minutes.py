"""What the minutes part of meetings declares to the platform (merged in meetings.module)."""

from django.utils.translation import gettext_lazy as _

from core.modules import EMAIL, INAPP, Event, MenuEntry

AUDIT_ACTIONS: dict = {
    "meetings.minutes_draft": _("Minutes drafted"),
    "meetings.minutes_edit": _("Minutes edited"),
    "meetings.minutes_circulate": _("Minutes circulated for remarks"),
    "meetings.minutes_remark": _("Remark on the minutes"),
    "meetings.minutes_approve": _("Minutes approved"),
    "meetings.decision_create": _("Decision recorded"),
    "meetings.decision_update": _("Decision changed"),
    "meetings.decision_follow_up": _("Decision followed up"),
}
EVENTS: dict[str, Event] = {
    "meetings.minutes_circulated": Event(_("Minutes sent to you for remarks"), (INAPP, EMAIL)),
    "meetings.minutes_approved": Event(_("Minutes of a meeting approved"), (INAPP,)),
    "meetings.decision_assigned": Event(_("A decision to follow up"), (INAPP, EMAIL)),
    "meetings.decision_due_soon": Event(_("A decision is due soon"), (INAPP, EMAIL)),
    "meetings.decision_late": Event(_("A decision is past its due date"), (INAPP, EMAIL)),
}
MENU: list[MenuEntry] = [
    MenuEntry(
        "workspace:meetings_decisions",
        _("Decisions"),
        ("meetings.decisions", "meetings.manage"),
        order=62,
    ),
]
