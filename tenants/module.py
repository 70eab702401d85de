"""What the tenants app brings to the platform (see core.modules): staff and audit permissions,
the invitation event, the staff pages of the workspace."""

from django.utils.translation import gettext_lazy as _

from core.modules import EMAIL, INAPP, SUPERVISOR, Event, MenuEntry, Module, Permissions


class Perm(Permissions):
    VIEW_STAFF = "staff.view", _("View employees and departments")
    MANAGE_EMPLOYEES = "staff.manage_employees", _("Invite and edit employees")
    MANAGE_DEPARTMENTS = "staff.manage_departments", _("Manage departments")
    MANAGE_ROLES = "staff.manage_roles", _("Manage roles and permission grants")
    VIEW_AUDIT = "audit.view", _("View the audit trail")


INVITED = "staff.invited"

MODULE = Module(
    name="tenants",
    permissions=Perm,
    default_grants={SUPERVISOR: [Perm.VIEW_STAFF, Perm.VIEW_AUDIT]},
    events={
        INVITED: Event(
            _("Invitation to an agency"), (INAPP, EMAIL), mandatory=True, sensitive=True
        ),
    },
    menu=[
        MenuEntry("workspace:dashboard", _("Overview"), order=10),
        MenuEntry("workspace:staff_list", _("Employees"), (Perm.VIEW_STAFF,), order=100),
        MenuEntry("workspace:department_list", _("Departments"), (Perm.VIEW_STAFF,), order=110),
        MenuEntry(
            "workspace:role_list", _("Roles and permissions"), (Perm.MANAGE_ROLES,), order=120
        ),
        MenuEntry("workspace:audit_list", _("Audit trail"), (Perm.VIEW_AUDIT,), order=160),
        MenuEntry(
            "workspace:security_settings", _("Sign-in security"), (Perm.MANAGE_ROLES,), order=170
        ),
    ],
    workspace_urls="tenants.urls.workspace_urlpatterns",
    setup_steps="tenants.overview.setup_steps",
)
