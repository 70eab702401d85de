"""The action context (core.context): who acts and from where is set at the edge — the
middleware for an HTTP request, the job wrapper for a job — and read by the audit writers, so
no service takes the HttpRequest (issue 11, the action kernel)."""

import importlib
import inspect
import json
import pkgutil
import threading

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from core import context
from core.audit import agency_record
from core.jobs import agency_task, defer_in_agency
from tests.jobs import pending_jobs, run_pending_jobs

PROBE = "tests.context_probe"


@agency_task(name=PROBE, queue="default")
def context_probe(*, marker: str) -> None:
    agency_record(action=f"ctxprobe.{marker}")


def _audit_rows(schema_name: str, prefix: str):
    from tenants.staff.models import AuditEvent

    with schema_context(schema_name):
        return list(AuditEvent.objects.filter(action__startswith=prefix).order_by("id"))


def test_bound_replaces_fields_and_restores_them():
    assert context.current().request_id == ""
    with context.bound(request_id="outer-123456", ip="10.0.0.1"):
        with context.bound(request_id="inner-123456"):
            assert context.current().request_id == "inner-123456"
            assert context.current().ip == "10.0.0.1"  # inherited
        assert context.current().request_id == "outer-123456"
    assert context.current() == context.ActionContext()


def test_each_thread_has_its_own_context():
    seen = {}

    def other():
        seen["other"] = context.current().request_id

    with context.bound(request_id="main-thread-1"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen["other"] == ""


def test_audit_rows_take_address_and_request_id_from_the_context(agency_a):
    with schema_context(agency_a.schema_name):
        with context.bound(ip="192.0.2.7", request_id="req-abcdef12"):
            row = agency_record(action="ctxprobe.direct")
        plain = agency_record(action="ctxprobe.plain")
    assert (row.ip_address, row.request_id) == ("192.0.2.7", "req-abcdef12")
    assert (plain.ip_address, plain.request_id) == (None, None)


def test_a_web_action_is_audited_with_the_requests_id_and_address(client, agency_a):
    from tests.factories import make_employee, make_request

    employee = make_employee(agency_a, roles=("admin",))
    item = make_request(agency_a)
    client.force_login(employee)
    response = client.post(
        f"/a/{agency_a.slug}/requests/{item.pk}/start/", REMOTE_ADDR="198.51.100.4"
    )
    assert response.status_code == 302
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (row,) = _audit_rows(agency_a.schema_name, "request.started")
    assert row.object_id == str(item.pk)
    assert (row.request_id, row.ip_address, row.actor_id) == (
        request_id,
        "198.51.100.4",
        employee.pk,
    )


def test_a_foreign_request_id_header_is_not_trusted_by_default(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="attacker-chosen-id")
    assert response["X-Request-ID"] != "attacker-chosen-id"


def test_behind_the_trusted_proxy_its_ids_are_kept_but_marked(client, settings):
    settings.TRUST_X_FORWARDED_FOR = True
    response = client.get("/healthz", HTTP_X_REQUEST_ID="edge-0123456789")
    assert response["X-Request-ID"] == "px:edge-0123456789"
    # An id shaped like a job's or a command's is not taken.
    response = client.get("/healthz", HTTP_X_REQUEST_ID="job:forged-123456")
    assert not response["X-Request-ID"].startswith("job:")


def test_the_client_address_is_the_hop_the_proxy_appended(rf, settings):
    settings.TRUST_X_FORWARDED_FOR = True
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert context.client_ip(request) == "203.0.113.9"
    # Garbage is not an address (it would fail the audit row's INET column): REMOTE_ADDR.
    request = rf.get("/", HTTP_X_FORWARDED_FOR="not-an-ip", REMOTE_ADDR="10.0.0.2")
    assert context.client_ip(request) == "10.0.0.2"
    settings.TRUST_X_FORWARDED_FOR = False
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert context.client_ip(request) == "10.0.0.2"


def test_a_job_carries_the_id_of_the_request_that_deferred_it(agency_a):
    with schema_context(agency_a.schema_name), context.bound(request_id="web-req-0001"):
        defer_in_agency(context_probe, marker="one")
    (job,) = pending_jobs(PROBE)
    args = json.loads(job["args"]) if isinstance(job["args"], str) else job["args"]
    assert args["origin_request_id"] == "web-req-0001"
    assert run_pending_jobs(PROBE) == 1
    (row,) = _audit_rows(agency_a.schema_name, "ctxprobe.one")
    assert row.request_id == "job:web-req-0001"
    assert row.ip_address is None
    # The job's context does not leak into the caller's.
    assert context.current().request_id == ""
    assert connection.schema_name == "public"


def _service_modules():
    for package in ("accounts", "tenants", "notifications", "requests_app", "insights"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if ".services" in info.name or info.name.endswith("services"):
                yield importlib.import_module(info.name)


@pytest.mark.parametrize("module", list(_service_modules()), ids=lambda m: m.__name__)
def test_no_service_takes_the_http_request(module):
    offenders = []
    for name, func in inspect.getmembers(module, inspect.isfunction):
        if func.__module__ != module.__name__:
            continue
        params = inspect.signature(func).parameters
        for param in params.values():
            # A parameter named "request" typed as the requests app's model is that model.
            untyped = param.annotation is inspect.Parameter.empty
            if (
                "HttpRequest" in str(param.annotation)
                or param.name == "http_request"
                or (param.name == "request" and untyped)
            ):
                offenders.append(f"{name}({param.name})")
    assert offenders == []
