"""The events people are told about, their channels and whether a person may turn them off.

Each app declares its own events, with their templates under its own
templates/notifications/events/<event>/, in its ``module.py`` (core.modules); ``EVENTS`` is the
view of every installed module's events that notification_send looks events up in.
"""

from core.modules import CHANNELS, EMAIL, INAPP, SMS, Event, EventsView, events

__all__ = ["CHANNELS", "EMAIL", "EVENTS", "INAPP", "SMS", "Event", "configurable_events"]

EVENTS = EventsView()


def configurable_events() -> dict[str, Event]:
    return {code: event for code, event in events().items() if not event.mandatory}
