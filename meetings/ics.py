"""The meeting as an iCalendar invitation (RFC 5545, the ``icalendar`` library): one UID per
meeting for its whole life, SEQUENCE raised on each change, METHOD:REQUEST for an invitation
or its change and METHOD:CANCEL for a cancellation; times in UTC."""

from datetime import UTC

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from meetings.constants import MeetingStatus, Mode
from meetings.models import Meeting, Participant
from meetings.pages import meeting_path
from tenants.models import Agency

PRODID = "-//Muamalat//Meetings//AR"


def _address(person: Participant | None) -> str:
    email = ""
    if person is not None:
        email = (person.user.email if person.user_id else "") or person.email
    return f"mailto:{email}" if email else ""


def _utc(value):
    return value.astimezone(UTC)


def meeting_ics(
    *,
    agency: Agency,
    meeting: Meeting,
    participant: Participant | None = None,
    cancel: bool | None = None,
) -> str:
    """The .ics text of the meeting for one participant (their ATTENDEE line and answer), or
    for nobody in particular (a download by a manager). ``cancel`` defaults to whether the
    meeting is cancelled."""
    if cancel is None:
        cancel = meeting.status == MeetingStatus.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    event = Event()
    event.add("uid", f"{meeting.uid}@{agency.slug}.muamalat")
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", _utc(timezone.now()))
    event.add("dtstart", _utc(meeting.starts_at))
    event.add("dtend", _utc(meeting.ends_at))
    title = meeting.title_ar if not meeting.title_en else f"{meeting.title_ar} / {meeting.title_en}"
    event.add("summary", title)
    location = meeting.place
    if meeting.mode in (Mode.REMOTE, Mode.HYBRID) and meeting.conference_url:
        location = f"{location} — {meeting.conference_url}" if location else meeting.conference_url
    if location:
        event.add("location", location)
    url = settings.SITE_URL + meeting_path(agency, meeting)
    event.add("url", url)
    description = [agency.name_ar, url]
    if meeting.conference_url:
        description.append(meeting.conference_url)
    event.add("description", "\n".join(description))
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL.split('<')[-1].rstrip('>')}")
    organizer.params["cn"] = vText(agency.name_ar)
    event["organizer"] = organizer
    address = _address(participant)
    if address:
        attendee = vCalAddress(address)
        attendee.params["cn"] = vText(str(participant))
        attendee.params["role"] = vText(
            "NON-PARTICIPANT" if participant.role == "observer" else "REQ-PARTICIPANT"
        )
        attendee.params["partstat"] = vText(
            {
                "accepted": "ACCEPTED",
                "declined": "DECLINED",
                "tentative": "TENTATIVE",
            }.get(participant.rsvp, "NEEDS-ACTION")
        )
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode()
