"""What a calendar entry can be about, named without the appointments importing the modules.

``EntryLink`` is the link stored on an entry. Modules that put entries in calendars themselves
(meetings, finance) build it and call ``appointments.services.entry_add``. A module that lets an
employee link an appointment to one of its objects from the calendar page registers a
``Source`` in its AppConfig.ready() (the requests app: a request by its reference); the
calendar form then offers one optional field per registered source."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class EntryLink:
    """``source``: the module's code of the kind of object ("requests.request"); ``source_id``:
    its id; ``source_label``: what the calendar shows of it; ``link``: the workspace path that
    opens it (``/a/<slug>/…``)."""

    source: str
    source_id: int | None
    source_label: str
    link: str


@dataclass(frozen=True)
class Source:
    """A field of the calendar form naming one of a module's objects.

    ``find(agency=, membership=, user=, text=)`` returns the link of the object the text names
    if the user may open it, else None (then ``not_found`` is the field's error)."""

    field: str
    label: str | Promise
    not_found: str | Promise
    find: Callable[..., EntryLink | None]


_sources: list[Source] = []


def source_register(source: Source) -> None:
    if all(known.field != source.field for known in _sources):
        _sources.append(source)


def sources() -> list[Source]:
    return list(_sources)
