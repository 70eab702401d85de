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
    permission_areas={Perm.VIEW_STAFF: "staff"},
    permission_help={
        Perm.MANAGE_ROLES: _("Also grant or refuse single permissions to an employee."),
        Perm.VIEW_AUDIT: _(
            "Who did what and when; a department supervisor sees their own departments only."
        ),
    },
    audit_actions={
        "agency.onboard": _("Agency registered on the platform"),
        "agency.set_active": _("Agency activated or suspended"),
        "agency.two_factor_requirement": _("Two-factor sign-in requirement changed"),
        "staff.invite": _("Employee invited"),
        "staff.join": _("Employee joined the agency"),
        "staff.update": _("Employee's membership changed"),
        "staff.permissions": _("Employee's individual permissions changed"),
        "department.create": _("Department created"),
        "department.update": _("Department changed"),
        "role.create": _("Role created"),
        "role.update": _("Role changed"),
        "role.sync": _("Role given new default permissions"),
        "account.invitation_accepted": _("Invitation accepted"),
        "account.email_detached": _("Email address taken off an unconfirmed account"),
    },
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
