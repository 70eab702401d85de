"""Jobs of meetings (procrastinate finds them here): an invitee's invitation (minted and sent
off the request), the reminders 24 hours and 1 hour before the start; the decisions' jobs are
in tasks_decisions."""

from core.jobs import agency_task
from meetings.tasks_decisions import decision_late, decision_remind  # noqa: F401


@agency_task(name="meetings.invite_outsider", queue="notifications")
def invite_outsider(*, participant_id: int, event: str, sequence: int) -> None:
    from meetings.services.schedule import outsider_invite_send

    outsider_invite_send(participant_id=participant_id, event=event, sequence=sequence)


@agency_task(name="meetings.remind", queue="notifications")
def meeting_remind(*, meeting_id: int, sequence: int, hours: int) -> None:
    from meetings.services.schedule import meeting_remind as remind

    remind(meeting_id=meeting_id, sequence=sequence, hours=hours)
