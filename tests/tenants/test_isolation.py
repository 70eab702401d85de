"""Every workspace URL refuses anonymous visitors, beneficiaries and other agencies' staff."""

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from portal.urls import workspace_patterns
from tenants.services import department_save
from tenants.staff.models import Membership, Role
from tests.factories import (
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    png_upload,
)


def workspace_paths(agency, admin) -> list[str]:
    """Every pattern of the workspace URLconf, with real object ids of ``agency``."""
    from requests_app.models import Attachment, DistributionRule

    with schema_context(agency.schema_name):
        department = department_save(actor=admin, name_ar="قسم", name_en="Unit")
        rule = DistributionRule.objects.create(name_ar="قاعدة", name_en="Rule")
    request_type = make_type(agency, actor=admin)
    item = make_request(agency, request_type=request_type, attachments=[png_upload()])
    with schema_context(agency.schema_name):
        ids = {
            "membership_id": Membership.objects.get(user_id=admin.pk).pk,
            "department_id": department.pk,
            "role_id": Role.objects.get(codename="employee").pk,
            "request_id": item.pk,
            "file_id": Attachment.objects.get(request=item).pk,
            "type_id": request_type.pk,
            "rule_id": rule.pk,
        }
        from requests_app.models import ApprovalRequest

        ids["approval_id"] = ApprovalRequest.objects.create(
            request=item,
            kind="postpone",
            requested_by=admin,
            reason="…",
            postpone_until=item.created_at,
        ).pk
        from datetime import timedelta

        from appointments.services import entry_add

        ids["appointment_id"] = entry_add(
            membership=Membership.objects.select_related("user").get(user_id=admin.pk),
            title="موعد",
            starts_at=item.created_at + timedelta(days=1),
            ends_at=item.created_at + timedelta(days=1, hours=1),
        ).pk
    ids.update(_meetings_ids(agency, admin))
    ids.update(_finance_ids(agency, admin, department))
    paths = []
    for pattern in workspace_patterns:
        kwargs = {name: ids[name] for name in pattern.pattern.converters}
        paths.append(
            reverse(f"workspace:{pattern.name}", kwargs={"agency_slug": agency.slug, **kwargs})
        )
    return paths


def _meetings_ids(agency, admin) -> dict[str, int]:
    """A body with a member, a meeting with a participant, an agenda item, a document and a
    decision of ``agency``, made directly (the meetings' own tests go through the services)."""
    from datetime import timedelta

    from django.utils import timezone

    from meetings.models import AgendaItem, Body, BodyMember, Meeting, Participant
    from meetings.models_minutes import Decision
    from meetings.services.schedule import document_add

    with schema_context(agency.schema_name):
        start = timezone.now() + timedelta(days=2)
        body = Body.objects.create(name_ar="مجلس", name_en="Board", kind="board")
        member = BodyMember.objects.create(body=body, user=admin)
        meeting = Meeting.objects.create(
            title_ar="اجتماع",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            status="scheduled",
        )
        participant = Participant.objects.create(meeting=meeting, user=admin, role="secretary")
        item = AgendaItem.objects.create(meeting=meeting, position=1, title="بند")
        document = document_add(actor=admin, meeting=meeting, upload=png_upload())
        decision = Decision.objects.create(
            meeting=meeting,
            text="قرار",
            owner=Membership.objects.get(user_id=admin.pk),
            due_date=(start + timedelta(days=30)).date(),
        )
    return {
        "body_id": body.pk,
        "member_id": member.pk,
        "meeting_id": meeting.pk,
        "participant_id": participant.pk,
        "item_id": item.pk,
        "document_id": document.pk,
        "decision_id": decision.pk,
    }


def _finance_ids(agency, admin, department) -> dict[str, int]:
    """A draft voucher of ``admin`` (the admin role holds every finance permission) with an
    attachment, an unused account, the fiscal year and period of today, of ``agency``."""
    from django.utils import timezone

    from finance.models import Account, BudgetLine, Period
    from finance.models_review import LevelKind, ReviewChain, ReviewDelegation, ReviewLevel
    from finance.services.vouchers import voucher_create

    with schema_context(agency.schema_name):
        voucher = voucher_create(
            by=admin,
            type="payment",
            date=timezone.localdate(),
            department=department,
            description="سند",
            lines=[
                {"account": Account.objects.get(code="5204"), "debit": "10"},
                {"account": Account.objects.get(code="1102"), "credit": "10"},
            ],
            files=[png_upload()],
        )
        period = Period.objects.get(pk=voucher.period_id)
        chain = ReviewChain.objects.create(voucher_type="payment", min_amount=0)
        ReviewLevel.objects.create(
            chain=chain, position=1, kind=LevelKind.ROLE, role=Role.objects.get(codename="admin")
        )
        today = timezone.localdate()
        delegation = ReviewDelegation.objects.create(
            delegator=admin,
            delegate=make_beneficiary(),
            starts_on=today,
            ends_on=today,
            created_by=admin,
        )
        budget_line = BudgetLine.objects.create(
            fiscal_year_id=period.fiscal_year_id,
            account=Account.objects.get(code="5204"),
            department=department,
            amount="1000",
        )
        return {
            "line_id": budget_line.pk,
            "chain_id": chain.pk,
            "delegation_id": delegation.pk,
            "voucher_id": voucher.pk,
            "attachment_id": voucher.attachments.get().pk,
            "account_id": Account.objects.get(code="5401").pk,
            "fiscal_year_id": period.fiscal_year_id,
            "period_id": period.pk,
        }


@pytest.fixture
def setup(agency_a, agency_b):
    admin_a = make_employee(agency_a, roles=("admin",))
    admin_b = make_employee(agency_b, roles=("admin",))
    return {
        "admin_a": admin_a,
        "admin_b": admin_b,
        "beneficiary": make_beneficiary(),
        "paths": workspace_paths(agency_a, admin_a),
    }


def test_workspace_urls_cover_every_view(setup):
    assert len(setup["paths"]) == len(workspace_patterns) >= 9


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("beneficiary", 403), ("admin_b", 403), ("admin_a", 200)],
)
def test_workspace_access_table(client, setup, who, expected, method):
    if who != "anonymous":
        client.force_login(setup[who])
    for path in setup["paths"]:
        response = getattr(client, method)(path)
        if who == "admin_a":
            if method == "post" and "/meetings/" in path:
                # Meetings' actions (remove, delete…) act on the objects later paths name: the
                # owner's side of them is tested in tests/meetings; here only the refusals.
                continue
            # the owner gets the page (or, for a form POSTed empty, the page with errors — 400
            # where the action refuses bad input — or a redirect; a POST-only action answers
            # GET with 405)
            assert response.status_code in (200, 302, 400, 405), (path, response.status_code)
            continue
        assert response.status_code == expected, (who, method, path, response.status_code)
        if expected == 302:
            assert response["Location"].startswith(reverse("account_login"))


def test_unknown_and_inactive_agency_answer_404(client, setup, agency_b):
    client.force_login(setup["admin_b"])
    assert client.get("/a/does-not-exist/").status_code == 404
    agency_b.is_active = False
    agency_b.save(update_fields=["is_active"])
    assert client.get(f"/a/{agency_b.slug}/").status_code == 404


def test_deactivated_employee_is_refused(client, agency_a, setup):
    employee = make_employee(agency_a)
    with schema_context(agency_a.schema_name):
        Membership.objects.filter(user_id=employee.pk).update(is_active=False)
    client.force_login(employee)
    assert client.get(f"/a/{agency_a.slug}/").status_code == 403


def test_object_ids_of_another_agency_are_not_found(client, setup, agency_b):
    """An admin of B asking B's workspace for A's membership id gets B's object or 404,
    never A's data (the schema is B's)."""
    client.force_login(setup["admin_b"])
    response = client.get(f"/a/{agency_b.slug}/staff/999999/")
    assert response.status_code == 404
