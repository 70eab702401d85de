"""What the statistics app brings to the platform (see core.modules)."""

from django.utils.translation import gettext_lazy as _

from core.modules import SUPERVISOR, MenuEntry, Module, Permissions


class Perm(Permissions):
    VIEW = "statistics.view", _("View the agency's statistics and employee evaluations")
    MANAGE = "statistics.manage", _("Configure the employee evaluation")


MODULE = Module(
    name="insights",
    permissions=Perm,
    default_grants={SUPERVISOR: [Perm.VIEW]},
    audit_actions={
        "statistics.evaluation_settings": _("Employee evaluation settings changed"),
    },
    menu=[
        MenuEntry("workspace:statistics", _("Statistics"), (Perm.VIEW,), order=80),
        MenuEntry(
            "workspace:evaluation_settings", _("Employee evaluation"), (Perm.MANAGE,), order=90
        ),
    ],
    workspace_urls="insights.urls.workspace_urlpatterns",
)
