"""Recompute the statistics rollups from the request index (after a restore, or to check)."""

import time

from django.core.management.base import BaseCommand

from insights.rollups import rollup_rebuild


class Command(BaseCommand):
    help = "Rebuild the daily statistics rollups from the public request index."

    def handle(self, *args, **options):
        started = time.perf_counter()
        counts = rollup_rebuild()
        self.stdout.write(
            f"rollups rebuilt: {counts['detail_rows']} detail rows, "
            f"{counts['agency_rows']} agency-day rows, {counts['platform_rows']} platform-day rows "
            f"in {time.perf_counter() - started:.2f} s"
        )
