"""The review pages: the inbox (counts, waits, fixed queries), the voucher's panel and its
actions, configuration and delegations; every URL refuses another agency's employee, a
beneficiary, an employee without the permission and anonymous visitors."""

import pytest
from django_tenants.utils import schema_context

from finance.constants import VoucherStatus
from finance.models import Voucher
from finance.models_review import ReviewChain, ReviewDelegation
from finance.services import review
from tests.factories import make_beneficiary, make_employee
from tests.finance.factories_review import (
    department,
    finance_employee,
    make_chain,
    make_voucher,
    named,
)


@pytest.fixture
def people(agency_a, agency_b):
    p = {
        "admin": finance_employee(agency_a, "configure"),
        "maker": finance_employee(agency_a, "enter"),
        "r1": finance_employee(agency_a, "review"),
        "boss": finance_employee(agency_a, "approve"),
        "colleague": finance_employee(agency_a),
        "other_agency": make_employee(agency_b, roles=("admin",)),
        "beneficiary": make_beneficiary(),
    }
    with schema_context(agency_a.schema_name):
        p["dept"] = department()
        p["chain"] = make_chain(actor=p["admin"], levels=[named(p["r1"]), named(p["boss"])])
    return p


def _url(agency, tail=""):
    return f"/a/{agency.slug}/finance/review/{tail}"


def test_the_journey_through_the_pages(client, agency_a, people):
    with schema_context(agency_a.schema_name):
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
    page = _url(agency_a, f"vouchers/{voucher.pk}/")
    client.force_login(people["maker"])
    assert client.get(page).context["panel"]["can_submit"]
    assert client.post(page + "submit/").status_code == 302
    client.force_login(people["r1"])
    inbox = client.get(_url(agency_a))
    assert inbox.status_code == 200 and inbox.context["counts"].total == 1
    # Missing reason: the form says so on the field, nothing changes.
    response = client.post(page + "return/", {"position": 1, "reason": " "})
    assert response.status_code == 400
    assert response.context["panel"]["reason_form"].errors["reason"]
    response = client.post(page + "return/", {"position": 1, "reason": "ينقص المرفق"})
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.RETURNED
    client.force_login(people["maker"])
    client.post(page + "submit/")
    client.force_login(people["r1"])
    assert client.post(page + "approve/", {"position": 1}).status_code == 302
    # A second click on the same level: told clearly, nothing done.
    response = client.post(page + "approve/", {"position": 1}, follow=True)
    assert "سبقك غيرك إلى هذا السند" in response.content.decode()
    client.force_login(people["boss"])
    assert client.get(_url(agency_a)).context["counts"].total == 1
    client.post(page + "approve/", {"position": 2})
    with schema_context(agency_a.schema_name):
        assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.POSTED
    history = client.get(page).content.decode()
    assert "ينقص المرفق" in history


def test_maker_cannot_approve_through_the_page(client, agency_a, people):
    with schema_context(agency_a.schema_name):
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
    client.force_login(people["maker"])
    response = client.post(_url(agency_a, f"vouchers/{voucher.pk}/approve/"), {"position": 1})
    assert response.status_code in (403, 302)
    with schema_context(agency_a.schema_name):
        assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.IN_REVIEW


def test_inbox_queries_do_not_grow_with_vouchers(
    client, agency_a, people, django_assert_max_num_queries
):
    client.force_login(people["r1"])

    def queries_for_inbox():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = client.get(_url(agency_a))
        assert response.status_code == 200
        return len(captured.captured_queries), response.context["counts"].total

    with schema_context(agency_a.schema_name):
        for _ in range(2):
            review.voucher_submit(
                make_voucher(maker=people["maker"], dept=people["dept"]), by=people["maker"]
            )
    few, count = queries_for_inbox()
    assert count == 2
    with schema_context(agency_a.schema_name):
        for _ in range(6):
            review.voucher_submit(
                make_voucher(maker=people["maker"], dept=people["dept"]), by=people["maker"]
            )
    many, count = queries_for_inbox()
    assert count == 8
    assert many == few
    with django_assert_max_num_queries(few):
        client.get(_url(agency_a))


def test_configuration_and_delegation_pages(client, agency_a, people):
    client.force_login(people["admin"])
    assert client.get(_url(agency_a, "chains/")).status_code == 200
    assert client.get(_url(agency_a, "chains/new/")).status_code == 200
    response = client.post(
        _url(agency_a, "chains/new/"),
        {"voucher_type": "receipt", "min_amount": "0", "level_1_kind": "named"},
    )
    assert response.status_code == 400 and response.context["form"].errors["level_1_kind"]
    response = client.post(
        _url(agency_a, "chains/new/"),
        {
            "voucher_type": "receipt",
            "min_amount": "0",
            "level_1_kind": "named",
            "level_1_users": [people["r1"].pk],
            "level_2_kind": "named",
            "level_2_users": [people["boss"].pk],
        },
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        assert ReviewChain.objects.filter(voucher_type="receipt").count() == 1
    client.force_login(people["r1"])
    assert client.get(_url(agency_a, "delegations/")).status_code == 200
    response = client.post(
        _url(agency_a, "delegations/"),
        {
            "delegator": people["r1"].pk,
            "delegate": people["maker"].pk,
            "starts_on": "2999-01-01",
            "ends_on": "2999-01-02",
        },
    )
    assert response.status_code == 400  # the maker holds no review permission


ALL = [
    ("get", ""),
    ("get", "vouchers/{v}/"),
    ("post", "vouchers/{v}/submit/"),
    ("post", "vouchers/{v}/approve/"),
    ("post", "vouchers/{v}/return/"),
    ("post", "vouchers/{v}/reject/"),
    ("get", "chains/"),
    ("get", "chains/new/"),
    ("get", "chains/{c}/"),
    ("post", "chains/{c}/delete/"),
    ("get", "delegations/"),
    ("post", "delegations/{d}/end/"),
]


@pytest.mark.parametrize("who", ["anonymous", "other_agency", "beneficiary", "colleague"])
def test_isolation_of_every_review_url(client, agency_a, people, who):
    from datetime import date

    with schema_context(agency_a.schema_name):
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
        delegation = ReviewDelegation.objects.create(
            delegator=people["r1"],
            delegate=people["boss"],
            starts_on=date(2999, 1, 1),
            ends_on=date(2999, 1, 2),
            created_by=people["r1"],
        )
    if who != "anonymous":
        client.force_login(people[who])
    for method, tail in ALL:
        address = _url(agency_a, tail.format(v=voucher.pk, c=people["chain"].pk, d=delegation.pk))
        response = getattr(client, method)(address, {"position": 1, "reason": "x"})
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert response.status_code in (403, 404), (method, tail, response.status_code)
    with schema_context(agency_a.schema_name):
        assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.IN_REVIEW
        assert ReviewChain.objects.filter(pk=people["chain"].pk).exists()
        assert ReviewDelegation.objects.get(pk=delegation.pk).ended_at is None
