"""A platform superuser holds no agency permission by being one: the agency's permissions come
from a membership only (accounts.User.has_perm)."""

from django_tenants.utils import schema_context

from accounts.models import User
from requests_app.module import Perm
from tests.factories import make_employee


def test_a_superuser_without_membership_holds_no_agency_permission(agency_a):
    operator = User.objects.create_superuser(email="root-op@example.com", password="x" * 16)
    with schema_context(agency_a.schema_name):
        assert not operator.has_perm(Perm.VIEW_ALL.perm)
        assert not operator.has_perm(Perm.REOPEN.perm)
    assert operator.has_perm("accounts.view_user")  # Django's own permissions are unchanged


def test_a_superuser_employee_holds_only_what_their_roles_give(agency_a):
    employee = make_employee(agency_a)
    User.objects.filter(pk=employee.pk).update(is_superuser=True, is_staff=True)
    employee = User.objects.get(pk=employee.pk)
    with schema_context(agency_a.schema_name):
        assert employee.has_perm(Perm.WORK.perm)
        assert not employee.has_perm(Perm.VIEW_ALL.perm)
        assert not employee.has_perm(Perm.REOPEN.perm)
