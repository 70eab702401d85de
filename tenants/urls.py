from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from tenants import views

# The agency's own pages of the workspace (/a/<slug>/…). The root URLconf (portal.urls) puts
# them together with each app's ``workspace_urlpatterns`` under the "workspace" namespace.
workspace_urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/invite/", views.staff_invite, name="staff_invite"),
    path("staff/<id:membership_id>/", views.staff_edit, name="staff_edit"),
    path("departments/", views.department_list, name="department_list"),
    path("departments/<id:department_id>/", views.department_edit, name="department_edit"),
    path("roles/", views.role_list, name="role_list"),
    path("roles/<id:role_id>/", views.role_edit, name="role_edit"),
    path("audit/", views.audit_list, name="audit_list"),
    path("settings/security/", views.security_settings, name="security_settings"),
]
