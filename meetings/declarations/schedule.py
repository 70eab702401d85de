"""What the schedule part of meetings declares to the platform (merged in meetings.module)."""

from django.utils.translation import gettext_lazy as _

from core.modules import EMAIL, INAPP, SMS, Event, MenuEntry

AUDIT_ACTIONS: dict = {
    "meetings.body_save": _("Board or committee saved"),
    "meetings.member_add": _("Member added to a board or committee"),
    "meetings.member_update": _("Member's role or weight changed"),
    "meetings.member_remove": _("Member removed from a board or committee"),
    "meetings.meeting_create": _("Meeting created"),
    "meetings.meeting_update": _("Meeting changed"),
    "meetings.meeting_announce": _("Meeting announced and invitations sent"),
    "meetings.meeting_cancel": _("Meeting cancelled"),
    "meetings.participant_add": _("Participant invited to a meeting"),
    "meetings.participant_remove": _("Participant removed from a meeting"),
    "meetings.invitation_bind": _("Meeting invitation linked to an account"),
    "meetings.rsvp": _("Answer to a meeting invitation"),
    "meetings.agenda_save": _("Agenda item saved"),
    "meetings.agenda_delete": _("Agenda item deleted"),
    "meetings.agenda_move": _("Agenda reordered"),
    "meetings.document_add": _("Meeting document added"),
    "meetings.document_delete": _("Meeting document deleted"),
}
EVENTS: dict[str, Event] = {
    # Sensitive: their texts carry the participant's signed answer link (or invitation link).
    "meetings.invited": Event(
        _("Invitation to a meeting"), (INAPP, EMAIL, SMS), mandatory=True, sensitive=True
    ),
    "meetings.changed": Event(
        _("A meeting you are invited to changed"),
        (INAPP, EMAIL, SMS),
        mandatory=True,
        sensitive=True,
    ),
    "meetings.cancelled": Event(
        _("A meeting you are invited to was cancelled"), (INAPP, EMAIL, SMS)
    ),
    "meetings.reminder": Event(_("Meeting reminder"), (INAPP, EMAIL, SMS)),
}
MENU: list[MenuEntry] = [
    MenuEntry(
        "workspace:meetings", _("Meetings"), ("meetings.manage", "meetings.view_all"), order=45
    ),
]
