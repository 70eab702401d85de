"""Give the agencies' system roles the request permissions (new agencies get them at onboarding)."""

from django.db import migrations

ADDED = {
    "admin": [
        "requests.work",
        "requests.view_all",
        "requests.manage_catalogue",
        "requests.manage_distribution",
        "notifications.view_log",
    ],
    "supervisor": ["requests.work", "requests.view_all"],
    "employee": ["requests.work"],
}


def forwards(apps, schema_editor):
    Role = apps.get_model("staff", "Role")
    for role in Role.objects.filter(is_system=True, codename__in=ADDED):
        role.permissions = sorted(set(role.permissions) | set(ADDED[role.codename]))
        role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0001_initial"), ("staff", "0002_audit_append_only")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
