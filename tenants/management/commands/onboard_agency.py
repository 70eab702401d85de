from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.services import agency_onboard


class Command(BaseCommand):
    help = "Create an agency: tenant row, schema (cloned from the template), roles, first admin."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name-ar", required=True)
        parser.add_argument("--name-en", required=True)
        parser.add_argument("--code", default="")
        parser.add_argument("--admin-email", required=True)

    def handle(self, *args, **options):
        try:
            agency = agency_onboard(
                slug=options["slug"],
                name_ar=options["name_ar"],
                name_en=options["name_en"],
                code=options["code"],
                admin_email=options["admin_email"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Created agency {agency.slug} (schema {agency.schema_name}) at /a/{agency.slug}/"
        )
