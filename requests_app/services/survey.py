"""Satisfaction surveys (R-8): invited on closure through a signed link that works without
signing in; answered once, by the beneficiary only."""

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from core import audit
from core.actions import use_case
from notifications.services import notification_send
from requests_app.constants import Status
from requests_app.models import Request, SurveyResponse, SurveySettings
from requests_app.survey import RATINGS, STATEMENTS, SurveyKind
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


def survey_form() -> str:
    """The form the current agency's beneficiaries answer (SurveyKind; the short one unless
    the agency chose the extended form)."""
    return SurveySettings.objects.values_list("form", flat=True).first() or SurveyKind.SHORT.value


def survey_form_set(*, form: str) -> tuple[str, str]:
    """Store the current agency's survey form; (before, after). Not a use case of its own: the
    employee evaluation settings (insights.services.evaluation_settings_save) call it after
    checking ``statistics.manage``, inside their transaction and audit."""
    if form not in SurveyKind.values:
        raise ValidationError({"survey_form": _("Choose one of the survey forms.")})
    config = SurveySettings.objects.select_for_update().first() or SurveySettings()
    before = config.form if config.pk else SurveyKind.SHORT.value
    if config.form != form or config.pk is None:
        config.form = form
        config.save()
    return before, form


def survey_may_answer(*, user, item: Request) -> None:
    """PermissionDenied unless ``user`` may answer the survey of ``item``: anyone holding the
    signed link while signed out (it was sent to the beneficiary), else only the beneficiary,
    and never an employee of the agency (the link may be forwarded)."""
    if user is None or not user.is_authenticated:
        return
    if Membership.objects.filter(user_id=user.pk).exists():
        raise PermissionDenied(_("Employees of the agency cannot answer its surveys."))
    if user.pk != item.beneficiary_id:
        raise PermissionDenied(_("Only the beneficiary of the request can answer."))


def _rating(value) -> bool:
    return value in RATINGS and not isinstance(value, bool)


@use_case
def survey_submit(
    *,
    agency: Agency,
    item: Request,
    overall: int | None = None,
    ease: int | None = None,
    speed: int | None = None,
    answers: list[int] | None = None,
    suggestion: str = "",
    user=None,
) -> SurveyResponse:
    """Record the answers to the agency's current form: the short form needs ``overall``
    (``ease`` and ``speed`` optional), the extended form the eleven ``answers``. Refused: a
    request not closed, a second answer, other people than the beneficiary and employees of
    the agency (survey_may_answer)."""
    survey_may_answer(user=user, item=item)
    if item.status != Status.CLOSED:
        raise ValidationError(_("The survey opens when the request is completed."))
    form = survey_form()
    answers = list(answers or [])
    if form == SurveyKind.EXTENDED:
        if len(answers) != len(STATEMENTS) or not all(_rating(a) for a in answers):
            raise ValidationError(_("Rate every statement from 1 to 5."))
        if ease is not None or speed is not None:
            raise ValidationError(_("This survey has no such question."))
        overall, score = answers[0], sum(answers) / len(answers)
    else:
        if answers:
            raise ValidationError(_("This survey has no such question."))
        if not _rating(overall):
            raise ValidationError({"overall": _("Choose your overall rating, from 1 to 5.")})
        for name, value in (("ease", ease), ("speed", speed)):
            if value is not None and not _rating(value):
                raise ValidationError({name: _("Choose a rating from 1 to 5.")})
        score = float(overall)
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                request=item,
                transaction_type_id=item.transaction_type_id,
                assignee_id=item.assignee_id,
                form=form,
                overall=overall,
                ease=ease,
                speed=speed,
                answers=answers,
                score=score,
                suggestion=(suggestion or "").strip()[:5000],
            )
            from requests_app.services.index import index_sync

            index_sync(agency=agency, request=item)
            audit.agency_record(
                actor=user if user and user.is_authenticated else None,
                action="request.survey",
                obj=item,
                after={"form": form, "overall": overall, "score": round(score, 2)},
            )
    except IntegrityError as exc:
        raise ValidationError(_("This survey was already answered. Thank you.")) from exc
    return response


def survey_results(*, department_ids: list[int] | None = None) -> dict:
    """Averages of the current agency in a constant number of queries: the satisfaction score
    (a response's ``score``: the overall rating of a short answer, the mean of the eleven
    statements of an extended one), the overall rating, the short form's optional ratings and
    the extended form's statements (over the answers that have them), per type and per
    employee. ``department_ids`` (a supervisor's subtree) keeps the requests of those
    departments."""
    responses = SurveyResponse.objects.all()
    if department_ids is not None:
        responses = responses.filter(request__department_id__in=department_ids)
    extended = Q(form=SurveyKind.EXTENDED)
    totals = responses.aggregate(
        n=Count("id"),
        score_avg=Avg("score"),
        overall_avg=Avg("overall"),
        short_n=Count("id", filter=Q(form=SurveyKind.SHORT)),
        extended_n=Count("id", filter=extended),
        ease_avg=Avg("ease"),
        ease_n=Count("ease"),
        speed_avg=Avg("speed"),
        speed_n=Count("speed"),
        **{
            f"s{i}": Avg(RawSQL(f"requests_app_surveyresponse.answers[{i + 1}]", []))
            for i in range(len(STATEMENTS))
        },
    )
    per_type = list(
        responses.values(
            "transaction_type_id", "transaction_type__name_ar", "transaction_type__name_en"
        )
        .annotate(n=Count("id"), avg=Avg("score"))
        .order_by("-avg")
    )
    per_employee = list(
        responses.values(
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
        "overall": totals["score_avg"],
        "overall_rating": totals["overall_avg"],
        "short_count": totals["short_n"],
        "extended_count": totals["extended_n"],
        "ease": totals["ease_avg"],
        "ease_count": totals["ease_n"],
        "speed": totals["speed_avg"],
        "speed_count": totals["speed_n"],
        "per_statement": [(text, totals[f"s{i}"]) for i, text in enumerate(STATEMENTS)],
        "per_type": per_type,
        "per_employee": per_employee,
    }
