"""Requests' references move to core.numbering: each agency's counters (one row a year) are
copied into its numbering_counter under the key "requests_reference", then their table goes.
Runs in every agency schema (and is skipped in public, where requests_app has no tables)."""

from django.db import migrations

# requests_app.constants.REFERENCE_NUMBERING, frozen here.
KEY = "requests_reference"


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0006_request_reopened_count"),
        ("numbering", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                (
                    'INSERT INTO numbering_counter AS counter ("key", "year", "last") '
                    "SELECT %s, year, last FROM requests_app_referencecounter "
                    'ON CONFLICT ("key", "year") DO UPDATE '
                    'SET "last" = greatest(counter."last", excluded."last")',
                    [KEY],
                )
            ],
            reverse_sql=[
                (
                    "INSERT INTO requests_app_referencecounter AS counter (year, last) "
                    'SELECT "year", "last" FROM numbering_counter '
                    'WHERE "key" = %s AND "year" > 0 '
                    "ON CONFLICT (year) DO UPDATE SET last = greatest(counter.last, excluded.last)",
                    [KEY],
                )
            ],
        ),
        migrations.DeleteModel(name="ReferenceCounter"),
    ]
