"""The employees' calendar left the requests app for its own app, appointments (issue 11): every
appointment is copied, with its id, into appointments_appointment, and the old table is dropped.

The foreign key to a request becomes the appointments's module-neutral link: source
"requests.request", source_id the request's id, source_label its reference and link the
workspace page of the request, /a/<slug>/requests/<id>/ (the slug, which never changes, read
from the public agency table by this schema's name; the template schema has no agency and no
appointments). Ids are kept, and the sequence moved past them, so the reminder jobs already
queued (task "requests.appointment_remind", args schema_name and appointment_id) find their
appointment; each copied appointment remembers its waiting job, so that an edit can cancel it.

Backwards, every entry goes back to the old table (the link to a request where it names one
that exists; links to other modules' objects are lost)."""

from django.conf import settings
from django.db import migrations

SOURCE = "requests.request"


def _public(schema_editor, table: str) -> str:
    quote = schema_editor.connection.ops.quote_name
    return f"{quote(settings.PUBLIC_SCHEMA_NAME)}.{quote(table)}"


def _sequence_past_ids(cursor, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 1), "
        f"max(id) IS NOT NULL) FROM {table}"
    )


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM requests_app_appointment")
        if cursor.fetchone()[0] == 0:
            return
        cursor.execute(
            f"SELECT slug FROM {_public(schema_editor, 'tenants_agency')} WHERE schema_name = %s",
            [connection.schema_name],
        )
        row = cursor.fetchone()
        prefix = f"/a/{row[0]}/requests/" if row else ""
        cursor.execute(
            """
            INSERT INTO appointments_appointment (
                id, membership_id, title, starts_at, ends_at, remind_minutes_before,
                reminded_at, notes, source, source_id, source_label, link
            )
            SELECT a.id, a.membership_id, a.title, a.starts_at, a.ends_at,
                   a.remind_minutes_before, a.reminded_at, a.notes,
                   CASE WHEN r.id IS NULL THEN '' ELSE %(source)s END,
                   r.id,
                   coalesce(r.reference, ''),
                   CASE WHEN r.id IS NULL OR %(prefix)s = '' THEN ''
                        ELSE %(prefix)s || r.id::text || '/' END
            FROM requests_app_appointment a
            LEFT JOIN requests_app_request r ON r.id = a.request_id
            ORDER BY a.id
            """,
            {"source": SOURCE, "prefix": prefix},
        )
        _sequence_past_ids(cursor, "appointments_appointment")
        cursor.execute(
            "SELECT to_regclass(%s)", [f"{settings.PUBLIC_SCHEMA_NAME}.procrastinate_jobs"]
        )
        if cursor.fetchone()[0] is not None:
            cursor.execute(
                f"""
                UPDATE appointments_appointment a SET reminder_job_id = j.id
                FROM {_public(schema_editor, "procrastinate_jobs")} j
                WHERE j.task_name = 'requests.appointment_remind' AND j.status = 'todo'
                  AND j.args ->> 'schema_name' = %s
                  AND j.args ->> 'appointment_id' = a.id::text
                """,
                [connection.schema_name],
            )


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO requests_app_appointment (
                id, membership_id, title, starts_at, ends_at, remind_minutes_before,
                reminded_at, notes, request_id
            )
            SELECT a.id, a.membership_id, a.title, a.starts_at, a.ends_at,
                   a.remind_minutes_before, a.reminded_at, a.notes, r.id
            FROM appointments_appointment a
            LEFT JOIN requests_app_request r ON a.source = %s AND r.id = a.source_id
            ORDER BY a.id
            """,
            [SOURCE],
        )
        _sequence_past_ids(cursor, "requests_app_appointment")
        cursor.execute("DELETE FROM appointments_appointment")


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0007_reference_numbering"),
        ("appointments", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="Appointment"),
    ]
