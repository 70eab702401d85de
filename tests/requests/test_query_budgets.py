"""Query budgets of the write paths and of the request pages (Zulip-style): each action is
run once and the number of its queries asserted, so that a change adding a query per row, per
notification or per permission check fails here first; the pages are also rendered with few
and with many rows (comments, files, approvals, assignments) and must make the same number of
queries (N+1 guards; the queue's is tests/requests/test_public_pages.py).

The budgets count every statement the action makes, savepoints included, in the caller's
transaction and after it (pushes). Measured before and after issue 11 part 5 (notifications
rendered by a job, the SLA sweep prefiltered on the stored due dates), then after its page
budget (the agency's permissions answered from the membership the workspace guard loaded, and by
their backend alone; a supervisor's department subtree as a subquery; comments' files taken
from the request's files) and its action kernel (use cases in one durable transaction, without
savepoints of their own; every action checks its actor through the policies, whose membership
comes from the same per-user cache as the permissions):

    action                                  before    part 5    pages    kernel
    request_submit (receipt + assignment)       50       45       44       44
    comment to the beneficiary                  28       24       24       26   (*)
    resolve (with the survey invitation)        37       30       30       30
    reassign asked / approved               33 / 47  27 / 43  22 / 40  22 / 40   (**)
    SLA sweep, 12 open requests, 1 due         115       51       48       48   (the same
                                                                                with 2 or 200)
    workspace request page (GET), assignee      17       17       13       13
      the same, with comments                   18       18       13       13
      supervisor (+ why it went to whom)    19 / 20  19 / 20      14       14   (without / with
                                                                                comments)
    beneficiary's request page (GET)         9 / 10   9 / 10       9        9   (without / with
                                                                                comments)
    queue (GET), assignee / supervisor      15 / 17  15 / 17  11 / 11  11 / 11

Issue 12 (files uploaded first, "check your answers"): the submission that takes two pending
uploads costs 51 (the 44 above, the pending rows locked, collected and deleted: 3, and an
attachment and its document index row per file: 4); the beneficiary's form POST with a file,
stored as a pending upload with the draft in the session, 14; the confirmation POST on "check
your answers", which submits with one pending upload, 58 (the session, the user, the agency,
its catalogue and the search path around the submission's 49). The comment forms keep their
files the same way: a beneficiary's comment taking one pending upload costs 23 (the pending row
locked and deleted, an attachment and its document index row; no voice, no staff notification
fan-out), and the reply form's POST with a file, stored as a pending upload and taken by the
comment in the same request, 34 (the session, the user, the agency, the request, the upload's
count and row); the request pages' GETs are unchanged (13 and 9).

(*) The comment service now checks that its author may comment: the author's membership and
roles, loaded once per user object. In a web request the workspace guard has loaded them
already (0 more queries); here the service is called with a fresh user object.
(**) The approval's scope is asked again on the locked request (the supervisor's subtree): the
policies' membership cache saved one query, this check spends it.

What the workspace request page's 13 queries are: the search path set to public and the agency
found by its slug, the search path set to the agency's schema (tenants.middleware); the session
and the user; the employee's membership and its roles (tenants.decorators, which also answers
every permission check of the page and its menu); the request with its service, beneficiary
and assignee; its timeline with actors and comments; its files (the timeline's comments take
theirs from these); the approval requests (open requests only, where they are shown); the
bell's unread count (notifications.context_processors); the employees offered by the reassign
form. A supervisor adds the assignments with the engine's explanation.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from requests_app.constants import Visibility
from requests_app.models import ApprovalRequest, Request
from requests_app.services import comment_add, request_resolve, request_submit
from requests_app.services.approvals import approval_decide, request_reassign
from requests_app.services.sla import sla_sweep
from tests.factories import make_beneficiary, make_request, pdf_upload, png_upload
from tests.jobs import run_pending_jobs
from tests.requests.test_approvals import Org

BUDGETS = {
    "submit": 44,
    "submit_pending": 51,
    "form_post_with_file": 14,
    "check_and_submit": 58,
    "comment": 26,
    "comment_pending": 23,
    "reply_post_with_file": 34,
    "resolve": 30,
    "reassign_ask": 22,
    "reassign_approve": 40,
    "sla_sweep": 48,
    "request_page": 13,
    "beneficiary_request_page": 9,
    "queue": 11,
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


def test_submission_with_pending_uploads_budget(
    org, private_media, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """The same submission taking two pending uploads (files uploaded first): they are
    locked and deleted in one query each, and become attachments (a row and a document index
    row each, as uploaded files do)."""
    from requests_app.services.uploads import pending_upload_add

    beneficiary = make_beneficiary()
    make_request(org.agency, beneficiary=make_beneficiary(), request_type=org.type)  # warm
    with schema_context(org.agency.schema_name):
        pending, _errors = pending_upload_add(
            agency=org.agency, user=beneficiary, uploads=[png_upload(), pdf_upload()]
        )
    with django_capture_on_commit_callbacks(execute=True):
        with budget("submit_pending", django_assert_max_num_queries) as captured:
            request_submit(
                agency=org.agency,
                beneficiary=beneficiary,
                transaction_type_id=org.type.pk,
                subject="طلب",
                description="وصف",
                pending_upload_ids=[p.pk for p in pending],
            )
    print(f"\n[budget] submit with 2 pending uploads: {len(captured)} queries")


def test_request_form_and_check_your_answers_budget(
    client, org, private_media, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """The beneficiary's two POSTs: the form with a file (stored as a pending upload, the draft
    kept in the session) and the confirmation on "check your answers" (the submission)."""
    beneficiary = make_beneficiary()
    client.force_login(beneficiary)
    slug = org.agency.slug
    form = reverse("requests:new", kwargs={"agency_slug": slug})
    check = reverse("requests:check", kwargs={"agency_slug": slug})
    data = {
        "transaction_type": org.type.pk,
        "subject": "طلب",
        "priority": "normal",
        "description": "وصف",
    }
    client.post(form, {**data, "attachments": [png_upload()]})  # warm
    client.post(check)
    with budget("form_post_with_file", django_assert_max_num_queries) as posted:
        response = client.post(form, {**data, "attachments": [png_upload()]})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        with budget("check_and_submit", django_assert_max_num_queries) as submitted:
            response = client.post(check)
    assert response.status_code == 302 and "/submitted/" in response["Location"]
    print(f"\n[budget] form POST with a file: {len(posted)}, confirm: {len(submitted)} queries")
    import os

    if os.environ.get("BUDGET_SHOW"):
        for q in posted.captured_queries + submitted.captured_queries:
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


def test_comment_with_pending_upload_budget(
    client, org, private_media, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """Files uploaded first on the comment forms: the beneficiary's comment taking a pending
    upload (through the service), then the reply form's POST with a file (stored as a pending
    upload, then taken by the comment, in one request)."""
    from requests_app.services.uploads import pending_upload_add

    beneficiary = org.beneficiary
    with schema_context(org.agency.schema_name):
        pending, _errors = pending_upload_add(
            agency=org.agency, user=beneficiary, uploads=[png_upload()]
        )
        item = org.fresh()
        with django_capture_on_commit_callbacks(execute=True):
            with budget("comment_pending", django_assert_max_num_queries) as captured:
                comment_add(
                    agency=org.agency,
                    request_obj=item,
                    author=beneficiary,
                    body="صورة الهوية",
                    visibility=Visibility.EXTERNAL,
                    pending_upload_ids=[p.pk for p in pending],
                )
    client.force_login(beneficiary)
    url = beneficiary_page(org)
    client.get(url)  # warm
    with django_capture_on_commit_callbacks(execute=True):
        with budget("reply_post_with_file", django_assert_max_num_queries) as posted:
            response = client.post(url, {"body": "وهذه أخرى", "attachments": [pdf_upload()]})
    assert response.status_code == 302
    print(f"\n[budget] comment with a pending upload: {len(captured)}, reply POST: {len(posted)}")
    import os

    if os.environ.get("BUDGET_SHOW"):
        for q in captured.captured_queries + posted.captured_queries:
            print("  ", q["sql"][:160])


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
    client.force_login(org.worker)
    url = workspace_page(org)
    assert client.get(url).status_code == 200  # warm (session, caches)
    with budget("request_page", django_assert_max_num_queries) as captured:
        assert client.get(url).status_code == 200
    print(f"\n[budget] request page: {len(captured)} queries")


# --- pages whose number of queries must not grow with their rows (N+1 guards) ---------------


@pytest.fixture
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


def workspace_page(org) -> str:
    return reverse(
        "workspace:request_detail",
        kwargs={"agency_slug": org.agency.slug, "request_id": org.item.pk},
    )


def beneficiary_page(org) -> str:
    return reverse(
        "requests:detail",
        kwargs={"agency_slug": org.agency.slug, "reference": org.item.reference},
    )


def page_queries(client, url, params=None) -> tuple[int, str]:
    """The number of queries of a second GET (the first warms sessions and caches) and its
    HTML."""
    assert client.get(url, params or {}).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured), response.content.decode()


def add_comments(org, count: int, start: int = 0) -> None:
    """``count`` comments with a file each: the assignee's, internal and external in turn,
    and the beneficiary's (external)."""
    with schema_context(org.agency.schema_name):
        for n in range(start, start + count):
            by_beneficiary = n % 3 == 2
            comment_add(
                agency=org.agency,
                request_obj=org.fresh(),
                author=org.beneficiary if by_beneficiary else org.worker,
                body=f"تعليق رقم {n} انتهى",
                visibility=Visibility.INTERNAL if n % 3 == 1 else Visibility.EXTERNAL,
                attachments=[
                    pdf_upload(f"file-{n}.pdf") if by_beneficiary else png_upload(f"file-{n}.png")
                ],
            )


def add_approvals_and_assignments(org, rounds: int) -> None:
    """Postponements asked by the assignee and refused by the supervisor (approvals), and
    reassignments by the supervisor away and back (assignments with their explanation)."""
    for _ in range(rounds):
        approval = org.postpone(org.worker)
        assert isinstance(approval, ApprovalRequest)
        org.decide(approval, org.supervisor, approve=False, note="لا")
        org.reassign(org.supervisor, org.other)
        org.reassign(org.supervisor, org.worker)


def test_workspace_request_page_does_not_grow_with_its_history(client, org, private_media):
    """The same number of queries with 1 comment and 21 comments (internal and external, a file
    each), 1 and 4 approval requests, 1 and 7 assignments: for the assignee and for the
    supervisor, who also sees why it went to whom."""
    url = workspace_page(org)
    boss = client.__class__()
    boss.force_login(org.supervisor)
    client.force_login(org.worker)
    add_comments(org, 1)
    add_approvals_and_assignments(org, 1)
    few = {"worker": page_queries(client, url)[0], "supervisor": page_queries(boss, url)[0]}

    add_comments(org, 20, start=1)
    add_approvals_and_assignments(org, 3)
    many, html = page_queries(client, url)
    assert many == few["worker"], (few, many)
    assert page_queries(boss, url)[0] == few["supervisor"], few
    with schema_context(org.agency.schema_name):
        assert org.fresh().comments.count() == 21
        assert org.fresh().approvals.count() == 4
    for n in range(21):  # every comment and its file is on the page
        assert f"تعليق رقم {n} انتهى" in html and f"file-{n}." in html
    assert html.count("📎") == 21
    print(f"\n[budget] request page, 1 and 21 comments: {few} queries")


def test_beneficiary_request_page_does_not_grow_with_its_history(client, org, private_media):
    """The beneficiary's page: the same number of queries with 1 comment and 21, internal
    ones (which it never shows) included."""
    url = beneficiary_page(org)
    client.force_login(org.beneficiary)
    add_comments(org, 1)
    few, _html = page_queries(client, url)
    add_comments(org, 20, start=1)
    many, html = page_queries(client, url)
    assert many == few, (few, many)
    for n in range(21):
        shown = n % 3 != 1  # internal comments and their files stay with the staff
        assert (f"تعليق رقم {n} انتهى" in html) is shown and (f"file-{n}." in html) is shown
    print(f"\n[budget] beneficiary's request page, 1 and 21 comments: {few} queries")


def test_beneficiary_request_page_budget(client, org, django_assert_max_num_queries):
    client.force_login(org.beneficiary)
    url = beneficiary_page(org)
    assert client.get(url).status_code == 200
    with budget("beneficiary_request_page", django_assert_max_num_queries) as captured:
        assert client.get(url).status_code == 200
    print(f"\n[budget] beneficiary's request page: {len(captured)} queries")


@pytest.mark.parametrize(
    ("who", "params"), [("worker", {}), ("supervisor", {"scope": "all"})], ids=["mine", "all"]
)
def test_queue_budget(client, org, who, params, django_assert_max_num_queries):
    """The queue's rows, its counts per state and its page count; a supervisor's scope (their
    department's subtree) is a subquery of those, not a query of its own."""
    client.force_login(getattr(org, who))
    url = reverse("workspace:queue", kwargs={"agency_slug": org.agency.slug})
    assert client.get(url, params).status_code == 200
    with budget("queue", django_assert_max_num_queries) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    assert org.item.reference in response.content.decode()
    print(f"\n[budget] queue ({who}): {len(captured)} queries")
