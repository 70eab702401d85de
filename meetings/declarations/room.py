"""What the room part of meetings declares to the platform (merged in meetings.module)."""

from core.modules import Event, MenuEntry  # noqa: F401

AUDIT_ACTIONS: dict = {}
EVENTS: dict[str, Event] = {}
MENU: list[MenuEntry] = []
