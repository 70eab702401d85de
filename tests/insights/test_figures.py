"""Every figure against values computed by hand on the fixed data set of dataset.py:

  request  received  status     late  first response  resolution          satisfaction
  R1       5 Oct     completed  no    2 h             10 h                4
  R2       5 Oct     completed  yes   1 h             30 h - 6 h paused   2
  R3       6 Oct     rejected   no    4 h             4 h
  R4       6 Oct     new        yes
  R5       7 Oct     completed  no    3 h             50 h (reopened)
  R6       7 Oct     in prog.   no    6 h

first responses 1,2,3,4,6 h: mean 3.2, p90 (linear) = 4 + 0.6 x 2 = 5.2
resolutions 4,10,24,50 h:    mean 22,  p90 (linear) = 24 + 0.7 x 26 = 42.2
"""

from datetime import date

import pytest
from django_tenants.utils import schema_context

from insights.models import (
    AgencyBeneficiary,
    AgencyDailyStat,
    AgencyMonthlyStat,
    DailyStat,
    EvaluationSettings,
    MonthlyStat,
    PlatformDailyStat,
)
from insights.rollups import METRICS, rollup_rebuild
from insights.selectors import (
    Period,
    agency_beneficiaries,
    agency_percentiles,
    agency_table,
    breakdown,
    employee_table,
    rankings,
    scope_summary,
    trend,
)
from requests_app.models import Request
from requests_app.public.models import RequestIndex
from tests.factories import make_employee
from tests.insights.dataset import build

OCTOBER = Period(start=date(2026, 10, 1), end=date(2026, 10, 31))


@pytest.fixture
def data(db, agency_a):
    return build(agency_a)


def test_agency_figures_match_hand_computed_values(data, agency_a):
    f = scope_summary(OCTOBER, agency=agency_a)
    assert (f.received, f.open, f.completed, f.rejected, f.late, f.reopened) == (6, 2, 3, 1, 2, 1)
    assert f.completion_rate == pytest.approx(50.0)
    assert f.delay_rate == pytest.approx(100 * 2 / 6)
    assert f.avg_first_response_hours == pytest.approx(3.2)
    assert f.p90_first_response_hours == pytest.approx(5.2)
    assert f.avg_resolution_hours == pytest.approx(22.0)
    assert f.p90_resolution_hours == pytest.approx(42.2)
    assert f.satisfaction == pytest.approx(3.0)


def test_large_scopes_estimate_p90_from_the_time_brackets(data, agency_a, settings):
    """Above STATISTICS_EXACT_PERCENTILE_LIMIT requests, p90s come from the rollups' bucket
    counts, interpolated inside the bucket that holds the rank 0.9 n:
    first responses 1, 2, 3, 4, 6 h fall in [1,2) [2,3) [3,4) [4,6) [6,8); rank 4.5 is
    half-way into [6, 8) -> 7 h. Resolutions 4, 10, 24, 50 h fall in [4,6) [8,12) [24,36)
    [48,72); rank 3.6 is 0.6 into [48, 72) -> 62.4 h."""
    settings.STATISTICS_EXACT_PERCENTILE_LIMIT = 5
    f = scope_summary(OCTOBER, agency=agency_a)
    assert f.p90_estimated
    assert f.p90_first_response_hours == pytest.approx(7.0)
    assert f.p90_resolution_hours == pytest.approx(62.4)
    assert f.avg_first_response_hours == pytest.approx(3.2)  # means stay exact
    rows = {row.extra["slug"]: row for row in agency_percentiles(OCTOBER, agency_table(OCTOBER))}
    assert rows[agency_a.slug].p90_estimated
    assert rows[agency_a.slug].p90_resolution_hours == pytest.approx(62.4)
    settings.STATISTICS_EXACT_PERCENTILE_LIMIT = 6
    exact = scope_summary(OCTOBER, agency=agency_a)
    assert not exact.p90_estimated and exact.p90_resolution_hours == pytest.approx(42.2)


def test_paused_time_is_left_out_of_resolution(data, agency_a):
    row = RequestIndex.objects.get(agency=agency_a, request_id=data.requests[2].pk)
    assert row.paused_seconds == 6 * 3600
    assert row.resolution_seconds == 24 * 3600
    assert row.first_response_seconds == 3600


def test_platform_includes_the_agency_and_period_bounds_are_days(data, agency_a, agency_b):
    platform = scope_summary(OCTOBER)
    assert platform.received == 6 and platform.completed == 3
    rows = {row.extra["slug"]: row for row in agency_percentiles(OCTOBER, agency_table(OCTOBER))}
    assert rows[agency_a.slug].received == 6
    assert rows[agency_a.slug].p90_resolution_hours == pytest.approx(42.2)
    assert rows[agency_b.slug].received == 0  # listed with zeros
    # Only 6 October: R3 and R4 (cohort by the day received, in Riyadh time).
    sixth = scope_summary(Period(date(2026, 10, 6), date(2026, 10, 6)), agency=agency_a)
    assert (sixth.received, sixth.rejected, sixth.late, sixth.open) == (2, 1, 1, 1)
    assert sixth.avg_resolution_hours == pytest.approx(4.0)
    assert scope_summary(Period(date(2026, 9, 1), date(2026, 9, 30))).received == 0


def test_trend_by_day_week_and_month(data, agency_a):
    days = trend(Period(date(2026, 10, 4), date(2026, 10, 8), "day"), agency=agency_a)
    assert [(r.key.day, r.received, r.completed, r.late) for r in days] == [
        (4, 0, 0, 0),
        (5, 2, 2, 1),
        (6, 2, 0, 1),
        (7, 2, 1, 0),
        (8, 0, 0, 0),
    ]
    # Weeks start on Sunday: 4 Oct 2026 is a Sunday, so all six fall in one week.
    weeks = trend(Period(date(2026, 9, 27), date(2026, 10, 10), "week"))
    assert [(r.key, r.received) for r in weeks] == [(date(2026, 9, 27), 0), (date(2026, 10, 4), 6)]
    months = trend(Period(date(2026, 9, 1), date(2026, 10, 31), "month"), agency=agency_a)
    assert [(r.key, r.received) for r in months] == [(date(2026, 9, 1), 0), (date(2026, 10, 1), 6)]


def test_breakdowns_per_department_type_and_employee(data, agency_a):
    by_dept = {r.label: r for r in breakdown(OCTOBER, agency=agency_a, by="department")}
    assert by_dept["التراخيص"].received == 3 and by_dept["التراخيص"].completed == 2
    assert by_dept["الخدمات"].received == 3 and by_dept["الخدمات"].late == 1
    by_type = {r.label: r for r in breakdown(OCTOBER, agency=agency_a, by="type")}
    assert by_type["رخصة"].received == 3 and by_type["رخصة"].rejected == 1
    assert by_type["إشعار"].avg_first_response_hours == pytest.approx(4.5)  # (3 + 6) / 2
    e1 = data.employees["e1"]
    by_employee = {r.key: r for r in employee_table(OCTOBER, agency=agency_a)}
    mine = by_employee[e1.pk]
    assert (mine.received, mine.completed, mine.late) == (3, 3, 1)
    assert mine.avg_first_response_hours == pytest.approx(2.0)
    assert mine.avg_resolution_hours == pytest.approx(28.0)
    assert mine.p90_resolution_hours == pytest.approx(24 + 0.8 * 26)  # 10, 24, 50
    assert mine.satisfaction == pytest.approx(3.0)
    # Five requests are needed for an evaluation by default; e1 has three.
    assert mine.extra["evaluation"] is None


def test_evaluation_uses_the_agency_weights(data, agency_a):
    EvaluationSettings.objects.create(agency=agency_a, min_requests=3)
    e1 = data.employees["e1"]
    evaluation = {r.key: r for r in employee_table(OCTOBER, agency=agency_a)}[e1.pk].extra[
        "evaluation"
    ]
    # response 100(1 - 2/16) = 87.5; resolution 100(1 - 28/144); punctuality 100(1 - 1/3);
    # satisfaction 100(3 - 1)/4 = 50
    assert evaluation.components["response"] == pytest.approx(87.5)
    assert evaluation.components["resolution"] == pytest.approx(100 * (1 - 28 / 144))
    assert evaluation.components["lateness"] == pytest.approx(100 * 2 / 3)
    assert evaluation.components["satisfaction"] == pytest.approx(50.0)
    equal = (87.5 + 100 * (1 - 28 / 144) + 100 * 2 / 3 + 50) / 4
    assert evaluation.score == pytest.approx(equal)
    EvaluationSettings.objects.filter(agency=agency_a).update(
        weight_response=40, weight_resolution=30, weight_lateness=20, weight_satisfaction=10
    )
    weighted = {r.key: r for r in employee_table(OCTOBER, agency=agency_a)}[e1.pk]
    assert weighted.extra["evaluation"].score == pytest.approx(
        (87.5 * 40 + 100 * (1 - 28 / 144) * 30 + 100 * 2 / 3 * 20 + 50 * 10) / 100
    )


def test_supervisor_scope_counts_only_their_departments(data, agency_a):
    licences = data.departments["licences"].pk
    scoped = scope_summary(OCTOBER, agency=agency_a, department_ids=[licences])
    assert (scoped.received, scoped.completed, scoped.rejected) == (3, 2, 1)
    assert scoped.p90_first_response_hours == pytest.approx(2 + 0.8 * 2)  # 1, 2, 4


def test_rankings_need_the_minimum_number_of_requests(data, agency_a):
    rows = agency_table(OCTOBER)
    assert [r.extra["slug"] for r in rankings(rows, min_requests=6)["responsive"]] == [
        agency_a.slug
    ]
    assert rankings(rows, min_requests=7) == {"responsive": [], "completing": []}


def test_beneficiary_counts(data, agency_a):
    counts = agency_beneficiaries(OCTOBER, agency=agency_a)
    assert counts == {"active": 2, "new": 2, "returning": 0, "total": 2}


def _rollups():
    def rows(model, key):
        return {
            tuple(getattr(r, k) for k in key): tuple(round(getattr(r, m), 6) for m in METRICS)
            for r in model.objects.all()
        }

    return (
        rows(DailyStat, ("agency_id", "day", "department_id", "assignee_user_id", "type_id")),
        rows(AgencyDailyStat, ("agency_id", "day")),
        rows(PlatformDailyStat, ("day", "shard")),
        rows(MonthlyStat, ("agency_id", "day", "department_id", "assignee_user_id", "type_id")),
        rows(AgencyMonthlyStat, ("agency_id", "day")),
        set(
            AgencyBeneficiary.objects.values_list("agency_id", "beneficiary_id", "first_request_at")
        ),
    )


def test_rebuild_equals_incremental(data, agency_a):
    from requests_app.services.actions import request_reject, request_reopen, request_resolve

    # An admin of the agency (the services check that the actor may reopen and work them).
    admin = make_employee(agency_a, roles=("admin",))
    # More movement through the real services: reopen R3 (rejected), then resolve it; reject R6.
    with schema_context(agency_a.schema_name):
        r3 = Request.objects.get(pk=data.requests[3].pk)
        request_reopen(agency=agency_a, request_obj=r3, actor=admin, reason="مراجعة")
        request_resolve(agency=agency_a, request_obj=r3, actor=admin)
        r6 = Request.objects.get(pk=data.requests[6].pk)
        request_reject(agency=agency_a, request_obj=r6, actor=admin, reason="ناقص")
    incremental = _rollups()
    assert all(incremental)
    assert all(values[0] > 0 for values in incremental[0].values())  # no empty rows left
    rollup_rebuild()
    assert _rollups() == incremental
    after = scope_summary(OCTOBER, agency=agency_a)
    assert (after.completed, after.rejected, after.reopened, after.open) == (4, 1, 2, 1)


def test_rebuild_restores_lost_rollups(data, agency_a):
    expected = _rollups()
    DailyStat.objects.all().delete()
    AgencyDailyStat.objects.all().delete()
    PlatformDailyStat.objects.all().delete()
    MonthlyStat.objects.all().delete()
    AgencyMonthlyStat.objects.all().delete()
    AgencyBeneficiary.objects.all().delete()
    assert scope_summary(OCTOBER, agency=agency_a).received == 0
    from django.core.management import call_command

    call_command("rebuild_statistics")
    assert _rollups() == expected
    assert scope_summary(OCTOBER, agency=agency_a).received == 6


def test_long_periods_read_whole_months_from_the_monthly_rollups(data, agency_a):
    from insights.selectors import _split

    assert _split(Period(date(2026, 10, 5), date(2026, 10, 20))) == (
        [(date(2026, 10, 5), date(2026, 10, 20))],
        None,
    )
    assert _split(Period(date(2026, 9, 15), date(2026, 12, 10))) == (
        [(date(2026, 9, 15), date(2026, 9, 30)), (date(2026, 12, 1), date(2026, 12, 10))],
        (date(2026, 10, 1), date(2026, 11, 1)),
    )
    assert _split(Period(date(2026, 10, 1), date(2026, 10, 31))) == (
        [],
        (date(2026, 10, 1), date(2026, 10, 1)),
    )
    # The same figures whichever rows they come from: October whole, or cut at its edges.
    whole = scope_summary(OCTOBER, agency=agency_a)
    wider = scope_summary(Period(date(2026, 9, 20), date(2026, 11, 3)), agency=agency_a)
    cut = scope_summary(Period(date(2026, 10, 5), date(2026, 10, 7)), agency=agency_a)
    for f in (whole, wider, cut):
        assert (f.received, f.completed, f.late, f.resolution_seconds) == (6, 3, 2, 88 * 3600)
    assert MonthlyStat.objects.filter(agency=agency_a, day=date(2026, 10, 1)).exists()
    around = Period(date(2026, 9, 20), date(2026, 11, 3))
    rows = {r.label: r.received for r in breakdown(around, agency=agency_a, by="department")}
    assert rows == {"التراخيص": 3, "الخدمات": 3}
