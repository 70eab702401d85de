"""Navigation menus: each entry appears only when the user may open it (R-17)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

WORKSPACE_MENU = [
    ("workspace:dashboard", _("Overview"), None),
    ("workspace:staff_list", _("Employees"), "staff.view"),
    ("workspace:department_list", _("Departments"), "staff.view"),
    ("workspace:role_list", _("Roles and permissions"), "staff.manage_roles"),
    ("workspace:audit_list", _("Audit trail"), "audit.view"),
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
        if permission and not user.has_perm("agency." + permission):
            continue
        url = reverse(name, kwargs={"agency_slug": agency.slug})
        is_current = path == url if name == "workspace:dashboard" else path.startswith(url)
        menu.append({"url": url, "label": label, "current": is_current})
    return {"workspace_menu": menu}
