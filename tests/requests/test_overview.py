"""The workspace overview (issue 12): counts of the employee's work (new, due soon, late,
waiting for the beneficiary), the same for a supervisor's scope, each linking to the queue
filtered the same way, in a number of queries that does not grow with the requests; and a new
agency admin's first-run checklist, ticked from the agency's data, gone once all is done."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from requests_app.constants import Status
from requests_app.models import DistributionRule, Request, TransactionType
from requests_app.selectors import DUE_SOON_WORKING_HOURS, due_soon_horizon
from tenants.staff.models import Membership
from tests.factories import make_employee, make_request
from tests.requests.test_approvals import Org


def overview(org) -> str:
    return reverse("workspace:dashboard", kwargs={"agency_slug": org.agency.slug})


def queue(org) -> str:
    return reverse("workspace:queue", kwargs={"agency_slug": org.agency.slug})


def counts(page: str) -> dict[str, int]:
    """data-workload -> the number its card shows."""
    return {
        key: int(n)
        for key, n in re.findall(
            r'data-workload="([\w-]+)">\s*<span class="card-body">\s*<span[^>]*data-count>(\d+)',
            page,
        )
    }


def hrefs(page: str) -> dict[str, str]:
    return {
        key: href.replace("&amp;", "&")
        for href, key in re.findall(r'href="([^"]+)" data-workload="([\w-]+)"', page)
    }


@pytest.fixture
def org(agency_a) -> Org:
    return Org(agency_a)


def spread(org, requests: int) -> None:
    """``requests`` more requests of the worker in the four states counted, plus the original
    (new): a quarter new, a quarter due within the hour, a quarter late, a quarter waiting for
    the beneficiary; and as many of the colleague ``other`` (the supervisor's scope only)."""
    made = [
        make_request(org.agency, beneficiary=org.beneficiary, request_type=org.type)
        for _ in range(2 * requests)
    ]
    soon = due_soon_horizon_in(org) - timedelta(minutes=5)
    later = timezone.now() + timedelta(days=60)
    with schema_context(org.agency.schema_name):
        for n, item in enumerate(made):
            owner = org.m(org.worker if n % 2 == 0 else org.other)
            kind = (n // 2) % 4
            fields = {"assignee": owner, "due_at": later, "is_late": False, "status": Status.NEW}
            if kind == 1:
                fields |= {"status": Status.IN_PROGRESS, "due_at": soon}
            elif kind == 2:
                fields |= {"status": Status.IN_PROGRESS, "is_late": True}
            elif kind == 3:
                fields |= {"status": Status.AWAITING_BENEFICIARY}
            Request.objects.filter(pk=item.pk).update(**fields)
        Request.objects.filter(pk=org.item.pk).update(due_at=later, is_late=False)


def due_soon_horizon_in(org):
    with schema_context(org.agency.schema_name):
        return due_soon_horizon()


def expected(org, owner=None) -> dict[str, int]:
    """The four counts computed here from the rows, one by one."""
    horizon = due_soon_horizon_in(org)
    with schema_context(org.agency.schema_name):
        rows = list(Request.objects.all())
    if owner is not None:
        rows = [r for r in rows if r.assignee_id == org.m(owner).pk]
    open_ = [r for r in rows if r.is_open]
    return {
        "new": sum(r.status == Status.NEW for r in rows),
        "due_soon": sum(
            r.status in (Status.NEW, Status.IN_PROGRESS)
            and not r.is_late
            and r.due_at is not None
            and r.due_at <= horizon
            for r in rows
        ),
        "late": sum(r.is_late for r in open_),
        "awaiting_beneficiary": sum(r.status == Status.AWAITING_BENEFICIARY for r in rows),
    }


def test_employee_sees_their_own_counts_linking_to_the_filtered_queue(client, org):
    spread(org, 8)
    client.force_login(org.worker)
    page = client.get(overview(org)).content.decode()
    shown = counts(page)
    mine = expected(org, owner=org.worker)
    assert mine == {"new": 3, "due_soon": 2, "late": 2, "awaiting_beneficiary": 2}
    assert {k.removeprefix("mine-"): v for k, v in shown.items()} == mine  # no scope block
    links = hrefs(page)
    assert links["mine-late"] == f"{queue(org)}?scope=mine&state=late"
    # each link's queue lists exactly as many requests as the card says
    for key, n in mine.items():
        listed = client.get(links[f"mine-{key}"]).content.decode()
        with schema_context(org.agency.schema_name):
            refs = [r.reference for r in Request.objects.all()]
        assert sum(ref in listed for ref in refs) == n, key
    assert f"{DUE_SOON_WORKING_HOURS}" in page


def test_supervisor_sees_their_scope_too(client, org):
    spread(org, 8)
    with schema_context(org.agency.schema_name):
        Request.objects.filter(pk=org.item.pk).update(assignee=None)  # one unassigned
    client.force_login(org.supervisor)
    page = client.get(overview(org)).content.decode()
    shown = counts(page)
    scope = expected(org)
    assert {k: shown[f"scope-{k}"] for k in scope} == scope
    assert shown["scope-unassigned"] == 1
    assert scope["new"] == 2 + 2 + 1  # both employees' and the unassigned one
    assert all(shown[f"mine-{k}"] == 0 for k in scope)  # nothing is the supervisor's own
    links = hrefs(page)
    assert links["scope-late"] == f"{queue(org)}?scope=all&state=late"
    assert links["scope-unassigned"] == f"{queue(org)}?scope=unassigned"
    listed = client.get(links["scope-due_soon"]).content.decode()
    with schema_context(org.agency.schema_name):
        due = [
            r.reference
            for r in Request.objects.filter(status=Status.IN_PROGRESS, is_late=False)
            if r.due_at <= due_soon_horizon()
        ]
    assert len(due) == scope["due_soon"] and all(ref in listed for ref in due)


def test_the_outsider_supervisor_sees_only_their_department(client, org):
    spread(org, 4)
    client.force_login(org.outsider)
    shown = counts(client.get(overview(org)).content.decode())
    assert shown and all(n == 0 for n in shown.values())


def test_overview_queries_do_not_grow_with_the_requests(client, org):
    """The same number of queries with 1 and 17 requests, for an employee and a supervisor
    (and the admin, who also gets the checklist)."""
    clients = {}
    for who in ("worker", "supervisor", "admin"):
        clients[who] = client.__class__()
        clients[who].force_login(getattr(org, who))

    def queries() -> dict[str, int]:
        found = {}
        for who, c in clients.items():
            assert c.get(overview(org)).status_code == 200
            with CaptureQueriesContext(connection) as captured:
                assert c.get(overview(org)).status_code == 200
            found[who] = len(captured)
        return found

    few = queries()
    spread(org, 8)
    assert queries() == few
    # the guard's usual ones, the bell, the roles shown; the calendar (2) and the counts (1);
    # for the admin the four checklist steps
    assert few["worker"] <= 13 and few["supervisor"] <= 13, few
    assert few["admin"] <= few["supervisor"] + 4, few
    print(f"\n[budget] overview: {few} queries")


# --- the first-run checklist ------------------------------------------------------------------


def steps(page: str) -> list[tuple[str, bool]]:
    return re.findall(r'data-setup-step="(\d)"( data-done)?', page)


def test_new_agency_admin_gets_a_checklist_ticked_from_the_data(client, agency_b):
    """A new agency (onboarded, its admin invited, nothing else): four steps to do, each
    linking to its page, each ticked as its data appears; the checklist goes once all four are
    done. An employee never sees it."""
    from tenants.services import department_save
    from tests.factories import make_type

    admin = make_employee(agency_b, roles=("admin",))
    url = reverse("workspace:dashboard", kwargs={"agency_slug": agency_b.slug})
    client.force_login(admin)

    def ticks() -> tuple[list[bool], str]:
        page = client.get(url).content.decode()
        return [bool(done) for _n, done in steps(page)], page

    with schema_context(agency_b.schema_name):
        # the onboarded admin's own membership does not count as staff
        Membership.objects.exclude(user_id=admin.pk).update(is_active=False)
    done, page = ticks()
    assert done == [False, False, False, False]
    for name in ("department_list", "staff_invite", "catalogue_list", "distribution_list"):
        link = reverse(f"workspace:{name}", kwargs={"agency_slug": agency_b.slug})
        assert f'href="{link}"' in page, name

    with schema_context(agency_b.schema_name):
        department_save(actor=admin, name_ar="قسم جديد", name_en="New")
    assert ticks()[0] == [True, False, False, False]
    make_employee(agency_b)
    assert ticks()[0] == [True, True, False, False]
    with schema_context(agency_b.schema_name):
        DistributionRule.objects.create(name_ar="قاعدة", name_en="Rule")
    assert ticks()[0] == [True, True, False, True]
    make_type(agency_b, actor=admin)
    done, page = ticks()
    assert done == [] and "setup-title" not in page  # all done: gone

    with schema_context(agency_b.schema_name):  # data, not a stored flag: it comes back
        TransactionType.objects.update(is_active=False)
    assert ticks()[0] == [True, True, False, True]

    employee = make_employee(agency_b)
    client.force_login(employee)
    assert "setup-title" not in client.get(url).content.decode()
