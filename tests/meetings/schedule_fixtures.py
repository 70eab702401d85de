"""Fixtures of the schedule tests (imported by its test modules): agency A with a
manager, two employees, an outside member (a beneficiary account) and a scheduled
meeting of theirs."""

import pytest
from django.core import mail

from tests.factories import make_beneficiary, make_employee
from tests.jobs import run_pending_jobs
from tests.meetings.factories import CHAIR, MEMBER, SECRETARY, make_meeting, manager_of


@pytest.fixture
def cast(agency_a):
    manager = manager_of(agency_a)
    chair = make_employee(agency_a)
    secretary = make_employee(agency_a)
    outsider = make_beneficiary()
    run_pending_jobs()
    mail.outbox.clear()
    return {
        "agency": agency_a,
        "manager": manager,
        "chair": chair,
        "secretary": secretary,
        "outsider": outsider,
        "people": [(chair, CHAIR), (secretary, SECRETARY), (outsider, MEMBER)],
    }


@pytest.fixture
def scheduled(cast):
    meeting = make_meeting(
        cast["agency"],
        actor=cast["manager"],
        participants=cast["people"],
        title_ar="اجتماع الميزانية 4417",
        title_en="Budget meeting 4417",
    )
    return {**cast, "meeting": meeting}
