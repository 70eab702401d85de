"""Reassignment and postponement (R-13): with the permission the change is direct; without
it the employee's ask waits for a supervisor of the request's department, who approves (the
change is applied) or refuses (nothing changes). Notifications go both ways; the timeline and
the audit log record every step."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from frontend.human import FSI, PDI, date_text, hijri_date, isolate
from notifications.models import Notification
from requests_app.constants import Status, Visibility
from requests_app.models import (
    ApprovalRequest,
    Assignment,
    Request,
    StatusPause,
    TimelineEvent,
)
from requests_app.public.models import RequestIndex
from requests_app.services import comment_add
from requests_app.services.approvals import (
    approval_decide,
    pending_approvals,
    request_postpone,
    request_reassign,
    supervisors_for,
)
from requests_app.services.index import index_sync
from tenants.services import department_save, employee_set_permissions
from tenants.staff.models import AuditEvent, Membership
from tests.factories import make_beneficiary, make_employee, make_request, make_type
from tests.jobs import run_pending_jobs

REASON = "سبب-داخلي-للتأجيل-5521"


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


def _member(agency, user) -> Membership:
    with schema_context(agency.schema_name):
        return Membership.objects.select_related("user").get(user_id=user.pk)


class Org:
    """Agency A: department D1 with the assignee ``worker``, a colleague ``other`` and the
    supervisor ``supervisor``; department D2 with its own supervisor ``outsider``; an admin.
    One request of ``beneficiary`` in D1, assigned to ``worker``."""

    def __init__(self, agency):
        self.agency = agency
        self.admin = make_employee(agency, roles=("admin",))
        self.worker = make_employee(agency)
        self.other = make_employee(agency)
        self.supervisor = make_employee(agency, roles=("supervisor",))
        self.outsider = make_employee(agency, roles=("supervisor",))
        with schema_context(agency.schema_name):
            self.d1 = department_save(actor=self.admin, name_ar="قسم١", name_en="D1")
            self.d2 = department_save(actor=self.admin, name_ar="قسم٢", name_en="D2")
            Membership.objects.filter(
                user_id__in=[self.worker.pk, self.other.pk, self.supervisor.pk]
            ).update(department=self.d1)
            Membership.objects.filter(user_id=self.outsider.pk).update(department=self.d2)
        self.type = make_type(agency, actor=self.admin, department=self.d1)
        self.beneficiary = make_beneficiary()
        self.item = make_request(agency, beneficiary=self.beneficiary, request_type=self.type)
        self.assign(self.worker)
        run_pending_jobs()  # invitations and the receipt: out of the way
        mail.outbox.clear()

    def m(self, user) -> Membership:
        return _member(self.agency, user)

    def assign(self, user) -> None:
        with schema_context(self.agency.schema_name):
            Request.objects.filter(pk=self.item.pk).update(assignee=self.m(user))
            index_sync(agency=self.agency, request=self.fresh())

    def fresh(self) -> Request:
        with schema_context(self.agency.schema_name):
            return Request.objects.select_related("assignee__user", "transaction_type").get(
                pk=self.item.pk
            )

    def snapshot(self) -> dict:
        """What an ask, a refusal or a refused action must leave as it was."""
        with schema_context(self.agency.schema_name):
            item = Request.objects.get(pk=self.item.pk)
            data = {
                "assignee": item.assignee_id,
                "status": item.status,
                "postponed_until": item.postponed_until,
                "updated_at": item.updated_at,
                "assignments": Assignment.objects.filter(request=item).count(),
                "pauses": StatusPause.objects.filter(request=item).count(),
                "external_steps": list(
                    TimelineEvent.objects.filter(
                        request=item, visibility=Visibility.EXTERNAL
                    ).values_list("kind", flat=True)
                ),
            }
        row = RequestIndex.objects.get(agency=self.agency, request_id=self.item.pk)
        data["index"] = (row.status, row.assignee_user_id, row.updated_at)
        data["beneficiary_notes"] = Notification.objects.filter(recipient=self.beneficiary).count()
        return data

    def kinds(self) -> list[tuple[str, str]]:
        with schema_context(self.agency.schema_name):
            return list(
                TimelineEvent.objects.filter(request_id=self.item.pk)
                .order_by("id")
                .values_list("kind", "visibility")
            )

    def audit(self) -> list[str]:
        with schema_context(self.agency.schema_name):
            return list(
                AuditEvent.objects.filter(
                    object_type="requests_app.request", object_id=str(self.item.pk)
                )
                .order_by("id")
                .values_list("action", flat=True)
            )

    def reassign(self, actor, to, reason="الموظف في إجازة"):
        with schema_context(self.agency.schema_name):
            return request_reassign(
                agency=self.agency,
                request_obj=self.item,
                actor=actor,
                new_assignee=self.m(to),
                reason=reason,
            )

    def postpone(self, actor, until=None, reason=REASON):
        until = until if until is not None else timezone.now() + timedelta(days=3)
        with schema_context(self.agency.schema_name):
            return request_postpone(
                agency=self.agency, request_obj=self.item, actor=actor, until=until, reason=reason
            )

    def decide(self, approval, actor, approve, note=""):
        with schema_context(self.agency.schema_name):
            return approval_decide(
                agency=self.agency, approval=approval, actor=actor, approve=approve, note=note
            )


@pytest.fixture
def org(agency_a) -> Org:
    return Org(agency_a)


def notes(user, event) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, event=event).order_by("id"))


# --- asking without the permission ----------------------------------------------------------


def test_employee_reassign_ask_waits_for_a_supervisor_and_changes_nothing(org):
    before = org.snapshot()
    approval = org.reassign(org.worker, org.other, reason="  ضغط عمل  ")
    assert isinstance(approval, ApprovalRequest)
    assert approval.kind == ApprovalRequest.REASSIGN and approval.status == ApprovalRequest.PENDING
    assert approval.requested_by_id == org.worker.pk
    assert approval.new_assignee_id == org.m(org.other).pk and approval.reason == "ضغط عمل"
    assert org.snapshot() == before  # assignee, status, index row: untouched
    assert org.kinds()[-1] == ("approval_requested", Visibility.INTERNAL)
    assert org.audit()[-1] == "request.reassign.asked"
    assert not notes(org.other, "request.assigned")

    # the supervisors of D1 (and the agency admin) are asked; D2's supervisor is not
    (asked,) = notes(org.supervisor, "request.approval_requested")
    assert asked.agency_id == org.agency.pk
    assert asked.link == f"/a/{org.agency.slug}/requests/{org.item.pk}/"
    assert notes(org.admin, "request.approval_requested")
    assert not notes(org.outsider, "request.approval_requested")
    assert not notes(org.worker, "request.approval_requested")

    with schema_context(org.agency.schema_name):
        waiting = pending_approvals(membership=org.m(org.supervisor), user=org.supervisor)
        assert [a.pk for a in waiting] == [approval.pk]
        assert not pending_approvals(membership=org.m(org.outsider), user=org.outsider).exists()
        # the requester does not see their own ask as something to decide
        assert not pending_approvals(membership=org.m(org.worker), user=org.worker).exists()

    # a second ask of the same kind while the first waits is refused
    with pytest.raises(ValidationError):
        org.reassign(org.worker, org.other, reason="مرة أخرى")
    with schema_context(org.agency.schema_name):
        assert ApprovalRequest.objects.filter(request_id=org.item.pk).count() == 1


def test_employee_postpone_ask_waits_and_changes_nothing(org):
    before = org.snapshot()
    until = timezone.now() + timedelta(days=5)
    approval = org.postpone(org.worker, until=until)
    assert isinstance(approval, ApprovalRequest)
    assert approval.kind == ApprovalRequest.POSTPONE and approval.postpone_until == until
    assert org.snapshot() == before  # not postponed, no pause, beneficiary not told
    assert notes(org.supervisor, "request.approval_requested")
    assert not notes(org.beneficiary, "request.postponed")
    with pytest.raises(ValidationError):
        org.postpone(org.worker)
    # a reassignment ask is another kind: it may wait alongside
    assert isinstance(org.reassign(org.worker, org.other), ApprovalRequest)


def test_refused_approval_changes_nothing_and_tells_the_requester(org):
    approval = org.reassign(org.worker, org.other)
    before = org.snapshot()
    decided = org.decide(approval, org.supervisor, approve=False, note=" لا يوجد بديل ")
    assert decided.status == ApprovalRequest.REFUSED
    assert decided.decided_by_id == org.supervisor.pk and decided.decided_at is not None
    assert decided.decision_note == "لا يوجد بديل"
    assert org.snapshot() == before
    assert not notes(org.other, "request.assigned")
    assert org.kinds()[-1] == ("approval_decided", Visibility.INTERNAL)
    assert org.audit()[-1] == "request.reassign.refused"
    (told,) = notes(org.worker, "request.approval_decided")
    assert told.link == f"/a/{org.agency.slug}/requests/{org.item.pk}/"

    # decided once: no second decision; and a new ask is possible again
    with pytest.raises(ValidationError):
        org.decide(approval, org.supervisor, approve=True)
    assert org.snapshot() == before

    postponed = org.postpone(org.worker)
    before = org.snapshot()
    org.decide(postponed, org.admin, approve=False)
    assert org.snapshot() == before
    assert not notes(org.beneficiary, "request.postponed")
    assert len(notes(org.worker, "request.approval_decided")) == 2
    assert isinstance(org.reassign(org.worker, org.other), ApprovalRequest)


def test_approved_reassignment_moves_the_request(org):
    approval = org.reassign(org.worker, org.other, reason="تخصص")
    org.decide(approval, org.supervisor, approve=True)
    item = org.fresh()
    assert item.assignee.user_id == org.other.pk
    with schema_context(org.agency.schema_name):
        latest = Assignment.objects.filter(request=item).order_by("-id").first()
        assert latest.assignee_id == org.m(org.other).pk
        assert latest.assigned_by_id == org.supervisor.pk
        assert latest.decision["outcome"] == "reassigned" and latest.decision["reason"] == "تخصص"
        assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalRequest.APPROVED
    row = RequestIndex.objects.get(agency=org.agency, request_id=item.pk)
    assert row.assignee_user_id == org.other.pk and row.updated_at == item.updated_at
    with translation.override("en"):
        assert row.assignee_name_en == org.other.display_name
    (assigned,) = notes(org.other, "request.assigned")
    assert assigned.link == f"/a/{org.agency.slug}/requests/{item.pk}/"
    assert notes(org.worker, "request.approval_decided")
    kinds = org.kinds()
    assert ("reassigned", Visibility.INTERNAL) in kinds
    assert kinds[-1] == ("approval_decided", Visibility.INTERNAL)
    assert "request.reassign" in org.audit() and org.audit()[-1] == "request.reassign.approved"
    with schema_context(org.agency.schema_name):
        event = AuditEvent.objects.filter(action="request.reassign").latest("id")
        assert event.actor_id == org.supervisor.pk
        assert event.before == {"assignee": org.m(org.worker).pk}
        assert event.after == {"assignee": org.m(org.other).pk}


def test_approved_postponement_pauses_and_tells_the_beneficiary_without_the_reason(client, org):
    until = (timezone.now() + timedelta(days=4)).replace(minute=17, second=0, microsecond=0)
    approval = org.postpone(org.worker, until=until)
    org.decide(approval, org.supervisor, approve=True)
    item = org.fresh()
    assert item.status == Status.POSTPONED and item.postponed_until == until
    assert item.assignee.user_id == org.worker.pk
    with schema_context(org.agency.schema_name):
        (pause,) = StatusPause.objects.filter(request=item)
        assert pause.status == Status.POSTPONED and pause.ended_at is None
    row = RequestIndex.objects.get(agency=org.agency, request_id=item.pk)
    assert row.status == Status.POSTPONED
    (told,) = notes(org.beneficiary, "request.postponed")
    assert told.link == f"/requests/{org.agency.slug}/{item.reference}/"
    assert REASON not in told.body and REASON not in told.title
    assert notes(org.worker, "request.approval_decided")
    kinds = org.kinds()
    assert ("postponed", Visibility.EXTERNAL) in kinds
    assert ("postpone_reason", Visibility.INTERNAL) in kinds
    assert "request.postpone" in org.audit() and org.audit()[-1] == "request.postpone.approved"

    client.force_login(org.beneficiary)
    page = client.get(
        reverse(
            "requests:detail",
            kwargs={"agency_slug": org.agency.slug, "reference": item.reference},
        )
    ).content.decode()
    # the postponed step, with the date and time in the agency's time zone (the decision
    # read the date back from the database in UTC)
    step = re.search(r"timeline__step--postponed.*?</strong>", page, re.S).group(0)
    assert ar("Postponed") in step
    local = timezone.localtime(until)
    assert f'datetime="{local.isoformat(timespec="minutes")}"' in step
    assert local.strftime("%H:%M") in step and f"{local.day} " in step  # a human date
    assert REASON not in page

    # the staff page shows the reason
    client.force_login(org.supervisor)
    staff = client.get(
        reverse(
            "workspace:request_detail",
            kwargs={"agency_slug": org.agency.slug, "request_id": item.pk},
        )
    ).content.decode()
    assert REASON in staff


def test_postponement_notification_isolates_the_date_in_arabic_text(org):
    """A date inside Arabic text was drawn reversed ("حتى 2026-12-06 10:17" showed the time
    first): every channel's text now carries it as a human date with the Hijri date, between
    FSI and PDI, like the subject."""
    until = (timezone.now() + timedelta(days=4)).replace(minute=17, second=0, microsecond=0)
    org.decide(org.postpone(org.worker, until=until), org.supervisor, approve=True)
    (told,) = notes(org.beneficiary, "request.postponed")
    assert told.language == "ar"
    with translation.override("ar"):
        when = date_text(until)
        expected = gettext('Your request "%(subject)s" was postponed until %(date)s.') % {
            "subject": isolate(org.item.subject),
            "date": when,
        }
        title = gettext("Request %(reference)s postponed") % {
            "reference": isolate(org.item.reference)
        }
    local = timezone.localtime(until)
    assert when == (
        FSI
        + f"{local.day} "
        + date_format(local, "F Y")
        + "، الساعة "
        + local.strftime("%H:%M")
        + f" ({hijri_date(local)})"
        + PDI
    )
    assert "هـ)" in when  # the Hijri date, in Arabic
    assert told.body == expected and told.title == title
    assert FSI + org.item.reference + PDI in told.title
    run_pending_jobs()
    email = next(m for m in mail.outbox if m.to == [org.beneficiary.email])
    assert expected in email.body
    assert when in email.alternatives[0][0]


# --- with the permission ----------------------------------------------------------------------


def test_with_the_permission_the_change_is_direct(org):
    # a supervisor reassigns directly
    result = org.reassign(org.supervisor, org.other, reason="توزيع")
    assert isinstance(result, Request) and org.fresh().assignee.user_id == org.other.pk
    assert notes(org.other, "request.assigned")
    # an employee granted requests.reassign too
    with schema_context(org.agency.schema_name):
        employee_set_permissions(
            membership=org.m(org.other),
            granted=["requests.reassign"],
            revoked=[],
            actor=org.admin,
        )
    result = org.reassign(_fresh_user(org.other), org.worker)
    assert isinstance(result, Request) and org.fresh().assignee.user_id == org.worker.pk
    # an employee granted requests.postpone postpones directly
    with schema_context(org.agency.schema_name):
        employee_set_permissions(
            membership=org.m(org.worker),
            granted=["requests.postpone"],
            revoked=[],
            actor=org.admin,
        )
    result = org.postpone(_fresh_user(org.worker))
    assert isinstance(result, Request) and org.fresh().status == Status.POSTPONED
    assert notes(org.beneficiary, "request.postponed")
    with schema_context(org.agency.schema_name):
        assert not ApprovalRequest.objects.filter(request_id=org.item.pk).exists()
    assert org.audit().count("request.reassign") == 2 and "request.postpone" in org.audit()


def _fresh_user(user):
    """The same user without a cached permission set."""
    return type(user).objects.get(pk=user.pk)


# --- who decides --------------------------------------------------------------------------------


def test_nobody_decides_on_their_own_ask(org):
    # a supervisor without the right to reassign directly must ask, and cannot self-approve
    with schema_context(org.agency.schema_name):
        employee_set_permissions(
            membership=org.m(org.worker),
            granted=["requests.supervise"],
            revoked=[],
            actor=org.admin,
        )
    worker = _fresh_user(org.worker)
    approval = org.reassign(worker, org.other)
    assert isinstance(approval, ApprovalRequest)
    before = org.snapshot()
    with pytest.raises(PermissionDenied):
        org.decide(approval, worker, approve=True)
    assert org.snapshot() == before
    with schema_context(org.agency.schema_name):
        assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalRequest.PENDING
        # and they were not asked to decide it either
    assert not notes(org.worker, "request.approval_requested")


def test_only_supervisors_of_the_request_decide(org):
    approval = org.reassign(org.worker, org.other)
    before = org.snapshot()
    with pytest.raises(PermissionDenied):  # D2's supervisor
        org.decide(approval, org.outsider, approve=True)
    with pytest.raises(PermissionDenied):  # a colleague without supervision
        org.decide(approval, org.other, approve=True)
    assert org.snapshot() == before
    with schema_context(org.agency.schema_name):
        assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalRequest.PENDING
        assert {m.user_id for m in supervisors_for(org.fresh())} >= {
            org.supervisor.pk,
            org.admin.pk,
        }
        assert org.outsider.pk not in {m.user_id for m in supervisors_for(org.fresh())}
    # the admin sees every department and may decide
    org.decide(approval, org.admin, approve=True)
    assert org.fresh().assignee.user_id == org.other.pk


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["worker", "supervisor"])
def test_postpone_needs_a_reason_and_a_future_date(org, who):
    actor = getattr(org, who)
    before = org.snapshot()
    with pytest.raises(ValidationError) as excinfo:
        org.postpone(actor, reason="   ")
    assert "reason" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        org.postpone(actor, until=timezone.now() - timedelta(minutes=1))
    assert "until" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        org.postpone(actor, until=timezone.now() - timedelta(days=1), reason="")
    assert set(excinfo.value.message_dict) == {"reason", "until"}
    with pytest.raises(ValidationError):
        org.reassign(actor, org.other, reason=" ")
    assert org.snapshot() == before
    with schema_context(org.agency.schema_name):
        assert not ApprovalRequest.objects.filter(request_id=org.item.pk).exists()


def test_reassign_only_to_an_active_employee_who_works_requests(org):
    inactive = make_employee(org.agency)
    no_work = make_employee(org.agency)
    with schema_context(org.agency.schema_name):
        Membership.objects.filter(user_id=inactive.pk).update(is_active=False)
        employee_set_permissions(
            membership=org.m(no_work), granted=[], revoked=["requests.work"], actor=org.admin
        )
    before = org.snapshot()
    for actor in (org.supervisor, org.worker):  # directly or by asking: refused alike
        for target in (inactive, no_work, org.worker):  # org.worker: already the assignee
            with pytest.raises(ValidationError) as excinfo:
                org.reassign(actor, target)
            assert "new_assignee" in excinfo.value.message_dict
    assert org.snapshot() == before
    with schema_context(org.agency.schema_name):
        assert not ApprovalRequest.objects.filter(request_id=org.item.pk).exists()

    # an approval whose target left before the decision is not applied
    approval = org.reassign(org.worker, org.other)
    with schema_context(org.agency.schema_name):
        Membership.objects.filter(user_id=org.other.pk).update(is_active=False)
    before = org.snapshot()
    with pytest.raises(ValidationError):
        org.decide(approval, org.supervisor, approve=True)
    assert org.snapshot() == before
    with schema_context(org.agency.schema_name):
        assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalRequest.PENDING


def test_closed_requests_are_neither_reassigned_nor_postponed(org):
    from requests_app.services import request_resolve

    approval = org.postpone(org.worker)
    with schema_context(org.agency.schema_name):
        request_resolve(agency=org.agency, request_obj=org.item, actor=org.worker)
    before = org.snapshot()
    with pytest.raises(ValidationError):
        org.reassign(org.supervisor, org.other)
    with pytest.raises(ValidationError):
        org.postpone(org.supervisor)
    with pytest.raises(ValidationError):
        org.decide(approval, org.supervisor, approve=True)
    assert org.snapshot() == before


def test_a_postponement_approved_after_its_date_is_not_applied(org):
    approval = org.postpone(org.worker)
    with schema_context(org.agency.schema_name):
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            postpone_until=timezone.now() - timedelta(minutes=1)
        )
    before = org.snapshot()
    with pytest.raises(ValidationError):
        org.decide(approval, org.supervisor, approve=True)
    assert org.snapshot() == before
    with schema_context(org.agency.schema_name):
        assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalRequest.PENDING
    # it can still be refused, which frees the way for a new ask
    org.decide(approval, org.supervisor, approve=False)
    assert org.snapshot() == before
    assert isinstance(org.postpone(org.worker), ApprovalRequest)


# --- through the pages ---------------------------------------------------------------------------


def _ws(org, name, **kwargs) -> str:
    return reverse(f"workspace:{name}", kwargs={"agency_slug": org.agency.slug, **kwargs})


def _post(client, url, data):
    """POST, then show the page redirected to (which consumes the messages, as a browser
    would): each response carries only its own messages."""
    response = client.post(url, data)
    response.flashed = [str(m) for m in get_messages(response.wsgi_request)]
    if response.status_code == 302:
        page = client.get(response["Location"])
        assert page.status_code == 200
        for message in response.flashed:
            assert message in page.content.decode()
    return response


def test_asking_and_deciding_through_the_pages(client, org):
    detail = _ws(org, "request_detail", request_id=org.item.pk)
    client.force_login(org.worker)
    page = client.get(detail).content.decode()
    assert ar("Ask to reassign") in page and ar("Ask to postpone") in page

    response = _post(
        client,
        _ws(org, "request_reassign", request_id=org.item.pk),
        {"new_assignee": org.m(org.other).pk, "reason": "ضغط عمل"},
    )
    assert response.status_code == 302 and response["Location"] == detail
    assert response.flashed == [ar("Your request was sent for approval.")]
    until = timezone.localtime(timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    response = _post(
        client,
        _ws(org, "request_postpone", request_id=org.item.pk),
        {"until": until.strftime("%Y-%m-%dT%H:%M"), "reason": REASON},
    )
    assert response.flashed == [ar("Your request was sent for approval.")]
    # a second postponement ask is refused with a message
    response = _post(
        client,
        _ws(org, "request_postpone", request_id=org.item.pk),
        {"until": until.strftime("%Y-%m-%dT%H:%M"), "reason": REASON},
    )
    assert response.flashed == [ar("A request of this kind is already waiting for a decision.")]
    # the form's own checks: a missing reason
    response = _post(
        client,
        _ws(org, "request_postpone", request_id=org.item.pk),
        {"until": until.strftime("%Y-%m-%dT%H:%M"), "reason": ""},
    )
    assert response.status_code == 302 and response.flashed
    assert org.fresh().status == Status.NEW and org.fresh().assignee.user_id == org.worker.pk

    # a plain employee has no approvals page
    assert client.get(_ws(org, "approval_list")).status_code == 403
    with schema_context(org.agency.schema_name):
        reassign, postpone = ApprovalRequest.objects.filter(request_id=org.item.pk).order_by("id")
    decide_url = _ws(org, "approval_decide", approval_id=reassign.pk)
    assert client.post(decide_url, {"decision": "approve"}).status_code == 403

    # D2's supervisor sees nothing waiting and cannot decide
    client.force_login(org.outsider)
    page = client.get(_ws(org, "approval_list"))
    assert page.status_code == 200 and org.item.reference not in page.content.decode()
    assert client.post(decide_url, {"decision": "approve"}).status_code == 403

    client.force_login(org.supervisor)
    page = client.get(_ws(org, "approval_list")).content.decode()
    assert org.item.reference in page and REASON in page and "ضغط عمل" in page
    response = _post(client, decide_url, {"decision": "maybe"})
    assert response.flashed == [ar("Choose approve or refuse.")]
    response = _post(
        client,
        _ws(org, "approval_decide", approval_id=reassign.pk),
        {"decision": "refuse", "note": "لا"},
    )
    assert response.status_code == 302 and response["Location"] == _ws(org, "approval_list")
    assert response.flashed == [ar("Your decision was recorded.")]
    assert org.fresh().assignee.user_id == org.worker.pk
    response = _post(
        client, _ws(org, "approval_decide", approval_id=postpone.pk), {"decision": "approve"}
    )
    assert response.flashed == [ar("Your decision was recorded.")]
    item = org.fresh()
    assert item.status == Status.POSTPONED
    assert timezone.localtime(item.postponed_until) == until
    # deciding again: already decided
    response = _post(
        client, _ws(org, "approval_decide", approval_id=postpone.pk), {"decision": "refuse"}
    )
    assert response.flashed == [ar("This was already decided.")]
    page = client.get(_ws(org, "approval_list")).content.decode()
    assert ar("Nothing is waiting for your decision.") in page
    assert len(notes(org.worker, "request.approval_decided")) == 2


def test_supervisor_reassigns_and_postpones_directly_through_the_pages(client, org):
    client.force_login(org.supervisor)
    detail = _ws(org, "request_detail", request_id=org.item.pk)
    page = client.get(detail).content.decode()
    assert ar("Reassign") in page
    response = _post(
        client,
        _ws(org, "request_reassign", request_id=org.item.pk),
        {"new_assignee": org.m(org.other).pk, "reason": "توزيع"},
    )
    assert response.flashed == [ar("The request was reassigned.")]
    assert org.fresh().assignee.user_id == org.other.pk
    past = timezone.localtime(timezone.now() - timedelta(hours=1))
    response = _post(
        client,
        _ws(org, "request_postpone", request_id=org.item.pk),
        {"until": past.strftime("%Y-%m-%dT%H:%M"), "reason": REASON},
    )
    assert response.flashed == [ar("Choose a date in the future.")]
    assert org.fresh().status == Status.NEW
    future = timezone.localtime(timezone.now() + timedelta(days=1))
    response = _post(
        client,
        _ws(org, "request_postpone", request_id=org.item.pk),
        {"until": future.strftime("%Y-%m-%dT%H:%M"), "reason": REASON},
    )
    assert response.flashed == [ar("The request was postponed.")]
    assert org.fresh().status == Status.POSTPONED
    with schema_context(org.agency.schema_name):
        assert not ApprovalRequest.objects.filter(request_id=org.item.pk).exists()


def test_a_beneficiary_comment_does_not_end_a_postponement(org):
    """A postponement keeps its pause while the beneficiary comments."""
    org.postpone(org.supervisor)
    with schema_context(org.agency.schema_name):
        comment_add(
            agency=org.agency,
            request_obj=org.item,
            author=org.beneficiary,
            body="متى؟",
            visibility=Visibility.EXTERNAL,
        )
        item = org.fresh()
        assert item.status == Status.POSTPONED
        assert StatusPause.objects.get(request=item).ended_at is None
