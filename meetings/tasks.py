"""The meetings app's jobs (procrastinate finds them here): each part keeps its own file."""

from meetings.tasks_decisions import decision_late, decision_remind  # noqa: F401
