"""The module contract (issue 11 part 2): an app declaring itself in ``<app>/module.py`` brings
its permission, default grants, menu entry, workspace URL and notification event into the
platform without any core file being edited.

The throwaway app tests/throwaway_module is installed for these tests only: the fixture adds
its AppConfig to Django's app registry and announces the change as an INSTALLED_APPS
``setting_changed`` (what override_settings does, minus re-running every app's ready(), which
procrastinate refuses), so that core.modules forgets the modules it had read and Django its
template directories. The root URLconf assembled the workspace URLs when it was imported, so the
fixture re-imports it (and again once the app is gone)."""

import importlib

import pytest
from django.apps import AppConfig, apps
from django.core.signals import setting_changed
from django.urls import clear_url_caches, reverse
from django_tenants.utils import schema_context

from core import modules
from tenants.forms import RoleForm
from tenants.permissions import permission_choices
from tenants.services import system_roles_sync, system_roles_sync_agencies
from tenants.staff.models import AuditEvent, Role
from tests.factories import make_beneficiary, make_employee, membership_of

THROWAWAY = "tests.throwaway_module"
USE = "throwaway.use"


def _reload_urlconf() -> None:
    import portal.urls

    importlib.reload(portal.urls)
    clear_url_caches()


def _apps_changed(settings, enter: bool) -> None:
    apps.clear_cache()
    names = [config.name for config in apps.get_app_configs()]
    setting_changed.send(sender=type(settings), setting="INSTALLED_APPS", value=names, enter=enter)
    _reload_urlconf()


@pytest.fixture
def throwaway(settings):
    """The throwaway module installed (and the URLconf rebuilt) for one test."""
    config = AppConfig.create(THROWAWAY)
    config.apps = apps
    config.import_models()
    apps.app_configs[config.label] = config
    try:
        _apps_changed(settings, enter=True)
        yield
    finally:
        del apps.app_configs[config.label]
        _apps_changed(settings, enter=False)
    assert USE not in modules.permission_labels()


def _grant_role(agency, user, codes):
    """Give ``user`` a fresh role holding ``codes`` (through the role, not a direct grant)."""
    with schema_context(agency.schema_name):
        role = Role.objects.create(
            codename="desk", name_ar="مكتب", name_en="Desk", permissions=codes
        )
        membership_of(agency, user).roles.add(role)


def test_without_the_app_nothing_of_it_is_known(db):
    assert USE not in modules.permission_labels()
    assert "throwaway.pinged" not in modules.events()


def test_its_permission_is_offered_by_the_role_editor_and_held_through_a_role(throwaway, agency_a):
    assert (USE, "Use the throwaway module") in permission_choices()
    assert USE in dict(RoleForm.base_fields["permissions"].choices)
    holder = make_employee(agency_a, roles=())
    other = make_employee(agency_a, roles=())
    _grant_role(agency_a, holder, [USE])
    with schema_context(agency_a.schema_name):
        assert holder.has_perm("agency." + USE)
        assert not other.has_perm("agency." + USE)


def test_its_menu_entry_shows_to_a_holder_only(throwaway, client, agency_a):
    holder = make_employee(agency_a, roles=())
    other = make_employee(agency_a, roles=())
    _grant_role(agency_a, holder, [USE])
    dashboard = reverse("workspace:dashboard", kwargs={"agency_slug": agency_a.slug})
    url = reverse("workspace:throwaway_home", kwargs={"agency_slug": agency_a.slug})

    client.force_login(holder)
    page = client.get(dashboard).content.decode()
    assert f'href="{url}"' in page and "Throwaway desk" in page
    client.force_login(other)
    page = client.get(dashboard).content.decode()
    assert url not in page and "Throwaway desk" not in page


def test_its_url_is_served_in_the_workspace_to_holders_only(throwaway, client, agency_a, agency_b):
    url = reverse("workspace:throwaway_home", kwargs={"agency_slug": agency_a.slug})
    assert url == f"/a/{agency_a.slug}/throwaway/"
    holder = make_employee(agency_a, roles=())
    _grant_role(agency_a, holder, [USE])
    # Another agency's employee, holding the permission in their own agency.
    foreign = make_employee(agency_b, roles=())
    _grant_role(agency_b, foreign, [USE])
    non_holder = make_employee(agency_a, roles=())

    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(make_beneficiary())
    assert client.get(url).status_code == 403
    client.force_login(foreign)
    assert client.get(url).status_code == 403
    client.force_login(non_holder)
    assert client.get(url).status_code == 403
    client.force_login(holder)
    response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode() == f"throwaway desk of {agency_a.slug}"


def test_its_event_is_sent_and_rendered_from_its_own_templates(throwaway, agency_a):
    from notifications.models import Notification
    from notifications.services import notification_send
    from tests.jobs import run_pending_jobs

    recipient = make_employee(agency_a, roles=())
    notification_send(
        recipient=recipient, event="throwaway.pinged", context={"word": "hello"}, agency=agency_a
    )
    run_pending_jobs()
    notification = Notification.objects.get(recipient=recipient, event="throwaway.pinged")
    assert notification.title == "Ping hello"
    assert notification.body == "Throwaway says hello"


def test_the_roles_sync_gives_system_roles_its_defaults_once_and_audits(throwaway, agency_a):
    with schema_context(agency_a.schema_name):
        roles = {role.codename: role for role in Role.objects.filter(is_system=True)}
        # An admin's own additions to a system role, and a default they took away earlier.
        supervisor = roles["supervisor"]
        supervisor.permissions = sorted({*supervisor.permissions, "staff.manage_departments"})
        supervisor.permissions.remove("audit.view")
        supervisor.save()
        audited_before = AuditEvent.objects.filter(action="role.sync").count()

        changed = system_roles_sync()

        assert changed == {"admin": [USE], "employee": [USE]}
        roles = {role.codename: role for role in Role.objects.filter(is_system=True)}
        assert USE in roles["employee"].permissions and USE in roles["admin"].permissions
        assert USE not in roles["supervisor"].permissions  # not one of its declared defaults
        # Nothing removed, nothing given back.
        assert "staff.manage_departments" in roles["supervisor"].permissions
        assert "audit.view" not in roles["supervisor"].permissions
        events = AuditEvent.objects.filter(action="role.sync").order_by("id")[audited_before:]
        assert {event.object_id for event in events} == {
            str(roles["admin"].pk),
            str(roles["employee"].pk),
        }
        assert all(USE in event.after["added"] for event in events)
        # Given once: an admin who takes it away again is not overruled by the next sync.
        employee = roles["employee"]
        employee.permissions.remove(USE)
        employee.save()
        assert system_roles_sync() == {}
        employee.refresh_from_db()
        assert USE not in employee.permissions


def test_the_roles_sync_creates_a_missing_system_role(throwaway, agency_a):
    with schema_context(agency_a.schema_name):
        Role.objects.filter(codename="employee").delete()
        changed = system_roles_sync()
        employee = Role.objects.get(codename="employee")
        assert employee.is_system
        assert sorted(employee.permissions) == sorted(["requests.work", USE])
        assert changed["employee"] == sorted(["requests.work", USE])


def test_migrate_agencies_syncs_every_agency(throwaway, agency_a, agency_b):
    results = system_roles_sync_agencies()
    for agency in (agency_a, agency_b):
        assert results[agency.schema_name]["employee"] == [USE]
        with schema_context(agency.schema_name):
            assert USE in Role.objects.get(codename="employee").permissions
