from django.db import migrations

from tenants.audit_base import IMMUTABLE_FUNCTION_SQL, immutable_trigger_sql


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial")]

    operations = [
        migrations.RunSQL(IMMUTABLE_FUNCTION_SQL, migrations.RunSQL.noop),
        migrations.RunSQL(
            immutable_trigger_sql("agency_audit_event"),
            "DROP TRIGGER agency_audit_event_no_update ON agency_audit_event;"
            "DROP TRIGGER agency_audit_event_no_truncate ON agency_audit_event;",
        ),
    ]
