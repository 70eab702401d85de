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
