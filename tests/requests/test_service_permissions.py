"""Every request action checks its actor in the service itself (issue 11, the action kernel): a
caller that skips the view — a job, a command, a future API — is refused the same way. For each
action: another agency's employee, an employee of the same agency who may not open the request,
the request's own beneficiary (for staff actions) and an anonymous visitor get PermissionDenied,
and nothing changes; the assignee (or a holder of the permission) is the positive control."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_tenants.utils import schema_context

from requests_app.constants import Status, Visibility
from requests_app.models import Comment, Request, TimelineEvent
from requests_app.services import (
    comment_add,
    request_ask_information,
    request_reject,
    request_reopen,
    request_resolve,
    request_start,
)
from requests_app.services.approvals import request_postpone, request_reassign
from tenants.staff.models import AuditEvent, Membership
from tests.factories import make_employee


def _snapshot(item: Request) -> tuple:
    fresh = Request.objects.get(pk=item.pk)
    return (
        fresh.status,
        fresh.assignee_id,
        fresh.postponed_until,
        TimelineEvent.objects.filter(request=item).count(),
        Comment.objects.filter(request=item).count(),
        AuditEvent.objects.count(),
    )


def _actions(team):
    agency = team["agency"]
    with schema_context(agency.schema_name):
        colleague_membership = Membership.objects.get(user_id=team["admin"].pk)
    later = timezone.now() + timedelta(days=3)
    return {
        "start": lambda actor, item: request_start(agency=agency, request_obj=item, actor=actor),
        "ask": lambda actor, item: request_ask_information(
            agency=agency, request_obj=item, actor=actor, question="صورة الهوية"
        ),
        "resolve": lambda actor, item: request_resolve(
            agency=agency, request_obj=item, actor=actor, note="تم"
        ),
        "reject": lambda actor, item: request_reject(
            agency=agency, request_obj=item, actor=actor, reason="غير مكتمل"
        ),
        "internal comment": lambda actor, item: comment_add(
            agency=agency,
            request_obj=item,
            author=actor,
            body="ملاحظة داخلية",
            visibility=Visibility.INTERNAL,
        ),
        "reassign": lambda actor, item: request_reassign(
            agency=agency,
            request_obj=item,
            actor=actor,
            new_assignee=colleague_membership,
            reason="إعادة توزيع",
        ),
        "postpone": lambda actor, item: request_postpone(
            agency=agency, request_obj=item, actor=actor, until=later, reason="انتظار"
        ),
    }


def _outsiders(team, agency_b) -> dict:
    return {
        "another agency's admin": make_employee(agency_b, roles=("admin",)),
        "an employee who may not open it": make_employee(team["agency"]),
        "its beneficiary": team["beneficiary"],
        "an anonymous visitor": AnonymousUser(),
    }


ACTIONS = ["start", "ask", "resolve", "reject", "internal comment", "reassign", "postpone"]


@pytest.mark.parametrize("action", ACTIONS)
def test_staff_actions_refuse_whoever_may_not_open_the_request(team, agency_b, action):
    outsiders = _outsiders(team, agency_b)
    run = _actions(team)[action]
    with schema_context(team["agency"].schema_name):
        item = Request.objects.get(pk=team["item"].pk)
        before = _snapshot(item)
        for who, actor in outsiders.items():
            with pytest.raises(PermissionDenied):
                run(actor, item)
            assert _snapshot(item) == before, who
        # The positive control: the assignee may.
        run(team["assignee"], item)
        assert _snapshot(item) != before


def test_reopen_needs_the_permission_and_the_request_in_sight(team, agency_b):
    agency = team["agency"]
    refused = {
        **_outsiders(team, agency_b),
        "the assignee (no reopen permission)": team["assignee"],
    }
    with schema_context(agency.schema_name):
        item = request_resolve(
            agency=agency, request_obj=team["item"], actor=team["assignee"], note=""
        )
        before = _snapshot(item)
        for who, actor in refused.items():
            with pytest.raises(PermissionDenied):
                request_reopen(agency=agency, request_obj=item, actor=actor, reason="خطأ")
            assert _snapshot(item) == before, who
        request_reopen(agency=agency, request_obj=item, actor=team["admin"], reason="خطأ")
        assert Request.objects.get(pk=item.pk).status == Status.IN_PROGRESS


def test_a_beneficiary_comments_only_on_their_own_request(team, agency_b):
    from tests.factories import make_beneficiary

    agency = team["agency"]
    stranger = make_beneficiary()
    with schema_context(agency.schema_name):
        item = Request.objects.get(pk=team["item"].pk)
        before = _snapshot(item)
        with pytest.raises(PermissionDenied):
            comment_add(
                agency=agency,
                request_obj=item,
                author=stranger,
                body="ليس طلبي",
                visibility=Visibility.EXTERNAL,
            )
        assert _snapshot(item) == before
        comment_add(
            agency=agency,
            request_obj=item,
            author=team["beneficiary"],
            body="المرفق المطلوب",
            visibility=Visibility.EXTERNAL,
        )
        assert _snapshot(item) != before
