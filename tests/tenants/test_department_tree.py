"""The department tree is walked once (tenants.selectors' recursive closure), and "memberships
holding permission X in department subtree Y" is one query (memberships_holding), used by the
SLA escalation and approvals (supervisors_for), distribution (its candidates) and the
reassignment check."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from requests_app.services.approvals import supervisors_for
from requests_app.services.distribution import distribution_assign
from tenants.selectors import department_subtree, memberships_holding
from tenants.services import department_save
from tenants.staff.models import Department, Membership
from tests.factories import make_employee, make_request, make_type


class Staff:
    """D1 ⊃ D1a ⊃ D1a1, and D2. Supervisors ``sup1`` (D1), ``sup1a1`` (D1a1), ``sup2`` (D2),
    ``sup_free`` (no department); ``viewer`` (an employee of D2 granted requests.view_all
    singly); ``revoked`` (a supervisor of D1 whose requests.supervise is revoked);
    ``inactive`` (a supervisor of D1, deactivated); workers ``w1`` (D1), ``w1a`` (D1a)."""

    def __init__(self, agency):
        self.agency = agency
        self.admin = make_employee(agency, roles=("admin",))
        names = ("sup1", "sup1a1", "sup2", "sup_free", "revoked", "inactive")
        for name in names:
            setattr(self, name, make_employee(agency, roles=("supervisor",)))
        self.viewer, self.w1, self.w1a = (make_employee(agency) for _ in range(3))
        with schema_context(agency.schema_name):
            self.d1 = department_save(actor=self.admin, name_ar="د١", name_en="D1")
            self.d1a = department_save(
                actor=self.admin, name_ar="د١أ", name_en="D1a", parent=self.d1
            )
            self.d1a1 = department_save(
                actor=self.admin, name_ar="د١أ١", name_en="D1a1", parent=self.d1a
            )
            self.d2 = department_save(actor=self.admin, name_ar="د٢", name_en="D2")
            for user, department in [
                (self.sup1, self.d1),
                (self.sup1a1, self.d1a1),
                (self.sup2, self.d2),
                (self.viewer, self.d2),
                (self.revoked, self.d1),
                (self.inactive, self.d1),
                (self.w1, self.d1),
                (self.w1a, self.d1a),
            ]:
                Membership.objects.filter(user_id=user.pk).update(department=department)
            Membership.objects.filter(user_id=self.viewer.pk).update(
                granted_permissions=["requests.view_all"]
            )
            Membership.objects.filter(user_id=self.revoked.pk).update(
                revoked_permissions=["requests.supervise"]
            )
            Membership.objects.filter(user_id=self.inactive.pk).update(is_active=False)

    def users(self, memberships) -> set:
        by_pk = {
            getattr(self, name).pk: name
            for name in (
                "admin",
                "sup1",
                "sup1a1",
                "sup2",
                "sup_free",
                "revoked",
                "inactive",
                "viewer",
                "w1",
                "w1a",
            )
        }
        return {by_pk[m.user_id] for m in memberships}


@pytest.fixture
def staff(agency_a) -> Staff:
    return Staff(agency_a)


def test_subtree_is_one_query_and_goes_all_the_way_down(staff, django_assert_num_queries):
    with schema_context(staff.agency.schema_name):
        Department.objects.exists()  # the schema's search path is set
        with django_assert_num_queries(1):
            below_d1 = set(department_subtree(staff.d1.pk))
        assert below_d1 == {staff.d1.pk, staff.d1a.pk, staff.d1a1.pk}
        assert set(department_subtree(staff.d1a1.pk)) == {staff.d1a1.pk}
        assert set(department_subtree(staff.d2.pk)) == {staff.d2.pk}


def test_holders_of_a_permission_in_a_subtree(staff):
    with schema_context(staff.agency.schema_name):
        anywhere = memberships_holding("requests.supervise")
        # the admin role holds requests.supervise too; revoked and inactive holders do not count
        assert staff.users(anywhere) == {"admin", "sup1", "sup1a1", "sup2", "sup_free"}
        in_d1 = memberships_holding("requests.supervise", department_id=staff.d1.pk)
        assert staff.users(in_d1) == {"sup1", "sup1a1"}
        only_d1 = memberships_holding(
            "requests.supervise", department_id=staff.d1.pk, scope="department"
        )
        assert staff.users(only_d1) == {"sup1"}
        # a single grant counts as much as a role
        assert staff.users(memberships_holding("requests.view_all")) == {"admin", "viewer"}
        # work: employees and supervisors alike, in D1's subtree
        workers = memberships_holding("requests.work", department_id=staff.d1.pk)
        assert staff.users(workers) == {"sup1", "sup1a1", "w1", "w1a", "revoked"}


def test_overseeing_a_department_means_in_it_above_it_or_in_none(staff):
    with schema_context(staff.agency.schema_name):
        over_d1a = memberships_holding(
            "requests.supervise", department_id=staff.d1a.pk, scope="overseeing"
        )
        assert staff.users(over_d1a) == {"admin", "sup1", "sup_free"}
        over_d1a1 = memberships_holding(
            "requests.supervise", department_id=staff.d1a1.pk, scope="overseeing"
        )
        assert staff.users(over_d1a1) == {"admin", "sup1", "sup1a1", "sup_free"}
        over_none = memberships_holding(
            "requests.supervise", department_id=None, scope="overseeing"
        )
        assert staff.users(over_none) == {"admin", "sup_free"}


def test_supervisors_of_a_request_in_one_query(staff, django_assert_num_queries):
    request_type = make_type(staff.agency, actor=staff.admin, department=staff.d1a1)
    item = make_request(staff.agency, request_type=request_type)
    with schema_context(staff.agency.schema_name):
        Department.objects.exists()
        with django_assert_num_queries(1):
            found = supervisors_for(item)
            names = staff.users(found)
            [m.user.email for m in found]  # users come with the same query
        # agency-wide viewers anywhere, supervisors of D1a1 or above, department-less ones
        assert names == {"admin", "viewer", "sup1", "sup1a1", "sup_free"}


def test_distribution_candidates_come_from_one_query(staff, django_assert_num_queries):
    """Only holders of requests.work of the request's department are considered; the
    candidates are read in one query however many employees the agency has (the count
    below is the whole assignment: candidates, profiles created and locked, loads, leaves,
    the rule and the stamp)."""
    request_type = make_type(staff.agency, actor=staff.admin, department=staff.d1)
    item = make_request(staff.agency, request_type=request_type)
    with schema_context(staff.agency.schema_name):
        from requests_app.models import Request

        item = Request.objects.select_related("transaction_type").get(pk=item.pk)
        Department.objects.exists()
        with django_assert_num_queries(7):
            chosen, decision = distribution_assign(request=item)
        considered = {entry["membership_id"] for entry in decision["considered"]}
        expected = {
            m.pk for m in Membership.objects.filter(user_id__in=[staff.sup1.pk, staff.w1.pk])
        }
        # ``revoked`` lost requests.supervise only: it still works requests of D1
        expected.add(Membership.objects.get(user_id=staff.revoked.pk).pk)
        assert considered == expected
        assert chosen.pk in expected


def test_a_department_cannot_move_under_its_own_subtree(staff):
    with schema_context(staff.agency.schema_name):
        with pytest.raises(ValidationError):
            department_save(
                actor=staff.admin,
                name_ar="د١",
                name_en="D1",
                department=staff.d1,
                parent=staff.d1a1,
            )
        staff.d1.refresh_from_db()
        assert staff.d1.parent_id is None
        moved = department_save(
            actor=staff.admin,
            name_ar="د١أ١",
            name_en="D1a1",
            department=staff.d1a1,
            parent=staff.d2,
        )
        assert moved.parent_id == staff.d2.pk
