from django.db import migrations, models


class Migration(migrations.Migration):
    """Notifications store their context and are rendered by a job (issue 11, part 5). Rows
    written before were rendered when they were created."""

    dependencies = [("notifications", "0002_sealed_outbox")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="channels",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="notification",
            name="context",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="notification",
            name="rendered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            "UPDATE notifications_notification SET rendered_at = created_at",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
