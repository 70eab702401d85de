"""Satisfaction surveys (R-8): invited on closure through a signed link that works without
signing in; answered once, by the beneficiary only."""

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from core import audit
from notifications.services import notification_send
from requests_app.constants import Status
from requests_app.models import Request, SurveyResponse
from requests_app.survey import STATEMENTS
from tenants.models import Agency
from tenants.staff.models import Membership

SALT = "muamalat.survey"
MAX_AGE = 60 * 60 * 24 * 90  # the link works for 90 days


def survey_token(*, agency: Agency, item: Request) -> str:
    return signing.dumps({"a": agency.pk, "r": item.pk}, salt=SALT, compress=True)


def survey_token_read(token: str) -> tuple[int, int]:
    """(agency id, request id) of a valid link, else ValidationError."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
        return int(data["a"]), int(data["r"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ValidationError(_("This survey link is not valid or has expired.")) from exc


def survey_invite(*, agency: Agency, item: Request) -> None:
    """Ask the beneficiary of a closed request for their opinion (in-app and email)."""
    from django.urls import reverse

    link = reverse("survey", kwargs={"token": survey_token(agency=agency, item=item)})
    notification_send(
        recipient=item.beneficiary,
        event="request.survey",
        agency=agency,
        context={"reference": item.reference, "subject": item.subject},
        link=link,
        idempotency_key=f"request.survey:{agency.pk}:{item.pk}",
    )


def survey_submit(
    *,
    agency: Agency,
    item: Request,
    answers: list[int],
    suggestion: str,
    user=None,
) -> SurveyResponse:
    """Record the answers. Refused: a request not closed, a second answer, and employees of
    the agency (the link may be forwarded, so a signed-in employee is refused too)."""
    if user is not None and user.is_authenticated:
        if Membership.objects.filter(user_id=user.pk).exists():
            raise PermissionDenied(_("Employees of the agency cannot answer its surveys."))
        if user.pk != item.beneficiary_id:
            raise PermissionDenied(_("Only the beneficiary of the request can answer."))
    if item.status != Status.CLOSED:
        raise ValidationError(_("The survey opens when the request is completed."))
    if len(answers) != len(STATEMENTS) or any(a not in (1, 2, 3, 4, 5) for a in answers):
        raise ValidationError(_("Rate every statement from 1 to 5."))
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                request=item,
                transaction_type_id=item.transaction_type_id,
                assignee_id=item.assignee_id,
                answers=list(answers),
                suggestion=(suggestion or "").strip()[:5000],
            )
            from requests_app.services.index import index_sync

            index_sync(agency=agency, request=item)
            audit.agency_record(
                actor=user if user and user.is_authenticated else None,
                action="request.survey",
                obj=item,
                after={"score": round(response.score, 2)},
            )
    except IntegrityError as exc:
        raise ValidationError(_("This survey was already answered. Thank you.")) from exc
    return response


def survey_results(*, department_ids: list[int] | None = None) -> dict:
    """Averages of the current agency: overall, per statement, per type and per employee
    (a response's score is the mean of its eleven answers; a constant number of queries).
    ``department_ids`` (a supervisor's subtree) keeps the requests of those departments."""
    responses = SurveyResponse.objects.all()
    if department_ids is not None:
        responses = responses.filter(request__department_id__in=department_ids)
    scored = responses.annotate(
        score=RawSQL("(SELECT avg(x) FROM unnest(requests_app_surveyresponse.answers) AS x)", [])
    )
    totals = scored.aggregate(n=Count("id"), overall=Avg("score"))
    statement_averages = responses.aggregate(
        **{
            f"s{i}": Avg(RawSQL(f"requests_app_surveyresponse.answers[{i + 1}]", []))
            for i in range(len(STATEMENTS))
        }
    )
    per_type = list(
        scored.values(
            "transaction_type_id", "transaction_type__name_ar", "transaction_type__name_en"
        )
        .annotate(n=Count("id"), avg=Avg("score"))
        .order_by("-avg")
    )
    per_employee = list(
        scored.values(
            "assignee_id",
            "assignee__user__first_name_ar",
            "assignee__user__first_name_en",
            "assignee__user__email",
        )
        .annotate(n=Count("id"), avg=Avg("score"))
        .order_by("-avg")
    )
    return {
        "count": totals["n"],
        "overall": totals["overall"],
        "per_statement": [(text, statement_averages[f"s{i}"]) for i, text in enumerate(STATEMENTS)],
        "per_type": per_type,
        "per_employee": per_employee,
    }
