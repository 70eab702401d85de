"""The decisions' reminder jobs (meetings.services.decisions schedules them)."""

from core.jobs import agency_task


@agency_task(name="meetings.decision_remind", queue="notifications")
def decision_remind(*, decision_id: int, due_date: str) -> None:
    from meetings.services.decisions import decision_send_reminder

    decision_send_reminder(decision_id=decision_id, due_date=due_date, late=False)


@agency_task(name="meetings.decision_late", queue="notifications")
def decision_late(*, decision_id: int, due_date: str) -> None:
    from meetings.services.decisions import decision_send_reminder

    decision_send_reminder(decision_id=decision_id, due_date=due_date, late=True)
