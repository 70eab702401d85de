"""Reassignment and postponement (R-13): done directly with the permission, otherwise asked
of a supervisor who approves or refuses. Notifications go both ways."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require, use_case
from notifications.services import notification_send
from requests_app import policies
from requests_app.constants import OPEN_STATUSES, Status, Visibility
from requests_app.models import ApprovalRequest, Assignment, Request, TimelineEvent
from requests_app.module import Perm
from requests_app.services.index import index_sync
from requests_app.services.live import request_changed_publish
from requests_app.services.pauses import pause_track
from tenants.models import Agency
from tenants.selectors import memberships_holding
from tenants.staff.models import Membership

WORK = Perm.WORK
SUPERVISE = Perm.SUPERVISE
VIEW_ALL = Perm.VIEW_ALL


def supervisors_for(item: Request) -> list[Membership]:
    """Who supervises ``item``: agency-wide viewers, and supervisors of its department or of a
    department above it (or without a department). One query."""
    return list(
        (
            memberships_holding(VIEW_ALL)
            | memberships_holding(SUPERVISE, department_id=item.department_id, scope="overseeing")
        )
        .select_related("user")
        .order_by("id")
    )


def _locked(item: Request) -> Request:
    locked = (
        Request.objects.select_for_update(of=("self",))
        .select_related("transaction_type", "assignee__user")
        .get(pk=item.pk)
    )
    if locked.status not in OPEN_STATUSES:
        raise ValidationError(_("This request is already closed."))
    return locked


def _check_assignee(new_assignee: Membership, item: Request) -> None:
    if not memberships_holding(WORK).filter(pk=new_assignee.pk).exists():
        raise ValidationError({"new_assignee": _("This employee cannot receive requests.")})
    if new_assignee.pk == item.assignee_id:
        raise ValidationError({"new_assignee": _("The request is already assigned to them.")})


def _apply_reassign(
    agency: Agency, item: Request, actor: User, new_assignee: Membership, reason: str
) -> Request:
    previous = item.assignee_id
    item.assignee = new_assignee
    item.save(update_fields=["assignee", "updated_at"])
    Assignment.objects.create(
        request=item,
        assignee=new_assignee,
        assigned_by=actor,
        decision={
            "outcome": "reassigned",
            "reason": reason,
            "from": previous,
            "to": new_assignee.pk,
        },
    )
    TimelineEvent.objects.create(
        request=item,
        kind=TimelineEvent.REASSIGNED,
        visibility=Visibility.INTERNAL,
        actor=actor,
        data={"from": previous, "to": new_assignee.pk, "reason": reason},
    )
    index_sync(agency=agency, request=item)
    audit.agency_record(
        actor=actor,
        action="request.reassign",
        obj=item,
        before={"assignee": previous},
        after={"assignee": new_assignee.pk},
    )
    notification_send(
        recipient=new_assignee.user,
        event="request.assigned",
        agency=agency,
        context={"reference": item.reference, "subject": item.subject},
        link=f"/a/{agency.slug}/requests/{item.pk}/",
        idempotency_key=f"request.assigned:{agency.pk}:{item.pk}:"
        f"{new_assignee.pk}:{timezone.now().timestamp()}",
    )
    return item


def _apply_postpone(
    agency: Agency, item: Request, actor: User, until: datetime, reason: str
) -> Request:
    old_status = item.status
    item.status = Status.POSTPONED
    item.postponed_until = until
    # A postponed request awaits nothing of the beneficiary.
    item.awaiting_question, item.reply_by = "", None
    item.save(
        update_fields=["status", "postponed_until", "awaiting_question", "reply_by", "updated_at"]
    )
    pause_track(item=item, old_status=old_status)
    TimelineEvent.objects.create(
        request=item,
        kind=TimelineEvent.POSTPONED,
        visibility=Visibility.EXTERNAL,
        actor=actor,
        # in the agency's time: the beneficiary's timeline shows this text as it is
        data={"until": timezone.localtime(until).isoformat()},
    )
    TimelineEvent.objects.create(
        request=item,
        kind=TimelineEvent.POSTPONE_REASON,
        visibility=Visibility.INTERNAL,
        actor=actor,
        data={"reason": reason},
    )
    index_sync(agency=agency, request=item)
    audit.agency_record(
        actor=actor,
        action="request.postpone",
        obj=item,
        before={"status": old_status},
        after={"status": item.status, "until": until.isoformat()},
    )
    notification_send(
        recipient=item.beneficiary,
        event="request.postponed",
        agency=agency,
        context={
            "reference": item.reference,
            "subject": item.subject,
            "until": timezone.localtime(until),
        },
        link=f"/requests/{agency.slug}/{item.reference}/",
        idempotency_key=f"request.postponed:{agency.pk}:{item.pk}:{until.timestamp()}",
    )
    return item


def _ask_approval(
    agency: Agency, item: Request, actor: User, kind: str, reason: str, **fields
) -> ApprovalRequest:
    if ApprovalRequest.objects.filter(
        request=item, kind=kind, status=ApprovalRequest.PENDING
    ).exists():
        raise ValidationError(_("A request of this kind is already waiting for a decision."))
    approval = ApprovalRequest.objects.create(
        request=item, kind=kind, requested_by=actor, reason=reason, **fields
    )
    TimelineEvent.objects.create(
        request=item,
        kind=TimelineEvent.APPROVAL_REQUESTED,
        visibility=Visibility.INTERNAL,
        actor=actor,
        data={"approval": approval.pk, "kind": kind, "reason": reason},
    )
    request_changed_publish(agency=agency, request_id=item.pk, what="approval")
    audit.agency_record(
        actor=actor,
        action=f"request.{kind}.asked",
        obj=item,
        after={"approval": approval.pk},
    )
    for supervisor in supervisors_for(item):
        if supervisor.user_id == actor.pk:
            continue
        notification_send(
            recipient=supervisor.user,
            event="request.approval_requested",
            agency=agency,
            context={
                "reference": item.reference,
                "subject": item.subject,
                "kind": kind,
                "reason": reason,
                "requester": actor.display_name,
            },
            link=f"/a/{agency.slug}/requests/{item.pk}/",
            idempotency_key=f"approval.requested:{agency.pk}:{approval.pk}:{supervisor.pk}",
        )
    return approval


@use_case
def request_reassign(
    *,
    agency: Agency,
    request_obj: Request,
    actor: User,
    new_assignee: Membership,
    reason: str,
) -> Request | ApprovalRequest:
    """Reassign now with requests.reassign; otherwise ask a supervisor (returns the approval)."""
    if connection.schema_name != agency.schema_name:
        raise RuntimeError("request_reassign must run in the agency's schema")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason.")})
    item = _locked(request_obj)
    require(policies.can_ask_change(actor, item))
    if new_assignee.user_id == actor.pk:
        raise ValidationError({"new_assignee": _("You cannot reassign a request to yourself.")})
    _check_assignee(new_assignee, item)
    if policies.reassigns_directly(actor):
        return _apply_reassign(agency, item, actor, new_assignee, reason)
    return _ask_approval(
        agency,
        item,
        actor,
        ApprovalRequest.REASSIGN,
        reason,
        new_assignee=new_assignee,
    )


@use_case
def request_postpone(
    *,
    agency: Agency,
    request_obj: Request,
    actor: User,
    until: datetime,
    reason: str,
) -> Request | ApprovalRequest:
    """Postpone to a new date (with a reason) now with requests.postpone; otherwise ask."""
    if connection.schema_name != agency.schema_name:
        raise RuntimeError("request_postpone must run in the agency's schema")
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = [_("Give the reason.")]
    if until is None or until <= timezone.now():
        errors["until"] = [_("Choose a date in the future.")]
    if errors:
        raise ValidationError(errors)
    item = _locked(request_obj)
    require(policies.can_ask_change(actor, item))
    if policies.postpones_directly(actor):
        return _apply_postpone(agency, item, actor, until, reason)
    return _ask_approval(
        agency,
        item,
        actor,
        ApprovalRequest.POSTPONE,
        reason,
        postpone_until=until,
    )


@use_case
def approval_decide(
    *,
    agency: Agency,
    approval: ApprovalRequest,
    actor: User,
    approve: bool,
    note: str = "",
) -> ApprovalRequest:
    """A supervisor approves (the change is applied) or refuses (nothing changes); the
    requester is told either way. Nobody decides on their own request."""
    refusal = policies.decide_refusal(actor, approval)
    if refusal is not None:
        raise PermissionDenied(refusal)
    approval = ApprovalRequest.objects.select_for_update().get(pk=approval.pk)
    if approval.status != ApprovalRequest.PENDING:
        raise ValidationError(_("This was already decided."))
    item = _locked(approval.request)
    # Asked again on the locked row: the request may have moved out of the actor's reach.
    require(policies.can_open(actor, item), _("This request is not under your supervision."))
    if approve:
        if approval.kind == ApprovalRequest.REASSIGN:
            _check_assignee(approval.new_assignee, item)
            _apply_reassign(agency, item, actor, approval.new_assignee, approval.reason)
        else:
            if approval.postpone_until <= timezone.now():
                raise ValidationError(_("The requested date has passed; ask again."))
            _apply_postpone(agency, item, actor, approval.postpone_until, approval.reason)
    approval.status = ApprovalRequest.APPROVED if approve else ApprovalRequest.REFUSED
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_note = (note or "").strip()
    approval.save()
    TimelineEvent.objects.create(
        request=item,
        kind=TimelineEvent.APPROVAL_DECIDED,
        visibility=Visibility.INTERNAL,
        actor=actor,
        data={"approval": approval.pk, "status": approval.status},
    )
    request_changed_publish(agency=agency, request_id=item.pk, what="approval")
    audit.agency_record(
        actor=actor,
        action=f"request.{approval.kind}.{approval.status}",
        obj=item,
        after={"approval": approval.pk},
    )
    notification_send(
        recipient=approval.requested_by,
        event="request.approval_decided",
        agency=agency,
        context={
            "reference": item.reference,
            "subject": item.subject,
            "kind": approval.kind,
            "approved": approve,
            "note": approval.decision_note,
        },
        link=f"/a/{agency.slug}/requests/{item.pk}/",
        idempotency_key=f"approval.decided:{agency.pk}:{approval.pk}",
    )
    return approval


def pending_approvals(*, membership: Membership, user: User):
    """Approvals waiting for this supervisor (requests under their supervision)."""
    from requests_app.selectors import workspace_requests

    visible = workspace_requests(membership=membership, user=user).values("id")
    return (
        ApprovalRequest.objects.filter(status=ApprovalRequest.PENDING, request__in=visible)
        .exclude(requested_by_id=user.pk)
        .select_related("request", "requested_by", "new_assignee__user")
        .order_by("created_at")
    )


__all__ = ["Q"]
