"""Shared helpers of the meetings tests: a body with members, a meeting (scheduled, with
participants) for given users. They go through the real services (meetings.services.schedule),
inside the agency's schema; call them from a test (the ``db`` fixture) with the agency."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from meetings.constants import MeetingStatus, MemberRole, Mode
from meetings.models import Body, Meeting, Participant
from tenants.models import Agency
from tests.factories import make_employee


def manager_of(agency: Agency) -> User:
    """An employee of ``agency`` holding meetings.manage (the admin role has every permission)."""
    return make_employee(agency, roles=("admin",))


def meetings_viewer(agency: Agency) -> User:
    """An employee of ``agency`` granted meetings.view_all on top of the employee role (no
    system role but the admin's holds it by default)."""
    user = make_employee(agency)
    with schema_context(agency.schema_name):
        from tenants.staff.models import Membership

        Membership.objects.filter(user=user).update(granted_permissions=["meetings.view_all"])
    return user


def decisions_manager(agency: Agency) -> User:
    """An employee of ``agency`` holding meetings.decisions only (the register's manager),
    through a role of that one permission."""
    from tenants.staff.models import Role

    with schema_context(agency.schema_name):
        Role.objects.get_or_create(
            codename="decisions-follow",
            defaults={
                "name_ar": "متابعة القرارات",
                "name_en": "Decisions follow-up",
                "permissions": ["meetings.decisions"],
            },
        )
    return make_employee(agency, roles=("decisions-follow",))


def make_body(
    agency: Agency,
    *,
    actor: User | None = None,
    members: list[tuple[User, str]] | None = None,
    rules: dict | None = None,
    name_ar: str = "مجلس الإدارة",
    name_en: str = "Board",
    kind: str = "board",
) -> Body:
    """A body of ``agency`` whose members are ``members`` [(user, role), …]; employees of the
    agency are added by membership, anyone else as an outside person bound to the account."""
    from meetings.services.schedule import body_member_add, body_save
    from tenants.staff.models import Membership

    actor = actor or manager_of(agency)
    with schema_context(agency.schema_name):
        body = body_save(
            actor=actor, name_ar=name_ar, name_en=name_en, kind=kind, rules=rules or {}
        )
        for user, role in members or []:
            membership = Membership.objects.filter(user_id=user.pk, is_active=True).first()
            if membership is not None:
                body_member_add(actor=actor, body=body, membership=membership, role=role)
            else:
                body_member_add(actor=actor, body=body, user=user, role=role)
        return body


def make_meeting(
    agency: Agency,
    *,
    actor: User | None = None,
    participants: list[tuple[User, str]] | None = None,
    body: Body | None = None,
    status: str = MeetingStatus.SCHEDULED,
    starts_in: timedelta = timedelta(days=2),
    minutes: int = 60,
    mode: str = Mode.HYBRID,
    title_ar: str = "اجتماع",
    title_en: str = "Meeting",
    weights: dict[int, Decimal] | None = None,
    rules: dict | None = None,
) -> Meeting:
    """A meeting of ``agency`` with ``participants`` [(user, role), …] (or a body's members),
    announced (status scheduled: invitations sent, reminders deferred) unless ``status`` is
    draft; other statuses (in_progress, closed, cancelled) are set directly afterwards.
    ``weights``: {user id: weight}."""
    from meetings.services.schedule import meeting_announce, meeting_create, participant_add

    actor = actor or manager_of(agency)
    start = timezone.now() + starts_in
    with schema_context(agency.schema_name):
        meeting = meeting_create(
            actor=actor,
            body=body,
            title_ar=title_ar,
            title_en=title_en,
            mode=mode,
            place="القاعة" if mode != Mode.REMOTE else "",
            conference_url="https://meet.example.org/abc" if mode != Mode.IN_PERSON else "",
            starts_at=start,
            ends_at=start + timedelta(minutes=minutes),
            rules=rules,
        )
        for user, role in participants or []:
            participant_add(
                actor=actor,
                meeting=meeting,
                user=user,
                role=role,
                weight=(weights or {}).get(user.pk, Decimal("1")),
            )
        if status != MeetingStatus.DRAFT:
            if not meeting.participants.exists():
                raise ValueError("a scheduled meeting needs participants")
            meeting = meeting_announce(actor=actor, meeting=meeting)
        if status not in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED):
            Meeting.objects.filter(pk=meeting.pk).update(status=status)
            meeting.refresh_from_db()
        return meeting


def participant_for(agency: Agency, meeting: Meeting, user: User) -> Participant:
    with schema_context(agency.schema_name):
        return Participant.objects.get(meeting=meeting, user=user)


CHAIR, SECRETARY, MEMBER, OBSERVER = (
    MemberRole.CHAIR,
    MemberRole.SECRETARY,
    MemberRole.MEMBER,
    MemberRole.OBSERVER,
)
