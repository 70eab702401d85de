"""Periodic SLA sweep: one job per active agency, each run inside the agency's schema."""

from procrastinate.contrib.django import app

from core.jobs import agency_task


@agency_task(name="requests.sla_sweep", queue="sla")
def sla_sweep_agency() -> None:
    from django.db import connection

    from requests_app.services.sla import sla_sweep
    from tenants.models import Agency

    sla_sweep(agency=Agency.objects.get(schema_name=connection.schema_name))


@app.periodic(cron="*/5 * * * *", periodic_id="sla-dispatch")
@app.task(name="requests.sla_dispatch", queueing_lock="sla_dispatch")
def sla_dispatch(timestamp: int) -> None:
    """Every five minutes: queue one sweep per active agency (not per page view). An agency
    whose previous sweep is still waiting is skipped, not allowed to stop the others."""
    from django.db import transaction
    from procrastinate.exceptions import AlreadyEnqueued

    from tenants.models import Agency

    for schema_name in Agency.objects.filter(is_active=True).values_list("schema_name", flat=True):
        try:
            with transaction.atomic():  # a savepoint: the refused insert must not poison the rest
                sla_sweep_agency.configure(queueing_lock=f"sla:{schema_name}").defer(
                    schema_name=schema_name
                )
        except AlreadyEnqueued:
            continue


@app.periodic(cron="23 * * * *", periodic_id="pending-uploads-clean")
@app.task(name="requests.pending_uploads_clean", queueing_lock="pending_uploads_clean")
def pending_uploads_clean(timestamp: int) -> int:
    """Every hour: delete the files people chose on a form and never sent, once older than
    services.uploads.PENDING_UPLOAD_TTL, in every agency (switched off ones too: their files
    are no less to be freed). Returns how many."""
    from django.conf import settings
    from django_tenants.utils import schema_context

    from requests_app.services.uploads import pending_uploads_clean as clean
    from tenants.models import Agency

    removed = 0
    agencies = Agency.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    for schema_name in agencies.values_list("schema_name", flat=True):
        with schema_context(schema_name):
            removed += clean()
    return removed
