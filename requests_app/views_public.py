"""Beneficiary-side views: guidance catalogue, new request, my requests, request page, API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from core.converters import parse_id
from core.files.downloads import private_file_response
from frontend.forms import apply_service_errors
from requests_app import selectors, services
from requests_app.constants import Category, Priority, Status, Visibility
from requests_app.forms import CommentForm, RequestForm
from requests_app.models import Attachment
from requests_app.public.models import CatalogueEntry
from requests_app.services import uploads
from requests_app.views_files import PENDING_FIELD, files_first
from tenants.models import Agency


def _agency(slug: str) -> Agency:
    return get_object_or_404(Agency, slug=slug, is_active=True)


def catalogue(request):
    query = request.GET.get("q", "").strip()[:100]
    category = request.GET.get("category", "")
    category = category if category in Category.values else ""
    agency_slug = request.GET.get("agency", "")[:40]
    entries = list(
        selectors.catalogue_search(query=query, agency_slug=agency_slug, category=category)[:200]
    )
    agencies = Agency.objects.filter(is_active=True).order_by("slug")
    return render(
        request,
        "requests_app/catalogue.html",
        {
            "entries": entries,
            "q": query,
            "category": category,
            "agency_slug": agency_slug,
            "agencies": agencies,
            "categories": Category.choices,
        },
    )


def catalogue_entry(request, agency_slug: str, type_id: int):
    entry = get_object_or_404(
        CatalogueEntry.objects.select_related("agency"),
        type_id=type_id,
        agency__slug=agency_slug,
        agency__is_active=True,
        is_active=True,
    )
    return render(request, "requests_app/catalogue_entry.html", {"entry": entry})


@login_required
def new_request_choose_agency(request):
    agencies = Agency.objects.filter(is_active=True, catalogue__is_active=True).distinct()
    return render(
        request, "requests_app/new_choose_agency.html", {"agencies": agencies.order_by("slug")}
    )


DRAFT_KEY = "requests:draft:{agency_id}"
ANSWER_FIELDS = ("transaction_type", "subject", "priority", "description")


def _draft(request, agency: Agency) -> dict | None:
    draft = request.session.get(DRAFT_KEY.format(agency_id=agency.pk))
    return draft if isinstance(draft, dict) else None


def _pending_of_draft(request, agency: Agency, draft: dict) -> list:
    with schema_context(agency.schema_name):
        return uploads.pending_uploads_owned(user=request.user, ids=draft.get("pending") or [])


def _request_form_page(request, agency, types, form, pending, status=200):
    return render(
        request,
        "requests_app/new_request.html",
        {
            "agency": agency,
            "form": form,
            "types": types,
            "pending": pending,
            "pending_field": PENDING_FIELD,
        },
        status=status,
    )


@login_required
def new_request(request, agency_slug: str):
    """The request form, with files uploaded first; a valid form becomes a draft in the session
    and goes to "check your answers" (nothing is created before the confirmation)."""
    agency = _agency(agency_slug)
    types = list(CatalogueEntry.objects.filter(agency=agency, is_active=True).order_by("name_ar"))
    if request.method != "POST":
        type_id = parse_id(request.GET.get("type"))
        draft = _draft(request, agency)
        if draft is not None and (
            "change" in request.GET or type_id is None or type_id == draft.get("transaction_type")
        ):
            form = RequestForm(initial=draft, types=types)
            return _request_form_page(
                request, agency, types, form, _pending_of_draft(request, agency, draft)
            )
        initial = {"transaction_type": type_id} if type_id is not None else {}
        form = RequestForm(initial=initial, types=types)
        return _request_form_page(request, agency, types, form, [])
    files = files_first(request, agency)
    pending = files["pending"]
    if files["changed_only"]:
        # A file added or removed: the same form again, as typed, without judging it yet.
        initial = {name: request.POST.get(name, "") for name in ANSWER_FIELDS}
        form = RequestForm(initial=initial, types=types)
        if files["errors"]:
            form = RequestForm(request.POST, types=types)
            form.is_valid()
            form.errors.clear()
            for error in files["errors"]:
                form.add_error("attachments", error)
        return _request_form_page(request, agency, types, form, pending)
    form = RequestForm(request.POST, request.FILES, types=types)
    valid = form.is_valid()
    for error in files["errors"]:
        form.add_error("attachments", error)
    if not valid or files["errors"]:
        return _request_form_page(request, agency, types, form, pending)
    data = form.cleaned_data
    request.session[DRAFT_KEY.format(agency_id=agency.pk)] = {
        "transaction_type": data["transaction_type"],
        "subject": data["subject"],
        "priority": data["priority"],
        "description": data["description"],
        "pending": [p.pk for p in pending],
    }
    return redirect("requests:check", agency_slug=agency.slug)


@login_required
def new_request_check(request, agency_slug: str):
    """ "Check your answers": every answer and file of the draft with a "change" link back to
    the form (values kept); the request is created only when confirmed here."""
    agency = _agency(agency_slug)
    draft = _draft(request, agency)
    if draft is None:
        return redirect("requests:new", agency_slug=agency.slug)
    types = list(CatalogueEntry.objects.filter(agency=agency, is_active=True).order_by("name_ar"))
    if request.method == "POST":
        try:
            item = services.request_submit(
                agency=agency,
                beneficiary=request.user,
                transaction_type_id=draft["transaction_type"],
                subject=draft["subject"],
                description=draft["description"],
                priority=draft["priority"],
                pending_upload_ids=draft.get("pending") or [],
            )
        except ValidationError as exc:
            form = RequestForm({name: draft.get(name, "") for name in ANSWER_FIELDS}, types=types)
            form.is_valid()
            apply_service_errors(form, exc)
            pending = _pending_of_draft(request, agency, draft)
            return _request_form_page(request, agency, types, form, pending)
        request.session.pop(DRAFT_KEY.format(agency_id=agency.pk), None)
        return redirect("requests:submitted", agency_slug=agency.slug, reference=item.reference)
    pending = _pending_of_draft(request, agency, draft)
    service = next((t for t in types if t.type_id == draft.get("transaction_type")), None)
    if service is None:
        return redirect(f"{reverse('requests:new', args=[agency.slug])}?change=1")
    return render(
        request,
        "requests_app/new_request_check.html",
        {
            "agency": agency,
            "draft": draft,
            "service": service,
            "priority_label": Priority(draft["priority"]).label
            if draft.get("priority") in Priority.values
            else "",
            "pending": pending,
            "missing_files": len(pending) != len(draft.get("pending") or []),
        },
    )


@login_required
def request_submitted(request, agency_slug: str, reference: str):
    """The confirmation panel after a submission: the reference, the expected reply date in
    working days and what happens next. The beneficiary's own request only."""
    agency = _agency(agency_slug)
    with schema_context(agency.schema_name):
        item = selectors.beneficiary_request(user=request.user, reference=reference)
        if item is None:
            raise Http404
        expectation = selectors.submission_expectation(item=item)
        return render(
            request,
            "requests_app/request_submitted.html",
            {"agency": agency, "item": item, **expectation},
        )


@login_required
def my_requests(request):
    status = request.GET.get("status", "")
    status = status if status in Status.values else ""
    priority = request.GET.get("priority", "")
    priority = priority if priority in Priority.values else ""
    agency_id = request.GET.get("agency", "")
    agency_id = parse_id(agency_id)
    query = request.GET.get("q", "").strip()[:100]
    page = Paginator(
        selectors.my_requests(
            user=request.user, query=query, status=status, agency_id=agency_id, priority=priority
        ),
        25,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "requests_app/my_requests.html",
        {
            "page": page,
            "q": query,
            "status": status,
            "priority": priority,
            "agency_id": agency_id,
            "statuses": Status.choices,
            "priorities": Priority.choices,
        },
    )


def _reply(request, agency: Agency, item) -> tuple[CommentForm, list, bool]:
    """The beneficiary's reply POST: its files stored first (kept whatever else fails), then
    the comment, which takes them. Returns the form (with its errors), the pending uploads it
    holds and whether the comment was sent."""
    files = files_first(request, agency)
    pending = files["pending"]
    if files["changed_only"]:
        # A file added or removed: the same form again, as typed, without judging it yet.
        form = CommentForm(initial={"body": request.POST.get("body", "")})
        if files["errors"]:
            form = CommentForm(request.POST)
            form.is_valid()
            form.errors.clear()
            for error in files["errors"]:
                form.add_error("attachments", error)
        return form, pending, False
    # The chosen files are pending uploads now: the form judges the rest (text, voice).
    form = CommentForm(request.POST, request.FILES)
    valid = form.is_valid()
    for error in files["errors"]:
        form.add_error("attachments", error)
    if not valid or files["errors"]:
        return form, pending, False
    try:
        services.comment_add(
            agency=agency,
            request_obj=item,
            author=request.user,
            body=form.cleaned_data["body"],
            visibility=Visibility.EXTERNAL,
            pending_upload_ids=[p.pk for p in pending],
            voice=form.cleaned_data.get("voice"),
            voice_duration=form.cleaned_data.get("voice_duration"),
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return form, pending, False
    return form, [], True


@login_required
def request_detail(request, agency_slug: str, reference: str):
    """The beneficiary's request page and its reply form, with files uploaded first: the
    files of a reply that comes back with an error are kept and listed (with "remove")."""
    agency = _agency(agency_slug)
    with schema_context(agency.schema_name):
        item = selectors.beneficiary_request(user=request.user, reference=reference)
        if item is None:
            raise Http404
        if request.method == "POST" and not item.is_open:
            # The page shows no form on a closed request, so form errors would be invisible:
            # say it with a message instead (and keep no file of it).
            messages.error(request, _("This request is closed."))
            return redirect("requests:detail", agency_slug=agency.slug, reference=item.reference)
        form, pending = CommentForm(), []
        if request.method == "POST":
            form, pending, sent = _reply(request, agency, item)
            if sent:
                messages.success(request, _("Your comment was sent."))
                return redirect(
                    "requests:detail", agency_slug=agency.slug, reference=item.reference
                )
        timeline, files = selectors.request_history(request_obj=item, external_only=True)
        survey_url = survey_kind = ""
        if item.status == Status.CLOSED and not hasattr_survey(item):
            from django.urls import reverse

            from requests_app.services.survey import survey_form, survey_token

            survey_url = reverse("survey", kwargs={"token": survey_token(agency=agency, item=item)})
            survey_kind = survey_form()
        return render(
            request,
            "requests_app/request_detail.html",
            {
                "agency": agency,
                "item": item,
                "timeline": timeline,
                "files": files,
                "form": form,
                "pending": pending,
                "pending_field": PENDING_FIELD,
                "survey_url": survey_url,
                "survey_kind": survey_kind,
            },
        )


@login_required
def request_file(request, agency_slug: str, reference: str, file_id: int):
    agency = _agency(agency_slug)
    with schema_context(agency.schema_name):
        item = selectors.beneficiary_request(user=request.user, reference=reference)
        attachment = None
        if item is not None:
            attachment = Attachment.objects.filter(
                pk=file_id, request=item, visibility=Visibility.EXTERNAL
            ).first()
        if attachment is None:
            raise Http404
        return private_file_response(attachment)


# --- JSON API (same rules as the pages) --------------------------------------------------------


def api_my_requests(request):
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Sign in first.")}, status=401)
    rows = selectors.my_requests(user=request.user)[:200]
    return JsonResponse(
        {
            "requests": [
                {
                    "agency": row.agency.slug,
                    "reference": row.reference,
                    "subject": row.subject,
                    "type": row.type_name,
                    "status": row.status,
                    "priority": row.priority,
                    "assignee": row.assignee_name,
                    "created_at": row.created_at.isoformat(),
                    "is_late": row.is_late,
                }
                for row in rows
            ]
        }
    )


def api_request_detail(request, agency_slug: str, reference: str):
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Sign in first.")}, status=401)
    agency = _agency(agency_slug)
    with schema_context(agency.schema_name):
        item = selectors.beneficiary_request(user=request.user, reference=reference)
        if item is None:
            return JsonResponse({"error": _("Not found.")}, status=404)
        timeline, _files = selectors.request_history(request_obj=item, external_only=True)
        return JsonResponse(
            {
                "reference": item.reference,
                "subject": item.subject,
                "status": item.status,
                "priority": item.priority,
                "description": item.description,
                "timeline": [
                    {
                        "kind": event.kind,
                        "at": event.created_at.isoformat(),
                        "comment": event.comment.body if event.comment_id else "",
                        "files": [f.original_name for f in event.files],
                    }
                    for event in timeline
                ],
            }
        )


# --- satisfaction survey and documents ---------------------------------------------------------


def survey(request, token: str):
    """The survey behind the signed link: works without signing in; once per request."""
    from django_tenants.utils import schema_context

    from requests_app.forms import SurveyForm
    from requests_app.models import Request, SurveyResponse
    from requests_app.services.survey import (
        survey_form,
        survey_may_answer,
        survey_submit,
        survey_token_read,
    )

    try:
        agency_id, request_id = survey_token_read(token)
    except ValidationError as exc:
        return render(
            request, "requests_app/survey_invalid.html", {"message": exc.messages[0]}, status=400
        )
    agency = Agency.objects.filter(pk=agency_id, is_active=True).first()
    if agency is None:
        raise Http404
    with schema_context(agency.schema_name):
        item = Request.objects.select_related("transaction_type").filter(pk=request_id).first()
        if item is None:
            raise Http404
        try:
            survey_may_answer(user=request.user, item=item)
        except PermissionDenied as exc:
            return render(request, "403.html", {"message": str(exc)}, status=403)
        if SurveyResponse.objects.filter(request=item).exists():
            return render(
                request,
                "requests_app/survey_done.html",
                {"agency": agency, "item": item, "already": True},
            )
        # Bound on every POST, even an empty one: sending nothing is an error, not a new form.
        form = SurveyForm(
            request.POST if request.method == "POST" else None, form_kind=survey_form()
        )
        if request.method == "POST" and form.is_valid():
            try:
                survey_submit(
                    agency=agency,
                    item=item,
                    suggestion=form.cleaned_data["suggestion"],
                    user=request.user,
                    **form.answers(),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                return render(request, "403.html", {"message": str(exc)}, status=403)
            else:
                return render(
                    request, "requests_app/survey_done.html", {"agency": agency, "item": item}
                )
        return render(
            request,
            "requests_app/survey.html",
            {"agency": agency, "item": item, "form": form},
        )


@login_required
def my_documents(request):
    query = request.GET.get("q", "").strip()[:100]
    page = Paginator(selectors.my_documents(user=request.user, query=query), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "requests_app/my_documents.html", {"page": page, "q": query})


def hasattr_survey(item) -> bool:
    from requests_app.models import SurveyResponse

    return SurveyResponse.objects.filter(request=item).exists()
