"""What the voting part shows on the meeting's page: its context (merged by the page's view,
meetings.views) and its template `meetings/partials/voting.html` (included by the page).

Everything here is read in a fixed number of queries whatever the number of polls, voters
and proxies. A secret poll's tallies are shown only once it is closed."""

from collections import defaultdict
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _

from meetings import policies
from meetings.constants import Majority, MajorityBase, MemberRole
from meetings.models import AgendaItem, Meeting, Participant
from meetings.models_voting import (
    Poll,
    PollEntitlement,
    PollKind,
    PollResult,
    PollStatus,
    PollVoter,
    Proxy,
)


def _polls(meeting) -> list[Poll]:
    polls = list(
        Poll.objects.filter(meeting=meeting)
        .select_related("agenda_item")
        .prefetch_related("options")
        .order_by("id")
    )
    results = {r.poll_id: r for r in PollResult.objects.filter(poll__meeting=meeting)}
    voted = dict(
        PollVoter.objects.filter(poll__meeting=meeting)
        .values("poll")
        .annotate(n=Count("id"))
        .values_list("poll", "n")
    )
    entitled = dict(
        PollEntitlement.objects.filter(poll__meeting=meeting)
        .values("poll")
        .annotate(n=Count("id"))
        .values_list("poll", "n")
    )
    for poll in polls:
        poll.result_row = results.get(poll.pk)
        poll.voted_count = voted.get(poll.pk, 0)
        poll.entitled_count = entitled.get(poll.pk, 0)
        poll.shows_tally = not poll.is_secret or poll.is_closed
        poll.option_list = list(poll.options.all())
        poll.ballots = []
        many = poll.kind == PollKind.CHOICE and poll.max_choices > 1
        poll.input_type = "checkbox" if many else "radio"
    return polls


def _rule_label(result: PollResult) -> str:
    if result.rule == "plurality":
        return _("The options with the most votes")
    label = str(Majority(result.rule).label)
    if result.rule == Majority.TWO_THIRDS and result.base:
        label = f"{label} ({MajorityBase(result.base).label})"
    return label


def result_entries(meeting) -> list[dict[str, Any]]:
    """The closed polls' results, for the minutes (meetings.record.poll_results)."""
    entries = []
    for poll in _polls(meeting):
        result = poll.result_row
        if result is None:
            continue
        options = result.numbers.get("options", [])
        labels = {o["position"]: o["label"] for o in options}
        entries.append(
            {
                "poll_id": poll.pk,
                "agenda_item_id": poll.agenda_item_id,
                "question": poll.question,
                "secret": poll.is_secret,
                "options": [
                    {"label": o["label"], "count": o["count"], "weight": o["weight"]}
                    for o in options
                ],
                "rule": result.rule,
                "rule_label": _rule_label(result),
                "base": result.base,
                "quorum": result.quorum,
                "quorum_reached": result.quorum_reached,
                "carried": result.carried,
                "casting_vote": result.casting_vote,
                "voters": result.voters,
                "entitled": result.entitled,
                "winners": [labels.get(p, "") for p in result.numbers.get("winners", [])],
                "closed_at": result.closed_at,
            }
        )
    return entries


def context(
    request,
    meeting: Meeting,
    participant: Participant | None,
    *,
    participants: list[Participant],
    agenda: list[AgendaItem],
) -> dict[str, Any]:
    """Template variables of the voting part for this viewer (participant: their invitation,
    None for an employee who sees every meeting), given the meeting's participants and agenda
    (read once by the page). Queries must not grow with the meeting."""
    polls = _polls(meeting)
    for poll in polls:
        if poll.result_row is not None:
            poll.rule_label = _rule_label(poll.result_row)
            poll.winner_labels = [
                o.label
                for o in poll.option_list
                if o.position in poll.result_row.numbers.get("winners", [])
            ]
    actor = request.user
    is_chair = policies.is_chair(actor, meeting)
    can_prepare = policies.can_take_part(actor, meeting) and policies.has_role(
        actor, meeting, MemberRole.CHAIR, MemberRole.SECRETARY
    )
    ctx: dict[str, Any] = {
        "polls": polls,
        "voting_is_chair": is_chair,
        "voting_can_prepare": can_prepare,
        "voting_participant": participant,
        "voting_agenda": agenda if can_prepare else [],
    }
    if participant is None or not participant.may_vote:
        return ctx
    proxies = list(
        Proxy.objects.filter(meeting=meeting).select_related("delegator__user", "holder__user")
    )
    given = next((p for p in proxies if p.delegator_id == participant.pk), None)
    held = [p.delegator for p in proxies if p.holder_id == participant.pk]
    # The ballots this viewer may still cast, per open poll: their own (unless delegated) and
    # those of the members whose proxies they hold, if entitled and not yet cast.
    open_ids = [p.pk for p in polls if p.status == PollStatus.OPEN]
    voters = ([] if given else [participant]) + held
    entitled = set(
        PollEntitlement.objects.filter(
            poll_id__in=open_ids, participant__in=[v.pk for v in voters]
        ).values_list("poll_id", "participant_id")
    )
    cast = set(
        PollVoter.objects.filter(
            poll_id__in=open_ids, voter__in=[v.pk for v in voters]
        ).values_list("poll_id", "voter_id")
    )
    ballots = defaultdict(list)
    for poll in polls:
        if poll.pk not in open_ids:
            continue
        for voter in voters:
            key = (poll.pk, voter.pk)
            if key in entitled:
                ballots[poll.pk].append(
                    {"voter": voter, "is_proxy": voter.pk != participant.pk, "cast": key in cast}
                )
    for poll in polls:
        poll.ballots = ballots.get(poll.pk, [])
    holders_taken = defaultdict(int)
    for p in proxies:
        holders_taken[p.holder_id] += 1
    delegators = {p.delegator_id for p in proxies}
    ctx.update(
        {
            "proxy_given": given,
            "proxies_held": held,
            "proxy_holders": [
                p
                for p in sorted(participants, key=lambda p: p.pk)  # in the order invited
                if p.pk != participant.pk
                and p.user_id is not None
                and p.may_vote
                and p.pk not in delegators
                and holders_taken[p.pk] < meeting.proxy_cap
            ]
            if meeting.proxies_allowed and not given and not held
            else [],
            "proxies_allowed": meeting.proxies_allowed,
            "a_poll_is_open": bool(open_ids),
        }
    )
    return ctx
