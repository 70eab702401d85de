"""Navigation menus: each entry appears only when the user may open it (R-17)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

WORKSPACE_MENU = [
    ("workspace:dashboard", _("Overview"), None),
    ("workspace:queue", _("Requests"), "requests.work|requests.view_all"),
    ("workspace:notifications", _("Notifications"), None),
    ("workspace:calendar", _("Calendar"), None),
    ("workspace:approval_list", _("Approvals"), "requests.supervise|requests.view_all"),
    ("workspace:archive", _("Archive"), "requests.supervise|requests.view_all"),
    ("workspace:satisfaction", _("Satisfaction"), "requests.supervise|requests.view_all"),
    ("workspace:statistics", _("Statistics"), "statistics.view"),
    ("workspace:evaluation_settings", _("Employee evaluation"), "statistics.manage"),
    ("workspace:staff_list", _("Employees"), "staff.view"),
    ("workspace:department_list", _("Departments"), "staff.view"),
    ("workspace:role_list", _("Roles and permissions"), "staff.manage_roles"),
    ("workspace:catalogue_list", _("Services catalogue"), "requests.manage_catalogue"),
    ("workspace:distribution_list", _("Distribution"), "requests.manage_distribution"),
    ("workspace:sla_settings", _("Service levels"), "requests.manage_sla"),
    ("workspace:audit_list", _("Audit trail"), "audit.view"),
    ("workspace:security_settings", _("Sign-in security"), "staff.manage_roles"),
    ("workspace:delivery_log", _("Messages sent"), "notifications.view_log"),
]


def navigation(request):
    agency = getattr(request, "agency", None)
    user = getattr(request, "user", None)
    if agency is None or user is None or not user.is_authenticated:
        return {"workspace_menu": []}
    if getattr(request, "membership", None) is None:
        return {"workspace_menu": []}
    path = request.path
    menu = []
    for name, label, permission in WORKSPACE_MENU:
        if permission and not any(user.has_perm("agency." + p) for p in permission.split("|")):
            continue
        url = reverse(name, kwargs={"agency_slug": agency.slug})
        menu.append({"url": url, "label": label, "current": False})
    # The current entry is the longest URL the page is under (the overview only on itself).
    matches = [
        item
        for item in menu
        if path == item["url"] or (path.startswith(item["url"]) and item is not menu[0])
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["current"] = True
    return {"workspace_menu": menu}
