"""The action kernel's pieces (core.actions, core.transitions): durable use cases and the
transition helper, shown on the request's state machine (requests_app.services.actions)."""

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django_tenants.utils import schema_context

from core.actions import require, use_case
from core.transitions import StateMachine, transition_apply
from requests_app.constants import Status
from requests_app.models import Request, TimelineEvent
from requests_app.services import request_resolve, request_start
from requests_app.services.actions import REQUESTS, RESOLVE, START
from tenants.staff.models import AuditEvent


@use_case
def _probe(value):
    return value


def test_a_use_case_runs_in_its_own_transaction(db):
    assert _probe(3) == 3


def test_composing_two_use_cases_in_one_transaction_fails_loudly(team):
    """A view that wraps two use cases in one atomic block (staff_edit did) is refused at
    once, before anything is written."""
    agency = team["agency"]
    with schema_context(agency.schema_name):
        audit_before = AuditEvent.objects.count()
        with pytest.raises(RuntimeError), transaction.atomic():
            request_start(agency=agency, request_obj=team["item"], actor=team["assignee"])
        assert Request.objects.get(pk=team["item"].pk).status == Status.NEW
        assert AuditEvent.objects.count() == audit_before


def test_within_runs_in_the_callers_transaction(team):
    agency = team["agency"]
    with schema_context(agency.schema_name):
        with transaction.atomic():
            request_start.within(agency=agency, request_obj=team["item"], actor=team["assignee"])
            request_resolve.within(
                agency=agency, request_obj=team["item"], actor=team["assignee"], note="تم"
            )
        assert Request.objects.get(pk=team["item"].pk).status == Status.CLOSED


def test_within_outside_a_transaction_is_refused():
    # No database fixture: the test runs outside any transaction (and may not query).
    with pytest.raises(RuntimeError):
        _probe.within(1)


def test_require():
    require(True)
    with pytest.raises(PermissionDenied):
        require(False)


def test_a_transition_must_write_a_declared_timeline_kind():
    machine = StateMachine(
        queryset=Request.objects.all,
        field="status",
        audit_prefix="probe",
        timeline_kinds=TimelineEvent.KINDS,
    )
    with pytest.raises(ImproperlyConfigured):
        machine.declare(
            "exploded", to="x", allowed_from=("new",), timeline_kind="exploded", refused="no"
        )
    machine.declare("ok", to="x", allowed_from=("new",), timeline_kind="started", refused="no")
    with pytest.raises(ImproperlyConfigured):
        machine.declare("ok", to="y", allowed_from=("x",), timeline_kind="started", refused="no")


def test_the_request_machine_declares_each_action_once():
    assert set(REQUESTS.transitions) == {
        "started",
        "info_requested",
        "resolved",
        "rejected",
        "reopened",
    }
    assert Status.CLOSED not in RESOLVE.allowed_from
    assert RESOLVE.audit_action == "request.resolved"


def test_a_transition_from_a_state_not_allowed_changes_nothing(team):
    agency = team["agency"]
    with schema_context(agency.schema_name):
        request_resolve(agency=agency, request_obj=team["item"], actor=team["assignee"])
        counts = (TimelineEvent.objects.count(), AuditEvent.objects.count())
        with pytest.raises(ValidationError):
            request_start(agency=agency, request_obj=team["item"], actor=team["assignee"])
        assert Request.objects.get(pk=team["item"].pk).status == Status.CLOSED
        assert (TimelineEvent.objects.count(), AuditEvent.objects.count()) == counts


def test_the_policy_is_asked_on_the_locked_row_and_refusal_writes_nothing(team):
    agency = team["agency"]
    calls = []

    def policy(actor, obj):
        calls.append(obj.pk)
        return False

    with schema_context(agency.schema_name):
        counts = (TimelineEvent.objects.count(), AuditEvent.objects.count())
        with pytest.raises(PermissionDenied), transaction.atomic():
            transition_apply(START, pk=team["item"].pk, actor=team["assignee"], policy=policy)
        assert calls == [team["item"].pk]
        assert Request.objects.get(pk=team["item"].pk).status == Status.NEW
        assert (TimelineEvent.objects.count(), AuditEvent.objects.count()) == counts
