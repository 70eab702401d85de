"""A fixed data set with hand-computed figures (see test_figures.py): six requests of one
agency received on 5-7 October 2026, shaped through the same index_sync the services call."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django_tenants.utils import schema_context

from requests_app.constants import Status
from requests_app.models import Request, StatusPause, SurveyResponse
from requests_app.services.index import index_sync
from tenants.staff.models import Department
from tests.factories import make_beneficiary, make_employee, make_request, make_type, membership_of

RIYADH = ZoneInfo("Asia/Riyadh")
DAY = datetime(2026, 10, 5, 10, 0, tzinfo=RIYADH)
H = timedelta(hours=1)


@dataclass
class Built:
    requests: dict
    employees: dict
    departments: dict
    types: dict
    beneficiaries: list


def shape(
    agency,
    item,
    *,
    created,
    first=None,
    closed=None,
    status,
    late=False,
    pauses=(),
    reopened=0,
    satisfaction=None,
    survey="short",
    assignee=None,
    department=None,
):
    """Give a request fixed times and state, then mirror it as the services do."""
    with schema_context(agency.schema_name):
        Request.objects.filter(pk=item.pk).update(
            created_at=created,
            first_response_at=first,
            closed_at=closed,
            status=status,
            is_late=late,
            reopened_count=reopened,
            assignee=assignee,
            department=department,
        )
        StatusPause.objects.filter(request_id=item.pk).delete()
        for start, end in pauses:
            StatusPause.objects.create(
                request_id=item.pk, status=Status.POSTPONED, started_at=start, ended_at=end
            )
        if satisfaction is not None:
            # Either survey form: the short form's overall rating, or the extended form's
            # eleven statements all rated ``satisfaction``; the statistics read the score.
            extended = survey == "extended"
            SurveyResponse.objects.create(
                request_id=item.pk,
                transaction_type_id=item.transaction_type_id,
                form="extended" if extended else "short",
                overall=satisfaction,
                answers=[satisfaction] * 11 if extended else [],
                score=satisfaction,
            )
        fresh = Request.objects.select_related("transaction_type", "assignee__user").get(pk=item.pk)
        index_sync(agency=agency, request=fresh)
        return fresh


def build(agency) -> Built:
    with schema_context(agency.schema_name):
        licences = Department.objects.create(name_ar="التراخيص", name_en="Licences")
        services = Department.objects.create(name_ar="الخدمات", name_en="Services")
    e1 = make_employee(agency)
    e2 = make_employee(agency)
    m1, m2 = membership_of(agency, e1), membership_of(agency, e2)
    permit = make_type(agency, name_ar="رخصة", name_en="Permit")
    notice = make_type(agency, name_ar="إشعار", name_en="Notice")
    people = [make_beneficiary(), make_beneficiary()]
    raw = {
        n: make_request(
            agency,
            beneficiary=people[0 if n in (1, 2, 3) else 1],
            request_type=permit if n <= 3 else notice,
        )
        for n in range(1, 7)
    }
    d1, d2, d3 = DAY, DAY + timedelta(days=1, hours=-1), DAY + timedelta(days=2, hours=-2)
    built = {
        # completed: response 2 h, resolution 10 h, satisfaction 4
        1: shape(
            agency,
            raw[1],
            created=d1,
            first=d1 + 2 * H,
            closed=d1 + 10 * H,
            status=Status.CLOSED,
            satisfaction=4,
            assignee=m1,
            department=licences,
        ),
        # completed late: response 1 h, 30 h elapsed of which 6 h postponed -> 24 h
        2: shape(
            agency,
            raw[2],
            created=d1,
            first=d1 + H,
            closed=d1 + 30 * H,
            status=Status.CLOSED,
            late=True,
            pauses=[(d1 + 4 * H, d1 + 10 * H)],
            satisfaction=2,
            survey="extended",
            assignee=m1,
            department=licences,
        ),
        # rejected: response 4 h, resolution 4 h
        3: shape(
            agency,
            raw[3],
            created=d2,
            first=d2 + 4 * H,
            closed=d2 + 4 * H,
            status=Status.REJECTED,
            assignee=m2,
            department=licences,
        ),
        # open, late, no response yet
        4: shape(
            agency,
            raw[4],
            created=d2,
            status=Status.NEW,
            late=True,
            assignee=m2,
            department=services,
        ),
        # reopened once, completed again: response 3 h, resolution 50 h
        5: shape(
            agency,
            raw[5],
            created=d3,
            first=d3 + 3 * H,
            closed=d3 + 50 * H,
            status=Status.CLOSED,
            reopened=1,
            assignee=m1,
            department=services,
        ),
        # in progress: response 6 h
        6: shape(
            agency,
            raw[6],
            created=d3,
            first=d3 + 6 * H,
            status=Status.IN_PROGRESS,
            assignee=m2,
            department=services,
        ),
    }
    return Built(
        requests=built,
        employees={"e1": e1, "e2": e2},
        departments={"licences": licences, "services": services},
        types={"permit": permit, "notice": notice},
        beneficiaries=people,
    )
