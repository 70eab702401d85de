"""The decisions register (R-34): each decision of a meeting has an owner (an active employee
of the agency), a due date, a status and its follow-up notes.

Holders of ``meetings.decisions`` or ``meetings.manage`` record and change decisions; the
owner follows up their own (a note, a new status). The owner is reminded three days before the
due date and told when it has passed (two jobs, deferred with the change that set the date and
replaced when the date moves; each checks, when it runs, that it is still due)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app

from accounts.models import User
from core import audit
from core.actions import require, use_case
from meetings.constants import MeetingStatus
from meetings.models import AgendaItem, Meeting
from meetings.models_minutes import (
    OPEN_DECISION_STATUSES,
    Decision,
    DecisionNote,
    DecisionStatus,
)
from meetings.module import Perm
from notifications.services import notification_send
from tenants.models import Agency
from tenants.staff.models import Membership
from tenants.urls_helpers import workspace_reverse

REMIND_DAYS_BEFORE = 3
REMIND_AT = time(9, 0)  # Riyadh time
MAX_TEXT = 5_000
DECISION_MEETING_STATES = (MeetingStatus.IN_PROGRESS, MeetingStatus.CLOSED)


# --- who may do what ------------------------------------------------------------------------


def can_manage(actor: User) -> bool:
    """Records and changes every decision of the agency."""
    return actor.is_authenticated and (
        actor.has_perm(Perm.DECISIONS.perm) or actor.has_perm(Perm.MANAGE.perm)
    )


def is_owner(actor: User, decision: Decision) -> bool:
    return actor.is_authenticated and decision.owner.user_id == actor.pk


def can_follow_up(actor: User, decision: Decision) -> bool:
    return is_owner(actor, decision) or can_manage(actor)


def can_see(actor: User, decision: Decision) -> bool:
    return can_follow_up(actor, decision)


# --- reads ----------------------------------------------------------------------------------


def today() -> date:
    return timezone.localdate()


def register(
    *,
    actor: User,
    membership: Membership,
    status: str = "",
    owner_id: int | None = None,
    body_id: int | None = None,
    late: bool = False,
    due_from: date | None = None,
    due_to: date | None = None,
) -> QuerySet[Decision]:
    """The decisions this employee sees (all for the register's managers, else their own),
    filtered; rows carry their meeting, body, agenda item and owner (no query per row)."""
    rows = Decision.objects.select_related("meeting__body", "agenda_item", "owner__user").order_by(
        "due_date", "id"
    )
    if not can_manage(actor):
        rows = rows.filter(owner=membership)
    if status == "late":
        late = True
    elif status:
        rows = rows.filter(status=status)
    if late:
        rows = rows.filter(status__in=OPEN_DECISION_STATUSES, due_date__lt=today())
    if owner_id:
        rows = rows.filter(owner_id=owner_id)
    if body_id:
        rows = rows.filter(meeting__body_id=body_id)
    if due_from:
        rows = rows.filter(due_date__gte=due_from)
    if due_to:
        rows = rows.filter(due_date__lte=due_to)
    return rows


def decision_counts() -> dict[str, int]:
    """The agency's decisions: open (not started or in progress), done, late (open and past
    their due date). One query."""
    open_q = Q(status__in=OPEN_DECISION_STATUSES)
    return Decision.objects.aggregate(
        open=Count("id", filter=open_q),
        done=Count("id", filter=Q(status=DecisionStatus.DONE)),
        late=Count("id", filter=open_q & Q(due_date__lt=today())),
    )


# --- validation -----------------------------------------------------------------------------


def _checked(
    *,
    meeting: Meeting,
    text: str,
    owner: Membership | None,
    due_date: date | None,
    agenda_item: AgendaItem | None,
    due_before: date | None = None,
) -> str:
    errors: dict[str, list[str]] = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = [_("Write the decision.")]
    elif len(text) > MAX_TEXT:
        errors["text"] = [_("The text is too long (at most %(n)s characters).") % {"n": MAX_TEXT}]
    if owner is None or not Membership.objects.filter(pk=owner.pk, is_active=True).exists():
        errors["owner"] = [_("Choose an active employee of the agency as the owner.")]
    if due_date is None:
        errors["due_date"] = [_("Choose the due date.")]
    elif due_date < today() and due_date != due_before:
        errors["due_date"] = [_("The due date cannot be in the past.")]
    elif due_date > today() + timedelta(days=5 * 366):
        errors["due_date"] = [_("Choose a due date within five years.")]
    if agenda_item is not None and agenda_item.meeting_id != meeting.pk:
        errors["agenda_item"] = [_("Choose an item of this meeting's agenda.")]
    if errors:
        raise ValidationError(errors)
    return text


# --- reminders ------------------------------------------------------------------------------


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, REMIND_AT))


def reminder_times(due_date: date) -> tuple[datetime, datetime]:
    """When the owner is reminded (three days before) and told it is late (the day after)."""
    return _at(due_date - timedelta(days=REMIND_DAYS_BEFORE)), _at(due_date + timedelta(days=1))


def _cancel_jobs(decision: Decision) -> None:
    for job_id in (decision.reminder_job_id, decision.late_job_id):
        if job_id is not None:
            # Only a job still waiting is cancelled; one running now re-reads the decision.
            app.job_manager.cancel_job_by_id(job_id)
    decision.reminder_job_id = decision.late_job_id = None


def _schedule_jobs(decision: Decision) -> None:
    """Replace the pending reminder jobs by ones at the decision's current due date (none for
    a closed decision; no "due soon" reminder when that time has passed)."""
    from meetings.tasks_decisions import decision_late, decision_remind

    _cancel_jobs(decision)
    if decision.is_open:
        remind_at, late_at = reminder_times(decision.due_date)
        now = timezone.now()
        schema = connection.schema_name
        due = decision.due_date.isoformat()
        if remind_at > now:
            decision.reminder_job_id = decision_remind.configure(schedule_at=remind_at).defer(
                schema_name=schema, decision_id=decision.pk, due_date=due
            )
        decision.late_job_id = decision_late.configure(schedule_at=max(late_at, now)).defer(
            schema_name=schema, decision_id=decision.pk, due_date=due
        )
    decision.save(update_fields=["reminder_job_id", "late_job_id"])


def _agency() -> Agency:
    tenant = connection.tenant
    if isinstance(tenant, Agency):
        return tenant
    return Agency.objects.get(schema_name=connection.schema_name)


def _notify(decision: Decision, event: str, key: str) -> None:
    agency = _agency()
    notification_send(
        recipient=decision.owner.user,
        event=event,
        agency=agency,
        context={
            "text": decision.text[:300],
            "due_date": decision.due_date,
            "title_ar": decision.meeting.title_ar,
            "title_en": decision.meeting.title_en or "",
        },
        link=workspace_reverse(agency, "workspace:meetings_decision", decision_id=decision.pk),
        idempotency_key=f"{event}:{agency.pk}:{decision.pk}:{key}",
    )


def _snapshot(decision: Decision) -> dict:
    return {
        "text": decision.text,
        "owner": decision.owner_id,
        "due_date": decision.due_date.isoformat(),
        "status": decision.status,
        "agenda_item": decision.agenda_item_id,
    }


# --- use cases ------------------------------------------------------------------------------


@use_case
def decision_create(
    *,
    actor: User,
    meeting: Meeting,
    text: str,
    owner: Membership | None,
    due_date: date | None,
    agenda_item: AgendaItem | None = None,
) -> Decision:
    """Record a decision of a meeting (under way or closed) for its owner, who is notified;
    the reminders are scheduled."""
    require(can_manage(actor), _("You do not have permission to record decisions."))
    if meeting.status not in DECISION_MEETING_STATES:
        raise ValidationError(
            {"meeting": [_("Decisions are recorded once the meeting is under way or closed.")]}
        )
    text = _checked(
        meeting=meeting, text=text, owner=owner, due_date=due_date, agenda_item=agenda_item
    )
    decision = Decision.objects.create(
        meeting=meeting,
        agenda_item=agenda_item,
        text=text,
        owner=owner,
        due_date=due_date,
        created_by=actor,
    )
    _schedule_jobs(decision)
    audit.agency_record(
        actor=actor, action="meetings.decision_create", obj=decision, after=_snapshot(decision)
    )
    _notify(decision, "meetings.decision_assigned", f"owner:{owner.pk}")
    return decision


@use_case
def decision_update(
    *,
    actor: User,
    decision: Decision,
    text: str,
    owner: Membership | None,
    due_date: date | None,
    agenda_item: AgendaItem | None = None,
) -> Decision:
    """Change a decision's text, owner or due date (the history keeps the change; a new owner
    is notified; a new due date moves the reminders)."""
    require(can_manage(actor), _("You do not have permission to change decisions."))
    decision = Decision.objects.select_for_update().select_related("meeting").get(pk=decision.pk)
    text = _checked(
        meeting=decision.meeting,
        text=text,
        owner=owner,
        due_date=due_date,
        agenda_item=agenda_item,
        due_before=decision.due_date,
    )
    before = _snapshot(decision)
    due_moved = due_date != decision.due_date
    owner_changed = owner.pk != decision.owner_id
    decision.text, decision.owner, decision.due_date = text, owner, due_date
    decision.agenda_item = agenda_item
    decision.save()
    if due_moved:
        DecisionNote.objects.create(
            decision=decision,
            author=actor,
            due_from=date.fromisoformat(before["due_date"]),
            due_to=due_date,
        )
        _schedule_jobs(decision)
    audit.agency_record(
        actor=actor,
        action="meetings.decision_update",
        obj=decision,
        before=before,
        after=_snapshot(decision),
    )
    if owner_changed:
        _notify(decision, "meetings.decision_assigned", f"owner:{owner.pk}")
    return decision


@use_case
def decision_follow_up(
    *, actor: User, decision: Decision, status: str = "", text: str = ""
) -> DecisionNote:
    """The owner (or a manager of the register) adds a follow-up note and/or changes the
    status; closing cancels the reminders, reopening schedules them again."""
    require(can_follow_up(actor, decision), _("You do not follow up this decision."))
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    text = (text or "").strip()
    status = status or decision.status
    errors: dict[str, list[str]] = {}
    if status not in DecisionStatus.values:
        errors["status"] = [_("Choose one of the statuses offered.")]
    if len(text) > MAX_TEXT:
        errors["text"] = [_("The text is too long (at most %(n)s characters).") % {"n": MAX_TEXT}]
    elif not text and status == decision.status:
        errors["text"] = [_("Write a note or change the status.")]
    if errors:
        raise ValidationError(errors)
    before = _snapshot(decision)
    was_open = decision.is_open
    note = DecisionNote.objects.create(
        decision=decision,
        author=actor,
        text=text,
        status_from=decision.status if status != decision.status else "",
        status_to=status if status != decision.status else "",
    )
    if status != decision.status:
        decision.status = status
        decision.closed_at = None if decision.is_open else timezone.now()
        decision.save(update_fields=["status", "closed_at", "updated_at"])
        if was_open != decision.is_open:
            _schedule_jobs(decision)
    audit.agency_record(
        actor=actor,
        action="meetings.decision_follow_up",
        obj=decision,
        before=before,
        after={**_snapshot(decision), "note": note.pk},
    )
    return note


def decision_send_reminder(*, decision_id: int, due_date: str, late: bool) -> bool:
    """Run by the reminder jobs: notify the owner once, if the decision is still open and
    still due on ``due_date`` (a moved date has its own jobs)."""
    decision = (
        Decision.objects.select_related("owner__user", "meeting")
        .filter(pk=decision_id, due_date=due_date, status__in=OPEN_DECISION_STATUSES)
        .first()
    )
    if decision is None or not decision.owner.is_active:
        return False
    if late and not decision.is_late_on(today()):
        return False
    event = "meetings.decision_late" if late else "meetings.decision_due_soon"
    _notify(decision, event, due_date)
    return True


def meetings_for_decisions() -> QuerySet[Meeting]:
    """The meetings a decision may be recorded for (newest first)."""
    return Meeting.objects.filter(status__in=DECISION_MEETING_STATES).order_by("-starts_at")


def decision_for(*, actor: User, decision_id: int) -> Decision | None:
    decision = (
        Decision.objects.select_related("meeting__body", "agenda_item", "owner__user")
        .filter(pk=decision_id)
        .first()
    )
    if decision is None or not can_see(actor, decision):
        return None
    return decision
