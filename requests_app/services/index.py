"""The public request index row, rewritten in the same transaction as every change."""

import copy

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import translation

from requests_app.constants import Status
from requests_app.models import Request, StatusPause, SurveyResponse
from requests_app.public.models import RequestIndex
from requests_app.public.signals import index_changed
from requests_app.search import normalize
from requests_app.services.live import request_changed_publish
from tenants.models import Agency


def index_sync(*, agency: Agency, request: Request) -> RequestIndex:
    """Rewrite the request's index row and tell the apps that follow it (``index_changed``: the
    statistics rollups move by the difference), atomically (inside the caller's transaction
    when there is one); after the commit, the request's open workspace pages hear of it."""
    if connection.schema_name != agency.schema_name:
        raise RuntimeError("index_sync must run in the request's agency schema")
    with transaction.atomic():
        return _index_sync(agency, request)


def _index_sync(agency: Agency, request: Request) -> RequestIndex:
    request_type = request.transaction_type
    assignee_user = request.assignee.user if request.assignee_id else None
    with translation.override("ar"):
        name_ar = assignee_user.display_name if assignee_user else ""
    with translation.override("en"):
        name_en = assignee_user.display_name if assignee_user else ""
    paused = StatusPause.objects.filter(request=request, ended_at__isnull=False).aggregate(
        total=Sum(F("ended_at") - F("started_at"))
    )["total"]
    paused_seconds = int(paused.total_seconds()) if paused else 0
    first_response_seconds = resolution_seconds = None
    if request.first_response_at:
        first_response_seconds = max(
            0, int((request.first_response_at - request.created_at).total_seconds())
        )
    if request.closed_at:
        elapsed = int((request.closed_at - request.created_at).total_seconds())
        resolution_seconds = max(0, elapsed - paused_seconds)
    # The survey's score: the overall rating (short form) or the mean of the eleven statements.
    satisfaction = (
        SurveyResponse.objects.filter(request=request).values_list("score", flat=True).first()
    )
    # The beneficiary's turn: the question and its date, only while they are awaited.
    awaiting = request.status == Status.AWAITING_BENEFICIARY
    # Unordered: .first() would add ORDER BY id, which the planner may answer by walking the
    # primary key when one agency holds much of the table.
    found = list(
        RequestIndex.objects.select_for_update().filter(agency=agency, request_id=request.pk)[:1]
    )
    old = found[0] if found else None
    previous = copy.copy(old) if old is not None else None
    fields = {
        "reference": request.reference,
        "beneficiary_id": request.beneficiary_id,
        "type_id": request_type.pk,
        "type_name_ar": request_type.name_ar,
        "type_name_en": request_type.name_en,
        "category": request_type.category,
        "subject": request.subject,
        "status": request.status,
        "priority": request.priority,
        "assignee_name_ar": name_ar,
        "assignee_name_en": name_en,
        "assignee_user_id": assignee_user.pk if assignee_user else None,
        "department_id": request.department_id,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
        "due_at": request.due_at,
        "first_response_at": request.first_response_at,
        "closed_at": request.closed_at,
        "is_late": request.is_late,
        "question_excerpt": excerpt(request.awaiting_question) if awaiting else "",
        "reply_by": request.reply_by if awaiting else None,
        "reopened_count": request.reopened_count,
        "paused_seconds": paused_seconds,
        "first_response_seconds": first_response_seconds,
        "resolution_seconds": resolution_seconds,
        "satisfaction": satisfaction,
        "search_text": normalize(
            " ".join(
                [
                    request.reference,
                    request.subject,
                    request_type.name_ar,
                    request_type.name_en,
                    agency.name_ar,
                    agency.name_en,
                ]
            )
        ),
    }
    # The row is already locked (above): update it in place, or create it.
    if old is None:
        row = RequestIndex.objects.create(agency=agency, request_id=request.pk, **fields)
    else:
        for name, value in fields.items():
            setattr(old, name, value)
        old.save()
        row = old
    # Its followers (the statistics rollups) move by the difference, in this same transaction.
    index_changed.send(sender=RequestIndex, agency=agency, previous=previous, row=row)
    # Every change of a request passes here: its open workspace pages hear of it after commit.
    request_changed_publish(agency=agency, request_id=request.pk, what=_what_changed(previous, row))
    return row


def excerpt(text: str, limit: int = 300) -> str:
    """The first ``limit`` characters of ``text`` on one line, cut at a word with an ellipsis."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def _what_changed(previous: RequestIndex | None, row: RequestIndex) -> str:
    """The kind of change a socket is told of: submitted, status, assignee or activity
    (comments, files, the late flag, the survey)."""
    if previous is None:
        return "submitted"
    if previous.status != row.status:
        return "status"
    if previous.assignee_user_id != row.assignee_user_id:
        return "assignee"
    return "activity"
