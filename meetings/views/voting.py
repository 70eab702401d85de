"""Views of voting (R-33), under /meetings/<agency_slug>/<meeting_id>/: the polls page (the
voting part of the meeting page on its own), preparing, opening and closing a poll, voting,
checking a receipt, giving and withdrawing a proxy.

Thin: each finds the meeting in its agency's schema (404 for a meeting the viewer may not open,
not told apart from one that does not exist), calls one service, and on a refused input shows
the polls page again with the error next to the poll (status 400; nothing was changed)."""

import functools

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.converters import parse_id
from frontend.forms import apply_service_errors
from meetings import policies, voting_page
from meetings.constants import MemberRole
from meetings.forms_voting import PollForm
from meetings.models import AgendaItem, Meeting
from meetings.models_voting import Poll
from meetings.selectors_schedule import meeting_agenda, meeting_participants
from meetings.services import voting
from meetings.views import common

# A refusal of the services is a 404 here too: the polls of a meeting say nothing to whoever
# may not act on them.
meeting_view = functools.partial(common.meeting_view, hide_refusals=True)


def _poll(meeting: Meeting, poll_id: int) -> Poll:
    poll = Poll.objects.filter(meeting=meeting, pk=poll_id).select_related("meeting").first()
    if poll is None:
        raise Http404
    return poll


def _polls_url(agency, meeting) -> str:
    return reverse("meetings:polls", kwargs={"agency_slug": agency.slug, "meeting_id": meeting.pk})


def _page(request, agency, meeting, *, participants=None, status=200, errors=None, form=None):
    """The polls page (``participants``: already read with the meeting, else read here)."""
    if participants is None:
        participants = meeting_participants(meeting)
    participant = policies.participant_of(request.user, meeting)
    ctx = voting_page.context(
        request, meeting, participant, participants=participants, agenda=meeting_agenda(meeting)
    )
    if form is None and ctx["voting_can_prepare"]:
        form = PollForm(meeting=meeting, agenda=ctx["voting_agenda"])
    errors = errors or {}
    for poll in ctx["polls"]:
        poll.errors = errors.get(poll.pk, [])
    ctx.update(
        {
            "proxy_errors": errors.get("proxy", []),
            "agency": agency,
            "meeting": meeting,
            "poll_form": form,
            "ws_path": f"/ws/meetings/{agency.slug}/{meeting.pk}/",
            "is_participant": participant is not None
            and policies.can_take_part(request.user, meeting),
        }
    )
    return render(request, "meetings/polls.html", ctx, status=status)


def _messages(exc: ValidationError) -> list[str]:
    return list(exc.messages)


@meeting_view(participants=True)
def polls(request, agency, meeting, participants):
    return _page(request, agency, meeting, participants=participants)


@require_POST
@meeting_view
def poll_new(request, agency, meeting):
    if not policies.has_role(request.user, meeting, MemberRole.CHAIR, MemberRole.SECRETARY):
        raise Http404
    form = PollForm(
        request.POST, meeting=meeting, agenda=AgendaItem.objects.filter(meeting=meeting)
    )
    if form.is_valid():
        try:
            voting.poll_create(actor=request.user, meeting=meeting, data=form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect(_polls_url(agency, meeting))
    return _page(request, agency, meeting, status=400, form=form)


@require_POST
@meeting_view
def poll_open(request, agency, meeting, poll_id: int):
    poll = _poll(meeting, poll_id)
    try:
        voting.poll_open(
            actor=request.user, poll=poll, override_reason=request.POST.get("override_reason", "")
        )
    except ValidationError as exc:
        return _page(request, agency, meeting, status=400, errors={poll.pk: _messages(exc)})
    return redirect(_polls_url(agency, meeting) + f"#poll-{poll.pk}")


@require_POST
@meeting_view
def poll_close(request, agency, meeting, poll_id: int):
    poll = _poll(meeting, poll_id)
    try:
        voting.poll_close(actor=request.user, poll=poll, casting=request.POST.get("casting", ""))
    except ValidationError as exc:
        return _page(request, agency, meeting, status=400, errors={poll.pk: _messages(exc)})
    return redirect(_polls_url(agency, meeting) + f"#poll-{poll.pk}")


@require_POST
@meeting_view
def poll_vote(request, agency, meeting, poll_id: int):
    poll = _poll(meeting, poll_id)
    # Unreadable input is no choice at all: the service says what is expected.
    voter_id = parse_id(request.POST.get("voter")) or 0
    choices = [c for c in (parse_id(v) for v in request.POST.getlist("choice")[:50]) if c]
    try:
        code = voting.poll_vote(actor=request.user, poll=poll, voter_id=voter_id, choices=choices)
    except ValidationError as exc:
        return _page(request, agency, meeting, status=400, errors={poll.pk: _messages(exc)})
    # The receipt is shown on this response only (it is stored nowhere but as a keyed hash);
    # a small page of its own, so a vote costs no re-reading of the meeting's polls.
    return render(
        request,
        "meetings/vote_recorded.html",
        {"agency": agency, "meeting": meeting, "poll": poll, "code": code},
    )


@require_POST
@meeting_view
def receipt_check(request, agency, meeting, poll_id: int):
    poll = _poll(meeting, poll_id)
    code = request.POST.get("code", "")[:40]
    found = voting.receipt_check(actor=request.user, poll=poll, code=code)
    return render(
        request,
        "meetings/receipt_check.html",
        {"agency": agency, "meeting": meeting, "poll": poll, "found": found, "code": code},
    )


@require_POST
@meeting_view
def proxy_give(request, agency, meeting):
    try:
        voting.proxy_grant(
            actor=request.user,
            meeting=meeting,
            holder_id=parse_id(request.POST.get("holder")) or 0,
        )
    except ValidationError as exc:
        return _page(request, agency, meeting, status=400, errors={"proxy": _messages(exc)})
    return redirect(_polls_url(agency, meeting) + "#proxy")


@require_POST
@meeting_view
def proxy_withdraw(request, agency, meeting):
    try:
        voting.proxy_revoke(actor=request.user, meeting=meeting)
    except ValidationError as exc:
        return _page(request, agency, meeting, status=400, errors={"proxy": _messages(exc)})
    return redirect(_polls_url(agency, meeting) + "#proxy")
