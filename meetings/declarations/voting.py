"""What the voting part of meetings declares to the platform (merged in meetings.module).

No action records a vote: who voted is in the poll's voter list, and a secret poll's choices
are nowhere but in the tallies (meetings.services.voting)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Event, MenuEntry

AUDIT_ACTIONS: dict = {
    "meetings.poll_created": _("Prepared a poll"),
    "meetings.poll_opened": _("Opened a poll"),
    "meetings.poll_closed": _("Closed a poll and recorded its result"),
    "meetings.proxy_given": _("Gave a proxy for a meeting"),
    "meetings.proxy_withdrawn": _("Withdrew a proxy for a meeting"),
}
EVENTS: dict[str, Event] = {}
MENU: list[MenuEntry] = []
