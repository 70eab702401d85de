"""Reopening a closed or rejected request (statistics count it; the beneficiary is told)."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from notifications.models import Notification
from requests_app.constants import Status
from requests_app.models import Request, TimelineEvent
from requests_app.public.models import RequestIndex
from requests_app.services import request_reopen, request_resolve
from tests.factories import make_employee, make_request


@pytest.fixture
def closed(db, agency_a):
    supervisor = make_employee(agency_a, roles=("supervisor",))
    item = make_request(agency_a)
    with schema_context(agency_a.schema_name):
        request_resolve(
            agency=agency_a, request_obj=Request.objects.get(pk=item.pk), actor=supervisor
        )
    return supervisor, item


def test_reopen_returns_the_request_to_work(closed, agency_a):
    supervisor, item = closed
    with schema_context(agency_a.schema_name):
        reopened = request_reopen(
            agency=agency_a,
            request_obj=Request.objects.get(pk=item.pk),
            actor=supervisor,
            reason="لم تكتمل الخدمة",
        )
        assert reopened.status == Status.IN_PROGRESS and reopened.closed_at is None
        assert reopened.reopened_count == 1
        assert TimelineEvent.objects.filter(request=item, kind="reopened").exists()
    row = RequestIndex.objects.get(agency=agency_a, request_id=item.pk)
    assert row.status == Status.IN_PROGRESS and row.reopened_count == 1
    assert row.resolution_seconds is None
    assert Notification.objects.filter(
        recipient_id=item.beneficiary_id, event="request.reopened"
    ).exists()


def test_reopen_needs_a_reason_and_a_closed_request(closed, agency_a):
    supervisor, item = closed
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError):
            request_reopen(
                agency=agency_a,
                request_obj=Request.objects.get(pk=item.pk),
                actor=supervisor,
                reason="  ",
            )
        request_reopen(
            agency=agency_a,
            request_obj=Request.objects.get(pk=item.pk),
            actor=supervisor,
            reason="سبب",
        )
        with pytest.raises(ValidationError):  # open now
            request_reopen(
                agency=agency_a,
                request_obj=Request.objects.get(pk=item.pk),
                actor=supervisor,
                reason="سبب",
            )
        assert Request.objects.get(pk=item.pk).reopened_count == 1


def test_reopen_view_is_permission_checked(client, closed, agency_a, agency_b):
    supervisor, item = closed
    url = f"/a/{agency_a.slug}/requests/{item.pk}/reopen/"
    assert client.post(url, {"text": "x"}).status_code == 302  # to login
    assert "/accounts/login/" in client.post(url, {"text": "x"})["Location"]
    client.force_login(make_employee(agency_a))  # a colleague who cannot see the request
    assert client.post(url, {"text": "x"}).status_code == 404
    viewer = make_employee(agency_a, roles=("employee",))
    from tenants.staff.models import Membership

    with schema_context(agency_a.schema_name):  # sees every request, may not reopen
        member = Membership.objects.get(user_id=viewer.pk)
        member.granted_permissions = ["requests.view_all"]
        member.save()
    client.force_login(viewer)
    assert client.post(url, {"text": "x"}).status_code == 403
    client.force_login(make_employee(agency_b, roles=("admin",)))
    assert client.post(url, {"text": "x"}).status_code == 403
    client.force_login(item.beneficiary)
    assert client.post(url, {"text": "x"}).status_code == 403
    with schema_context(agency_a.schema_name):
        assert Request.objects.get(pk=item.pk).status == Status.CLOSED
    client.force_login(supervisor)
    page = client.get(f"/a/{agency_a.slug}/requests/{item.pk}/")
    assert "reopen-text" in page.content.decode()
    client.post(url, {"text": ""})  # no reason: refused with a message, nothing changes
    with schema_context(agency_a.schema_name):
        assert Request.objects.get(pk=item.pk).status == Status.CLOSED
    client.post(url, {"text": "إعادة الدراسة"})
    with schema_context(agency_a.schema_name):
        assert Request.objects.get(pk=item.pk).status == Status.IN_PROGRESS
