"""What employees and beneficiaries do on a request (R-6, R-12). Each action: one
transaction, a timeline step, the audit log, the public index row, and notifications."""

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.files.checks import check_upload
from notifications.services import notification_send
from requests_app.constants import OPEN_STATUSES, Status, Visibility
from requests_app.models import Comment, Request, TimelineEvent
from requests_app.services.files import attachment_store
from requests_app.services.index import index_sync
from requests_app.services.pauses import pause_track
from tenants.models import Agency


def _locked(request_obj: Request) -> Request:
    return (
        Request.objects.select_for_update(of=("self",))
        .select_related("transaction_type", "assignee__user")
        .get(pk=request_obj.pk)
    )


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
) -> Comment:
    """A comment with optional attachments and an optional voice recording. Beneficiaries
    write external comments only; their comment answers a request for information and returns
    the request to in progress. External comments by staff notify the beneficiary (SMS,
    email, in-app); internal ones, voice included, stay with the team."""
    _ensure_schema(agency)
    body = (body or "").strip()
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": _("Choose who can see the comment.")})
    if not body and not attachments and voice is None:
        raise ValidationError({"body": _("Write a comment or attach a file.")})
    if len(body) > 10_000:
        raise ValidationError({"body": _("The comment is too long.")})
    checked = _check_files(attachments)
    checked_voice = _check_voice(voice, voice_duration) if voice is not None else None
    by_beneficiary = author.pk == request_obj.beneficiary_id
    if by_beneficiary and visibility != Visibility.EXTERNAL:
        raise PermissionDenied(_("Beneficiaries write external comments only."))
    with transaction.atomic():
        item = _locked(request_obj)
        if item.status not in OPEN_STATUSES:
            raise ValidationError(_("This request is closed."))
        comment = Comment.objects.create(
            request=item, author=author, visibility=visibility, body=body
        )
        for upload in checked:
            attachment_store(
                agency=agency,
                item=item,
                uploaded_by=author,
                visibility=visibility,
                checked=upload,
                comment=comment,
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
            data={"attachments": len(checked)},
        )
        index_sync(agency=agency, request=item)
        audit.agency_record(
            actor=author,
            action=f"request.comment.{visibility}",
            obj=item,
            after={"comment": comment.pk, "attachments": len(checked)},
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
    return comment_add(
        agency=agency,
        request_obj=request_obj,
        author=author,
        body="",
        visibility=visibility,
        attachments=files,
    )


def _transition(
    *,
    agency: Agency,
    request_obj: Request,
    actor: User,
    to_status: str,
    kind: str,
    event: str | None,
    note: str,
    **fields,
) -> Request:
    _ensure_schema(agency)
    with transaction.atomic():
        item = _locked(request_obj)
        if item.status not in OPEN_STATUSES:
            raise ValidationError(_("This request is already closed."))
        before = {"status": item.status}
        _first_response(item)
        if item.status == Status.POSTPONED:
            item.postponed_until = None
        item.status = to_status
        for name, value in fields.items():
            setattr(item, name, value)
        if to_status in (Status.CLOSED, Status.REJECTED):
            item.closed_at = timezone.now()
        item.save()
        pause_track(item=item, old_status=before["status"])
        comment = None
        if note:
            comment = Comment.objects.create(
                request=item, author=actor, visibility=Visibility.EXTERNAL, body=note
            )
        TimelineEvent.objects.create(
            request=item, kind=kind, visibility=Visibility.EXTERNAL, actor=actor, comment=comment
        )
        index_sync(agency=agency, request=item)
        audit.agency_record(
            actor=actor,
            action=f"request.{kind}",
            obj=item,
            before=before,
            after={"status": to_status},
        )
        if event:
            _notify_beneficiary(
                agency, item, event, f"{item.pk}:{kind}:{timezone.now()}", comment=note
            )
    return item


def request_start(*, agency: Agency, request_obj: Request, actor: User) -> Request:
    """The assignee starts working on a new request."""
    return _transition(
        agency=agency,
        request_obj=request_obj,
        actor=actor,
        to_status=Status.IN_PROGRESS,
        kind=TimelineEvent.STARTED,
        event=None,
        note="",
    )


def request_ask_information(
    *, agency: Agency, request_obj: Request, actor: User, question: str
) -> Request:
    """Ask the beneficiary for information: awaiting the beneficiary until they answer."""
    question = (question or "").strip()
    if not question:
        raise ValidationError({"question": _("Write what you need from the beneficiary.")})
    return _transition(
        agency=agency,
        request_obj=request_obj,
        actor=actor,
        to_status=Status.AWAITING_BENEFICIARY,
        kind=TimelineEvent.INFO_REQUESTED,
        event="request.info_requested",
        note=question,
    )


def request_resolve(
    *, agency: Agency, request_obj: Request, actor: User, note: str = ""
) -> Request:
    """Close the request as completed and invite the beneficiary to the survey (one
    transaction)."""
    from requests_app.services.survey import survey_invite

    with transaction.atomic():
        item = _transition(
            agency=agency,
            request_obj=request_obj,
            actor=actor,
            to_status=Status.CLOSED,
            kind=TimelineEvent.RESOLVED,
            event="request.resolved",
            note=(note or "").strip(),
        )
        survey_invite(agency=agency, item=item)
    return item


def request_reject(*, agency: Agency, request_obj: Request, actor: User, reason: str) -> Request:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for rejecting the request.")})
    return _transition(
        agency=agency,
        request_obj=request_obj,
        actor=actor,
        to_status=Status.REJECTED,
        kind=TimelineEvent.REJECTED,
        event="request.rejected",
        note=reason,
        rejection_reason=reason,
    )


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
    with transaction.atomic():
        item = _locked(request_obj)
        if item.status not in (Status.CLOSED, Status.REJECTED):
            raise ValidationError(_("Only a closed or rejected request can be reopened."))
        before = {"status": item.status}
        item.status = Status.IN_PROGRESS
        item.closed_at = None
        item.reopened_count += 1
        item.save()
        comment = Comment.objects.create(
            request=item, author=actor, visibility=Visibility.EXTERNAL, body=reason
        )
        TimelineEvent.objects.create(
            request=item,
            kind=TimelineEvent.REOPENED,
            visibility=Visibility.EXTERNAL,
            actor=actor,
            comment=comment,
        )
        index_sync(agency=agency, request=item)
        audit.agency_record(
            actor=actor,
            action="request.reopened",
            obj=item,
            before=before,
            after={"status": item.status, "reopened_count": item.reopened_count},
        )
        _notify_beneficiary(
            agency,
            item,
            "request.reopened",
            f"{item.pk}:reopened:{item.reopened_count}",
            comment=reason,
        )
    return item
