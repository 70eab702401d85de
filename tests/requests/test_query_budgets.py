"""Query budgets of the write paths and of the workspace request page (Zulip-style): each
action is run once and the number of its queries asserted, so that a change adding a query per
row, per notification or per permission check fails here first.

The budgets count every statement the action makes, savepoints included, in the caller's
transaction and after it (pushes). Measured before issue 11, after its part 5 (notifications
rendered by a job, the SLA sweep prefiltered on the stored due dates) and after its part 3 (the
action kernel: use cases in one durable transaction, no savepoint of their own; permissions
checked by the services through the policies; Django's model-permission tables no longer asked
about agency permissions):

    action                                  before    part 5   part 3
    request_submit (receipt + assignment)       50       45       44
    comment to the beneficiary                  28       24       26   (+2: the service checks
                                                                        the author's permission)
    resolve (with the survey invitation)        37       30       30
    reassign asked / approved               33 / 47  27 / 43  22 / 43
    SLA sweep, 12 open requests, 1 due         115       51       48   (the same with 2 or 200)
    workspace request page (GET)                17       17       15

The +2 of a comment are the author's membership and roles, loaded once per user object: in a
web request the view has loaded them already, so they are counted here only.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from requests_app.constants import Visibility
from requests_app.models import ApprovalRequest, Request
from requests_app.services import comment_add, request_resolve
from requests_app.services.approvals import approval_decide, request_reassign
from requests_app.services.sla import sla_sweep
from tests.factories import make_beneficiary, make_request
from tests.jobs import run_pending_jobs
from tests.requests.test_approvals import Org

BUDGETS = {
    "submit": 44,
    "comment": 26,
    "resolve": 30,
    "reassign_ask": 22,
    "reassign_approve": 43,
    "sla_sweep": 48,
    "request_page": 15,
}


@pytest.fixture
def org(agency_a, django_capture_on_commit_callbacks):
    org = Org(agency_a)
    run_pending_jobs()
    return org


def budget(name, django_assert_max_num_queries):
    return django_assert_max_num_queries(BUDGETS[name], info=name)


def test_submission_budget(org, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    beneficiary = make_beneficiary()
    make_request(org.agency, beneficiary=make_beneficiary(), request_type=org.type)  # warm
    with django_capture_on_commit_callbacks(execute=True):
        with budget("submit", django_assert_max_num_queries) as captured:
            make_request(org.agency, beneficiary=beneficiary, request_type=org.type)
    print(f"\n[budget] submit: {len(captured)} queries")
    import os

    if os.environ.get("BUDGET_SHOW"):
        for q in captured.captured_queries:
            print("  ", q["sql"][:160])


def test_comment_budget(org, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    with schema_context(org.agency.schema_name):
        item = org.fresh()
        with django_capture_on_commit_callbacks(execute=True):
            with budget("comment", django_assert_max_num_queries) as captured:
                comment_add(
                    agency=org.agency,
                    request_obj=item,
                    author=org.worker,
                    body="نحتاج إلى صورة الهوية",
                    visibility=Visibility.EXTERNAL,
                )
    print(f"\n[budget] comment: {len(captured)} queries")


def test_resolve_budget(org, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    with schema_context(org.agency.schema_name):
        item = org.fresh()
        with django_capture_on_commit_callbacks(execute=True):
            with budget("resolve", django_assert_max_num_queries) as captured:
                request_resolve(agency=org.agency, request_obj=item, actor=org.worker, note="تم")
    print(f"\n[budget] resolve: {len(captured)} queries")


def test_reassign_with_approval_budget(
    org, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    with schema_context(org.agency.schema_name):
        item = org.fresh()
        with django_capture_on_commit_callbacks(execute=True):
            with budget("reassign_ask", django_assert_max_num_queries) as asked:
                approval = request_reassign(
                    agency=org.agency,
                    request_obj=item,
                    actor=org.worker,
                    new_assignee=org.m(org.other),
                    reason="إجازة",
                )
        assert isinstance(approval, ApprovalRequest)
        with django_capture_on_commit_callbacks(execute=True):
            with budget("reassign_approve", django_assert_max_num_queries) as approved:
                approval_decide(
                    agency=org.agency, approval=approval, actor=org.supervisor, approve=True
                )
        assert Request.objects.get(pk=item.pk).assignee.user_id == org.other.pk
    print(f"\n[budget] reassign ask: {len(asked)}, approve: {len(approved)} queries")


def test_sla_sweep_over_open_requests_budget(
    org, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """12 open requests, of which only the fixture's is due: the sweep touches that one."""
    for _ in range(11):
        make_request(org.agency, beneficiary=org.beneficiary, request_type=org.type)
    run_pending_jobs()
    with schema_context(org.agency.schema_name):
        now = timezone.now()
        Request.objects.filter(pk=org.item.pk).update(
            created_at=now - timedelta(days=30),
            first_response_due_at=now - timedelta(days=20),
            due_at=now - timedelta(days=10),
        )
        with django_capture_on_commit_callbacks(execute=True):
            with budget("sla_sweep", django_assert_max_num_queries) as captured:
                counts = sla_sweep(agency=org.agency, now=now)
        assert counts["late"] == 1
        assert Request.objects.filter(is_late=True).count() == 1
    print(f"\n[budget] sla sweep: {len(captured)} queries")


def test_workspace_request_page_budget(client, org, django_assert_max_num_queries):
    from django.urls import reverse

    client.force_login(org.worker)
    url = reverse(
        "workspace:request_detail",
        kwargs={"agency_slug": org.agency.slug, "request_id": org.item.pk},
    )
    assert client.get(url).status_code == 200  # warm (session, caches)
    with budget("request_page", django_assert_max_num_queries) as captured:
        assert client.get(url).status_code == 200
    print(f"\n[budget] request page: {len(captured)} queries")
