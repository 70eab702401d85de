"""Views of the live room and attendance, under /meetings/<agency_slug>/<meeting_id>/ (every
participant, employee or not). Thin: each finds the meeting in its agency's schema, refuses
those who may not open it (404, not told apart from an unknown meeting), and calls one service;
the services check roles (chair, secretary) and answer 403 otherwise.

Forms post normally (redirect back with a message) or through room.js's fetch (``Accept:
application/json``: a JSON answer, the page then follows the socket)."""

from __future__ import annotations

import functools
import time

import segno
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from core.converters import parse_id
from meetings import room_page
from meetings.constants import Presence
from meetings.models import Meeting, Participant
from meetings.pages import meeting_path
from meetings.policies import is_secretary, participant_of
from meetings.quorum import quorum_state
from meetings.selectors_schedule import meeting_agenda
from meetings.services import attendance as attendance_services
from meetings.services import room as room_services
from meetings.services.attendance import qr_token, qr_token_valid
from meetings.views.common import agency_or_404, meeting_view
from tenants.models import Agency


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request, agency: Agency, meeting: Meeting):
    target = request.POST.get("next", "")
    base = meeting_path(agency, meeting)
    if not (
        target.startswith(base)
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        target = base
    return redirect(target)


def _act(request, agency: Agency, meeting: Meeting, action, done: str = ""):
    """Run a service; answer with JSON or a redirect, a refusal as 403, bad input as a
    message (nothing changed)."""
    try:
        action()
    except PermissionDenied:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": _("You cannot do this.")}, status=403)
        raise
    except ValidationError as exc:
        errors = [str(message) for message in exc.messages]
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": " ".join(errors)}, status=400)
        for message in errors:
            messages.error(request, message)
        return _back(request, agency, meeting)
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": done})
    if done:
        messages.success(request, done)
    return _back(request, agency, meeting)


def _item_id(request) -> int | None:
    return parse_id(request.POST.get("item") or None)


# --- pages ------------------------------------------------------------------------------------


@meeting_view(participants=True)
def room(request, agency: Agency, meeting: Meeting, participants: list[Participant]):
    """The live room on its own page (the meeting page includes the same partial)."""
    participant = participant_of(request.user, meeting)
    context = {"agency": agency, "meeting": meeting, "participant": participant}
    context.update(
        room_page.context(
            request,
            meeting,
            participant,
            participants=participants,
            agenda=meeting_agenda(meeting),
        )
    )
    return render(request, "meetings/room.html", context)


@meeting_view(participants=True)
def attendance(request, agency: Agency, meeting: Meeting, participants: list[Participant]):
    """The secretary's attendance list: each participant with present / absent / excused."""
    if not is_secretary(request.user, meeting):
        raise PermissionDenied
    return render(
        request,
        "meetings/attendance.html",
        {
            "agency": agency,
            "meeting": meeting,
            "participants": sorted(participants, key=lambda p: p.pk),  # in the order invited
            "quorum": quorum_state(meeting, participants),
            "marks": [
                (Presence.PRESENT, _("Present")),
                (Presence.ABSENT, _("Absent")),
                (Presence.EXCUSED, _("Excused")),
            ],
            "meeting_url": meeting_path(agency, meeting),
        },
    )


@meeting_view
def qr_screen(request, agency: Agency, meeting: Meeting):
    """The secretary's screen with the rotating check-in QR code."""
    if not is_secretary(request.user, meeting):
        raise PermissionDenied
    check_in_url = _qr_check_in_url(request, agency, meeting)
    return render(
        request,
        "meetings/qr.html",
        {
            "agency": agency,
            "meeting": meeting,
            "qr": _qr_svg(check_in_url),
            "check_in_url": check_in_url,
            "code_url": reverse(
                "meetings:room_qr_code",
                kwargs={"agency_slug": agency.slug, "meeting_id": meeting.pk},
            ),
            "meeting_url": meeting_path(agency, meeting),
        },
    )


def _qr_check_in_url(request, agency: Agency, meeting: Meeting) -> str:
    """The link the code encodes now (also on the screen, for whoever cannot scan it)."""
    return request.build_absolute_uri(
        reverse(
            "meetings:room_qr_check_in",
            kwargs={
                "agency_slug": agency.slug,
                "meeting_id": meeting.pk,
                "token": qr_token(meeting=meeting),
            },
        )
    )


def _qr_svg(url: str) -> str:
    return segno.make(url, error="m").svg_inline(
        scale=6,
        light="#fff",
        omitsize=True,
        svgclass="qr-svg w-100 h-auto",
        title=_("Check-in code"),
    )


@never_cache
@meeting_view
def qr_code(request, agency: Agency, meeting: Meeting):
    """A fresh QR code (JSON with an inline SVG), fetched every few seconds by the screen."""
    if not is_secretary(request.user, meeting):
        raise PermissionDenied
    url = _qr_check_in_url(request, agency, meeting)
    return JsonResponse({"svg": _qr_svg(url), "url": url})


QR_SEEN_KEY = "meetings:qr-seen"


@never_cache
def qr_check_in(request, agency_slug: str, meeting_id: int, token: str):
    """Scanning the room's code opens this page: the signed-in participant is checked in at
    once (the short-lived signed token is the proof of being in the room). A visitor who is
    signed out is sent to sign in and back; the moment the server saw the token is kept in
    their session, so the few minutes signing in takes do not expire it. Whoever is not
    invited is told so, and learns nothing of the meeting."""
    agency = agency_or_404(agency_slug)
    with schema_context(agency.schema_name):
        meeting = get_object_or_404(Meeting, pk=meeting_id)
        if not request.user.is_authenticated:
            if qr_token_valid(meeting=meeting, token=token):
                seen = request.session.get(QR_SEEN_KEY) or {}
                seen = {key: at for key, at in seen.items() if at > time.time() - 3600}
                seen.setdefault(token, time.time())
                request.session[QR_SEEN_KEY] = seen
            return redirect_to_login(request.get_full_path())
        seen = request.session.get(QR_SEEN_KEY) or {}
        error = ""
        try:
            attendance_services.attendance_qr_check_in(
                actor=request.user, meeting=meeting, token=token, seen_at=seen.get(token)
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except PermissionDenied as exc:
            error = str(exc)
        if token in seen:
            request.session[QR_SEEN_KEY] = {k: v for k, v in seen.items() if k != token}
        return render(
            request,
            "meetings/qr_check_in.html",
            {
                "agency": agency,
                "meeting": meeting,
                "error": error,
                "meeting_url": meeting_path(agency, meeting),
            },
            status=400 if error else 200,
        )


# --- actions ----------------------------------------------------------------------------------


@require_POST
@meeting_view
def start(request, agency, meeting):
    return _act(
        request,
        agency,
        meeting,
        lambda: room_services.meeting_start(actor=request.user, meeting=meeting),
        _("The meeting has started."),
    )


@require_POST
@meeting_view
def close(request, agency, meeting):
    return _act(
        request,
        agency,
        meeting,
        lambda: room_services.meeting_close(actor=request.user, meeting=meeting),
        _("The meeting is closed."),
    )


@require_POST
@meeting_view
def check_in(request, agency, meeting):
    return _act(
        request,
        agency,
        meeting,
        lambda: attendance_services.attendance_check_in(actor=request.user, meeting=meeting),
        _("You are checked in."),
    )


@require_POST
@meeting_view
def leave(request, agency, meeting):
    return _act(
        request,
        agency,
        meeting,
        lambda: attendance_services.attendance_leave(actor=request.user, meeting=meeting),
        _("You have left the meeting."),
    )


@require_POST
@meeting_view
def mark(request, agency, meeting, participant_id: int):
    return _act(
        request,
        agency,
        meeting,
        lambda: attendance_services.attendance_mark(
            actor=request.user,
            meeting=meeting,
            participant_id=participant_id,
            presence=request.POST.get("presence", ""),
        ),
    )


@require_POST
@meeting_view
def current_item(request, agency, meeting):
    return _act(
        request,
        agency,
        meeting,
        lambda: room_services.meeting_set_current_item(
            actor=request.user, meeting=meeting, item_id=_item_id(request)
        ),
    )


@require_POST
@meeting_view
def opinion(request, agency, meeting):
    return _act(
        request,
        agency,
        meeting,
        lambda: room_services.opinion_post(
            actor=request.user,
            meeting=meeting,
            item_id=_item_id(request),
            text=request.POST.get("text", ""),
        ),
        _("Your opinion is posted."),
    )


@require_POST
@meeting_view
def private_note(request, agency, meeting):
    return _act(
        request,
        agency,
        meeting,
        lambda: room_services.private_note_save(
            actor=request.user,
            meeting=meeting,
            item_id=_item_id(request),
            text=request.POST.get("text", ""),
        ),
        _("Your note is saved."),
    )


@require_POST
@meeting_view
def shared_notes(request, agency, meeting):
    return _act(
        request,
        agency,
        meeting,
        lambda: room_services.shared_notes_save(
            actor=request.user,
            meeting=meeting,
            item_id=_item_id(request),
            text=request.POST.get("text", ""),
        ),
        _("The shared notes are saved."),
    )


@require_POST
@meeting_view
def hand(request, agency, meeting):
    if request.POST.get("hand") == "lower":
        action = functools.partial(
            room_services.speaker_lower_hand, actor=request.user, meeting=meeting
        )
    else:
        action = functools.partial(
            room_services.speaker_raise_hand, actor=request.user, meeting=meeting
        )
    return _act(request, agency, meeting, action)


@require_POST
@meeting_view
def floor(request, agency, meeting):
    minutes = parse_id(request.POST.get("minutes") or None)
    seconds = min(minutes, 10_000) * 60 if minutes is not None else None
    return _act(
        request,
        agency,
        meeting,
        lambda: room_services.speaker_give_floor(
            actor=request.user,
            meeting=meeting,
            speaker_id=parse_id(request.POST.get("speaker") or None),
            seconds=seconds,
        ),
    )
