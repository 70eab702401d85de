"""Scheduling (R-30): bodies and their members, meetings and their participants, announcing,
changing and cancelling (with invitations, updated .ics files, reminders and calendar entries),
answers to invitations (RSVP) and the binding of an outside invitee to their account.

Every use case runs in the meeting's agency schema, refuses through ``core.actions.require``
and the policies, checks its input (a translated ValidationError per field, nothing saved) and
records itself in the agency's audit trail."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from allauth.account.models import EmailAddress
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import connection, models, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require, use_case
from core.files.checks import check_upload
from meetings import policies
from meetings.constants import (
    BodyKind,
    Majority,
    MajorityBase,
    MeetingStatus,
    MemberRole,
    Mode,
    QuorumKind,
    Rsvp,
)
from meetings.models import (
    AgendaItem,
    Body,
    BodyMember,
    Meeting,
    MeetingDocument,
    Participant,
    Rules,
)
from meetings.pages import meeting_path
from tenants.models import Agency
from tenants.staff.models import Membership

CALENDAR_SOURCE = "meetings.meeting"
# A meeting starts within a year before and three years after today, and lasts at most a day.
EARLIEST = timedelta(days=366)
LATEST = timedelta(days=3 * 366)
LONGEST = timedelta(hours=24)
REMINDERS = (timedelta(hours=24), timedelta(hours=1))
RSVP_SALT = "meetings.rsvp"
RSVP_MAX_AGE = 120 * 24 * 3600  # a signed answer link works for 120 days (and one version)
SINGLE_ROLES = (MemberRole.CHAIR, MemberRole.SECRETARY)
MAX_WEIGHT = Decimal("100")  # one person's vote weight, at most
# What, when changed on a scheduled meeting, makes the invitation change (new SEQUENCE).
CALENDAR_FIELDS = ("starts_at", "ends_at", "place", "mode", "conference_url", "title_ar")


def _current_agency() -> Agency:
    return Agency.objects.get(schema_name=connection.schema_name)


# --- rules ---------------------------------------------------------------------------------


def rules_clean(values: dict[str, Any]) -> dict[str, Any]:
    """The rules of a body or an ad-hoc meeting, checked: a translated error per field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    kind = values.get("quorum_kind", QuorumKind.SHARE_MEMBERS)
    if kind not in QuorumKind.values:
        errors["quorum_kind"] = [_("Choose how the quorum is counted.")]
    try:
        value = Decimal(str(values.get("quorum_value", "0.5")))
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite():
        errors["quorum_value"] = [_("Enter a number.")]
    elif kind == QuorumKind.COUNT:
        if value != value.to_integral_value() or value < 1:
            errors["quorum_value"] = [_("A quorum by count is a whole number of at least 1.")]
    elif not (Decimal("0") < value <= Decimal("1")):
        errors["quorum_value"] = [_("A quorum by share is more than 0 and at most 1 (0.5 = half).")]
    majority = values.get("majority", Majority.SIMPLE)
    base = values.get("majority_base", MajorityBase.CAST)
    if majority not in Majority.values:
        errors["majority"] = [_("Choose a majority rule.")]
    if base not in MajorityBase.values:
        errors["majority_base"] = [_("Choose what the majority is counted against.")]
    elif majority != Majority.TWO_THIRDS and base != MajorityBase.CAST:
        errors["majority_base"] = [
            _("Only a two-thirds majority is counted against those present or all members.")
        ]
    proxies_allowed = bool(values.get("proxies_allowed", True))
    try:
        cap = int(values.get("proxy_cap", 1))
    except (TypeError, ValueError):
        cap = 0
    if cap < 1 or cap > 100:
        errors["proxy_cap"] = [_("A member may hold between 1 and 100 proxies.")]
    if errors:
        raise ValidationError(errors)
    cleaned.update(
        quorum_kind=kind,
        quorum_value=value,
        majority=majority,
        majority_base=base,
        abstentions_count=bool(values.get("abstentions_count", False)),
        chair_casting_vote=bool(values.get("chair_casting_vote", True)),
        proxies_allowed=proxies_allowed,
        proxy_cap=cap,
    )
    return cleaned


def _rules_dump(obj: Rules) -> dict[str, Any]:
    return {name: str(getattr(obj, name)) for name in Rules.RULE_FIELDS}


# --- bodies --------------------------------------------------------------------------------


@use_case
def body_save(
    *,
    actor: User,
    body: Body | None = None,
    name_ar: str,
    name_en: str,
    kind: str,
    rules: dict[str, Any] | None = None,
    is_active: bool = True,
) -> Body:
    """Create a board or committee (``body`` None) or change one."""
    require(policies.can_manage(actor))
    name_ar, name_en = (name_ar or "").strip(), (name_en or "").strip()
    errors: dict[str, list[str]] = {}
    if not name_ar:
        errors["name_ar"] = [_("Enter the name in Arabic.")]
    if not name_en:
        errors["name_en"] = [_("Enter the name in English.")]
    if kind not in BodyKind.values:
        errors["kind"] = [_("Choose whether it is a board or a committee.")]
    try:
        cleaned = rules_clean(rules or {})
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    before = None
    if body is None:
        body = Body()
    else:
        body = Body.objects.select_for_update().get(pk=body.pk)
        before = {"name_ar": body.name_ar, "name_en": body.name_en, **_rules_dump(body)}
    body.name_ar, body.name_en, body.kind, body.is_active = name_ar, name_en, kind, is_active
    for name, value in cleaned.items():
        setattr(body, name, value)
    body.save()
    audit.agency_record(
        actor=actor,
        action="meetings.body_save",
        obj=body,
        before=before,
        after={"name_ar": name_ar, "name_en": name_en, "kind": kind, **_rules_dump(body)},
    )
    return body


def _account_for(*, email: str, mobile: str) -> User | None:
    """The account whose VERIFIED email or mobile this is (never an unverified claim)."""
    if email:
        row = EmailAddress.objects.filter(email__iexact=email, verified=True).first()
        if row is not None:
            return User.objects.get(pk=row.user_id)
    if mobile:
        return User.objects.filter(mobile=mobile, mobile_verified=True, is_active=True).first()
    return None


def _role_weight_clean(role: str, weight: Any) -> tuple[dict[str, list[str]], Decimal]:
    errors: dict[str, list[str]] = {}
    if role not in MemberRole.values:
        errors["role"] = [_("Choose a role.")]
    try:
        weight = Decimal(str(weight))
        if not weight.is_finite() or weight < 0:
            raise InvalidOperation
        if weight > MAX_WEIGHT:
            errors["weight"] = [_("The vote weight is at most 100.")]
    except (InvalidOperation, ValueError):
        errors["weight"] = [_("The vote weight is a number of 0 or more.")]
        weight = Decimal("0")
    return errors, weight


def _person_clean(
    *,
    membership: Membership | None,
    user: User | None = None,
    name: str,
    email: str,
    mobile: str,
    role: str,
    weight: Any,
) -> dict[str, Any]:
    """Who is added (an employee, an account, or an outside person bound to the account that
    holds the verified address, else an invitee), their role and weight; a translated error
    per field."""
    errors, weight = _role_weight_clean(role, weight)
    name, email, mobile = (
        (name or "").strip(),
        (email or "").strip().lower(),
        (mobile or "").strip(),
    )
    if membership is not None:
        if not membership.is_active:
            errors["membership"] = [_("This employee is no longer active.")]
        user = membership.user
    elif user is None:
        if not name:
            errors["name"] = [_("Enter the person's name.")]
        if not email and not mobile:
            errors["email"] = [_("Enter an email address or a mobile number to invite them.")]
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors["email"] = [_("Enter a valid email address.")]
        if mobile and not (mobile.startswith("+") and mobile[1:].isdigit() and len(mobile) >= 8):
            errors["mobile"] = [_("Enter the mobile number in international form (+9665…).")]
        if not errors:
            user = _account_for(email=email, mobile=mobile)
    if errors:
        raise ValidationError(errors)
    return {
        "user": user,
        "name": name,
        "email": email,
        "mobile": mobile,
        "role": role,
        "weight": weight,
    }


def _single_roles_check(queryset, role: str, exclude_pk: int | None = None) -> None:
    if role in SINGLE_ROLES:
        others = queryset.filter(role=role)
        if exclude_pk is not None:
            others = others.exclude(pk=exclude_pk)
        if others.exists():
            label = MemberRole(role).label
            raise ValidationError({"role": [_("There is already a %(role)s.") % {"role": label}]})


def _not_own_officer(actor: User, user: User | None, role: str) -> None:
    """Nobody makes themselves the chair or the secretary (who approves and writes the
    minutes): another manager does."""
    if role in SINGLE_ROLES and user is not None and user.pk == actor.pk:
        raise ValidationError(
            {"role": [_("You cannot give yourself the role of chair or secretary.")]}
        )


def _person_new(*, actor: User, among: QuerySet, already: str, **fields: Any) -> dict[str, Any]:
    """The checked fields of a person added to ``among`` (a body's active members, a meeting's
    participants): ``_person_clean``, nobody their own chair or secretary, one of each single
    role, nobody twice (``already`` says so)."""
    person = _person_clean(**fields)
    _not_own_officer(actor, person["user"], person["role"])
    _single_roles_check(among, person["role"])
    if person["user"] is not None and among.filter(user=person["user"]).exists():
        raise ValidationError({"membership": [already]})
    return person


@use_case
def body_member_add(
    *,
    actor: User,
    body: Body,
    membership: Membership | None = None,
    user: User | None = None,
    name: str = "",
    email: str = "",
    mobile: str = "",
    role: str = MemberRole.MEMBER,
    weight: Any = Decimal("1"),
) -> BodyMember:
    """Add an employee of the agency (``membership``) or an outside person to a body."""
    require(policies.can_manage(actor))
    body = Body.objects.select_for_update().get(pk=body.pk)
    person = _person_new(
        actor=actor,
        among=BodyMember.objects.filter(body=body, is_active=True),
        already=_("This person is already a member."),
        membership=membership,
        user=user,
        name=name,
        email=email,
        mobile=mobile,
        role=role,
        weight=weight,
    )
    member = BodyMember.objects.create(body=body, **person)
    audit.agency_record(
        actor=actor,
        action="meetings.member_add",
        obj=member,
        after={"body": body.pk, "user": member.user_id, "role": role, "weight": str(member.weight)},
    )
    return member


@use_case
def body_member_update(*, actor: User, member: BodyMember, role: str, weight: Any) -> BodyMember:
    require(policies.can_manage(actor))
    member = BodyMember.objects.select_for_update().get(pk=member.pk, is_active=True)
    errors, weight = _role_weight_clean(role, weight)
    if errors:
        raise ValidationError(errors)
    _not_own_officer(actor, member.user, role)
    _single_roles_check(
        BodyMember.objects.filter(body_id=member.body_id, is_active=True), role, member.pk
    )
    before = {"role": member.role, "weight": str(member.weight)}
    member.role, member.weight = role, weight
    member.save(update_fields=["role", "weight"])
    audit.agency_record(
        actor=actor,
        action="meetings.member_update",
        obj=member,
        before=before,
        after={"role": role, "weight": str(weight)},
    )
    return member


@use_case
def body_member_remove(*, actor: User, member: BodyMember) -> None:
    """A member leaves the body (kept for the record of past meetings)."""
    require(policies.can_manage(actor))
    member = BodyMember.objects.select_for_update().get(pk=member.pk)
    member.is_active = False
    member.save(update_fields=["is_active"])
    audit.agency_record(actor=actor, action="meetings.member_remove", obj=member)


# --- meetings ------------------------------------------------------------------------------


def _meeting_clean(
    *,
    title_ar: str,
    title_en: str,
    mode: str,
    place: str,
    conference_url: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    title_ar, title_en = (title_ar or "").strip(), (title_en or "").strip()
    place, conference_url = (place or "").strip(), (conference_url or "").strip()
    if not title_ar:
        errors["title_ar"] = [_("Enter the title in Arabic.")]
    if mode not in Mode.values:
        errors["mode"] = [_("Choose how the meeting is held.")]
    if mode in (Mode.REMOTE, Mode.HYBRID) and not conference_url:
        errors["conference_url"] = [_("A remote or hybrid meeting needs a conference link.")]
    if conference_url:
        try:
            URLValidator(schemes=["https", "http"])(conference_url)
        except ValidationError:
            errors["conference_url"] = [_("Enter a full link starting with https://.")]
    if mode in (Mode.IN_PERSON, Mode.HYBRID) and not place:
        errors["place"] = [_("Say where the meeting is held.")]
    if starts_at is None:
        errors["starts_at"] = [_("Enter when the meeting starts.")]
    if ends_at is None:
        errors["ends_at"] = [_("Enter when the meeting ends.")]
    if starts_at is not None and ends_at is not None:
        if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
            raise ValueError("meeting times are aware datetimes")
        now = timezone.now()
        if not (now - EARLIEST <= starts_at <= now + LATEST):
            errors["starts_at"] = [
                _("Choose a start within a year before and three years after today.")
            ]
        if ends_at <= starts_at:
            errors["ends_at"] = [_("The meeting must end after it starts.")]
        elif ends_at - starts_at > LONGEST:
            errors["ends_at"] = [_("A meeting lasts at most 24 hours.")]
    if errors:
        raise ValidationError(errors)
    return {
        "title_ar": title_ar,
        "title_en": title_en,
        "mode": mode,
        "place": place,
        "conference_url": conference_url,
        "starts_at": starts_at,
        "ends_at": ends_at,
    }


def _meeting_dump(meeting: Meeting) -> dict[str, Any]:
    return {
        "title_ar": meeting.title_ar,
        "title_en": meeting.title_en,
        "mode": meeting.mode,
        "place": meeting.place,
        "conference_url": meeting.conference_url,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "status": meeting.status,
        "sequence": meeting.sequence,
    }


@use_case
def meeting_create(
    *,
    actor: User,
    title_ar: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    body: Body | None = None,
    title_en: str = "",
    mode: str = Mode.IN_PERSON,
    place: str = "",
    conference_url: str = "",
    rules: dict[str, Any] | None = None,
) -> Meeting:
    """A draft meeting of a body (its active members become the participants, with their
    roles and weights, and its rules are copied) or ad hoc (``body`` None: ``rules`` on the
    meeting, participants added one by one with ``participant_add``)."""
    require(policies.can_manage(actor))
    errors: dict[str, list[str]] = {}
    try:
        fields = _meeting_clean(
            title_ar=title_ar,
            title_en=title_en,
            mode=mode,
            place=place,
            conference_url=conference_url,
            starts_at=starts_at,
            ends_at=ends_at,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
        fields = {}
    cleaned_rules: dict[str, Any] = {}
    if body is None:
        try:
            cleaned_rules = rules_clean(rules or {})
        except ValidationError as exc:
            errors.update(exc.message_dict)
    elif not body.is_active:
        errors["body"] = [_("This body is no longer active.")]
    if errors:
        raise ValidationError(errors)
    meeting = Meeting(body=body, created_by=_membership_of(actor), **fields)
    if body is not None:
        body.rules_copy_to(meeting)
    else:
        for name, value in cleaned_rules.items():
            setattr(meeting, name, value)
    meeting.save()
    if body is not None:
        Participant.objects.bulk_create(
            Participant(
                meeting=meeting,
                body_member=member,
                user_id=member.user_id,
                name=member.name,
                email=member.email,
                mobile=member.mobile,
                role=member.role,
                weight=member.weight,
            )
            for member in BodyMember.objects.filter(body=body, is_active=True)
        )
    audit.agency_record(
        actor=actor, action="meetings.meeting_create", obj=meeting, after=_meeting_dump(meeting)
    )
    return meeting


def _membership_of(user: User) -> Membership | None:
    return Membership.objects.filter(user_id=user.pk).first()


def _editable(meeting: Meeting) -> None:
    if meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED):
        raise ValidationError(_("This meeting can no longer be changed."))


@use_case
def meeting_update(
    *,
    actor: User,
    meeting: Meeting,
    title_ar: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    title_en: str = "",
    mode: str = Mode.IN_PERSON,
    place: str = "",
    conference_url: str = "",
    rules: dict[str, Any] | None = None,
) -> Meeting:
    """Change a draft or scheduled meeting. On a scheduled one, a change of time, place, mode
    or link raises the invitation's SEQUENCE and sends everyone the updated invitation; a
    change of time moves the reminders and the calendar entries."""
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _editable(meeting)
    fields = _meeting_clean(
        title_ar=title_ar,
        title_en=title_en,
        mode=mode,
        place=place,
        conference_url=conference_url,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    if rules is not None and meeting.body_id is None:
        for name, value in rules_clean(rules).items():
            setattr(meeting, name, value)
    before = _meeting_dump(meeting)
    changed = [name for name in CALENDAR_FIELDS if getattr(meeting, name) != fields[name]]
    moved = meeting.starts_at != fields["starts_at"] or meeting.ends_at != fields["ends_at"]
    for name, value in fields.items():
        setattr(meeting, name, value)
    if meeting.status == MeetingStatus.SCHEDULED and changed:
        meeting.sequence += 1
    meeting.save()
    audit.agency_record(
        actor=actor,
        action="meetings.meeting_update",
        obj=meeting,
        before=before,
        after=_meeting_dump(meeting),
    )
    if meeting.status == MeetingStatus.SCHEDULED and changed:
        agency = _current_agency()
        participants = list(meeting.participants.select_related("user"))
        _invite(agency=agency, meeting=meeting, participants=participants, change=True)
        if moved:
            _reminders_schedule(meeting)
            from appointments.services import entries_update

            entries_update(
                source=CALENDAR_SOURCE,
                source_id=meeting.pk,
                title=meeting.title_ar,
                starts_at=meeting.starts_at,
                ends_at=meeting.ends_at,
                actor=actor,
            )
    return meeting


@use_case
def meeting_announce(*, actor: User, meeting: Meeting) -> Meeting:
    """Draft → scheduled: every participant is invited (an account: in-app, email with the
    .ics, SMS; an invitee without one: an email and/or SMS with their invitation link), the
    reminders are scheduled and employees get the meeting in their calendar."""
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.status != MeetingStatus.DRAFT:
        raise ValidationError(_("Only a draft meeting can be announced."))
    if meeting.starts_at <= timezone.now():
        raise ValidationError(
            {"starts_at": [_("The meeting's start has passed: change it first.")]}
        )
    participants = list(meeting.participants.select_related("user"))
    if not participants:
        raise ValidationError(_("Add the participants before announcing the meeting."))
    meeting.status = MeetingStatus.SCHEDULED
    meeting.save(update_fields=["status", "updated_at"])
    agency = _current_agency()
    _invite(agency=agency, meeting=meeting, participants=participants)
    _reminders_schedule(meeting)
    for participant in participants:
        _calendar_add(agency=agency, meeting=meeting, participant=participant, actor=actor)
    audit.agency_record(
        actor=actor,
        action="meetings.meeting_announce",
        obj=meeting,
        after={"status": meeting.status, "participants": len(participants)},
    )
    return meeting


@use_case
def meeting_cancel(*, actor: User, meeting: Meeting, reason: str = "") -> Meeting:
    """Cancel a draft or scheduled meeting; a scheduled one's participants get METHOD:CANCEL
    (same UID, higher SEQUENCE), their calendar entries go and no reminder is sent."""
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _editable(meeting)
    announced = meeting.status == MeetingStatus.SCHEDULED
    meeting.status = MeetingStatus.CANCELLED
    if announced:
        meeting.sequence += 1
    meeting.save(update_fields=["status", "sequence", "updated_at"])
    audit.agency_record(
        actor=actor,
        action="meetings.meeting_cancel",
        obj=meeting,
        after={"status": meeting.status, "reason": (reason or "")[:500]},
    )
    if announced:
        agency = _current_agency()
        participants = list(meeting.participants.select_related("user"))
        _invite(agency=agency, meeting=meeting, participants=participants, cancel=True)
        from appointments.services import entries_remove

        entries_remove(source=CALENDAR_SOURCE, source_id=meeting.pk, actor=actor)
    return meeting


# --- participants --------------------------------------------------------------------------


@use_case
def participant_add(
    *,
    actor: User,
    meeting: Meeting,
    membership: Membership | None = None,
    user: User | None = None,
    name: str = "",
    email: str = "",
    mobile: str = "",
    role: str = MemberRole.MEMBER,
    weight: Any = Decimal("1"),
) -> Participant:
    """Invite one person to this meeting: an employee (``membership``), an account (``user``,
    e.g. in tests and demo data) or an outside person by name and address (bound to the account
    holding that verified address, else invited by link). Added to a scheduled meeting, they
    are invited at once."""
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _editable(meeting)
    person = _person_new(
        actor=actor,
        among=Participant.objects.filter(meeting=meeting),
        already=_("This person is already invited."),
        membership=membership,
        user=user,
        name=name,
        email=email,
        mobile=mobile,
        role=role,
        weight=weight,
    )
    participant = Participant.objects.create(meeting=meeting, **person)
    audit.agency_record(
        actor=actor,
        action="meetings.participant_add",
        obj=participant,
        after={"meeting": meeting.pk, "user": participant.user_id, "role": role},
    )
    if meeting.status == MeetingStatus.SCHEDULED:
        agency = _current_agency()
        _invite(agency=agency, meeting=meeting, participants=[participant])
        _calendar_add(agency=agency, meeting=meeting, participant=participant, actor=actor)
    return participant


@use_case
def participant_remove(*, actor: User, participant: Participant) -> None:
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=participant.meeting_id)
    _editable(meeting)
    participant = Participant.objects.select_related("user").get(pk=participant.pk)
    if _in_a_poll(participant):
        raise ValidationError(
            _("This person is on a poll's list of voters: they cannot be removed any more.")
        )
    audit.agency_record(
        actor=actor,
        action="meetings.participant_remove",
        obj=participant,
        before={"meeting": meeting.pk, "user": participant.user_id, "role": participant.role},
    )
    if participant.user_id is not None:
        membership = Membership.objects.filter(user_id=participant.user_id).first()
        if membership is not None:
            from appointments.services import entries_remove

            entries_remove(
                source=CALENDAR_SOURCE, source_id=meeting.pk, membership=membership, actor=actor
            )
        _removed_publish(meeting=meeting, user_id=participant.user_id)
    participant.delete()


def _in_a_poll(participant: Participant) -> bool:
    """On a poll's list of voters (its entitlements) or among those who voted or cast for
    someone: their rows would go with them (models_voting cascades), so they stay."""
    from meetings.models_voting import PollEntitlement, PollVoter

    return (
        PollEntitlement.objects.filter(participant=participant).exists()
        or PollVoter.objects.filter(
            models.Q(voter=participant) | models.Q(cast_by=participant)
        ).exists()
    )


def _removed_publish(*, meeting: Meeting, user_id: int) -> None:
    """Close the removed person's meeting socket (meetings.consumers.meeting_removed)."""
    import functools

    from core.realtime import _send, user_group

    group = user_group(connection.schema_name, user_id)
    message = {"type": "meeting.removed", "meeting_id": meeting.pk}
    transaction.on_commit(functools.partial(_send, group, message))


# --- invitations ---------------------------------------------------------------------------


def invite_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rsvp_token(participant: Participant, meeting: Meeting) -> str:
    """The signed answer link's token: bound to the agency (its schema), the meeting, the
    participant and the invitation's version."""
    return signing.dumps(
        {"a": connection.schema_name, "m": meeting.pk, "p": participant.pk, "s": meeting.sequence},
        salt=RSVP_SALT,
    )


def _invite(
    *,
    agency: Agency,
    meeting: Meeting,
    participants: list[Participant],
    change: bool = False,
    cancel: bool = False,
) -> None:
    """Send each participant the invitation (or its change, or the cancellation) with the
    .ics: through ``notification_send`` to an account; to an invitee's address otherwise (a
    job mints their invitation link, so no link is ever stored or queued in clear)."""
    from meetings import tasks
    from meetings.ics import meeting_ics
    from notifications.services import notification_send

    event = (
        "meetings.cancelled" if cancel else ("meetings.changed" if change else "meetings.invited")
    )
    now = timezone.now()
    for participant in participants:
        if participant.user_id is not None:
            ics = meeting_ics(
                agency=agency, meeting=meeting, participant=participant, cancel=cancel
            )
            notification_send(
                recipient=participant.user,
                event=event,
                agency=agency,
                context=notice_context(agency=agency, meeting=meeting, participant=participant),
                link=meeting_path(agency, meeting),
                idempotency_key=f"{event}:{agency.pk}:{meeting.pk}:{participant.pk}:"
                f"{meeting.sequence}",
                attachments=[ics_attachment(ics, cancel=cancel)],
            )
        else:
            tasks.invite_outsider.defer(
                schema_name=connection.schema_name,
                participant_id=participant.pk,
                event=event,
                sequence=meeting.sequence,
            )
    Participant.objects.filter(pk__in=[p.pk for p in participants]).update(invited_at=now)


def notice_context(
    *, agency: Agency, meeting: Meeting, participant: Participant | None = None
) -> dict[str, Any]:
    """What an invitation, change, cancellation or reminder says: plain values (the messages
    are rendered later, outside the agency's schema), with the participant's signed answer
    link when the meeting takes answers."""
    from django.conf import settings
    from django.urls import reverse

    rsvp_url = ""
    if participant is not None and meeting.status == MeetingStatus.SCHEDULED:
        rsvp_url = settings.SITE_URL + reverse(
            "meetings:rsvp_link",
            kwargs={"agency_slug": agency.slug, "token": rsvp_token(participant, meeting)},
        )
    return {
        "title_ar": meeting.title_ar,
        "title_en": meeting.title_en,
        "starts_at": timezone.localtime(meeting.starts_at),
        "ends_at": timezone.localtime(meeting.ends_at),
        "mode": meeting.mode,
        "place": meeting.place,
        "conference_url": meeting.conference_url,
        "rsvp_url": rsvp_url,
    }


def ics_attachment(ics: str, *, cancel: bool = False) -> dict[str, str]:
    method = "CANCEL" if cancel else "REQUEST"
    return {
        "name": "cancel.ics" if cancel else "invite.ics",
        "mimetype": f"text/calendar; method={method}; charset=utf-8",
        "content": ics,
    }


def outsider_invite_send(*, participant_id: int, event: str, sequence: int) -> bool:
    """(The job's work.) Mint a new invitation link for an invitee without an account (only
    its SHA-256 is kept; an older link stops working) and send it with the .ics by email
    and/or SMS. A participant since bound, removed, or a newer version: nothing."""
    from django.conf import settings

    from meetings.ics import meeting_ics
    from notifications.backends.sms import get_sms_backend
    from notifications.services import address_email_send

    agency = _current_agency()
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update()
            .select_related("meeting")
            .filter(pk=participant_id, user__isnull=True)
            .first()
        )
        if participant is None or participant.meeting.sequence != sequence:
            return False
        meeting = participant.meeting
        cancel = event == "meetings.cancelled"
        token = secrets.token_urlsafe(32)
        participant.invite_token_hash = invite_token_hash(token)
        participant.save(update_fields=["invite_token_hash"])
        from django.urls import reverse

        link = settings.SITE_URL + reverse(
            "meetings:invitation", kwargs={"agency_slug": agency.slug, "token": token}
        )
        context = notice_context(agency=agency, meeting=meeting, participant=participant)
        context["invite_link"] = "" if cancel else link
        if participant.email:
            ics = meeting_ics(
                agency=agency, meeting=meeting, participant=participant, cancel=cancel
            )
            address_email_send(
                address=participant.email,
                event=event,
                context=context,
                agency=agency,
                attachments=[ics_attachment(ics, cancel=cancel)],
            )
    if participant.mobile:
        from django.utils import translation

        from notifications.services import _render

        with translation.override(settings.LANGUAGE_CODE):
            text = _render(event, "sms.txt", {**context, "agency": agency})
        get_sms_backend().send(to=participant.mobile, body=text)
    return True


def invitation_pending(*, token: str) -> Participant | None:
    """The invitee's participant row for this link (None: unknown, used or replaced)."""
    if not token or len(token) > 100:
        return None
    return (
        Participant.objects.select_related("meeting")
        .filter(invite_token_hash=invite_token_hash(token), user__isnull=True)
        .exclude(meeting__status=MeetingStatus.CANCELLED)
        .first()
    )


def _holds_invited_address(user: User, participant: Participant) -> bool:
    """The account has verified the email or the mobile the invitation was sent to."""
    if participant.mobile and user.mobile_verified and user.mobile == participant.mobile:
        return True
    if participant.email:
        return EmailAddress.objects.filter(
            user=user, email__iexact=participant.email, verified=True
        ).exists()
    return False


@use_case
def invitation_bind(*, user: User, token: str) -> Participant:
    """The invitee opened their link signed in: the invitation (and their membership of the
    body) now belongs to this account; the link stops working."""
    if not user.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    participant = invitation_pending(token=token)
    if participant is None:
        raise ValidationError(_("This invitation link is not valid any more."))
    # Locked and still unbound: two accounts opening the same link at once cannot both take it.
    participant = (
        Participant.objects.select_for_update()
        .filter(pk=participant.pk, user__isnull=True, invite_token_hash=invite_token_hash(token))
        .first()
    )
    if participant is None:
        raise ValidationError(_("This invitation link is not valid any more."))
    if not _holds_invited_address(user, participant):
        raise ValidationError(
            _(
                "This invitation was sent to another email address or mobile number. Sign in "
                "with the account whose verified email or mobile is the one invited."
            )
        )
    if Participant.objects.filter(meeting_id=participant.meeting_id, user=user).exists():
        raise ValidationError(_("Your account is already invited to this meeting."))
    participant.user = user
    participant.invite_token_hash = ""
    participant.save(update_fields=["user", "invite_token_hash"])
    if participant.body_member_id is not None:
        member = BodyMember.objects.select_for_update().get(pk=participant.body_member_id)
        if (
            member.user_id is None
            and not BodyMember.objects.filter(
                body_id=member.body_id, user=user, is_active=True
            ).exists()
        ):
            member.user = user
            member.invite_token_hash = ""
            member.save(update_fields=["user", "invite_token_hash"])
            # Their other invitations from this body's membership follow the account.
            Participant.objects.filter(body_member=member, user__isnull=True).exclude(
                meeting_id__in=Participant.objects.filter(user=user).values("meeting_id")
            ).update(user=user, invite_token_hash="")
    audit.agency_record(
        actor=user,
        action="meetings.invitation_bind",
        obj=participant,
        after={"user": user.pk, "meeting": participant.meeting_id},
    )
    # An in-app note: it also lists the agency among the user's meetings (selectors).
    from notifications.services import notification_send

    agency = _current_agency()
    notification_send(
        recipient=user,
        event="meetings.invited",
        agency=agency,
        context=notice_context(agency=agency, meeting=participant.meeting, participant=participant),
        link=meeting_path(agency, participant.meeting),
        idempotency_key=f"meetings.bound:{agency.pk}:{participant.pk}",
    )
    return participant


# --- answers -------------------------------------------------------------------------------


def _rsvp_apply(*, participant: Participant, answer: str, note: str, actor: User | None) -> None:
    errors = {}
    if answer not in (Rsvp.ACCEPTED, Rsvp.DECLINED, Rsvp.TENTATIVE):
        errors["answer"] = [_("Choose whether you will attend.")]
    note = (note or "").strip()
    if len(note) > 500:
        errors["note"] = [_("Keep the note under 500 characters.")]
    if errors:
        raise ValidationError(errors)
    meeting = participant.meeting
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS):
        raise ValidationError(_("This meeting no longer takes answers."))
    before = {"rsvp": participant.rsvp}
    participant.rsvp, participant.rsvp_note, participant.rsvp_at = answer, note, timezone.now()
    participant.save(update_fields=["rsvp", "rsvp_note", "rsvp_at"])
    audit.agency_record(
        actor=actor,
        action="meetings.rsvp",
        obj=participant,
        before=before,
        after={"rsvp": answer},
    )


@use_case
def rsvp_answer(*, actor: User, meeting: Meeting, answer: str, note: str = "") -> Participant:
    """A participant answers their invitation from the meeting's page."""
    participant = policies.participant_of(actor, meeting)
    require(participant is not None, _("You are not invited to this meeting."))
    participant = (
        Participant.objects.select_for_update().select_related("meeting").get(pk=participant.pk)
    )
    _rsvp_apply(participant=participant, answer=answer, note=note, actor=actor)
    return participant


class RsvpLinkInvalid(ValidationError):
    pass


def rsvp_link_participant(*, token: str) -> Participant:
    """The participant a signed answer link is for; refused when tampered, expired, or for an
    older version of the invitation (then the newest email has the working link)."""
    try:
        data = signing.loads(token, salt=RSVP_SALT, max_age=RSVP_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise RsvpLinkInvalid(
            _("This answer link has expired. Answer from the meeting's page.")
        ) from exc
    except signing.BadSignature as exc:
        raise RsvpLinkInvalid(_("This answer link is not valid.")) from exc
    # A token of another agency (or another meeting) never names a row here, even when the
    # ids collide: the schema and the meeting are part of what is signed.
    participant = (
        Participant.objects.select_related("meeting")
        .filter(pk=data.get("p"), meeting_id=data.get("m"))
        .first()
        if isinstance(data, dict)
        and data.get("a") == connection.schema_name
        and isinstance(data.get("p"), int)
        and isinstance(data.get("m"), int)
        else None
    )
    if participant is None:
        raise RsvpLinkInvalid(_("This answer link is not valid."))
    if participant.meeting.sequence != data.get("s"):
        raise RsvpLinkInvalid(
            _("The meeting has changed since this link was sent: use the newest invitation.")
        )
    return participant


@use_case
def rsvp_by_link(*, token: str, answer: str, note: str = "") -> Participant:
    participant = rsvp_link_participant(token=token)
    participant = (
        Participant.objects.select_for_update().select_related("meeting").get(pk=participant.pk)
    )
    _rsvp_apply(participant=participant, answer=answer, note=note, actor=participant.user)
    return participant


# --- reminders and calendar ----------------------------------------------------------------


def _reminders_schedule(meeting: Meeting) -> None:
    """Defer the 24-hour and 1-hour reminders of this version of the meeting (a job of an
    older version, or of a cancelled meeting, sends nothing when it runs)."""
    from meetings import tasks

    now = timezone.now()
    for lead in REMINDERS:
        at = meeting.starts_at - lead
        if at <= now:
            continue
        tasks.meeting_remind.configure(schedule_at=at).defer(
            schema_name=connection.schema_name,
            meeting_id=meeting.pk,
            sequence=meeting.sequence,
            hours=int(lead.total_seconds() // 3600),
        )


def meeting_remind(*, meeting_id: int, sequence: int, hours: int) -> int:
    """(The job's work.) Remind each participant with an account; returns how many."""
    from notifications.services import notification_send

    meeting = Meeting.objects.filter(
        pk=meeting_id, sequence=sequence, status=MeetingStatus.SCHEDULED
    ).first()
    if meeting is None:
        return 0
    agency = _current_agency()
    sent = 0
    for participant in meeting.participants.select_related("user").filter(user__isnull=False):
        if participant.rsvp == Rsvp.DECLINED:
            continue
        notification_send(
            recipient=participant.user,
            event="meetings.reminder",
            agency=agency,
            context={**notice_context(agency=agency, meeting=meeting), "hours": hours},
            link=meeting_path(agency, meeting),
            idempotency_key=f"meetings.reminder:{agency.pk}:{meeting.pk}:{participant.pk}:"
            f"{sequence}:{hours}",
        )
        sent += 1
    return sent


def _calendar_add(
    *, agency: Agency, meeting: Meeting, participant: Participant, actor: User
) -> None:
    """An employee participant gets the meeting in their calendar (R-20)."""
    if participant.user_id is None:
        return
    membership = Membership.objects.filter(user_id=participant.user_id, is_active=True).first()
    if membership is None:
        return
    from appointments.models import Appointment
    from appointments.services import entry_add
    from tenants.urls_helpers import workspace_reverse

    if Appointment.objects.filter(
        membership=membership, source=CALENDAR_SOURCE, source_id=meeting.pk
    ).exists():
        return
    entry_add(
        membership=membership,
        title=meeting.title_ar,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        source=CALENDAR_SOURCE,
        source_id=meeting.pk,
        source_label=meeting.title_ar,
        link=workspace_reverse(agency, "workspace:meeting", meeting_id=meeting.pk),
        actor=actor,
    )


# --- agenda --------------------------------------------------------------------------------


def _agenda_editable(meeting: Meeting) -> None:
    """The agenda changes (and is reordered) until the meeting starts."""
    if meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED):
        raise ValidationError(_("The agenda can no longer change: the meeting has started."))


def _agenda_clean(*, title: str, presenter: str, planned_minutes: Any, description: str):
    errors: dict[str, list[str]] = {}
    title, presenter = (title or "").strip(), (presenter or "").strip()
    if not title:
        errors["title"] = [_("Enter the item's title.")]
    elif len(title) > 300:
        errors["title"] = [_("Keep the title under 300 characters.")]
    if len(presenter) > 200:
        errors["presenter"] = [_("Keep the presenter's name under 200 characters.")]
    try:
        minutes = int(planned_minutes)
        if not 1 <= minutes <= 600:
            raise ValueError
    except (TypeError, ValueError):
        errors["planned_minutes"] = [_("Plan between 1 and 600 minutes.")]
        minutes = 0
    if errors:
        raise ValidationError(errors)
    return {
        "title": title,
        "presenter": presenter,
        "planned_minutes": minutes,
        "description": (description or "").strip(),
    }


@use_case
def agenda_item_save(
    *,
    actor: User,
    meeting: Meeting,
    item: AgendaItem | None = None,
    title: str,
    presenter: str = "",
    planned_minutes: Any = 10,
    description: str = "",
) -> AgendaItem:
    """Add an item at the end of the agenda (``item`` None) or change one."""
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _agenda_editable(meeting)
    fields = _agenda_clean(
        title=title, presenter=presenter, planned_minutes=planned_minutes, description=description
    )
    before = None
    if item is None:
        last = AgendaItem.objects.filter(meeting=meeting).aggregate(last=Max("position"))["last"]
        item = AgendaItem(meeting=meeting, position=(last or 0) + 1)
    else:
        item = AgendaItem.objects.get(pk=item.pk, meeting=meeting)
        before = {"title": item.title, "planned_minutes": item.planned_minutes}
    for name, value in fields.items():
        setattr(item, name, value)
    item.save()
    audit.agency_record(
        actor=actor,
        action="meetings.agenda_save",
        obj=item,
        before=before,
        after={"title": item.title, "planned_minutes": item.planned_minutes},
    )
    return item


@use_case
def agenda_item_delete(*, actor: User, item: AgendaItem) -> None:
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=item.meeting_id)
    _agenda_editable(meeting)
    item = AgendaItem.objects.get(pk=item.pk)
    if item.polls.exists():
        raise ValidationError(_("This agenda item has a poll: it cannot be deleted any more."))
    audit.agency_record(
        actor=actor, action="meetings.agenda_delete", obj=item, before={"title": item.title}
    )
    item.delete()


@use_case
def agenda_item_move(*, actor: User, item: AgendaItem, up: bool) -> None:
    """Swap an item with the one before (``up``) or after it."""
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=item.meeting_id)
    _agenda_editable(meeting)
    items = list(AgendaItem.objects.filter(meeting=meeting).order_by("position", "id"))
    index = next((i for i, row in enumerate(items) if row.pk == item.pk), None)
    if index is None:
        raise ValidationError(_("This item is not on the agenda."))
    other = index - 1 if up else index + 1
    if not 0 <= other < len(items):
        return
    a, b = items[index], items[other]
    # The unique (meeting, position) constraint is deferred: the swap checks at commit.
    a.position, b.position = b.position, a.position
    AgendaItem.objects.bulk_update([a, b], ["position"])
    audit.agency_record(
        actor=actor,
        action="meetings.agenda_move",
        obj=a,
        after={"position": a.position},
    )


@use_case
def document_add(
    *,
    actor: User,
    meeting: Meeting,
    upload,
    item: AgendaItem | None = None,
) -> MeetingDocument:
    """A document of the meeting or of one of its agenda items, checked as request
    attachments are (size, type read from the content) and kept in the private storage."""
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.status == MeetingStatus.CANCELLED:
        raise ValidationError(_("This meeting was cancelled."))
    if item is not None and item.meeting_id != meeting.pk:
        raise ValidationError({"item": [_("This item is not on the agenda.")]})
    if upload is None:
        raise ValidationError({"file": [_("Choose a file.")]})
    try:
        checked = check_upload(upload)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    document = MeetingDocument(meeting=meeting, agenda_item=item, uploaded_by=actor)
    document.take(checked)
    document.save()
    audit.agency_record(
        actor=actor,
        action="meetings.document_add",
        obj=document,
        after={"name": document.original_name, "item": item.pk if item else None},
    )
    return document


@use_case
def document_delete(*, actor: User, document: MeetingDocument) -> None:
    require(policies.can_manage(actor))
    meeting = Meeting.objects.select_for_update().get(pk=document.meeting_id)
    if meeting.status in (MeetingStatus.CLOSED, MeetingStatus.CANCELLED):
        raise ValidationError(_("The documents of a closed or cancelled meeting are kept."))
    document = MeetingDocument.objects.get(pk=document.pk)
    audit.agency_record(
        actor=actor,
        action="meetings.document_delete",
        obj=document,
        before={"name": document.original_name},
    )
    # The file goes only once the row is gone for good (a rollback keeps both).
    storage, name = document.file.storage, document.file.name
    document.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))
