import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.models import User
from tenants.services import employee_set_permissions, role_save
from tenants.staff.models import Membership, Role
from tests.factories import make_employee, membership_of
from tests.jobs import run_pending_jobs


def fresh(user):
    return User.objects.get(pk=user.pk)


def test_grant_and_revoke_take_effect(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    employee = make_employee(agency_a)
    audit_url = reverse("workspace:audit_list", kwargs={"agency_slug": agency_a.slug})
    client.force_login(employee)
    assert client.get(audit_url).status_code == 403

    with schema_context(agency_a.schema_name):
        employee_set_permissions(
            membership=membership_of(agency_a, employee),
            granted=["audit.view"],
            revoked=[],
            actor=admin,
        )
    assert client.get(audit_url).status_code == 200

    with schema_context(agency_a.schema_name):
        employee_set_permissions(
            membership=membership_of(agency_a, employee), granted=[], revoked=[], actor=admin
        )
    assert client.get(audit_url).status_code == 403


def test_revocation_beats_role(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    supervisor = make_employee(agency_a, roles=("supervisor",))
    url = reverse("workspace:audit_list", kwargs={"agency_slug": agency_a.slug})
    client.force_login(supervisor)
    assert client.get(url).status_code == 200
    with schema_context(agency_a.schema_name):
        employee_set_permissions(
            membership=membership_of(agency_a, supervisor),
            granted=[],
            revoked=["audit.view"],
            actor=admin,
        )
    assert client.get(url).status_code == 403


def test_role_change_takes_effect(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    employee = make_employee(agency_a)
    url = reverse("workspace:staff_list", kwargs={"agency_slug": agency_a.slug})
    client.force_login(employee)
    assert client.get(url).status_code == 403
    with schema_context(agency_a.schema_name):
        role = Role.objects.get(codename="employee")
        role_save(
            actor=admin,
            role=role,
            codename="employee",
            name_ar=role.name_ar,
            name_en=role.name_en,
            permissions=["staff.view"],
        )
    assert client.get(url).status_code == 200


def test_permissions_do_not_leak_across_agencies(agency_a, agency_b):
    admin_a = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        assert fresh(admin_a).has_perm("agency.staff.manage_roles")
    with schema_context(agency_b.schema_name):
        assert not fresh(admin_a).has_perm("agency.staff.manage_roles")
    assert not fresh(admin_a).has_perm("agency.staff.manage_roles")  # public schema


def test_unknown_permission_and_contradiction_refused(agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    employee = make_employee(agency_a)
    with schema_context(agency_a.schema_name):
        membership = membership_of(agency_a, employee)
        with pytest.raises(ValidationError):
            employee_set_permissions(
                membership=membership, granted=["root.everything"], revoked=[], actor=admin
            )
        with pytest.raises(ValidationError):
            employee_set_permissions(
                membership=membership, granted=["audit.view"], revoked=["audit.view"], actor=admin
            )
        membership.refresh_from_db()
        assert membership.granted_permissions == [] and membership.revoked_permissions == []


def test_menu_shows_only_what_the_user_may_do(client, agency_a):
    employee = make_employee(agency_a)
    admin = make_employee(agency_a, roles=("admin",))
    home = reverse("workspace:dashboard", kwargs={"agency_slug": agency_a.slug})
    client.force_login(employee)
    html = client.get(home).content.decode()
    for name in ("staff_list", "role_list", "audit_list"):
        assert reverse(f"workspace:{name}", kwargs={"agency_slug": agency_a.slug}) not in html
    client.force_login(admin)
    html = client.get(home).content.decode()
    for name in ("staff_list", "role_list", "audit_list"):
        assert reverse(f"workspace:{name}", kwargs={"agency_slug": agency_a.slug}) in html


def test_admin_manages_staff_from_the_ui(client, agency_a, mailoutbox):
    admin = make_employee(agency_a, roles=("admin",))
    client.force_login(admin)
    base = f"/a/{agency_a.slug}"
    response = client.post(f"{base}/departments/", {"name_ar": "الموارد", "name_en": "HR"})
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        from tenants.staff.models import Department

        hr = Department.objects.get(name_en="HR")
        employee_role = Role.objects.get(codename="employee")
    response = client.post(
        f"{base}/departments/", {"name_ar": "التوظيف", "name_en": "Hiring", "parent": hr.pk}
    )
    assert response.status_code == 302
    response = client.post(
        f"{base}/staff/invite/",
        {
            "email": "new.hire@example.sa",
            "first_name_ar": "ريم",
            "department": hr.pk,
            "roles": [employee_role.pk],
        },
    )
    assert response.status_code == 302
    run_pending_jobs()
    assert mailoutbox[-1].to == ["new.hire@example.sa"]
    assert "/accounts/invitation/" in mailoutbox[-1].body
    # the pending invitation is listed; the membership exists only once the link is followed
    assert "new.hire@example.sa" in client.get(f"{base}/staff/").content.decode()
    with schema_context(agency_a.schema_name):
        assert not Membership.objects.filter(user__email="new.hire@example.sa").exists()
    link = re.search(r"https?://[^\s]+/accounts/invitation/[^\s]+", mailoutbox[-1].body).group()
    invitee = client.__class__()
    response = invitee.post(
        link.split("8000", 1)[1],
        {"new_password1": "Another-Strong-Pass-77", "new_password2": "Another-Strong-Pass-77"},
    )
    assert response.status_code == 302
    new_user = User.objects.get(email="new.hire@example.sa")
    with schema_context(agency_a.schema_name):
        membership = Membership.objects.get(user_id=new_user.pk)
    assert membership.department_id == hr.pk
    # inviting the same person twice is refused with a message, nothing changes
    response = client.post(f"{base}/staff/invite/", {"email": "new.hire@example.sa"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    # grant a single permission from the edit page
    response = client.post(
        f"{base}/staff/{membership.pk}/",
        {
            "e-department": hr.pk,
            "e-roles": [employee_role.pk],
            "e-is_active": "on",
            "p-granted": ["audit.view"],
        },
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        membership.refresh_from_db()
    assert membership.granted_permissions == ["audit.view"]


def test_department_cannot_move_under_itself(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    client.force_login(admin)
    base = f"/a/{agency_a.slug}"
    client.post(f"{base}/departments/", {"name_ar": "أ", "name_en": "Top"})
    with schema_context(agency_a.schema_name):
        from tenants.staff.models import Department

        top = Department.objects.get(name_en="Top")
    client.post(f"{base}/departments/", {"name_ar": "ب", "name_en": "Child", "parent": top.pk})
    with schema_context(agency_a.schema_name):
        child = Department.objects.get(name_en="Child")
    response = client.post(
        f"{base}/departments/{top.pk}/", {"name_ar": "أ", "name_en": "Top", "parent": child.pk}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["parent"]
    with schema_context(agency_a.schema_name):
        top.refresh_from_db()
        assert top.parent_id is None


def test_staff_list_query_count_is_constant(client, agency_a, django_assert_max_num_queries):
    admin = make_employee(agency_a, roles=("admin",))
    client.force_login(admin)
    url = reverse("workspace:staff_list", kwargs={"agency_slug": agency_a.slug})
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(15):
        make_employee(agency_a, roles=("employee", "supervisor"))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_permission_cache_is_the_users_even_behind_a_lazy_request_user(
    agency_a, django_assert_num_queries
):
    """The workspace guard fills the permission cache from the membership it loaded, through
    ``request.user`` (a lazy object): the user behind it answers without a query, and clearing
    through the lazy object (what services given ``request.user`` do) makes it reload."""
    from django.utils.functional import SimpleLazyObject

    from tenants.backends import clear_permission_cache, permission_cache_fill
    from tenants.selectors import membership_for

    employee = fresh(make_employee(agency_a))
    lazy = SimpleLazyObject(lambda: employee)
    with schema_context(agency_a.schema_name):
        permission_cache_fill(lazy, membership_for(user=employee))
        with django_assert_num_queries(0):
            assert employee.has_perm("agency.requests.work")
            # refused by the agency backend alone: the model backends are not asked
            assert not employee.has_perm("agency.requests.view_all")
            assert not lazy.has_perm("agency.audit.view")
        clear_permission_cache(lazy)
        with django_assert_num_queries(2):  # the membership and its roles, once
            assert employee.has_perm("agency.requests.work")
            assert not employee.has_perm("agency.requests.view_all")
