"""What employees and beneficiaries do on a request (R-6, R-12). Each action: one
transaction, a timeline step, the audit log, the public index row, and notifications."""

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.models import User
from core import audit
from core.actions import require, use_case
from core.files.checks import check_upload
from core.transitions import StateMachine, transition_apply
from notifications.services import notification_send
from requests_app import policies
from requests_app.constants import (
    OPEN_STATUSES,
    REPLY_WORKING_DAYS,
    REPLY_WORKING_DAYS_MAX,
    REPLY_WORKING_DAYS_MIN,
    Status,
    Visibility,
)
from requests_app.models import Comment, Request, TimelineEvent
from requests_app.services.files import attachment_from_pending, attachment_store
from requests_app.services.index import index_sync
from requests_app.services.pauses import pause_track
from requests_app.services.sla import reply_by_date
from requests_app.services.uploads import MAX_ATTACHMENTS, pending_uploads_take
from tenants.models import Agency


def _ensure_schema(agency: Agency) -> None:
    if connection.schema_name != agency.schema_name:
        raise RuntimeError("request actions must run in the agency's schema")


def _check_files(files: Sequence[UploadedFile]) -> list:
    checked, errors = [], []
    for upload in files:
        try:
            checked.append(check_upload(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"attachments": errors})
    return checked


def _check_voice(voice: UploadedFile, duration: int | None):
    """A voice message must be audio (checked from its content), within the size and length
    limits."""
    from django.conf import settings

    from core.files.checks import AUDIO, check_upload

    if duration is not None and (duration < 0 or duration > settings.VOICE_MAX_SECONDS):
        raise ValidationError(
            {
                "voice": _("A voice message is at most %(n)s seconds.")
                % {"n": settings.VOICE_MAX_SECONDS}
            }
        )
    if voice.size > settings.VOICE_MAX_BYTES:
        raise ValidationError({"voice": _("The voice message is too big.")})
    try:
        return check_upload(voice, allowed=AUDIO)
    except ValidationError as exc:
        raise ValidationError(
            {"voice": _("The voice message must be an audio recording.")}
        ) from exc


def _notify_beneficiary(agency: Agency, item: Request, event: str, key: str, **context) -> None:
    notification_send(
        recipient=item.beneficiary,
        event=event,
        agency=agency,
        context={"reference": item.reference, "subject": item.subject, **context},
        link=f"/requests/{agency.slug}/{item.reference}/",
        idempotency_key=f"{event}:{agency.pk}:{key}",
    )


def _first_response(item: Request) -> None:
    if item.first_response_at is None:
        item.first_response_at = timezone.now()
    if item.status == Status.NEW:
        item.status = Status.IN_PROGRESS


@use_case
def comment_add(
    *,
    agency: Agency,
    request_obj: Request,
    author: User,
    body: str,
    visibility: str,
    attachments: Sequence[UploadedFile] = (),
    voice: UploadedFile | None = None,
    voice_duration: int | None = None,
    pending_upload_ids: Sequence[int] = (),
) -> Comment:
    """A comment with optional attachments and an optional voice recording. Beneficiaries
    write external comments only; their comment answers a request for information and returns
    the request to in progress. External comments by staff notify the beneficiary (SMS,
    email, in-app); internal ones, voice included, stay with the team.

    ``pending_upload_ids`` name the author's pending uploads (files uploaded first,
    services.uploads), locked and taken in the transaction: another person's, an expired or
    an already used one refuses the whole comment and changes nothing."""
    _ensure_schema(agency)
    body = (body or "").strip()
    pending_upload_ids = list(dict.fromkeys(pending_upload_ids))
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": _("Choose who can see the comment.")})
    if not body and not attachments and not pending_upload_ids and voice is None:
        raise ValidationError({"body": _("Write a comment or attach a file.")})
    if len(body) > 10_000:
        raise ValidationError({"body": _("The comment is too long.")})
    if len(attachments) + len(pending_upload_ids) > MAX_ATTACHMENTS:
        raise ValidationError(
            {"attachments": _("At most %(n)s attachments.") % {"n": MAX_ATTACHMENTS}}
        )
    checked = _check_files(attachments)
    checked_voice = _check_voice(voice, voice_duration) if voice is not None else None
    by_beneficiary = author.pk == request_obj.beneficiary_id
    if by_beneficiary and visibility != Visibility.EXTERNAL:
        raise PermissionDenied(_("Beneficiaries write external comments only."))
    item = REQUESTS.lock(request_obj.pk)
    require(policies.can_comment(author, item))
    if item.status not in OPEN_STATUSES:
        raise ValidationError(_("This request is closed."))
    taken = pending_uploads_take(user=author, ids=pending_upload_ids)
    comment = Comment.objects.create(request=item, author=author, visibility=visibility, body=body)
    for upload in checked:
        attachment_store(
            agency=agency,
            item=item,
            uploaded_by=author,
            visibility=visibility,
            checked=upload,
            comment=comment,
        )
    for pending in taken:
        attachment_from_pending(
            agency=agency, item=item, visibility=visibility, pending=pending, comment=comment
        )
    if checked_voice is not None:
        attachment_store(
            agency=agency,
            item=item,
            uploaded_by=author,
            visibility=visibility,
            checked=checked_voice,
            comment=comment,
            is_voice=True,
            duration_seconds=voice_duration,
        )
    kind = TimelineEvent.COMMENTED
    old_status = item.status
    if by_beneficiary and item.status == Status.AWAITING_BENEFICIARY:
        item.status = Status.IN_PROGRESS
        item.awaiting_question, item.reply_by = "", None
        kind = TimelineEvent.INFO_PROVIDED
    elif not by_beneficiary and visibility == Visibility.EXTERNAL:
        _first_response(item)
    item.save()
    pause_track(item=item, old_status=old_status)
    TimelineEvent.objects.create(
        request=item,
        kind=kind,
        visibility=visibility,
        actor=author,
        comment=comment,
        data={"attachments": len(checked) + len(taken)},
    )
    index_sync(agency=agency, request=item)
    audit.agency_record(
        actor=author,
        action=f"request.comment.{visibility}",
        obj=item,
        after={"comment": comment.pk, "attachments": len(checked) + len(taken)},
    )
    if by_beneficiary:
        if item.assignee_id:
            notification_send(
                recipient=item.assignee.user,
                event="request.replied",
                agency=agency,
                context={"reference": item.reference, "subject": item.subject},
                link=f"/a/{agency.slug}/requests/{item.pk}/",
                idempotency_key=f"request.replied:{agency.pk}:{comment.pk}",
            )
    elif visibility == Visibility.EXTERNAL:
        _notify_beneficiary(agency, item, "request.commented", str(comment.pk), comment=body)
    return comment


@use_case
def attachment_add(
    *,
    agency: Agency,
    request_obj: Request,
    author: User,
    visibility: str,
    files: Sequence[UploadedFile],
) -> Comment:
    """Attachments without text are a comment with files only."""
    if not files:
        raise ValidationError({"attachments": _("Choose a file.")})
    return comment_add.within(
        agency=agency,
        request_obj=request_obj,
        author=author,
        body="",
        visibility=visibility,
        attachments=files,
    )


# The request's state machine (core.transitions): the states each action is allowed from, the
# state it goes to and the timeline kind it writes; the lock, the checks and the audit row are
# the kernel's.
REQUESTS = StateMachine(
    queryset=lambda: Request.objects.select_related("transaction_type", "assignee__user"),
    field="status",
    audit_prefix="request",
    timeline_kinds=TimelineEvent.KINDS,
)
_CLOSED_ALREADY = _lazy("This request is already closed.")
START = REQUESTS.declare(
    TimelineEvent.STARTED,
    to=Status.IN_PROGRESS,
    allowed_from=OPEN_STATUSES,
    refused=_CLOSED_ALREADY,
)
ASK = REQUESTS.declare(
    TimelineEvent.INFO_REQUESTED,
    to=Status.AWAITING_BENEFICIARY,
    allowed_from=OPEN_STATUSES,
    refused=_CLOSED_ALREADY,
)
RESOLVE = REQUESTS.declare(
    TimelineEvent.RESOLVED,
    to=Status.CLOSED,
    allowed_from=OPEN_STATUSES,
    refused=_CLOSED_ALREADY,
)
REJECT = REQUESTS.declare(
    TimelineEvent.REJECTED,
    to=Status.REJECTED,
    allowed_from=OPEN_STATUSES,
    refused=_CLOSED_ALREADY,
)
REOPEN = REQUESTS.declare(
    TimelineEvent.REOPENED,
    to=Status.IN_PROGRESS,
    allowed_from=(Status.CLOSED, Status.REJECTED),
    refused=_lazy("Only a closed or rejected request can be reopened."),
)


def _timeline_step(agency: Agency, item: Request, actor: User, kind: str, note: str) -> None:
    """A decision's public step: the timeline row, with the note the beneficiary reads as its
    comment (if any), and the public index brought up to date."""
    comment = None
    if note:
        comment = Comment.objects.create(
            request=item, author=actor, visibility=Visibility.EXTERNAL, body=note
        )
    TimelineEvent.objects.create(
        request=item, kind=kind, visibility=Visibility.EXTERNAL, actor=actor, comment=comment
    )
    index_sync(agency=agency, request=item)


def _staff_transition(
    transition,
    *,
    agency: Agency,
    request_obj: Request,
    actor: User,
    event: str | None,
    note: str,
    notify_context: dict | None = None,
    **fields,
) -> Request:
    """An employee's decision on an open request: the state moves, the first response is
    stamped, an optional note is the beneficiary's to read, and they are told
    (``notify_context``: more for the message than the note)."""
    notify_context = notify_context or {}
    _ensure_schema(agency)
    old_status: dict = {}

    def change(item: Request, before: str) -> None:
        old_status["value"] = before
        _first_response(item)
        if before == Status.POSTPONED:
            item.postponed_until = None
        if item.status != Status.AWAITING_BENEFICIARY:
            # Moved on without the beneficiary's answer: nothing is awaited of them any more.
            item.awaiting_question, item.reply_by = "", None
        for name, value in fields.items():
            setattr(item, name, value)
        if item.status in (Status.CLOSED, Status.REJECTED):
            item.closed_at = timezone.now()

    def step(item: Request, kind: str) -> None:
        pause_track(item=item, old_status=old_status["value"])
        _timeline_step(agency, item, actor, kind, note)

    def notify(item: Request) -> None:
        if event:
            _notify_beneficiary(
                agency,
                item,
                event,
                f"{item.pk}:{transition.timeline_kind}:{timezone.now()}",
                comment=note,
                **notify_context,
            )

    return transition_apply(
        transition,
        pk=request_obj.pk,
        actor=actor,
        policy=policies.can_work,
        change=change,
        step=step,
        notify=notify,
    )


@use_case
def request_start(*, agency: Agency, request_obj: Request, actor: User) -> Request:
    """The assignee starts working on a new request."""
    return _staff_transition(
        START, agency=agency, request_obj=request_obj, actor=actor, event=None, note=""
    )


@use_case
def request_ask_information(
    *,
    agency: Agency,
    request_obj: Request,
    actor: User,
    question: str,
    reply_within_days: int = REPLY_WORKING_DAYS,
) -> Request:
    """Ask the beneficiary for information: awaiting the beneficiary until they answer, by a
    reply-by date ``reply_within_days`` working days of the agency's calendar after today
    (bounded). The question and the date are the beneficiary's "your turn" banner and go
    into the SMS and email. Asking again replaces both. A date that passes changes nothing
    by itself: the employee's page says the reply is late, and the request waits."""
    question = (question or "").strip()
    if not question:
        raise ValidationError({"question": _("Write what you need from the beneficiary.")})
    if len(question) > 5_000:
        raise ValidationError({"question": _("The question is too long.")})
    if not REPLY_WORKING_DAYS_MIN <= reply_within_days <= REPLY_WORKING_DAYS_MAX:
        raise ValidationError(
            {
                "reply_within_days": _(
                    "The time to reply is between %(min)s and %(max)s working days."
                )
                % {"min": REPLY_WORKING_DAYS_MIN, "max": REPLY_WORKING_DAYS_MAX}
            }
        )
    _ensure_schema(agency)
    reply_by = reply_by_date(working_days=reply_within_days)
    return _staff_transition(
        ASK,
        agency=agency,
        request_obj=request_obj,
        actor=actor,
        event="request.info_requested",
        note=question,
        notify_context={"reply_by": reply_by},
        awaiting_question=question,
        reply_by=reply_by,
    )


@use_case
def request_resolve(
    *, agency: Agency, request_obj: Request, actor: User, note: str = ""
) -> Request:
    """Close the request as completed and invite the beneficiary to the survey (one
    transaction)."""
    from requests_app.services.survey import survey_invite

    item = _staff_transition(
        RESOLVE,
        agency=agency,
        request_obj=request_obj,
        actor=actor,
        event="request.resolved",
        note=(note or "").strip(),
    )
    survey_invite(agency=agency, item=item)
    return item


@use_case
def request_reject(*, agency: Agency, request_obj: Request, actor: User, reason: str) -> Request:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for rejecting the request.")})
    return _staff_transition(
        REJECT,
        agency=agency,
        request_obj=request_obj,
        actor=actor,
        event="request.rejected",
        note=reason,
        rejection_reason=reason,
    )


@use_case
def request_reopen(*, agency: Agency, request_obj: Request, actor: User, reason: str) -> Request:
    """Open a closed or rejected request again (a supervisor's decision, with a reason the
    beneficiary sees). It goes back to its assignee in progress; statistics count the reopening
    and measure resolution to the final closing."""
    _ensure_schema(agency)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for reopening the request.")})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("The reason is too long.")})

    def change(item: Request, before: str) -> None:
        item.closed_at = None
        item.reopened_count += 1

    def notify(item: Request) -> None:
        _notify_beneficiary(
            agency,
            item,
            "request.reopened",
            f"{item.pk}:reopened:{item.reopened_count}",
            comment=reason,
        )

    item = transition_apply(
        REOPEN,
        pk=request_obj.pk,
        actor=actor,
        policy=policies.can_reopen,
        change=change,
        step=lambda item, kind: _timeline_step(agency, item, actor, kind, reason),
        notify=notify,
        audit_after=lambda item: {"reopened_count": item.reopened_count},
    )
    return item
