"""Supervision (R-14): a supervisor sees every request of their department and of the
departments under it, with every internal and external comment and step, and can reassign; a
supervisor without a department and an agency admin see every request; an employee only their
own."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django_tenants.utils import schema_context

from notifications.models import Notification
from requests_app.constants import Visibility
from requests_app.models import Assignment, Request, TimelineEvent
from requests_app.selectors import workspace_requests
from requests_app.services import comment_add
from requests_app.services.approvals import supervisors_for
from requests_app.services.index import index_sync
from tenants.selectors import department_subtree
from tenants.services import department_save
from tenants.staff.models import Membership
from tests.factories import make_employee, make_request, make_type
from tests.jobs import run_pending_jobs

INTERNAL = "ملاحظة-داخلية-للفريق-9182"
EXTERNAL = "رد-خارجي-للمستفيد-2231"


class Tree:
    """Departments D1 ⊃ D1a, and D2. Workers w1 (D1), w1a (D1a), w2 (D2); supervisors
    ``sup`` (D1), ``sup2`` (D2) and ``sup_all`` (no department); an admin. One request per
    department, each assigned to its worker and carrying an internal and an external
    comment."""

    def __init__(self, agency):
        self.agency = agency
        self.admin = make_employee(agency, roles=("admin",))
        self.w1, self.w1a, self.w2 = (make_employee(agency) for _ in range(3))
        self.sup = make_employee(agency, roles=("supervisor",))
        self.sup2 = make_employee(agency, roles=("supervisor",))
        self.sup_all = make_employee(agency, roles=("supervisor",))
        with schema_context(agency.schema_name):
            self.d1 = department_save(actor=self.admin, name_ar="د١", name_en="D1")
            self.d1a = department_save(
                actor=self.admin, name_ar="د١أ", name_en="D1a", parent=self.d1
            )
            self.d2 = department_save(actor=self.admin, name_ar="د٢", name_en="D2")
            for user, department in [
                (self.w1, self.d1),
                (self.w1a, self.d1a),
                (self.w2, self.d2),
                (self.sup, self.d1),
                (self.sup2, self.d2),
            ]:
                Membership.objects.filter(user_id=user.pk).update(department=department)
        self.items = {}
        for key, department, worker in [
            ("d1", self.d1, self.w1),
            ("d1a", self.d1a, self.w1a),
            ("d2", self.d2, self.w2),
        ]:
            request_type = make_type(agency, actor=self.admin, department=department)
            item = make_request(agency, request_type=request_type, subject=f"طلب {key}")
            with schema_context(agency.schema_name):
                Request.objects.filter(pk=item.pk).update(assignee=self.m(worker))
                item = Request.objects.select_related("assignee__user", "transaction_type").get(
                    pk=item.pk
                )
                index_sync(agency=agency, request=item)
                comment_add(
                    agency=agency,
                    request_obj=item,
                    author=worker,
                    body=f"{INTERNAL}-{key}",
                    visibility=Visibility.INTERNAL,
                )
                comment_add(
                    agency=agency,
                    request_obj=item,
                    author=worker,
                    body=f"{EXTERNAL}-{key}",
                    visibility=Visibility.EXTERNAL,
                )
            self.items[key] = item
        run_pending_jobs()
        mail.outbox.clear()

    def m(self, user) -> Membership:
        with schema_context(self.agency.schema_name):
            return Membership.objects.select_related("user").get(user_id=user.pk)

    def url(self, name, **kwargs) -> str:
        return reverse(f"workspace:{name}", kwargs={"agency_slug": self.agency.slug, **kwargs})

    def page(self, key) -> str:
        return self.url("request_detail", request_id=self.items[key].pk)

    def visible(self, user) -> set[str]:
        with schema_context(self.agency.schema_name):
            ids = set(
                workspace_requests(membership=self.m(user), user=user).values_list("pk", flat=True)
            )
        return {key for key, item in self.items.items() if item.pk in ids}


@pytest.fixture
def tree(agency_a) -> Tree:
    return Tree(agency_a)


def queue_refs(client, tree, **params) -> set[str]:
    response = client.get(tree.url("queue"), params)
    assert response.status_code == 200
    html = response.content.decode()
    return {key for key, item in tree.items.items() if item.reference in html}


def test_supervisor_sees_their_department_and_below(client, tree):
    with schema_context(tree.agency.schema_name):
        assert set(department_subtree(tree.d1.pk)) == {tree.d1.pk, tree.d1a.pk}
    assert tree.visible(tree.sup) == {"d1", "d1a"}
    client.force_login(tree.sup)
    assert queue_refs(client, tree, scope="all") == {"d1", "d1a"}
    assert queue_refs(client, tree) == set()  # "mine": nothing is assigned to them
    for key in ("d1", "d1a"):
        response = client.get(tree.page(key))
        assert response.status_code == 200
        html = response.content.decode()
        assert f"{INTERNAL}-{key}" in html and f"{EXTERNAL}-{key}" in html
    assert client.get(tree.page("d2")).status_code == 404

    # and D2's supervisor the other way round
    assert tree.visible(tree.sup2) == {"d2"}
    client.force_login(tree.sup2)
    assert queue_refs(client, tree, scope="all") == {"d2"}
    assert client.get(tree.page("d1")).status_code == 404
    assert client.get(tree.page("d1a")).status_code == 404


def test_supervisor_without_department_and_admin_see_everything(client, tree):
    for user in (tree.sup_all, tree.admin):
        assert tree.visible(user) == {"d1", "d1a", "d2"}
        client.force_login(user)
        assert queue_refs(client, tree, scope="all") == {"d1", "d1a", "d2"}
        for key in tree.items:
            html = client.get(tree.page(key)).content.decode()
            assert f"{INTERNAL}-{key}" in html


def test_employee_sees_only_their_own(client, tree):
    assert tree.visible(tree.w1) == {"d1"}
    client.force_login(tree.w1)
    # asking for everyone's queue falls back to their own
    assert queue_refs(client, tree, scope="all") == {"d1"}
    assert queue_refs(client, tree) == {"d1"}
    assert client.get(tree.page("d1")).status_code == 200
    assert client.get(tree.page("d1a")).status_code == 404
    assert client.get(tree.page("d2")).status_code == 404


def test_escalations_and_approvals_go_to_the_supervisors_above(tree):
    with schema_context(tree.agency.schema_name):
        by_key = {
            key: {m.user_id for m in supervisors_for(item)} for key, item in tree.items.items()
        }
    for key in by_key:
        assert {tree.sup_all.pk, tree.admin.pk} <= by_key[key]
    assert tree.sup.pk in by_key["d1"] and tree.sup.pk in by_key["d1a"]
    assert tree.sup.pk not in by_key["d2"]
    assert tree.sup2.pk in by_key["d2"] and tree.sup2.pk not in by_key["d1a"]
    for key in by_key:
        assert not {tree.w1.pk, tree.w1a.pk, tree.w2.pk} & by_key[key]


def test_supervisor_reassigns_a_subdepartment_request_directly(client, tree):
    client.force_login(tree.sup)
    item = tree.items["d1a"]
    response = client.post(
        tree.url("request_reassign", request_id=item.pk),
        {"new_assignee": tree.m(tree.w1).pk, "reason": "إعادة توزيع"},
    )
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)]
    with schema_context(tree.agency.schema_name):
        item = Request.objects.get(pk=item.pk)
        assert item.assignee_id == tree.m(tree.w1).pk
        assert Assignment.objects.filter(request=item, assigned_by=tree.sup).exists()
        assert TimelineEvent.objects.filter(
            request=item, kind="reassigned", visibility=Visibility.INTERNAL
        ).exists()
    assert Notification.objects.filter(recipient=tree.w1, event="request.assigned").exists()
    # the previous assignee no longer sees it, only where it went; the supervisor still does
    client.force_login(tree.w1a)
    response = client.get(tree.page("d1a"))
    assert response.status_code == 200
    assert tree.w1.display_name in response.content.decode()
    assert 'name="text"' not in response.content.decode()
    client.force_login(tree.sup)
    assert client.get(tree.page("d1a")).status_code == 200

    # not a request of another department
    response = client.post(
        tree.url("request_reassign", request_id=tree.items["d2"].pk),
        {"new_assignee": tree.m(tree.w1).pk, "reason": "x"},
    )
    assert response.status_code == 404
    with schema_context(tree.agency.schema_name):
        assert Request.objects.get(pk=tree.items["d2"].pk).assignee_id == tree.m(tree.w2).pk
