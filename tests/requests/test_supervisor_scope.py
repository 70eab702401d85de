"""A department supervisor's satisfaction page and audit trail are scoped like their statistics
(issue 10, point 7): their department and the departments under it
(tenants.selectors.department_scope); an agency-wide viewer (the admin) sees everything.

Agency alpha: department A (the Desk's: supervisor, first, second) with a child A1 (``child``)
and a sibling B (``sibling``). One surveyed request in each of A, A1 and B, each resolved by
its own employee (so each employee is the actor of a ``request.resolve`` event).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tenants.utils import schema_context

from requests_app.models import Request
from requests_app.services.survey import survey_submit
from tenants.selectors import department_scope
from tenants.services import department_save
from tenants.staff.models import AuditEvent, Membership
from tests.factories import make_beneficiary, make_employee, make_type
from tests.requests.test_survey import Desk


class Tree:
    def __init__(self, agency):
        self.desk = desk = Desk(agency)
        self.agency = agency
        self.child = make_employee(agency)
        self.sibling = make_employee(agency)
        with schema_context(agency.schema_name):
            self.a1 = department_save(
                actor=desk.admin, name_ar="قسم فرعي", name_en="Sub desk", parent=desk.department
            )
            self.b = department_save(actor=desk.admin, name_ar="قسم مجاور", name_en="Next desk")
            Membership.objects.filter(user_id=self.child.pk).update(department=self.a1)
            Membership.objects.filter(user_id=self.sibling.pk).update(department=self.b)
        self.types = {
            "a": desk.licences,
            "a1": make_type(agency, actor=desk.admin, department=self.a1, name_en="Permit"),
            "b": make_type(agency, actor=desk.admin, department=self.b, name_en="Waiver"),
        }
        self.workers = {"a": desk.first, "a1": self.child, "b": self.sibling}
        self.items = {key: self.surveyed(key) for key in self.types}
        departments = {"a": desk.department.pk, "a1": self.a1.pk, "b": self.b.pk}
        with schema_context(agency.schema_name):
            for key, item in self.items.items():
                assert Request.objects.get(pk=item.pk).department_id == departments[key]

    def surveyed(self, key: str, overall: int = 4):
        desk, worker = self.desk, self.workers[key]
        item = desk.resolve(
            desk.request(assignee=worker, request_type=self.types[key]), actor=worker
        )
        with schema_context(self.agency.schema_name):
            survey_submit(agency=self.agency, item=item, overall=overall)
        return item

    def url(self, name: str) -> str:
        return reverse(f"workspace:{name}", kwargs={"agency_slug": self.agency.slug})


@pytest.fixture
def tree(agency_a) -> Tree:
    return Tree(agency_a)


def test_scope_is_the_statistics_one(tree):
    desk = tree.desk
    with schema_context(tree.agency.schema_name):
        sup = Membership.objects.get(user_id=desk.supervisor.pk)
        admin = Membership.objects.get(user_id=desk.admin.pk)
        scope = department_scope(membership=sup, user=desk.supervisor)
        assert sorted(scope) == sorted([desk.department.pk, tree.a1.pk])
        assert department_scope(membership=admin, user=desk.admin) is None


# --- satisfaction -------------------------------------------------------------------------------


def test_supervisor_sees_satisfaction_of_their_subtree_only(client, tree):
    desk = tree.desk
    client.force_login(desk.supervisor)
    response = client.get(tree.url("satisfaction"))
    assert response.status_code == 200
    results = response.context["results"]
    assert results["count"] == 2
    employees = {row["assignee_id"] for row in results["per_employee"]}
    assert employees == {desk.membership(desk.first).pk, desk.membership(tree.child).pk}
    types = {row["transaction_type_id"] for row in results["per_type"]}
    assert types == {tree.types["a"].pk, tree.types["a1"].pk}
    html = response.content.decode()
    assert tree.child.first_name_ar in html
    assert tree.sibling.first_name_ar not in html and tree.sibling.email not in html
    assert "Waiver" not in html and tree.types["b"].name_ar not in html
    # no query parameter widens it
    for query in (f"?department={tree.b.pk}", "?scope=all", "?all=1"):
        assert client.get(tree.url("satisfaction") + query).context["results"]["count"] == 2


def test_admin_sees_all_satisfaction(client, tree):
    client.force_login(tree.desk.admin)
    response = client.get(tree.url("satisfaction"))
    assert response.context["results"]["count"] == 3
    assert tree.sibling.first_name_ar in response.content.decode()


def test_satisfaction_refusals(client, tree, agency_b):
    url = tree.url("satisfaction")
    for user in (make_employee(agency_b, roles=("admin",)), make_beneficiary(), tree.child):
        client.force_login(user)
        assert client.get(url).status_code == 403, user.email
        client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_satisfaction_query_count_is_constant(client, tree, django_assert_max_num_queries):
    client.force_login(tree.desk.supervisor)
    url = tree.url("satisfaction")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    for key in ("a", "a1", "b", "a1"):
        tree.surveyed(key, overall=2)
    with django_assert_max_num_queries(len(queries)):
        assert client.get(url).context["results"]["count"] == 5


# --- audit trail --------------------------------------------------------------------------------


def events(response) -> list[AuditEvent]:
    return list(response.context["page"].object_list)


def test_supervisor_sees_audit_of_their_subtree_only(client, tree):
    desk = tree.desk
    client.force_login(desk.supervisor)
    response = client.get(tree.url("audit_list"))
    assert response.status_code == 200
    shown = events(response)
    actors = {event.actor_id for event in shown}
    assert tree.sibling.pk not in actors
    assert {tree.child.pk, desk.first.pk} <= actors  # their request.resolve events
    objects = {(event.object_type, event.object_id) for event in shown}
    request_type = Request._meta.label_lower
    assert (request_type, str(tree.items["b"].pk)) not in objects
    assert (request_type, str(tree.items["a1"].pk)) in objects
    assert (tree.b._meta.label_lower, str(tree.b.pk)) not in objects  # B created by the admin
    assert (tree.a1._meta.label_lower, str(tree.a1.pk)) in objects  # A1 created by the admin
    html = response.content.decode()
    assert tree.sibling.email not in html and str(tree.sibling) not in html
    assert tree.items["b"].reference not in html and "Next desk" not in html
    # nor through the search
    for query in (tree.sibling.email, str(tree.sibling), tree.items["b"].reference, "Next desk"):
        found = events(client.get(tree.url("audit_list"), {"q": query}))
        assert found == [], query
    assert events(client.get(tree.url("audit_list"), {"q": tree.items["a1"].reference}))


def test_admin_sees_the_whole_audit_trail(client, tree):
    client.force_login(tree.desk.admin)
    response = client.get(tree.url("audit_list"))
    actors = {event.actor_id for event in events(response)}
    assert {tree.sibling.pk, tree.child.pk, tree.desk.first.pk} <= actors
    found = events(client.get(tree.url("audit_list"), {"q": tree.items["b"].reference}))
    assert found


def test_audit_refusals(client, tree, agency_b):
    url = tree.url("audit_list")
    for user in (make_employee(agency_b, roles=("admin",)), make_beneficiary(), tree.child):
        client.force_login(user)
        assert client.get(url).status_code == 403, user.email
        client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_audit_query_count_is_constant(client, tree, django_assert_max_num_queries):
    client.force_login(tree.desk.supervisor)
    url = tree.url("audit_list")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        shown = len(events(client.get(url)))
    for key in ("a", "a1", "b", "a1"):
        tree.surveyed(key)
    with django_assert_max_num_queries(len(queries)):
        assert len(events(client.get(url))) > shown
