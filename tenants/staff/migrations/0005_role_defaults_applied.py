"""System roles remember which declared default grants they have been given, so that the roles
sync (tenants.services.system_roles_sync, run by migrate_agencies and at onboarding) adds only
newly declared ones. Existing system roles have been given, at onboarding or by the request
app's data migrations, the defaults declared when this migration was written."""

from django.contrib.postgres.fields import ArrayField
from django.db import migrations, models

# The system roles' defaults as of this migration (a snapshot: migrations are history).
_ADMIN = [
    "audit.view",
    "notifications.view_log",
    "requests.manage_catalogue",
    "requests.manage_distribution",
    "requests.manage_sla",
    "requests.postpone",
    "requests.reassign",
    "requests.reopen",
    "requests.supervise",
    "requests.view_all",
    "requests.work",
    "staff.manage_departments",
    "staff.manage_employees",
    "staff.manage_roles",
    "staff.view",
    "statistics.manage",
    "statistics.view",
]
APPLIED = {
    "admin": _ADMIN,
    "supervisor": [
        "audit.view",
        "requests.postpone",
        "requests.reassign",
        "requests.reopen",
        "requests.supervise",
        "requests.work",
        "staff.view",
        "statistics.view",
    ],
    "employee": ["requests.work"],
}


def forwards(apps, schema_editor):
    Role = apps.get_model("staff", "Role")
    for role in Role.objects.filter(is_system=True, codename__in=APPLIED):
        role.defaults_applied = APPLIED[role.codename]
        role.save(update_fields=["defaults_applied"])


class Migration(migrations.Migration):
    dependencies = [("staff", "0004_audit_chain")]

    operations = [
        migrations.AddField(
            model_name="role",
            name="defaults_applied",
            field=ArrayField(
                base_field=models.CharField(max_length=64), blank=True, default=list, size=None
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
