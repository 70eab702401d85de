"""The distribution engine (R-10): filters, choosers, the unassigned queue and the explanation.

Everything runs in the test's rolled-back transaction, through ``request_submit`` (the real
path) or ``distribution_assign`` when the clock must be controlled (``now=``).
"""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django_tenants.utils import schema_context

from requests_app.constants import Chooser, Status
from requests_app.models import Assignment, EmployeeProfile, Request
from requests_app.services import (
    distribution_assign,
    distribution_rule_save,
    employee_profile_save,
    leave_add,
    request_submit,
)
from requests_app.templatetags.requests_extras import DECISION_LABELS
from tenants.services import department_save, employee_set_permissions
from tenants.staff.models import Membership
from tests.factories import make_beneficiary, make_employee, make_type

RIYADH = ZoneInfo("Asia/Riyadh")


class Team:
    """A department of agency A with its own employees, rules and types."""

    def __init__(self, agency):
        self.agency = agency
        self.admin = make_employee(agency, roles=("admin",))
        self.beneficiary = make_beneficiary()
        with schema_context(agency.schema_name):
            self.department = department_save(
                actor=self.admin, name_ar="قسم التوزيع", name_en="Distribution dept"
            )
            self.other_department = department_save(
                actor=self.admin, name_ar="قسم آخر", name_en="Other dept"
            )

    # --- set-up helpers -----------------------------------------------------------------------

    def employees(self, n=1, *, department="mine", roles=("employee",)) -> list[Membership]:
        department = {"mine": self.department, "other": self.other_department}.get(
            department, department
        )
        members = []
        for _ in range(n):
            user = make_employee(self.agency, roles=roles)
            with schema_context(self.agency.schema_name):
                membership = Membership.objects.get(user_id=user.pk)
                membership.department = department
                membership.save(update_fields=["department"])
            members.append(membership)
        return members

    def profile(self, membership, **data) -> EmployeeProfile:
        with schema_context(self.agency.schema_name):
            return employee_profile_save(membership=membership, actor=self.admin, data=data)

    def rule(self, **data):
        data = {"name_ar": "قاعدة", "name_en": "Rule", "chooser": Chooser.ROUND_ROBIN, **data}
        with schema_context(self.agency.schema_name):
            return distribution_rule_save(actor=self.admin, data=data)

    def type(self, rule=None, department="mine"):
        department = {"mine": self.department, "other": self.other_department}.get(
            department, department
        )
        return make_type(self.agency, actor=self.admin, department=department, rule=rule)

    def submit(self, request_type, n=1) -> list[Request]:
        return [
            request_submit(
                agency=self.agency,
                beneficiary=self.beneficiary,
                transaction_type_id=request_type.pk,
                subject=f"طلب {i}",
                description="وصف",
            )
            for i in range(n)
        ]

    def assign_at(self, item: Request, now: datetime):
        """Run the engine again on ``item`` at a chosen time (the caller's clock, not ours)."""
        with schema_context(self.agency.schema_name), transaction.atomic():
            item = Request.objects.select_related("transaction_type").get(pk=item.pk)
            return distribution_assign(request=item, now=now)

    def preload(self, membership, n, *, status=Status.NEW):
        """Give ``membership`` ``n`` requests in ``status`` (outside the engine)."""
        other_type = self.type(department="other")
        items = self.submit(other_type, n)
        with schema_context(self.agency.schema_name):
            Request.objects.filter(pk__in=[i.pk for i in items]).update(
                assignee=membership, status=status
            )

    def decision(self, item) -> dict:
        with schema_context(self.agency.schema_name):
            assignment = Assignment.objects.get(request_id=item.pk)
            return assignment.decision


def by_id(decision: dict) -> dict[int, dict]:
    return {entry["membership_id"]: entry for entry in decision["considered"]}


@pytest.fixture
def team(agency_a) -> Team:
    return Team(agency_a)


# --- choosers ---------------------------------------------------------------------------------


def test_round_robin_rotates_ten_requests_over_five_employees(team):
    members = team.employees(5)
    request_type = team.type(team.rule(chooser=Chooser.ROUND_ROBIN))
    items = team.submit(request_type, 10)
    assignees = [item.assignee_id for item in items]
    ids = [m.pk for m in members]
    # Nobody has been assigned yet, so the first five go in id order, then the same rotation.
    assert assignees == ids + ids
    assert Counter(assignees) == {pk: 2 for pk in ids}
    with schema_context(team.agency.schema_name):
        totals = dict(
            EmployeeProfile.objects.filter(membership__in=ids).values_list(
                "membership_id", "assigned_total"
            )
        )
    assert totals == {pk: 2 for pk in ids}


def test_round_robin_picks_whoever_was_assigned_longest_ago(team):
    first, second, third = team.employees(3)
    now = timezone.now()
    team.profile(first, last_assigned_at=now - timedelta(minutes=5))
    team.profile(second, last_assigned_at=now - timedelta(hours=3))  # longest ago
    team.profile(third, last_assigned_at=now - timedelta(hours=1))
    items = team.submit(team.type(team.rule()), 4)
    assert [i.assignee_id for i in items] == [second.pk, third.pk, first.pk, second.pk]


def test_least_load_skips_the_loaded_employee_and_breaks_ties_by_longest_wait(team):
    busy, early, late = team.employees(3)
    team.preload(busy, 3)
    # Closed and rejected requests are not load.
    team.preload(early, 4, status=Status.CLOSED)
    team.preload(late, 2, status=Status.REJECTED)
    now = timezone.now()
    # ``late`` has the higher id-independent claim: it has waited longer than ``early``.
    team.profile(early, last_assigned_at=now - timedelta(minutes=1))
    team.profile(late, last_assigned_at=now - timedelta(hours=2))
    team.profile(busy, last_assigned_at=now - timedelta(days=3))
    items = team.submit(team.type(team.rule(chooser=Chooser.LEAST_LOAD)), 8)
    got = [i.assignee_id for i in items]
    # Loads busy=3, early=0, late=0. The two idle ones alternate, ``late`` first (it waited
    # longer) and then whoever was assigned longest ago, until all three have 3 open; then
    # ``busy`` (waited days) ties at the lowest load and wins, then ``late`` again.
    assert got == [late.pk, early.pk, late.pk, early.pk, late.pk, early.pk, busy.pk, late.pk]
    decision = team.decision(items[0])
    assert decision["chooser"] == Chooser.LEAST_LOAD
    assert by_id(decision)[busy.pk]["open"] == 3
    assert by_id(decision)[early.pk]["open"] == 0


def test_weighted_one_to_three_over_forty(team):
    light, heavy = team.employees(2)
    team.profile(light, weight=1)
    team.profile(heavy, weight=3)
    items = team.submit(team.type(team.rule(chooser=Chooser.WEIGHTED)), 40)
    counts = Counter(i.assignee_id for i in items)
    assert sum(counts.values()) == 40
    assert abs(counts[light.pk] - 10) <= 1
    assert abs(counts[heavy.pk] - 30) <= 1


# --- filters ----------------------------------------------------------------------------------


def test_department_restriction(team):
    mine, other = team.employees(1)[0], team.employees(1, department="other")[0]
    (nowhere,) = team.employees(1, department=None)
    restricted = team.type(team.rule(restrict_to_department=True))
    items = team.submit(restricted, 4)
    assert {i.assignee_id for i in items} == {mine.pk}
    considered = by_id(team.decision(items[0]))
    assert set(considered) == {mine.pk}

    # Without the restriction everyone of the agency who works requests is a candidate (the
    # agency's admins too); round robin then gives one to each eligible candidate in turn.
    open_type = team.type(team.rule(restrict_to_department=False))
    (probe,) = team.submit(open_type)
    eligible = {
        e["membership_id"] for e in team.decision(probe)["considered"] if "excluded" not in e
    }
    assert {mine.pk, other.pk, nowhere.pk} <= eligible
    items = [probe, *team.submit(open_type, len(eligible) - 1)]
    assert {i.assignee_id for i in items} == eligible


def test_department_rule_applies_when_the_type_has_none(team):
    (member,) = team.employees(1)
    team.profile(member, skills=["legal"])
    team.rule(department=team.department, required_skills=["medical"])
    (item,) = team.submit(team.type(rule=None))
    assert item.assignee_id is None
    decision = team.decision(item)
    assert decision["outcome"] == "nobody_available"
    assert by_id(decision)[member.pk]["excluded"] == "missing_skills"


def test_required_skills(team):
    lawyer, clerk, polyglot = team.employees(3)
    team.profile(lawyer, skills=["legal"])
    team.profile(clerk, skills=["filing"])
    team.profile(polyglot, skills=["legal", "english", "filing"])
    items = team.submit(team.type(team.rule(required_skills=["legal", "english"])), 3)
    assert {i.assignee_id for i in items} == {polyglot.pk}
    considered = by_id(team.decision(items[0]))
    assert considered[lawyer.pk]["excluded"] == "missing_skills"
    assert considered[clerk.pk]["excluded"] == "missing_skills"
    assert "excluded" not in considered[polyglot.pk]


def test_out_of_office(team):
    present, away = team.employees(2)
    team.profile(away, is_out_of_office=True)
    items = team.submit(team.type(team.rule()), 4)
    assert {i.assignee_id for i in items} == {present.pk}
    assert by_id(team.decision(items[0]))[away.pk]["excluded"] == "out_of_office"


def test_availability_can_be_ignored_by_the_rule(team):
    present, away = team.employees(2)
    team.profile(away, is_out_of_office=True)
    items = team.submit(team.type(team.rule(respect_availability=False)), 4)
    assert Counter(i.assignee_id for i in items) == {present.pk: 2, away.pk: 2}


def test_leave_today_excludes_past_and_future_leaves_do_not(team):
    on_leave, back, later, free = team.employees(4)
    today = timezone.localdate()
    with schema_context(team.agency.schema_name):
        for member, start, end in [
            (on_leave, today - timedelta(days=1), today + timedelta(days=1)),
            (back, today - timedelta(days=5), today - timedelta(days=1)),
            (later, today + timedelta(days=1), today + timedelta(days=3)),
        ]:
            leave_add(membership=member, starts_on=start, ends_on=end, reason="", actor=team.admin)
    items = team.submit(team.type(team.rule()), 6)
    assert on_leave.pk not in {i.assignee_id for i in items}
    assert Counter(i.assignee_id for i in items) == {back.pk: 2, later.pk: 2, free.pk: 2}
    assert by_id(team.decision(items[0]))[on_leave.pk]["excluded"] == "on_leave"


def test_leave_boundaries_are_one_day_inclusive(team):
    (member,) = team.employees(1)
    today = timezone.localdate()
    with schema_context(team.agency.schema_name):
        leave_add(membership=member, starts_on=today, ends_on=today, reason="", actor=team.admin)
    (item,) = team.submit(team.type(team.rule()))
    assert item.assignee_id is None
    assert by_id(team.decision(item))[member.pk]["excluded"] == "on_leave"


def test_leave_is_judged_by_the_riyadh_date_not_the_utc_date(team):
    (member,) = team.employees(1)
    (item,) = team.submit(team.type(team.rule()))
    # 22:30 UTC on 2 March is 01:30 on 3 March in Riyadh.
    now = datetime(2026, 3, 2, 22, 30, tzinfo=ZoneInfo("UTC"))
    assert timezone.localtime(now).date() == date(2026, 3, 3)
    with schema_context(team.agency.schema_name):
        leave = leave_add(
            membership=member,
            starts_on=date(2026, 3, 3),
            ends_on=date(2026, 3, 4),
            reason="",
            actor=team.admin,
        )
    chosen, decision = team.assign_at(item, now)
    assert chosen is None
    assert by_id(decision)[member.pk]["excluded"] == "on_leave"
    # A leave that ended on 2 March (Riyadh) is over at that instant.
    with schema_context(team.agency.schema_name):
        leave.starts_on = leave.ends_on = date(2026, 3, 2)
        leave.save()
    chosen, decision = team.assign_at(item, now)
    assert chosen is not None and chosen.pk == member.pk


def test_outside_working_hours_in_riyadh_time(team):
    worker, away = team.employees(2)
    team.profile(worker, work_schedule={"0": [["08:00", "16:00"]], "2": [["12:00", "20:00"]]})
    team.profile(away, is_out_of_office=True)
    (item,) = team.submit(team.type(team.rule()))
    monday_10 = datetime(2026, 3, 2, 10, 0, tzinfo=RIYADH)
    assert monday_10.weekday() == 0

    chosen, decision = team.assign_at(item, monday_10)
    assert chosen is not None and chosen.pk == worker.pk
    assert decision["outcome"] == "assigned"

    for now in [
        monday_10.replace(hour=7, minute=59),  # before the range
        monday_10.replace(hour=16),  # the end is exclusive
        monday_10.replace(hour=20),
        monday_10 + timedelta(days=1),  # Tuesday: no range at all
        # 14:00 UTC is 17:00 in Riyadh: outside, although 14:00 is inside 08-16.
        datetime(2026, 3, 2, 14, 0, tzinfo=ZoneInfo("UTC")),
    ]:
        chosen, decision = team.assign_at(item, now)
        assert chosen is None, now
        assert decision["outcome"] == "nobody_available"
        assert by_id(decision)[worker.pk]["excluded"] == "outside_working_hours"
        assert by_id(decision)[away.pk]["excluded"] == "out_of_office"

    # 07:00 UTC is 10:00 in Riyadh; Wednesday 19:59 is inside its own range.
    for now in [
        datetime(2026, 3, 2, 7, 0, tzinfo=ZoneInfo("UTC")),
        datetime(2026, 3, 4, 19, 59, tzinfo=RIYADH),
    ]:
        chosen, _decision = team.assign_at(item, now)
        assert chosen is not None and chosen.pk == worker.pk, now


def test_cap_of_open_requests_from_rule_and_from_profile(team):
    rule_capped, self_capped, free = team.employees(3)
    team.preload(rule_capped, 2)
    team.preload(self_capped, 1)
    team.preload(free, 1)
    team.profile(self_capped, max_open=1)
    request_type = team.type(team.rule(max_open=2))
    items = team.submit(request_type, 1)
    considered = by_id(team.decision(items[0]))
    assert considered[rule_capped.pk]["excluded"] == "at_capacity"
    assert considered[self_capped.pk]["excluded"] == "at_capacity"
    assert items[0].assignee_id == free.pk
    # ``free`` now has 2 open requests: everybody is at the cap.
    (item,) = team.submit(request_type, 1)
    assert item.assignee_id is None
    decision = team.decision(item)
    assert decision["outcome"] == "nobody_available"
    assert {e["excluded"] for e in decision["considered"]} == {"at_capacity"}
    # Closing a request frees a place.
    with schema_context(team.agency.schema_name):
        oldest = Request.objects.filter(assignee=rule_capped).order_by("id").first()
        Request.objects.filter(pk=oldest.pk).update(status=Status.CLOSED)
    (item,) = team.submit(request_type, 1)
    assert item.assignee_id == rule_capped.pk


def test_employee_without_the_work_permission_is_never_chosen(team):
    worker, revoked, no_role = team.employees(3)
    (viewer,) = team.employees(1, roles=())
    with schema_context(team.agency.schema_name):
        employee_set_permissions(
            membership=revoked, granted=[], revoked=["requests.work"], actor=team.admin
        )
        inactive = team.employees(1)[0]
        Membership.objects.filter(pk=inactive.pk).update(is_active=False)
        Membership.objects.filter(pk=no_role.pk).first().roles.clear()
    items = team.submit(team.type(team.rule(chooser=Chooser.LEAST_LOAD)), 6)
    assert {i.assignee_id for i in items} == {worker.pk}
    considered = by_id(team.decision(items[0]))
    assert set(considered) == {worker.pk}
    assert {revoked.pk, no_role.pk, viewer.pk, inactive.pk}.isdisjoint(considered)


# --- nobody available -------------------------------------------------------------------------


def test_nobody_available_waits_in_the_unassigned_queue(team, client):
    away, on_leave = team.employees(2)
    team.profile(away, is_out_of_office=True)
    with schema_context(team.agency.schema_name):
        today = timezone.localdate()
        leave_add(membership=on_leave, starts_on=today, ends_on=today, reason="", actor=team.admin)
    (item,) = team.submit(team.type(team.rule()))
    assert item.assignee_id is None
    with schema_context(team.agency.schema_name):
        item.refresh_from_db()
        assert item.assignee_id is None and item.status == Status.NEW
        assignment = Assignment.objects.get(request=item)
    assert assignment.assignee_id is None
    assert assignment.decision["outcome"] == "nobody_available"
    assert assignment.decision["chosen"] is None
    assert by_id(assignment.decision) == {
        away.pk: {
            "membership_id": away.pk,
            "name": by_id(assignment.decision)[away.pk]["name"],
            "open": 0,
            "excluded": "out_of_office",
        },
        on_leave.pk: {
            "membership_id": on_leave.pk,
            "name": by_id(assignment.decision)[on_leave.pk]["name"],
            "open": 0,
            "excluded": "on_leave",
        },
    }

    queue = reverse("workspace:queue", kwargs={"agency_slug": team.agency.slug})
    client.force_login(team.admin)
    response = client.get(queue, {"scope": "unassigned"})
    assert response.status_code == 200
    assert item.reference in response.content.decode()
    # An assigned request is not in the unassigned queue.
    team.profile(away, is_out_of_office=False)
    (assigned,) = team.submit(team.type(team.rule()))
    assert assigned.assignee_id == away.pk
    html = client.get(queue, {"scope": "unassigned"}).content.decode()
    assert item.reference in html and assigned.reference not in html

    # A plain employee has no unassigned queue: the scope falls back to their own requests.
    client.force_login(away.user)
    html = client.get(queue, {"scope": "unassigned"}).content.decode()
    assert item.reference not in html
    assert assigned.reference in html


def test_department_without_employees_leaves_the_request_unassigned(team, client):
    (item,) = team.submit(team.type(team.rule()))
    assert item.assignee_id is None
    decision = team.decision(item)
    assert decision["outcome"] == "no_candidates"
    assert decision["considered"] == []
    client.force_login(team.admin)
    response = client.get(
        reverse("workspace:queue", kwargs={"agency_slug": team.agency.slug}),
        {"scope": "unassigned"},
    )
    assert item.reference in response.content.decode()


# --- why it went to whom ----------------------------------------------------------------------


def test_decision_is_explained_to_view_all_but_not_to_a_plain_employee(team, client):
    chosen, away, unskilled = team.employees(3)
    team.profile(chosen, skills=["legal"])
    team.profile(away, skills=["legal"], is_out_of_office=True)
    team.profile(unskilled, skills=[])
    (item,) = team.submit(team.type(team.rule(required_skills=["legal"])))
    assert item.assignee_id == chosen.pk
    decision = team.decision(item)
    assert decision["outcome"] == "assigned"
    assert decision["chosen"]["membership_id"] == chosen.pk
    assert decision["chooser"] == Chooser.ROUND_ROBIN
    assert decision["rule"] == "Rule"
    considered = by_id(decision)
    assert considered[away.pk]["excluded"] == "out_of_office"
    assert considered[unskilled.pk]["excluded"] == "missing_skills"

    url = reverse(
        "workspace:request_detail",
        kwargs={"agency_slug": team.agency.slug, "request_id": item.pk},
    )

    def reasons(user) -> list[str]:
        """The page's readable reasons, in the viewer's language."""
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            return [
                escape(str(DECISION_LABELS[code]))
                for code in ("out_of_office", "missing_skills", "round_robin", "assigned")
            ]

    (supervisor,) = team.employees(1, roles=("supervisor",))
    for viewer in (team.admin, supervisor.user):
        client.force_login(viewer)
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'class="decision"' in html
        for reason in reasons(viewer):
            assert reason in html, reason
        assert considered[away.pk]["name"] in html
        assert considered[unskilled.pk]["name"] in html

    client.force_login(chosen.user)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert item.subject in html
    assert 'class="decision"' not in html
    for reason in reasons(chosen.user)[:2]:
        assert reason not in html
    # (colleagues' names do appear in the reassignment form's list; the decision does not)
    assert "open requests" not in html and "الطلبات المفتوحة" not in html
