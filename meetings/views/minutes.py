"""Pages of the minutes (participants, at /meetings/<agency>/<meeting>/minutes/…) and of the
decisions register (employees, at /a/<agency>/meetings/decisions/…). Thin: the services and
their policies decide who may do what."""

import functools

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.converters import parse_id
from core.reports import pdf_response, table_response
from frontend.forms import apply_service_errors
from meetings import policies
from meetings.forms_minutes import (
    DecisionForm,
    FollowUpForm,
    MinutesForm,
    RegisterFilterForm,
    RemarkForm,
)
from meetings.models import AgendaItem, Body, Meeting
from meetings.models_minutes import DecisionStatus, MinutesRemark, MinutesVersion
from meetings.services import decisions as decision_services
from meetings.services import minutes as services
from meetings.services.employees import employee_search
from meetings.views.common import (
    employee_more_message,
    employee_search_attrs,
    employee_search_box,
    meeting_view,
)
from tenants.decorators import workspace_view
from tenants.models import Agency
from tenants.urls_helpers import workspace_reverse

# --- the minutes (participants) -----------------------------------------------------------


def _back(agency: Agency, meeting: Meeting):
    return redirect("meetings:minutes", agency_slug=agency.slug, meeting_id=meeting.pk)


def _page(request, agency, meeting, *, form=None, remark_form=None, status=200):
    minutes = services.minutes_of(meeting)
    readable = services.can_read(request.user, meeting, minutes)
    can_write = services.can_write(request.user, meeting)
    if not readable and not can_write:
        raise Http404
    versions = list(minutes.versions.select_related("created_by")) if readable else []
    current = versions[0] if versions else None
    remarks = []
    if current is not None:
        remarks = MinutesRemark.objects.filter(version__minutes=minutes).select_related(
            "participant__user", "version"
        )
        if not services.sees_remarks(request.user, meeting):
            participant = policies.participant_of(request.user, meeting)
            remarks = remarks.filter(participant=participant) if participant else remarks.none()
    locked = minutes is not None and minutes.is_locked
    if form is None and current is not None and can_write and not locked:
        form = MinutesForm(initial={"body": current.body.rstrip("\n")})
    return render(
        request,
        "meetings/minutes.html",
        {
            "agency": agency,
            "meeting": meeting,
            "minutes": minutes,
            "current": current,
            "sections": services.sections(current.body) if current else [],
            "versions": versions,
            "remarks": list(remarks),
            "can_write": can_write and not locked,
            "can_circulate": can_write
            and not locked
            and minutes is not None
            and minutes.status == "draft"
            and meeting.status == "closed",
            "can_remark": services.can_remark(request.user, meeting, minutes),
            "can_approve": services.can_approve(request.user, meeting, minutes),
            "form": form,
            "remark_form": remark_form or RemarkForm(),
            "decision_url": (
                workspace_reverse(agency, "workspace:meetings_decision_new")
                + f"?meeting={meeting.pk}"
                if decision_services.can_manage(request.user)
                and meeting.status in decision_services.DECISION_MEETING_STATES
                else ""
            ),
        },
        status=status,
    )


@meeting_view
def minutes_page(request, agency: Agency, meeting: Meeting):
    if request.method == "POST":
        form = MinutesForm(request.POST)
        if form.is_valid():
            try:
                services.minutes_edit(
                    actor=request.user, meeting=meeting, body=form.cleaned_data["body"]
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("The minutes were saved as a new version."))
                return _back(agency, meeting)
        if not services.can_write(request.user, meeting):
            raise PermissionDenied(_("Only the secretary writes the minutes."))
        return _page(request, agency, meeting, form=form, status=400)
    return _page(request, agency, meeting)


def _action(request, agency: Agency, meeting: Meeting, service, done_message):
    try:
        service(actor=request.user, meeting=meeting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done_message)
    return _back(agency, meeting)


@meeting_view
@require_POST
def minutes_draft(request, agency: Agency, meeting: Meeting):
    return _action(request, agency, meeting, services.minutes_draft, _("The minutes were drafted."))


@meeting_view
@require_POST
def minutes_circulate(request, agency: Agency, meeting: Meeting):
    return _action(
        request,
        agency,
        meeting,
        services.minutes_circulate,
        _("The minutes were sent to the participants for their remarks."),
    )


@meeting_view
@require_POST
def minutes_approve(request, agency: Agency, meeting: Meeting):
    # The version the chair read (the form posts its number): a newer one is refused.
    version = parse_id(request.POST.get("version"))
    return _action(
        request,
        agency,
        meeting,
        functools.partial(services.minutes_approve, version=version),
        _("The minutes were approved and are now locked."),
    )


@meeting_view
@require_POST
def minutes_remark(request, agency: Agency, meeting: Meeting):
    form = RemarkForm(request.POST)
    if form.is_valid():
        try:
            services.minutes_remark(
                actor=request.user, meeting=meeting, text=form.cleaned_data["text"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Your remark was sent to the secretary."))
            return _back(agency, meeting)
    if not services.can_remark(request.user, meeting, services.minutes_of(meeting)):
        raise PermissionDenied
    return _page(request, agency, meeting, remark_form=form, status=400)


def _readable_version(request, meeting: Meeting, number: int | None) -> MinutesVersion:
    minutes = services.minutes_of(meeting)
    if not services.can_read(request.user, meeting, minutes):
        raise Http404
    versions = minutes.versions.select_related("minutes", "created_by", "approved_by")
    version = versions.filter(number=number).first() if number else versions.first()
    if version is None:
        raise Http404
    return version


@meeting_view
def minutes_version(request, agency: Agency, meeting: Meeting, number: int):
    version = _readable_version(request, meeting, number)
    return render(
        request,
        "meetings/minutes_version.html",
        {
            "agency": agency,
            "meeting": meeting,
            "version": version,
            "sections": services.sections(version.body),
        },
    )


@meeting_view
def minutes_pdf(request, agency: Agency, meeting: Meeting, language: str):
    """The minutes as a PDF in Arabic or English (the latest version the reader sees, or
    ``?version=n``), with the attendance list and every poll's result."""
    if language not in ("ar", "en"):
        raise Http404
    number = request.GET.get("version", "")
    version = _readable_version(request, meeting, parse_id(number))
    with translation.override(language):
        html = render_to_string(
            "meetings/minutes_pdf.html",
            {"agency": agency, **services.pdf_context(meeting, version, language)},
        )
    response = pdf_response(html, f"minutes-{meeting.pk}-v{version.number}-{language}")
    if response is None:
        messages.error(request, _("PDF reports are not available on this server at the moment."))
        return _back(agency, meeting)
    return response


# --- the decisions register (employees) -------------------------------------------------------


OWNER_QUERY = "owner_q"


def _owners(request, selected: int | None):
    """The employees the owner picker offers: the matches of ``?owner_q=`` (and the chosen
    one)."""
    return employee_search(
        actor=request.user, query=request.GET.get(OWNER_QUERY, ""), selected=selected
    )


@workspace_view()
def decision_list(request):
    """The register: every decision for its managers, one's own for an owner; filters, pages
    of 50 and the XLSX export of the filtered rows."""
    manager = decision_services.can_manage(request.user)
    owners = _owners(request, parse_id(request.GET.get("owner"))) if manager else None
    bodies = list(Body.objects.all()) if manager else []
    form = RegisterFilterForm(
        request.GET or None, owners=owners.rows if owners else [], bodies=bodies
    )
    if owners is None:
        del form.fields[OWNER_QUERY]  # one's own decisions: no owner to look for
    else:
        form.fields[OWNER_QUERY].widget.attrs.update(
            employee_search_attrs(request, input_id="id_owner_q", select_id="id_owner"),
            **{"aria-describedby": "id_owner_q-status"},
        )
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    owner = filters.get("owner")
    rows = decision_services.register(
        actor=request.user,
        membership=request.membership,
        status=filters.get("status") or "",
        owner_id=owner.pk if owner else None,
        body_id=filters.get("body"),
        due_from=filters.get("due_from"),
        due_to=filters.get("due_to"),
    )
    today = decision_services.today()
    if request.GET.get("export") == "xlsx":
        return table_response(
            fmt="xlsx",
            filename=f"{request.agency.slug}-decisions",
            header=[
                _("Decision"),
                _("Meeting"),
                _("Agenda item"),
                _("Owner"),
                _("Due date"),
                _("Status"),
                _("Late"),
            ],
            rows=[
                [
                    d.text,
                    d.meeting.title,
                    d.agenda_item.title if d.agenda_item else "",
                    d.owner.user.display_name,
                    d.due_date,
                    d.get_status_display(),
                    _("Yes") if d.is_late_on(today) else _("No"),
                ]
                for d in rows[:10_000]
            ],
        )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return render(
        request,
        "meetings/decisions/list.html",
        {
            "form": form,
            "page": page,
            "today": today,
            "manager": manager,
            "owner_search_status": employee_more_message() if owners and owners.more else "",
            "query": query.urlencode(),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def _decision_form(request, data=None, initial=None, decision=None):
    """The decision's form and its owner picker's search box; when editing, its meeting is
    fixed (no meeting field: the service keeps the meeting), and only that meeting's agenda
    items are offered."""
    if decision is not None:
        meetings = [decision.meeting]
    else:
        meetings = list(decision_services.meetings_for_decisions()[:200])
    items = AgendaItem.objects.filter(meeting__in=meetings).select_related("meeting")
    chosen = parse_id((data or {}).get("owner")) or (initial or {}).get("owner")
    owners = _owners(request, chosen)
    form = DecisionForm(
        data, initial=initial, meetings=meetings, items=list(items), owners=owners.rows
    )
    if decision is not None:
        del form.fields["meeting"]
    keep = {"meeting": request.GET["meeting"]} if request.GET.get("meeting") else None
    search = employee_search_box(
        request,
        owners,
        select_id="id_owner",
        label=_("Find the owner (name or email)"),
        param=OWNER_QUERY,
        keep=keep,
    )
    return form, search


def _save_decision(request, form, decision=None):
    """Call the service with the form's choices; its errors land on the form's fields."""
    data = form.cleaned_data
    if decision is not None:
        meeting = decision.meeting
    else:
        meeting = Meeting.objects.filter(pk=data["meeting"]).first()
    owner = data["owner"]
    item = (
        AgendaItem.objects.filter(pk=data["agenda_item"]).first() if data["agenda_item"] else None
    )
    if meeting is None:
        raise ValidationError({"meeting": [_("Choose a meeting.")]})
    if decision is None:
        return decision_services.decision_create(
            actor=request.user,
            meeting=meeting,
            text=data["text"],
            owner=owner,
            due_date=data["due_date"],
            agenda_item=item,
        )
    return decision_services.decision_update(
        actor=request.user,
        decision=decision,
        text=data["text"],
        owner=owner,
        due_date=data["due_date"],
        agenda_item=item,
    )


def _decision_page(request, *, decision=None, initial=None, done: str):
    """The decision's form (a new one when ``decision`` is None): saved through the service,
    its refusals shown on the fields (status 400), else on to the decision's page."""
    form, search = _decision_form(request, request.POST or None, initial=initial, decision=decision)
    if request.method == "POST" and form.is_valid():
        try:
            decision = _save_decision(request, form, decision)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(
                workspace_reverse(request, "workspace:meetings_decision", decision_id=decision.pk)
            )
    return render(
        request,
        "meetings/decisions/form.html",
        {"form": form, "decision": decision, "employee_search": search},
        status=400 if request.method == "POST" else 200,
    )


@workspace_view()
def decision_new(request):
    if not decision_services.can_manage(request.user):
        raise PermissionDenied(_("You do not have permission to record decisions."))
    meeting_id = parse_id(request.GET.get("meeting", ""))
    return _decision_page(
        request,
        initial={"meeting": meeting_id} if meeting_id else None,
        done=_("The decision was recorded."),
    )


@workspace_view()
def decision_edit(request, decision_id: int):
    decision = decision_services.decision_for(actor=request.user, decision_id=decision_id)
    if decision is None:
        raise Http404
    if not decision_services.can_manage(request.user):
        raise PermissionDenied(_("You do not have permission to change decisions."))
    initial = {
        "agenda_item": decision.agenda_item_id,
        "text": decision.text,
        "owner": decision.owner_id,
        "due_date": decision.due_date,
    }
    return _decision_page(
        request, decision=decision, initial=initial, done=_("The decision was changed.")
    )


@workspace_view()
def decision_detail(request, decision_id: int):
    """A decision, its follow-up history and (owner, managers) the follow-up form."""
    decision = decision_services.decision_for(actor=request.user, decision_id=decision_id)
    if decision is None:
        raise Http404
    form = FollowUpForm(request.POST or None, initial={"status": decision.status})
    if request.method == "POST" and form.is_valid():
        try:
            decision_services.decision_follow_up(
                actor=request.user,
                decision=decision,
                status=form.cleaned_data["status"],
                text=form.cleaned_data["text"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The follow-up was saved."))
            return redirect(
                workspace_reverse(request, "workspace:meetings_decision", decision_id=decision.pk)
            )
    notes = decision.notes.select_related("author")
    return render(
        request,
        "meetings/decisions/detail.html",
        {
            "decision": decision,
            "notes": [
                {
                    "note": n,
                    "status_from": DecisionStatus(n.status_from).label if n.status_from else "",
                    "status_to": DecisionStatus(n.status_to).label if n.status_to else "",
                }
                for n in notes
            ],
            "form": form,
            "late": decision.is_late_on(decision_services.today()),
            "manager": decision_services.can_manage(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )
