from django.db import migrations

from tenants.audit_base import IMMUTABLE_FUNCTION_SQL, immutable_trigger_sql


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(IMMUTABLE_FUNCTION_SQL, migrations.RunSQL.noop),
        migrations.RunSQL(
            immutable_trigger_sql("platform_audit_event"),
            "DROP TRIGGER platform_audit_event_no_update ON platform_audit_event;"
            "DROP TRIGGER platform_audit_event_no_truncate ON platform_audit_event;",
        ),
    ]
