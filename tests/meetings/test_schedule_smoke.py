from django_tenants.utils import schema_context

from meetings.constants import MeetingStatus
from meetings.models import Participant


def test_factory_schedules_a_meeting(scheduled):
    with schema_context(scheduled["agency"].schema_name):
        meeting = scheduled["meeting"]
        assert meeting.status == MeetingStatus.SCHEDULED
        assert Participant.objects.filter(meeting=meeting).count() == 3
