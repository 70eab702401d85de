"""The admin role of existing agencies gets the meetings permissions (new agencies get them at
onboarding from meetings.module's default grants)."""

from django.db import migrations

ADDED = {
    "admin": ["meetings.manage", "meetings.view_all", "meetings.decisions"],
}


def forwards(apps, schema_editor):
    Role = apps.get_model("staff", "Role")
    for role in Role.objects.filter(is_system=True, codename__in=ADDED):
        role.permissions = sorted(set(role.permissions) | set(ADDED[role.codename]))
        role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("meetings", "0001_initial"), ("staff", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
