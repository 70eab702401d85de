"""System roles of existing agencies get the supervision permissions (new agencies get them at
onboarding): supervisors now see their department's requests rather than the whole agency's."""

from django.db import migrations

ADDED = {
    "admin": [
        "requests.supervise",
        "requests.reassign",
        "requests.postpone",
        "requests.manage_sla",
    ],
    "supervisor": ["requests.supervise", "requests.reassign", "requests.postpone"],
}
REMOVED = {"supervisor": ["requests.view_all"]}


def forwards(apps, schema_editor):
    Role = apps.get_model("staff", "Role")
    for role in Role.objects.filter(is_system=True, codename__in=ADDED):
        codes = set(role.permissions) | set(ADDED[role.codename])
        codes -= set(REMOVED.get(role.codename, []))
        role.permissions = sorted(codes)
        role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0003_agencycalendar_holiday_request_escalated_at_and_more")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
