"""Minutes of a meeting (R-34): drafted by the system, edited by the secretary, circulated to
the participants for remarks, approved by the chair, then locked.

Decisions taken here (see also meetings.models_minutes):
- The secretary may draft once the meeting is under way or closed (notes during the meeting);
  circulating and approving wait until the meeting is closed, when attendance and results are
  final.
- Every save adds a version (the system's draft included); remarks belong to the version that
  was circulated. A revision after remarks puts the minutes back to "being written": the
  secretary circulates again, and the chair approves a circulated version only.
- Until circulated, the minutes are seen by the secretary and the chair only; afterwards by
  every participant and every employee who sees all meetings. Remarks are seen by their author,
  the secretary and the chair.
- The draft text is written in the language of the secretary who drafts it (Arabic unless
  their account prefers English); the PDF is printed in Arabic or English (headings, title,
  attendance and results), the text itself as written.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require, use_case
from frontend.human import date_text
from meetings import policies, record
from meetings.constants import Majority, MeetingStatus, MemberRole, Presence
from meetings.models import Meeting
from meetings.models_minutes import Minutes, MinutesRemark, MinutesStatus, MinutesVersion
from notifications.services import notification_send

MAX_BODY = 100_000
MAX_REMARK = 5_000
DRAFT_STATES = (MeetingStatus.IN_PROGRESS, MeetingStatus.CLOSED)


# --- who may do what (the same answers for views and templates) ---------------------------


def can_write(actor: User, meeting: Meeting) -> bool:
    return policies.is_secretary(actor, meeting) and meeting.status in DRAFT_STATES


def can_read(actor: User, meeting: Meeting, minutes: Minutes | None) -> bool:
    """Sees the minutes: before circulation the secretary and the chair; then every
    participant and every employee who sees all meetings."""
    if minutes is None or not policies.can_open(actor, meeting):
        return False
    if minutes.status == MinutesStatus.DRAFT:
        return policies.is_secretary(actor, meeting) or policies.is_chair(actor, meeting)
    return True


def sees_remarks(actor: User, meeting: Meeting) -> bool:
    return policies.is_secretary(actor, meeting) or policies.is_chair(actor, meeting)


def can_remark(actor: User, meeting: Meeting, minutes: Minutes | None) -> bool:
    """Members and the chair remark on circulated minutes (observers read; the secretary
    revises)."""
    participant = policies.participant_of(actor, meeting)
    return (
        minutes is not None
        and minutes.status == MinutesStatus.CIRCULATED
        and participant is not None
        and participant.role not in (MemberRole.OBSERVER, MemberRole.SECRETARY)
    )


def can_approve(actor: User, meeting: Meeting, minutes: Minutes | None) -> bool:
    return (
        minutes is not None
        and minutes.status == MinutesStatus.CIRCULATED
        and policies.is_chair(actor, meeting)
    )


# --- reads ----------------------------------------------------------------------------------


def minutes_of(meeting: Meeting) -> Minutes | None:
    return Minutes.objects.filter(meeting=meeting).first()


def latest_version(minutes: Minutes | None) -> MinutesVersion | None:
    if minutes is None:
        return None
    return minutes.versions.order_by("-number").first()


def sections(body: str) -> list[dict[str, Any]]:
    """The text as sections: a heading (a line starting with "## ") and its paragraphs."""
    result: list[dict[str, Any]] = [{"heading": "", "paragraphs": []}]
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            result[-1]["paragraphs"].append("\n".join(paragraph))
            paragraph.clear()

    for line in body.splitlines():
        if line.startswith("## "):
            flush()
            result.append({"heading": line[3:].strip(), "paragraphs": []})
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.rstrip())
    flush()
    return [s for s in result if s["heading"] or s["paragraphs"]]


# --- the system's draft ---------------------------------------------------------------------


def _plain(data: Any) -> Any:
    """JSON-safe copy (datetimes and decimals as text) of what the other parts gave."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _label(choices, value: str, fallback: str = "") -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return fallback or value


def meeting_title(meeting: Meeting, language: str) -> str:
    if language == "en" and meeting.title_en:
        return meeting.title_en
    return meeting.title_ar


def poll_line(poll: dict) -> str:
    options = _(", ").join(
        f"{option.get('label', '')}: {option.get('count', 0)}" for option in poll.get("options", [])
    )
    outcome = _("carried") if poll.get("carried") else _("not carried")
    return f"- {poll.get('question', '')} ({options}) — {outcome}"


def _draft_text(meeting: Meeting, attendance: list, notes: dict, polls: list) -> str:
    lines = [
        meeting_title(meeting, translation.get_language()),
        _("Date: %(when)s") % {"when": date_text(meeting.starts_at, with_time=True)},
    ]
    if meeting.place:
        lines.append(_("Place: %(place)s") % {"place": meeting.place})
    by_presence: dict[str, list[str]] = {}
    for row in attendance:
        by_presence.setdefault(row.get("presence", ""), []).append(row.get("name", ""))
    for value, label in (
        (Presence.PRESENT, _("Present")),
        (Presence.LEFT, _("Left during the meeting")),
        (Presence.EXCUSED, _("Excused")),
        (Presence.ABSENT, _("Absent")),
    ):
        if by_presence.get(value):
            lines.append(f"{label}: {_(', ').join(by_presence[value])}")
    polls_by_item: dict[Any, list] = {}
    for poll in polls:
        polls_by_item.setdefault(poll.get("agenda_item_id"), []).append(poll)
    for item in meeting.agenda.all():
        lines += ["", f"## {item.position}. {item.title}"]
        if item.presenter:
            lines.append(_("Presented by %(name)s") % {"name": item.presenter})
        if notes.get(item.pk):
            lines += ["", notes[item.pk].strip()]
        for poll in polls_by_item.get(item.pk, []):
            lines.append(poll_line(poll))
    if notes.get(None) or polls_by_item.get(None):
        lines += ["", "## " + _("Other matters")]
        if notes.get(None):
            lines += ["", notes[None].strip()]
        for poll in polls_by_item.get(None, []):
            lines.append(poll_line(poll))
    return "\n".join(lines).strip() + "\n"


def _locked_minutes(meeting: Meeting) -> Minutes | None:
    return Minutes.objects.select_for_update().filter(meeting=meeting).first()


def _refuse_locked(minutes: Minutes | None) -> None:
    if minutes is not None and minutes.is_locked:
        raise ValidationError(_("The minutes were approved: they can no longer change."))


def _next_number(minutes: Minutes) -> int:
    last = minutes.versions.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


@use_case
def minutes_draft(*, actor: User, meeting: Meeting) -> MinutesVersion:
    """The system drafts (or drafts again) the minutes from the agenda, the attendance, the
    secretary's shared notes and the polls' results, in the secretary's language: a new
    version, the minutes back to "being written"."""
    require(policies.is_secretary(actor, meeting), _("Only the secretary writes the minutes."))
    if meeting.status not in DRAFT_STATES:
        raise ValidationError(_("The minutes are drafted once the meeting is under way or closed."))
    minutes = _locked_minutes(meeting)
    _refuse_locked(minutes)
    language = getattr(actor, "preferred_language", "") or settings.LANGUAGE_CODE
    language = language if language in ("ar", "en") else "ar"
    attendance = _plain(record.attendance_rows(meeting))
    polls = _plain(record.poll_results(meeting))
    notes = record.shared_notes(meeting)
    with translation.override(language):
        body = _draft_text(meeting, attendance, notes, polls)
    if minutes is None:
        minutes = Minutes.objects.create(meeting=meeting, language=language)
    before = {"status": minutes.status}
    minutes.status = MinutesStatus.DRAFT
    minutes.language = language
    minutes.save(update_fields=["status", "language", "updated_at"])
    version = MinutesVersion.objects.create(
        minutes=minutes,
        number=_next_number(minutes),
        body=body,
        record={"attendance": attendance, "polls": polls},
        is_draft_by_system=True,
        created_by=actor,
    )
    audit.agency_record(
        actor=actor,
        action="meetings.minutes_draft",
        obj=minutes,
        before=before,
        after={"status": minutes.status, "version": version.number, "language": language},
    )
    return version


@use_case
def minutes_edit(*, actor: User, meeting: Meeting, body: str) -> MinutesVersion:
    """The secretary saves the text: a new version (the earlier ones are kept). After remarks
    this is the revision: the minutes are "being written" again until circulated."""
    require(policies.is_secretary(actor, meeting), _("Only the secretary writes the minutes."))
    minutes = _locked_minutes(meeting)
    if minutes is None:
        raise ValidationError(_("Draft the minutes first."))
    _refuse_locked(minutes)
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError({"body": [_("Write the text of the minutes.")]})
    if len(body) > MAX_BODY:
        raise ValidationError(
            {"body": [_("The text is too long (at most %(n)s characters).") % {"n": MAX_BODY}]}
        )
    previous = latest_version(minutes)
    before = {"status": minutes.status, "version": previous.number if previous else None}
    version = MinutesVersion.objects.create(
        minutes=minutes,
        number=_next_number(minutes),
        body=body + "\n",
        record=previous.record if previous else {},
        created_by=actor,
    )
    minutes.status = MinutesStatus.DRAFT
    minutes.save(update_fields=["status", "updated_at"])
    audit.agency_record(
        actor=actor,
        action="meetings.minutes_edit",
        obj=minutes,
        before=before,
        after={"status": minutes.status, "version": version.number},
    )
    return version


def _recipients(meeting: Meeting, *, but: User | None = None) -> list[User]:
    participants = meeting.participants.filter(user__isnull=False).select_related("user")
    return [p.user for p in participants if but is None or p.user_id != but.pk]


def _tell_participants(meeting: Meeting, actor: User, event: str, key: str) -> None:
    """Notify the meeting's participants with an account but the actor of ``event`` on its
    minutes (a link to them); once per ``key`` (what changed) and recipient."""
    agency = _agency()
    link = minutes_url(meeting)
    for user in _recipients(meeting, but=actor):
        notification_send(
            recipient=user,
            event=event,
            agency=agency,
            context={"title_ar": meeting.title_ar, "title_en": meeting.title_en or ""},
            link=link,
            idempotency_key=f"{event}:{agency.pk}:{key}:{user.pk}",
        )


def minutes_url(meeting: Meeting) -> str:
    from django.urls import reverse

    return reverse(
        "meetings:minutes", kwargs={"agency_slug": _agency().slug, "meeting_id": meeting.pk}
    )


def _agency():
    from tenants.models import Agency

    agency = connection.tenant
    if isinstance(agency, Agency):
        return agency
    return Agency.objects.get(schema_name=connection.schema_name)


@use_case
def minutes_circulate(*, actor: User, meeting: Meeting) -> Minutes:
    """The secretary sends the latest version to the participants for their remarks (each
    with an account is notified)."""
    require(policies.is_secretary(actor, meeting), _("Only the secretary writes the minutes."))
    if meeting.status != MeetingStatus.CLOSED:
        raise ValidationError(_("The minutes are circulated once the meeting is closed."))
    minutes = _locked_minutes(meeting)
    if minutes is None:
        raise ValidationError(_("Draft the minutes first."))
    _refuse_locked(minutes)
    if minutes.status == MinutesStatus.CIRCULATED:
        raise ValidationError(_("This version has already been circulated."))
    version = latest_version(minutes)
    # The record (attendance, final poll results) is taken again now that the meeting is
    # closed: a draft written during the meeting must not carry half-way results.
    version.record = {
        "attendance": _plain(record.attendance_rows(meeting)),
        "polls": _plain(record.poll_results(meeting)),
    }
    version.save(update_fields=["record"])
    minutes.status = MinutesStatus.CIRCULATED
    minutes.circulated_at = timezone.now()
    minutes.save(update_fields=["status", "circulated_at", "updated_at"])
    audit.agency_record(
        actor=actor,
        action="meetings.minutes_circulate",
        obj=minutes,
        before={"status": MinutesStatus.DRAFT},
        after={"status": minutes.status, "version": version.number},
    )
    _tell_participants(
        meeting, actor, "meetings.minutes_circulated", f"{minutes.pk}:{version.number}"
    )
    return minutes


@use_case
def minutes_remark(*, actor: User, meeting: Meeting, text: str) -> MinutesRemark:
    """A participant's remark on the circulated version (seen by the secretary and the
    chair)."""
    minutes = _locked_minutes(meeting)
    require(
        can_remark(actor, meeting, minutes),
        _("Remarks are taken from the participants while the minutes are circulated."),
    )
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write your remark.")]})
    if len(text) > MAX_REMARK:
        raise ValidationError(
            {"text": [_("The remark is too long (at most %(n)s characters).") % {"n": MAX_REMARK}]}
        )
    version = latest_version(minutes)
    remark = MinutesRemark.objects.create(
        version=version, participant=policies.participant_of(actor, meeting), text=text
    )
    audit.agency_record(
        actor=actor,
        action="meetings.minutes_remark",
        obj=minutes,
        after={"version": version.number, "remark": remark.pk},
    )
    return remark


@use_case
def minutes_approve(*, actor: User, meeting: Meeting, version: int | None) -> MinutesVersion:
    """The chair approves the circulated version they read (``version``, its number): it and
    the minutes are locked from now on (also by the database). Four eyes: never a version
    the chair wrote themselves; never a version newer than the one they opened."""
    minutes = _locked_minutes(meeting)
    _refuse_locked(minutes)
    require(policies.is_chair(actor, meeting), _("Only the chair approves the minutes."))
    if minutes is None or minutes.status != MinutesStatus.CIRCULATED:
        raise ValidationError(_("The minutes are approved after they were circulated."))
    current = latest_version(minutes)
    if version is None or current is None or current.number != version:
        raise ValidationError(_("The minutes changed since you opened them; read the new version."))
    if current.created_by_id == actor.pk:
        raise ValidationError(
            _("You wrote this version of the minutes: another person approves it.")
        )
    version = current
    now = timezone.now()
    version.approved_at = now
    version.approved_by = actor
    version.save(update_fields=["approved_at", "approved_by"])
    minutes.status = MinutesStatus.APPROVED
    minutes.approved_at = now
    minutes.save(update_fields=["status", "approved_at", "updated_at"])
    audit.agency_record(
        actor=actor,
        action="meetings.minutes_approve",
        obj=minutes,
        before={"status": MinutesStatus.CIRCULATED},
        after={"status": MinutesStatus.APPROVED, "version": version.number},
    )
    _tell_participants(meeting, actor, "meetings.minutes_approved", f"{minutes.pk}")
    return version


# --- the PDF --------------------------------------------------------------------------------


def pdf_context(meeting: Meeting, version: MinutesVersion, language: str) -> dict[str, Any]:
    """What the PDF template prints, in ``language`` (call inside translation.override)."""
    attendance = []
    for row in version.record.get("attendance", []):
        attendance.append(
            {
                "name": row.get("name", ""),
                "role": _label(MemberRole, row.get("role", "")),
                "presence": _label(
                    Presence, row.get("presence", ""), row.get("presence_label", "")
                ),
                "by_proxy_of": row.get("by_proxy_of") or "",
            }
        )
    polls = []
    for poll in version.record.get("polls", []):
        polls.append(
            {
                "question": poll.get("question", ""),
                "secret": bool(poll.get("secret")),
                "options": poll.get("options", []),
                "rule": _label(Majority, str(poll.get("rule", "") or "")),
                "quorum": poll.get("quorum"),
                "carried": bool(poll.get("carried")),
            }
        )
    return {
        "meeting": meeting,
        "title": meeting_title(meeting, language),
        "version": version,
        "minutes": version.minutes,
        "sections": sections(version.body),
        "attendance": attendance,
        "polls": polls,
        "language": language,
    }
