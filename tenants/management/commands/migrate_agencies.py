from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from tenants import dbroles
from tenants.services import system_roles_sync_agencies, template_schema_ensure


class Command(BaseCommand):
    help = (
        "Migrate the public schema, the template schema new agencies are cloned from, and every "
        "agency schema (in parallel with --executor=multiprocessing), as the owner role "
        "(DATABASE_OWNER_URL); sync every agency's system roles with the default grants the "
        "installed modules declare (adding only; audited); then grant the application role "
        "(DATABASE_APP_ROLE) its privileges on them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--executor", default="standard", choices=["standard", "multiprocessing"]
        )

    def handle(self, *args, **options):
        with dbroles.owner_connection():
            self._migrate(options)

    def _migrate(self, options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        template_schema_ensure()
        call_command(
            "migrate_schemas",
            tenant=True,
            interactive=False,
            verbosity=verbosity,
            executor=options["executor"],
        )
        connection.set_schema_to_public()
        for schema, changed in system_roles_sync_agencies().items():
            for role, added in changed.items():
                if verbosity:
                    self.stdout.write(f"{schema}: role {role} given {', '.join(added) or '-'}")
        dbroles.privileges_apply()
