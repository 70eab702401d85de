"""Fixtures shared by the request tests."""

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from tenants.services import department_save
from tenants.staff.models import Membership
from tests.factories import make_beneficiary, make_employee, make_request, make_type
from tests.jobs import run_pending_jobs


@pytest.fixture
def team(agency_a):
    """A department of agency A whose only worker is ``assignee``; one request of
    ``beneficiary`` assigned to them (new, not yet answered)."""
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        department = department_save(actor=admin, name_ar="قسم", name_en="Desk")
    assignee = make_employee(agency_a)
    with schema_context(agency_a.schema_name):
        Membership.objects.filter(user_id=assignee.pk).update(department=department)
    request_type = make_type(agency_a, actor=admin, department=department)
    beneficiary = make_beneficiary()
    item = make_request(agency_a, beneficiary=beneficiary, request_type=request_type)
    run_pending_jobs()  # invitations and the submission receipt: out of the way
    mail.outbox.clear()
    with schema_context(agency_a.schema_name):
        assert item.assignee.user_id == assignee.pk
    return {
        "agency": agency_a,
        "admin": admin,
        "department": department,
        "assignee": assignee,
        "beneficiary": beneficiary,
        "type": request_type,
        "item": item,
    }
