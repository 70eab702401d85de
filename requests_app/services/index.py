"""The public request index row, rewritten in the same transaction as every change."""

from django.db import connection
from django.utils import translation

from requests_app.models import Request
from requests_app.public.models import RequestIndex
from requests_app.search import normalize
from tenants.models import Agency


def index_sync(*, agency: Agency, request: Request) -> RequestIndex:
    if connection.schema_name != agency.schema_name:
        raise RuntimeError("index_sync must run in the request's agency schema")
    request_type = request.transaction_type
    assignee_user = request.assignee.user if request.assignee_id else None
    with translation.override("ar"):
        name_ar = assignee_user.display_name if assignee_user else ""
    with translation.override("en"):
        name_en = assignee_user.display_name if assignee_user else ""
    row, _created = RequestIndex.objects.update_or_create(
        agency=agency,
        request_id=request.pk,
        defaults={
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
        },
    )
    return row
