"""Jobs that belong to an agency (core.jobs): deferred from the agency's schema, they carry it
and run inside it, whatever schema the process running them is on.

The probe task is declared here, so it is registered in procrastinate's task registry when this
module is imported; tests.jobs.run_pending_jobs looks tasks up there and runs them in the test's
transaction (a separate worker process would not import a test module).
"""

import json

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from procrastinate.contrib.django import app

from core.audit import agency_record
from core.jobs import agency_task, defer_in_agency
from tests.jobs import pending_jobs, run_pending_jobs

PROBE = "tests.agency_probe"
seen: list[dict] = []


@agency_task(name=PROBE, queue="default")
def agency_probe(*, marker: str) -> None:
    seen.append({"schema": connection.schema_name, "marker": marker})
    agency_record(action=f"probe.{marker}")


def audit_actions(schema_name: str) -> list[str]:
    from tenants.staff.models import AuditEvent

    with schema_context(schema_name):
        return list(
            AuditEvent.objects.filter(action__startswith="probe.")
            .order_by("id")
            .values_list("action", flat=True)
        )


@pytest.fixture(autouse=True)
def _fresh_probe_log():
    seen.clear()
    yield
    seen.clear()


def test_probe_task_is_in_procrastinates_registry():
    assert app.tasks[PROBE].name == PROBE


def test_agency_job_carries_the_schema_and_runs_inside_it(agency_a, agency_b):
    with schema_context(agency_a.schema_name):
        job_id = defer_in_agency(agency_probe, marker="alpha-1")

    # Deferred in the caller's transaction with the schema among its arguments.
    (job,) = pending_jobs(PROBE)
    assert job["id"] == job_id
    args = json.loads(job["args"]) if isinstance(job["args"], str) else job["args"]
    assert args == {"schema_name": agency_a.schema_name, "marker": "alpha-1"}

    # Whoever runs it starts on the public schema (as a worker does)...
    connection.set_schema_to_public()
    assert run_pending_jobs(PROBE) == 1

    # ...and the task ran inside alpha's schema: its audit event is in alpha's trail only.
    assert seen == [{"schema": agency_a.schema_name, "marker": "alpha-1"}]
    assert audit_actions(agency_a.schema_name) == ["probe.alpha-1"]
    assert audit_actions(agency_b.schema_name) == []
    # and the previous schema is back afterwards
    assert connection.schema_name == "public"
    assert pending_jobs(PROBE) == []


def test_jobs_of_two_agencies_each_run_in_their_own_schema(agency_a, agency_b):
    for agency in (agency_a, agency_b, agency_a):
        with schema_context(agency.schema_name):
            defer_in_agency(agency_probe, marker=agency.slug)
    # run from inside beta's schema: the job's own schema wins, not the runner's
    with schema_context(agency_b.schema_name):
        assert run_pending_jobs(PROBE) == 3
        assert connection.schema_name == agency_b.schema_name
    assert [entry["schema"] for entry in seen] == [
        agency_a.schema_name,
        agency_b.schema_name,
        agency_a.schema_name,
    ]
    assert audit_actions(agency_a.schema_name) == ["probe.alpha", "probe.alpha"]
    assert audit_actions(agency_b.schema_name) == ["probe.beta"]


def test_defer_in_agency_refuses_the_public_schema(db):
    connection.set_schema_to_public()
    with pytest.raises(RuntimeError, match="agency schema"):
        defer_in_agency(agency_probe, marker="public")
    assert pending_jobs(PROBE) == []
    assert seen == []
