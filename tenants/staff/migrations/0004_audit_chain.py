"""The hash chain over an agency's audit log (tenants.audit_chain): columns, backfill in id
order, trigger. Runs as the owner role (migrate_agencies) in each agency schema and in the
template new agencies are cloned from (the clone copies the columns, constraint and trigger)."""

from django.db import migrations

from tenants.audit_base import ChainHashField, ChainPositionField
from tenants.audit_chain import FUNCTIONS_ENSURE_SQL, chain_install_sql, chain_uninstall_sql

TABLE = "agency_audit_event"


class Migration(migrations.Migration):
    dependencies = [("staff", "0003_invitation")]

    operations = [
        migrations.RunSQL(FUNCTIONS_ENSURE_SQL, migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(chain_install_sql(TABLE), chain_uninstall_sql(TABLE))
            ],
            state_operations=[
                migrations.AddField(
                    model_name="auditevent",
                    name="chain_seq",
                    field=ChainPositionField(
                        editable=False, unique=True, verbose_name="chain position"
                    ),
                    preserve_default=False,
                ),
                migrations.AddField(
                    model_name="auditevent",
                    name="prev_hash",
                    field=ChainHashField(
                        editable=False, max_length=64, verbose_name="previous hash"
                    ),
                    preserve_default=False,
                ),
                migrations.AddField(
                    model_name="auditevent",
                    name="row_hash",
                    field=ChainHashField(editable=False, max_length=64, verbose_name="hash"),
                    preserve_default=False,
                ),
            ],
        ),
    ]
