"""Views of the schedule part: the workspace's bodies and meetings (managers), the portal's
"My meetings" and meeting page (participants, and employees who see every meeting), the
signed answer link and the invitation link. Thin: the services decide and refuse."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from core.converters import parse_id
from core.files.downloads import private_file_response
from frontend.forms import apply_service_errors
from meetings import minutes_page, policies, room_page, voting_page
from meetings.constants import MeetingStatus, Rsvp
from meetings.forms_schedule import (
    AgendaItemForm,
    BodyForm,
    DocumentForm,
    MeetingForm,
    MemberEditForm,
    PersonForm,
    RsvpForm,
)
from meetings.ics import meeting_ics
from meetings.models import AgendaItem, Body, BodyMember, Meeting, MeetingDocument, Participant
from meetings.pages import meeting_path
from meetings.selectors_schedule import (
    PAST,
    UPCOMING,
    meeting_agenda_with_documents,
    meeting_participants,
    my_meetings,
    workspace_meetings,
)
from meetings.services import employees as employee_services
from meetings.services import schedule as services
from meetings.views.common import (
    EMPLOYEE_QUERY,
    agency_or_404,
    employee_search_box,
    meeting_view,
    workspace_meeting_view,
)
from tenants.decorators import workspace_view
from tenants.urls_helpers import workspace_reverse

PENDING_INVITATION = "meetings_pending_invitation"


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You do not have permission to do this.")


def _when(request) -> str:
    return PAST if request.GET.get("when") == PAST else UPCOMING


# --- workspace: meetings list ----------------------------------------------------------------


@workspace_view()
def meetings(request):
    """The agency's meetings (managers and those who see all), or the employee's own."""
    sees_all = policies.sees_all(request.user)
    when = _when(request)
    rows = workspace_meetings(user=request.user, sees_all=sees_all, when=when)
    if not policies.can_manage(request.user):
        rows = rows.exclude(status=MeetingStatus.DRAFT)
    return render(
        request,
        "meetings/workspace/meetings.html",
        {
            "rows": list(rows[:200]),
            "when": when,
            "can_manage": policies.can_manage(request.user),
            "sees_all": sees_all,
        },
    )


# --- workspace: bodies -----------------------------------------------------------------------


@workspace_view("meetings.manage")
def bodies(request):
    rows = Body.objects.annotate(
        member_count=Count("members", filter=Q(members__is_active=True))
    ).order_by("-is_active", "name_ar")
    return render(request, "meetings/workspace/bodies.html", {"rows": rows})


def _body_form_save(request, form: BodyForm, body: Body | None):
    try:
        return services.body_save(
            actor=request.user,
            body=body,
            name_ar=form.cleaned_data["name_ar"],
            name_en=form.cleaned_data["name_en"],
            kind=form.cleaned_data["kind"],
            rules=form.rules(),
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
    return None


@workspace_view("meetings.manage")
def body_new(request):
    form = BodyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        body = _body_form_save(request, form, None)
        if body is not None:
            messages.success(request, _("Saved."))
            return redirect(workspace_reverse(request, "workspace:meeting_body", body_id=body.pk))
    return render(request, "meetings/workspace/body_edit.html", {"form": form, "body": None})


def _employees(request, *, excluding, posted: bool):
    """The employees a PersonForm's picker offers: the matches of the page's search, and the
    one just chosen when the form comes back with an error."""
    return employee_services.employee_search(
        actor=request.user,
        query=request.GET.get(EMPLOYEE_QUERY, ""),
        excluding=excluding,
        selected=parse_id(request.POST.get("membership")) if posted else None,
    )


@workspace_view("meetings.manage")
def body_detail(request, body_id: int):
    body = get_object_or_404(Body, pk=body_id)
    members = list(body.members.filter(is_active=True).select_related("user"))
    initial = {name: getattr(body, name) for name in BodyForm.base_fields if hasattr(body, name)}
    form = BodyForm(request.POST if request.POST.get("form") == "body" else None, initial=initial)
    member_posted = request.POST.get("form") == "member"
    employees = _employees(request, excluding=body, posted=member_posted)
    person_form = PersonForm(request.POST if member_posted else None, memberships=employees.rows)
    if request.method == "POST" and request.POST.get("form") == "body" and form.is_valid():
        if _body_form_save(request, form, body) is not None:
            messages.success(request, _("Saved."))
            return redirect(request.path)
    if request.method == "POST" and member_posted and person_form.is_valid():
        try:
            services.body_member_add(actor=request.user, body=body, **person_form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(person_form, exc)
        else:
            messages.success(request, _("Member added."))
            return redirect(request.path)
    return render(
        request,
        "meetings/workspace/body_detail.html",
        {
            "body": body,
            "members": members,
            "form": form,
            "person_form": person_form,
            "employee_search": employee_search_box(
                request, employees, select_id="id_membership", excluding=body
            ),
            "edit_form": MemberEditForm(),
        },
    )


@workspace_view("meetings.manage")
@require_POST
def member_edit(request, body_id: int, member_id: int):
    member = get_object_or_404(BodyMember, pk=member_id, body_id=body_id, is_active=True)
    form = MemberEditForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.as_text())
        services.body_member_update(
            actor=request.user,
            member=member,
            role=form.cleaned_data["role"],
            weight=form.cleaned_data["weight"],
        )
    except ValidationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("Saved."))
    return redirect(workspace_reverse(request, "workspace:meeting_body", body_id=body_id))


@workspace_view("meetings.manage")
@require_POST
def member_remove(request, body_id: int, member_id: int):
    member = get_object_or_404(BodyMember, pk=member_id, body_id=body_id, is_active=True)
    services.body_member_remove(actor=request.user, member=member)
    messages.success(request, _("Member removed."))
    return redirect(workspace_reverse(request, "workspace:meeting_body", body_id=body_id))


@workspace_view()
def employees(request):
    """The live search of the employee pickers (employee_search.js): the active employees
    matching ``?q=`` as JSON, without the members of ``?body=`` or the participants of
    ``?meeting=``. The service refuses whoever does not choose employees (403)."""
    excluding = None
    if parse_id(request.GET.get("body")):
        excluding = get_object_or_404(Body, pk=parse_id(request.GET.get("body")))
    elif parse_id(request.GET.get("meeting")):
        excluding = get_object_or_404(Meeting, pk=parse_id(request.GET.get("meeting")))
    matches = employee_services.employee_search(
        actor=request.user, query=request.GET.get("q", ""), excluding=excluding
    )
    return JsonResponse(
        {
            "results": [{"id": m.pk, "label": m.user.display_name} for m in matches.rows],
            "more": matches.more,
        }
    )


# --- workspace: one meeting ------------------------------------------------------------------


def _meeting_values(form: MeetingForm) -> dict:
    data = form.cleaned_data
    tz = timezone.get_default_timezone()

    def aware(value):
        if value is not None and timezone.is_naive(value):
            return timezone.make_aware(value, tz)
        return value

    return {
        "title_ar": data["title_ar"],
        "title_en": data.get("title_en", ""),
        "mode": data["mode"],
        "place": data.get("place", ""),
        "conference_url": data.get("conference_url", ""),
        "starts_at": aware(data["starts_at"]),
        "ends_at": aware(data["ends_at"]),
    }


@workspace_view("meetings.manage")
def meeting_new(request):
    active_bodies = list(Body.objects.filter(is_active=True))
    initial = {"body": request.GET.get("body") or "", "mode": "in_person", **_rules_initial()}
    form = MeetingForm(request.POST or None, bodies=active_bodies, initial=initial)
    if request.method == "POST" and form.is_valid():
        body = None
        if form.cleaned_data.get("body"):
            body = Body.objects.filter(pk=form.cleaned_data["body"], is_active=True).first()
        try:
            meeting = services.meeting_create(
                actor=request.user,
                body=body,
                rules=form.rules() if body is None else None,
                **_meeting_values(form),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Draft saved. Add the agenda, then announce it."))
            return redirect(workspace_reverse(request, "workspace:meeting", meeting_id=meeting.pk))
    return render(request, "meetings/workspace/meeting_edit.html", {"form": form, "meeting": None})


def _rules_initial(obj=None) -> dict:
    from meetings.models import Rules

    if obj is None:
        return {
            "quorum_kind": "share_members",
            "quorum_value": "0.5",
            "majority": "simple",
            "majority_base": "cast",
            "chair_casting_vote": True,
            "proxies_allowed": True,
            "proxy_cap": 1,
        }
    return {name: getattr(obj, name) for name in Rules.RULE_FIELDS}


@workspace_meeting_view()
def meeting_detail(request, meeting):
    """The meeting's management page; an employee who is only a participant (or one who sees
    every meeting) is sent to the meeting's page."""
    if not policies.can_manage(request.user):
        return redirect(meeting_path(request.agency, meeting))
    participants = meeting_participants(meeting)
    agenda, documents = meeting_agenda_with_documents(meeting)
    employees = _employees(request, excluding=meeting, posted=False)
    editable = meeting.status in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED)
    counts = {code: 0 for code in Rsvp.values}
    for participant in participants:
        counts[participant.rsvp] += 1
    return render(
        request,
        "meetings/workspace/meeting_detail.html",
        {
            "meeting": meeting,
            "participants": participants,
            "agenda": agenda,
            "documents": documents,
            "editable": editable,
            "rsvp_counts": [(label, counts[code]) for code, label in Rsvp.choices],
            "person_form": PersonForm(memberships=employees.rows),
            "employee_search": employee_search_box(
                request, employees, select_id="id_membership", excluding=meeting
            ),
            "agenda_form": AgendaItemForm(),
            "document_form": DocumentForm(items=agenda),
            "public_url": meeting_path(request.agency, meeting),
        },
    )


@workspace_meeting_view("meetings.manage")
def meeting_edit(request, meeting):
    initial = {
        "title_ar": meeting.title_ar,
        "title_en": meeting.title_en,
        "mode": meeting.mode,
        "place": meeting.place,
        "conference_url": meeting.conference_url,
        "starts_at": timezone.localtime(meeting.starts_at),
        "ends_at": timezone.localtime(meeting.ends_at),
        **_rules_initial(meeting),
    }
    form = MeetingForm(
        request.POST or None,
        initial=initial,
        with_body=False,
        with_rules=meeting.body_id is None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_update(
                actor=request.user,
                meeting=meeting,
                rules=form.rules() if meeting.body_id is None else None,
                **_meeting_values(form),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(workspace_reverse(request, "workspace:meeting", meeting_id=meeting.pk))
    return render(
        request, "meetings/workspace/meeting_edit.html", {"form": form, "meeting": meeting}
    )


def _back_to_meeting(request, meeting, call, success: str | None, refused=(ValidationError,)):
    """Run one POST-only use case (``call()``), say how it went, and come back to the meeting's
    workspace page; a refusal (one of ``refused``) is shown as the page's error message."""
    try:
        call()
    except refused as exc:
        messages.error(request, _message(exc))
    else:
        if success:
            messages.success(request, success)
    return redirect(workspace_reverse(request, "workspace:meeting", meeting_id=meeting.pk))


def _form_to_meeting(request, meeting, form, call, success: str):
    """A form posted from the meeting's workspace page (which shows messages, not the form
    again): its errors as one message, or the use case run (``call(form.cleaned_data)``) as
    ``_back_to_meeting`` does."""
    if not form.is_valid():
        messages.error(request, " ".join(m for errs in form.errors.values() for m in errs))
        return redirect(workspace_reverse(request, "workspace:meeting", meeting_id=meeting.pk))
    return _back_to_meeting(request, meeting, lambda: call(form.cleaned_data), success)


def _post_action(request, meeting, action, success: str, **kwargs):
    """Run one POST-only use case on the meeting (the view's guard has checked
    meetings.manage) and come back to its page."""
    return _back_to_meeting(
        request,
        meeting,
        lambda: action(actor=request.user, meeting=meeting, **kwargs),
        success,
        refused=(ValidationError, PermissionDenied),
    )


@workspace_meeting_view("meetings.manage")
@require_POST
def meeting_announce(request, meeting):
    return _post_action(
        request,
        meeting,
        services.meeting_announce,
        _("Announced: invitations are on their way."),
    )


@workspace_meeting_view("meetings.manage")
@require_POST
def meeting_cancel(request, meeting):
    return _post_action(
        request,
        meeting,
        services.meeting_cancel,
        _("The meeting is cancelled and its participants are told."),
        reason=request.POST.get("reason", "")[:500],
    )


@workspace_meeting_view("meetings.manage")
@require_POST
def participant_add(request, meeting):
    return _form_to_meeting(
        request,
        meeting,
        PersonForm(request.POST),
        lambda data: services.participant_add(actor=request.user, meeting=meeting, **data),
        _("Participant added."),
    )


@workspace_meeting_view("meetings.manage")
@require_POST
def participant_remove(request, meeting, participant_id: int):
    participant = get_object_or_404(Participant, pk=participant_id, meeting=meeting)
    return _back_to_meeting(
        request,
        meeting,
        lambda: services.participant_remove(actor=request.user, participant=participant),
        _("Participant removed."),
    )


# --- workspace: agenda and documents ---------------------------------------------------------


@workspace_meeting_view("meetings.manage")
@require_POST
def agenda_add(request, meeting):
    return _form_to_meeting(
        request,
        meeting,
        AgendaItemForm(request.POST),
        lambda data: services.agenda_item_save(actor=request.user, meeting=meeting, **data),
        _("Item added to the agenda."),
    )


@workspace_meeting_view("meetings.manage")
def agenda_edit(request, meeting, item_id: int):
    item = get_object_or_404(AgendaItem, pk=item_id, meeting=meeting)
    initial = {
        "title": item.title,
        "presenter": item.presenter,
        "planned_minutes": item.planned_minutes,
        "description": item.description,
    }
    form = AgendaItemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.agenda_item_save(
                actor=request.user, meeting=meeting, item=item, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(workspace_reverse(request, "workspace:meeting", meeting_id=meeting.pk))
    return render(
        request,
        "meetings/workspace/agenda_edit.html",
        {"form": form, "meeting": meeting, "item": item},
    )


@workspace_meeting_view("meetings.manage")
@require_POST
def agenda_delete(request, meeting, item_id: int):
    item = get_object_or_404(AgendaItem, pk=item_id, meeting=meeting)
    return _back_to_meeting(
        request, meeting, lambda: services.agenda_item_delete(actor=request.user, item=item), None
    )


@workspace_meeting_view("meetings.manage")
@require_POST
def agenda_move(request, meeting, item_id: int):
    item = get_object_or_404(AgendaItem, pk=item_id, meeting=meeting)
    up = request.POST.get("direction") == "up"
    return _back_to_meeting(
        request,
        meeting,
        lambda: services.agenda_item_move(actor=request.user, item=item, up=up),
        None,
    )


@workspace_meeting_view("meetings.manage")
@require_POST
def document_add(request, meeting):
    items = list(meeting.agenda.all())
    return _form_to_meeting(
        request,
        meeting,
        DocumentForm(request.POST, request.FILES, items=items),
        lambda data: services.document_add(
            actor=request.user,
            meeting=meeting,
            upload=data["file"],
            item=next((i for i in items if i.pk == data["item"]), None),
        ),
        _("Document added."),
    )


@workspace_meeting_view("meetings.manage")
@require_POST
def document_delete(request, meeting, document_id: int):
    document = get_object_or_404(MeetingDocument, pk=document_id, meeting=meeting)
    return _back_to_meeting(
        request,
        meeting,
        lambda: services.document_delete(actor=request.user, document=document),
        _("Document deleted."),
    )


# --- portal: my meetings and the meeting page -----------------------------------------------


@login_required
def mine(request):
    when = _when(request)
    pending = request.session.get(PENDING_INVITATION)
    return render(
        request,
        "meetings/mine.html",
        {"rows": my_meetings(user=request.user, when=when), "when": when, "pending": pending},
    )


@meeting_view(participants=True)
def meeting_page(request, agency, meeting, participants):
    """The meeting's page: its details, agenda and participants, then each part's (room,
    voting, minutes). Participants and agenda are read once here and passed to the parts."""
    participant = policies.participant_of(request.user, meeting)
    agenda, documents = meeting_agenda_with_documents(meeting)
    context = {
        "agency": agency,
        "meeting": meeting,
        "participant": participant,
        "agenda": agenda,
        "documents": documents,
        "participants": participants,
        "can_manage": policies.can_manage(request.user),
        "takes_answers": participant is not None
        and meeting.status in (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS),
        "rsvp_form": RsvpForm(
            initial={"answer": participant.rsvp, "note": participant.rsvp_note}
            if participant
            else None
        ),
    }
    shared = {"participants": participants, "agenda": agenda}
    context.update(room_page.context(request, meeting, participant, **shared))
    context.update(voting_page.context(request, meeting, participant, **shared))
    context.update(minutes_page.context(request, meeting, participant))
    return render(request, "meetings/meeting.html", context)


@require_POST
@meeting_view
def meeting_rsvp(request, agency, meeting):
    participant = policies.participant_of(request.user, meeting)
    if participant is None:
        raise PermissionDenied(_("You are not invited to this meeting."))
    form = RsvpForm(request.POST)
    if form.is_valid():
        try:
            services.rsvp_answer(
                actor=request.user,
                meeting=meeting,
                answer=form.cleaned_data["answer"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("Thank you: your answer is recorded."))
    else:
        messages.error(request, _("Choose whether you will attend."))
    return redirect(meeting_path(agency, meeting))


@meeting_view
def meeting_ics_download(request, agency, meeting):
    participant = policies.participant_of(request.user, meeting)
    text = meeting_ics(agency=agency, meeting=meeting, participant=participant)
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@meeting_view
def document_download(request, agency, meeting, document_id: int):
    document = get_object_or_404(MeetingDocument, pk=document_id, meeting=meeting)
    return private_file_response(document)


# --- the links in the messages ---------------------------------------------------------------


def rsvp_link(request, agency_slug: str, token: str):
    """The signed answer link of an invitation: works without signing in (the signature is the
    proof); a tampered, expired or outdated link shows why and changes nothing."""
    agency = agency_or_404(agency_slug)
    with schema_context(agency.schema_name):
        try:
            participant = services.rsvp_link_participant(token=token)
        except services.RsvpLinkInvalid as exc:
            return render(
                request, "meetings/link_invalid.html", {"message": exc.messages[0]}, status=400
            )
        meeting = participant.meeting
        answer = request.GET.get("answer", "")
        form = RsvpForm(
            request.POST or None,
            initial={"answer": answer if answer in Rsvp.values else participant.rsvp},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.rsvp_by_link(
                    token=token,
                    answer=form.cleaned_data["answer"],
                    note=form.cleaned_data["note"],
                )
            except services.RsvpLinkInvalid as exc:
                return render(
                    request,
                    "meetings/link_invalid.html",
                    {"message": exc.messages[0]},
                    status=400,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Thank you: your answer is recorded."))
                return redirect(request.path)
        return render(
            request,
            "meetings/rsvp_link.html",
            {"agency": agency, "meeting": meeting, "participant": participant, "form": form},
        )


def invitation(request, agency_slug: str, token: str):
    """An invitee's link: signed in, they accept and the invitation binds to their account;
    otherwise they sign in or register first (the link is kept in their session, and "My
    meetings" offers it again after registration)."""
    agency = agency_or_404(agency_slug)
    with schema_context(agency.schema_name):
        participant = services.invitation_pending(token=token)
        if participant is None:
            request.session.pop(PENDING_INVITATION, None)
            return render(
                request,
                "meetings/link_invalid.html",
                {"message": _("This invitation link is not valid any more.")},
                status=400,
            )
        meeting = participant.meeting
        if not request.user.is_authenticated:
            request.session[PENDING_INVITATION] = request.path
            return render(
                request,
                "meetings/invitation.html",
                {
                    "agency": agency,
                    "meeting": meeting,
                    "login_url": reverse("account_login") + "?next=" + request.path,
                    "signup_url": reverse("account_signup"),
                },
            )
        if request.method == "POST":
            try:
                services.invitation_bind(user=request.user, token=token)
            except ValidationError as exc:
                messages.error(request, _message(exc))
            else:
                request.session.pop(PENDING_INVITATION, None)
                messages.success(request, _("The invitation is now in your meetings."))
                return redirect(meeting_path(agency, meeting))
        return render(
            request,
            "meetings/invitation.html",
            {"agency": agency, "meeting": meeting, "accept": True},
        )
