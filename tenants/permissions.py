"""The catalogue of agency permissions.

Permissions are codenames checked with ``user.has_perm("agency.<codename>")``; roles are named
sets of them defined per agency, and each employee can be granted or refused single ones on top.
Later apps add their codenames here so the role editor lists them.
"""

from django.utils.translation import gettext_lazy as _

PERMISSION_PREFIX = "agency."

PERMISSIONS: dict[str, str] = {
    "staff.view": _("View employees and departments"),
    "staff.manage_employees": _("Invite and edit employees"),
    "staff.manage_departments": _("Manage departments"),
    "staff.manage_roles": _("Manage roles and permission grants"),
    "audit.view": _("View the audit trail"),
    "notifications.view_log": _("View the log of messages sent"),
    "requests.work": _("Receive and work requests"),
    "requests.view_all": _("See every request of the agency and why it was assigned"),
    "requests.manage_catalogue": _("Manage the catalogue of services"),
    "requests.manage_distribution": _("Manage distribution rules and employee availability"),
    "requests.supervise": _("Supervise the requests of one's department and decide approvals"),
    "requests.reassign": _("Reassign requests directly"),
    "requests.postpone": _("Postpone requests directly"),
    "requests.manage_sla": _("Manage service levels, the working calendar and holidays"),
    "requests.reopen": _("Reopen closed or rejected requests"),
    "statistics.view": _("View the agency's statistics and employee evaluations"),
    "statistics.manage": _("Configure the employee evaluation"),
}

DEFAULT_ROLES: list[dict] = [
    {
        "codename": "admin",
        "name_ar": "مدير الجهة",
        "name_en": "Agency admin",
        "permissions": sorted(PERMISSIONS),
    },
    {
        "codename": "supervisor",
        "name_ar": "مشرف",
        "name_en": "Supervisor",
        "permissions": [
            "staff.view",
            "audit.view",
            "requests.work",
            "requests.supervise",
            "requests.reassign",
            "requests.postpone",
            "requests.reopen",
            "statistics.view",
        ],
    },
    {
        "codename": "employee",
        "name_ar": "موظف",
        "name_en": "Employee",
        "permissions": ["requests.work"],
    },
]


def permission_choices() -> list[tuple[str, str]]:
    return [(code, label) for code, label in PERMISSIONS.items()]
