import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenants.audit_chain import chain_verify

PLATFORM_TABLE = "platform_audit_event"
AGENCY_TABLE = "agency_audit_event"


class Command(BaseCommand):
    help = (
        "Verify the hash chain of the audit logs (the platform's in public, each agency's in its "
        "schema): report the first broken link of each (a changed row, rows deleted, rows "
        "reordered) with its table and id, and each chain's head (position and row_hash, to "
        "record outside the database). Read-only; runs as the application role. Exit status 1 "
        "when a chain is broken. Without an option: --all."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--schema",
            help="one schema: 'public' (the platform's log) or an agency schema (agency_…)",
        )
        which.add_argument(
            "--all", action="store_true", help="public and every agency schema (the default)"
        )

    def handle(self, *args, **options):
        connection.set_schema_to_public()
        tables = self._tables(options["schema"])
        started = time.perf_counter()
        checked = 0
        broken = []
        for schema, table in tables:
            table_started = time.perf_counter()
            report = chain_verify(schema, table)
            seconds = time.perf_counter() - table_started
            checked += report.checked
            if report.broken is None:
                self.stdout.write(
                    f"ok      {report.table}: {report.checked} rows, head #{report.head_seq} "
                    f"{report.head_hash or '-'} ({seconds:.2f}s)"
                )
                continue
            broken.append(report)
            self.stdout.write(
                f"BROKEN  {report.table} at id {report.broken.id} (chain position "
                f"{report.broken.chain_seq}): {report.broken.kind}: {report.broken.detail} "
                f"({report.checked} rows walked, {seconds:.2f}s)"
            )
        total = time.perf_counter() - started
        self.stdout.write(
            f"checked {checked} rows in {len(tables)} tables in {total:.2f}s: "
            + (f"{len(broken)} broken" if broken else "all chains intact")
        )
        if broken:
            first = broken[0]
            raise CommandError(
                f"audit chain broken in {', '.join(r.table for r in broken)} (first: "
                f"{first.table} id {first.broken.id}, {first.broken.kind})"
            )

    def _tables(self, schema: str | None) -> list[tuple[str, str]]:
        public = settings.PUBLIC_SCHEMA_NAME
        if schema == public:
            return [(public, PLATFORM_TABLE)]
        # Every agency audit table this role may read (the template is unreadable to the app
        # role; the owner verifies it too).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = %s AND c.relkind IN ('r', 'p') "
                "AND has_schema_privilege(n.oid, 'USAGE') "
                "AND has_table_privilege(c.oid, 'SELECT') ORDER BY n.nspname",
                [AGENCY_TABLE],
            )
            agencies = [name for (name,) in cursor.fetchall()]
        if schema is not None:
            if schema not in agencies:
                raise CommandError(f"no readable audit log in schema {schema!r}")
            return [(schema, AGENCY_TABLE)]
        return [(public, PLATFORM_TABLE)] + [(name, AGENCY_TABLE) for name in agencies]
