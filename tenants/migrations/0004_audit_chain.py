"""The hash chain over the platform audit log (tenants.audit_chain): columns, backfill in id
order, trigger. Runs as the owner role (migrate_agencies)."""

from django.db import migrations

from tenants.audit_base import ChainHashField, ChainPositionField
from tenants.audit_chain import FUNCTIONS_SQL, chain_install_sql, chain_uninstall_sql

TABLE = "platform_audit_event"


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_agency_requires_two_factor")]

    operations = [
        migrations.RunSQL(FUNCTIONS_SQL, migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(chain_install_sql(TABLE), chain_uninstall_sql(TABLE))
            ],
            state_operations=[
                migrations.AddField(
                    model_name="platformauditevent",
                    name="chain_seq",
                    field=ChainPositionField(
                        editable=False, unique=True, verbose_name="chain position"
                    ),
                    preserve_default=False,
                ),
                migrations.AddField(
                    model_name="platformauditevent",
                    name="prev_hash",
                    field=ChainHashField(
                        editable=False, max_length=64, verbose_name="previous hash"
                    ),
                    preserve_default=False,
                ),
                migrations.AddField(
                    model_name="platformauditevent",
                    name="row_hash",
                    field=ChainHashField(editable=False, max_length=64, verbose_name="hash"),
                    preserve_default=False,
                ),
            ],
        ),
    ]
