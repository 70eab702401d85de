"""Voting (R-33): polls, proxies, votes, the close and its result.

Secret ballot (README, "Secret ballot"): what a vote writes is the same whatever the choice.
``poll_vote`` runs, in one transaction and always in this order: one INSERT of the voter row
(no choice, no time, a random key), one INSERT of the receipt digest, a lock of the poll's row
(votes of one poll and its close queue there), one UPDATE of the poll's row with its running
tally encrypted under the application's key (``sealed_tally``: fixed width, so the ciphertext's
length never changes; the key is not in the database). While the poll is open nothing
readable in the database says how anyone voted: the plain tallies (``PollOption``) stay at zero.
It writes no audit row, job, notification or log line for a secret vote, and pushes only how
many have voted. ``poll_close`` decrypts the tally and writes every option in one statement,
and deletes and re-inserts the voter rows and the receipts in a random order with new random
keys, so that after the close their system columns (``xmin``, ``cmin``, ``ctid``) and order
carry nothing of who voted when.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.identity import decrypt_identity, encrypt_identity
from core.actions import require, use_case
from core.audit import agency_record
from meetings import majority, policies
from meetings.constants import Majority, MeetingStatus, MemberRole, Mode, Presence
from meetings.live import Settle, meeting_publish
from meetings.models import AgendaItem, Meeting, Participant
from meetings.models_voting import (
    Entitlement,
    OptionCode,
    Poll,
    PollEntitlement,
    PollKind,
    PollOption,
    PollReceipt,
    PollResult,
    PollStatus,
    PollVoter,
    Proxy,
)
from meetings.quorum import quorum_state

RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


# --- quorum: the room part's live figure (meetings.quorum) -----------------------------------


def _quorum(meeting: Meeting) -> tuple[bool, dict[str, Any]]:
    """Whether the meeting has its quorum now, and the numbers (JSON-safe)."""
    state = quorum_state(meeting)
    return bool(state.reached), state.as_json()


# --- polls -----------------------------------------------------------------------------------


def _poll_config_errors(meeting: Meeting, data: dict[str, Any], labels: list[str]) -> dict:
    errors = majority.config_errors(
        rule=data.get("majority", ""),
        base=data.get("majority_base", ""),
        is_choice=data.get("kind") == PollKind.CHOICE,
        max_choices=data.get("max_choices") or 1,
        option_count=len(labels),
    )
    if data.get("kind") not in PollKind.values:
        errors["kind"] = _("Choose the kind of question.")
    if not (data.get("question") or "").strip():
        errors["question"] = _("Write the question the members vote on.")
    if data.get("entitlement") not in Entitlement.values:
        errors["entitlement"] = _("Choose who votes.")
    elif data["entitlement"] == Entitlement.ALL and meeting.mode == Mode.IN_PERSON:
        errors["entitlement"] = _(
            "In a meeting held in person, only the members present when the poll opens vote."
        )
    return errors


@use_case
def poll_create(*, actor, meeting: Meeting, data: dict[str, Any]) -> Poll:
    """A poll prepared by the chair or the secretary (not open yet). ``data``: question, kind,
    is_secret, entitlement, agenda_item (id or None), options (labels, choice polls), max_choices,
    and optionally majority, majority_base, abstentions_count, chair_casting_vote (default: the
    meeting's rules)."""
    require(
        policies.can_take_part(actor, meeting)
        and policies.has_role(actor, meeting, MemberRole.CHAIR, MemberRole.SECRETARY),
        _("Only the chair or the secretary prepares a poll."),
    )
    data = {
        "majority": meeting.majority,
        "majority_base": meeting.majority_base,
        "abstentions_count": meeting.abstentions_count,
        "chair_casting_vote": meeting.chair_casting_vote,
        **{key: value for key, value in data.items() if value is not None},
    }
    labels: list[str] = []
    if data.get("kind") == PollKind.CHOICE:
        seen = set()
        for label in data.get("options") or []:
            label = label.strip()[:200]
            if label and label.casefold() not in seen:
                seen.add(label.casefold())
                labels.append(label)
    errors = _poll_config_errors(meeting, data, labels)
    item = None
    if data.get("agenda_item"):
        item = AgendaItem.objects.filter(meeting=meeting, pk=data["agenda_item"]).first()
        if item is None:
            errors["agenda_item"] = _("Choose an item of this meeting's agenda.")
    if errors:
        raise ValidationError(errors)
    poll = Poll.objects.create(
        meeting=meeting,
        agenda_item=item,
        question=data["question"].strip()[:500],
        kind=data["kind"],
        is_secret=bool(data.get("is_secret")),
        max_choices=data.get("max_choices") or 1,
        entitlement=data["entitlement"],
        majority=data["majority"],
        majority_base=data["majority_base"],
        abstentions_count=bool(data["abstentions_count"]),
        chair_casting_vote=bool(data["chair_casting_vote"]),
    )
    if poll.kind == PollKind.YES_NO:
        options = [
            PollOption(poll=poll, position=1, code=OptionCode.YES, label=_("Yes")),
            PollOption(poll=poll, position=2, code=OptionCode.NO, label=_("No")),
            PollOption(poll=poll, position=3, code=OptionCode.ABSTAIN, label=_("Abstain")),
        ]
    else:
        options = [
            PollOption(poll=poll, position=i, code=OptionCode.CHOICE, label=label)
            for i, label in enumerate(labels, start=1)
        ]
    PollOption.objects.bulk_create(options)
    agency_record(
        actor=actor,
        action="meetings.poll_created",
        obj=poll,
        after={"question": poll.question, "secret": poll.is_secret, "kind": poll.kind},
    )
    return poll


def _entitled(meeting: Meeting, entitlement: str) -> list[Participant]:
    voters = [p for p in meeting.participants.all() if p.may_vote]
    if entitlement == Entitlement.ALL:
        return voters
    by_id = {p.pk: p for p in voters}
    holder_of = dict(Proxy.objects.filter(meeting=meeting).values_list("delegator", "holder"))
    present = {p.pk for p in voters if p.presence == Presence.PRESENT}
    return [
        p for p in voters if p.pk in present or (holder_of.get(p.pk) in present and p.pk in by_id)
    ]


@use_case
def poll_open(*, actor, poll: Poll, override_reason: str = "") -> Poll:
    """The chair opens the poll: the entitled voters are fixed now (the members present, and
    those whose proxy holder is present; or all members). Without quorum only with a reason,
    which is recorded. Takes the meeting's row lock (proxies do too)."""
    meeting = Meeting.objects.select_for_update().get(pk=poll.meeting_id)
    require(
        policies.can_take_part(actor, meeting) and policies.is_chair(actor, meeting),
        _("Only the chair opens a poll."),
    )
    if meeting.status != MeetingStatus.IN_PROGRESS:
        raise ValidationError(_("A poll opens only while the meeting is under way."))
    poll = Poll.objects.select_for_update(no_key=True).get(pk=poll.pk)
    if poll.status != PollStatus.DRAFT:
        raise ValidationError(_("This poll has already been opened."))
    reached, numbers = _quorum(meeting)
    override_reason = override_reason.strip()[:500]
    if not reached and not override_reason:
        raise ValidationError(
            {
                "override_reason": _(
                    "The meeting has no quorum. To open the poll anyway, give the reason; "
                    "it is recorded."
                )
            }
        )
    entitled = _entitled(meeting, poll.entitlement)
    if not entitled:
        raise ValidationError(_("Nobody is entitled to vote in this poll yet."))
    PollEntitlement.objects.bulk_create(
        [PollEntitlement(poll=poll, participant=p, weight=p.weight) for p in entitled]
    )
    poll.status = PollStatus.OPEN
    poll.opened_at = timezone.now()
    poll.quorum_override_reason = "" if reached else override_reason
    poll.entitled_count = len(entitled)
    if poll.is_secret:
        poll.sealed_tally = _seal([(0, Decimal("0"))] * poll.options.count())
    poll.save(
        update_fields=[
            "status",
            "opened_at",
            "quorum_override_reason",
            "entitled_count",
            "sealed_tally",
        ]
    )
    agency_record(
        actor=actor,
        action="meetings.poll_opened",
        obj=poll,
        after={
            "entitled": len(entitled),
            "quorum": numbers,
            "quorum_override_reason": poll.quorum_override_reason,
        },
    )
    meeting_publish(
        meeting.pk,
        "poll_opened",
        poll_id=poll.pk,
        question=poll.question,
        secret=poll.is_secret,
        entitled=len(entitled),
    )
    return poll


# --- proxies ---------------------------------------------------------------------------------


def _refuse_while_a_poll_is_open(meeting: Meeting) -> None:
    if Poll.objects.filter(meeting=meeting, status=PollStatus.OPEN).exists():
        raise ValidationError(_("Proxies cannot change while a poll is open."))


@use_case
def proxy_grant(*, actor, meeting: Meeting, holder_id: int) -> Proxy:
    """The actor gives their vote in this meeting to another member (who casts it separately).
    No chains, the holder's cap, not while a poll is open (under the meeting's row lock)."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    delegator = policies.participant_of(actor, meeting)
    require(
        policies.can_take_part(actor, meeting) and delegator is not None and delegator.may_vote,
        _("Only a member who votes can give a proxy."),
    )
    if not meeting.proxies_allowed:
        raise ValidationError(_("This meeting's rules do not allow proxies."))
    _refuse_while_a_poll_is_open(meeting)
    holder = Participant.objects.filter(meeting=meeting, pk=holder_id).first()
    if holder is None or not holder.may_vote or holder.user_id is None:
        raise ValidationError({"holder": _("Choose a member of this meeting who votes.")})
    if holder.pk == delegator.pk:
        raise ValidationError({"holder": _("You cannot give your proxy to yourself.")})
    proxies = list(Proxy.objects.filter(meeting=meeting))
    if any(p.delegator_id == delegator.pk for p in proxies):
        raise ValidationError(_("You have already given your proxy; withdraw it first."))
    if any(p.holder_id == delegator.pk for p in proxies):
        raise ValidationError(
            _("You hold another member's proxy, so you cannot give yours (no chains).")
        )
    if any(p.delegator_id == holder.pk for p in proxies):
        raise ValidationError(
            {
                "holder": _(
                    "This member has given their own proxy, so cannot hold yours (no chains)."
                )
            }
        )
    if sum(1 for p in proxies if p.holder_id == holder.pk) >= meeting.proxy_cap:
        raise ValidationError(
            {"holder": _("This member already holds as many proxies as the rules allow.")}
        )
    proxy = Proxy.objects.create(meeting=meeting, delegator=delegator, holder=holder)
    agency_record(
        actor=actor,
        action="meetings.proxy_given",
        obj=meeting,
        after={"delegator": delegator.pk, "holder": holder.pk},
    )
    return proxy


@use_case
def proxy_revoke(*, actor, meeting: Meeting) -> None:
    """The actor takes back the proxy they gave (not while a poll is open)."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    delegator = policies.participant_of(actor, meeting)
    require(delegator is not None, _("You are not a participant of this meeting."))
    proxy = Proxy.objects.filter(meeting=meeting, delegator=delegator).first()
    if proxy is None:
        raise ValidationError(_("You have not given a proxy."))
    _refuse_while_a_poll_is_open(meeting)
    proxy.delete()
    agency_record(
        actor=actor,
        action="meetings.proxy_withdrawn",
        obj=meeting,
        before={"delegator": delegator.pk, "holder": proxy.holder_id},
    )


# --- votes -----------------------------------------------------------------------------------


def receipt_digest(poll_id: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    message = f"{connection.schema_name}:{poll_id}:{code.strip().upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _receipt_code() -> str:
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


@use_case
def poll_vote(*, actor, poll: Poll, voter_id: int, choices: list[int]) -> str:
    """The actor votes in the poll for themself (``voter_id`` their own participant) or for a
    member whose proxy they hold. ``choices``: option positions (one for a yes / no / abstain
    question, 1..k for a choice). Returns the receipt code, shown once.

    A small constant number of queries whatever the poll's size; the same statements for every
    choice (module doc). Everything that can be checked and written without the poll's row
    lock is done first, so the votes of a large poll queue only for the tally's rewrite and
    the commit: the proxies and entitlements read before the lock are those of an open poll,
    which cannot change while it is open (proxies and the opening take the meeting's lock)."""
    meeting = poll.meeting
    cast_by = policies.participant_of(actor, meeting)
    require(
        cast_by is not None and policies.can_take_part(actor, meeting),
        _("You are not a participant of this meeting."),
    )
    # The status now, not the page's (checked again under the lock below).
    poll = Poll.objects.get(pk=poll.pk)
    _refuse_unless_open(poll)
    if not cast_by.may_vote:
        raise ValidationError(_("Observers do not vote."))
    proxy_of = {
        p.delegator_id: p.holder_id
        # unordered: the models' default order joins the meeting (and participant) tables
        for p in Proxy.objects.filter(meeting_id=meeting.pk)
        .filter(Q(delegator_id=cast_by.pk) | Q(holder_id=cast_by.pk))
        .order_by()
    }
    if voter_id == cast_by.pk:
        if cast_by.pk in proxy_of:
            raise ValidationError(
                _("You have given your proxy for this meeting: the member who holds it votes.")
            )
    elif proxy_of.get(voter_id) != cast_by.pk:
        raise ValidationError(_("You do not hold this member's proxy."))
    entitlement = (
        PollEntitlement.objects.filter(poll=poll, participant_id=voter_id).order_by().first()
    )
    if entitlement is None:
        raise ValidationError(_("This vote is not entitled in this poll."))
    positions = sorted(set(choices))
    if poll.is_secret:
        option_count = len(_unseal(poll.sealed_tally))
    elif poll.kind == PollKind.YES_NO:
        option_count = 3
    else:
        option_count = PollOption.objects.filter(poll=poll).count()
    if (
        not positions
        or len(positions) != len(choices)
        or len(positions) > poll.max_choices
        or positions[0] < 1
        or positions[-1] > option_count
    ):
        raise ValidationError(
            {"choices": _("Choose one answer.")}
            if poll.max_choices == 1
            else {
                "choices": _("Choose between 1 and %(count)s options.")
                % {"count": poll.max_choices}
            }
        )
    schema = connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{schema}".meetings_pollvoter'
            " (id, poll_id, voter_id, cast_by_id, choices)"
            " VALUES (gen_random_uuid(), %s, %s, %s, %s::jsonb)"
            " ON CONFLICT (poll_id, voter_id) DO NOTHING RETURNING 1",
            [poll.pk, voter_id, cast_by.pk, None if poll.is_secret else _json_list(positions)],
        )
        if cursor.fetchone() is None:
            raise ValidationError(_("This vote has already been cast."))
    code = _receipt_code()
    PollReceipt.objects.create(digest=receipt_digest(poll.pk, code), poll=poll)
    # Locked from here to the commit: the votes of one poll and its close queue here, so a
    # vote never meets a poll closed under it. NO KEY UPDATE, the weakest lock that serialises
    # the tally: the foreign-key checks of the rows inserted above (deferred to the commit, as
    # Django creates them) take KEY SHARE locks, which it does not conflict with.
    poll = Poll.objects.select_for_update(no_key=True).get(pk=poll.pk)
    _refuse_unless_open(poll)
    if poll.is_secret:
        tally = _unseal(poll.sealed_tally)
        for position in positions:
            count, weight = tally[position - 1]
            tally[position - 1] = (count + 1, weight + entitlement.weight)
        Poll.objects.filter(pk=poll.pk).update(
            sealed_tally=_seal(tally), voted_count=F("voted_count") + 1
        )
    else:
        _tally_add(schema, poll.pk, positions, entitlement.weight)
        Poll.objects.filter(pk=poll.pk).update(voted_count=F("voted_count") + 1)
    _publish_progress(poll, voted=poll.voted_count + 1)
    return code


def _refuse_unless_open(poll: Poll) -> None:
    if poll.status == PollStatus.DRAFT:
        raise ValidationError(_("This poll is not open yet."))
    if poll.status == PollStatus.CLOSED:
        raise ValidationError(_("This poll is closed."))


# Fixed widths of the sealed tally: a count of up to 7 digits, a weight of up to 12 digits and
# 2 decimals (in hundredths), so every vote's ciphertext has the same length.
_COUNT_DIGITS = 7
_WEIGHT_DIGITS = 14


def _seal(tally: list[tuple[int, Decimal]]) -> str:
    text = "|".join(
        f"{count:0{_COUNT_DIGITS}d}:{int(weight * 100):0{_WEIGHT_DIGITS}d}"
        for count, weight in tally
    )
    return encrypt_identity(text)


def _unseal(token: str) -> list[tuple[int, Decimal]]:
    parts = decrypt_identity(token).split("|")
    return [
        (int(count), Decimal(int(weight)) / 100)
        for count, weight in (part.split(":") for part in parts)
    ]


def _json_list(positions: list[int]) -> str:
    return "[" + ",".join(str(p) for p in positions) + "]"


def _tally_add(schema: str, poll_id: int, positions: list[int], weight: Decimal) -> None:
    """A named poll's vote added to the chosen options, rewriting every option of the poll in
    one statement (rows locked in a fixed order, so concurrent votes queue instead of
    deadlocking)."""
    connection.ensure_connection()
    raw = connection.connection.cursor()
    try:
        raw.execute(
            f'UPDATE "{schema}".meetings_polloption AS o'
            " SET count = o.count + CASE WHEN o.position = ANY(%s) THEN 1 ELSE 0 END,"
            " weight = o.weight + CASE WHEN o.position = ANY(%s) THEN %s ELSE 0 END"
            f' WHERE o.id IN (SELECT id FROM "{schema}".meetings_polloption'
            " WHERE poll_id = %s ORDER BY id FOR UPDATE)",
            [positions, positions, weight, poll_id],
        )
    finally:
        raw.close()


# Each progress push goes to every participant's socket: one per vote would be 500 × 500 =
# 250,000 messages for 500 voters, which queued for a minute (tests/bench/README.md). So a
# poll pushes at every PROGRESS_STEPS-th of its voters (every vote up to that many voters), at
# once; a vote between two steps is pushed by the settle, within SETTLE_SECONDS, unless a step
# pushed first. A burst of votes is about PROGRESS_STEPS pushes, a trickle is never more than
# SETTLE_SECONDS behind. 25 (each 4 %; a poll of fewer than 50 voters pushes every vote): a
# 500-member poll's count moves every 20 votes, a few times a second during a burst; 50 pushes
# took the event loops' time from the votes.
PROGRESS_STEPS = 25
SETTLE_SECONDS = 1.0
_progress_settle = Settle(SETTLE_SECONDS)


def _publish_progress(poll: Poll, *, voted: int) -> None:
    step = max(1, poll.entitled_count // PROGRESS_STEPS)
    key = (connection.schema_name, poll.pk)
    if voted % step == 0 or voted >= poll.entitled_count:
        transaction.on_commit(functools.partial(_progress_settle.discard, key))
        _progress_publish(poll, voted=voted)
        return
    push = functools.partial(_progress_push, connection.schema_name, poll.pk)
    transaction.on_commit(functools.partial(_progress_settle.offer, key, push))


def _progress_publish(poll: Poll, *, voted: int) -> None:
    """How many have voted (a secret poll), or the tallies too (a named one), on commit."""
    if poll.is_secret:
        meeting_publish(poll.meeting_id, "poll_count", poll_id=poll.pk, voted=voted)
        return
    options = [
        {"position": o.position, "count": o.count, "weight": str(o.weight)}
        for o in PollOption.objects.filter(poll=poll)
    ]
    meeting_publish(poll.meeting_id, "poll_tally", poll_id=poll.pk, voted=voted, options=options)


def _progress_push(schema: str, poll_id: int) -> None:
    """The settle's push of a large poll: its progress as committed now (nothing once it is
    closed: the close pushes the result)."""
    with schema_context(schema):
        poll = Poll.objects.filter(pk=poll_id, status=PollStatus.OPEN).first()
        if poll is not None:
            _progress_publish(poll, voted=poll.voted_count)


@use_case
def receipt_check(*, actor, poll: Poll, code: str) -> bool:
    """Whether a vote with this receipt code was recorded in the poll."""
    require(policies.can_open(actor, poll.meeting))
    return PollReceipt.objects.filter(poll=poll, digest=receipt_digest(poll.pk, code)).exists()


# --- the close -------------------------------------------------------------------------------


def _present_weight(meeting: Meeting, entitlements: list[PollEntitlement]) -> Decimal:
    present = set(
        Participant.objects.filter(meeting=meeting, presence=Presence.PRESENT).values_list(
            "pk", flat=True
        )
    )
    holder_of = dict(Proxy.objects.filter(meeting=meeting).values_list("delegator", "holder"))
    return sum(
        (
            e.weight
            for e in entitlements
            if e.participant_id in present or holder_of.get(e.participant_id) in present
        ),
        Decimal("0"),
    )


def _unsealed_write(schema: str, poll_id: int, tally: list[tuple[int, Decimal]]) -> None:
    """A secret poll's final tally written into every option in one statement."""
    values = ", ".join(["(%s, %s, %s::numeric)"] * len(tally))
    params: list[Any] = []
    for position, (count, weight) in enumerate(tally, start=1):
        params += [position, count, weight]
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{schema}".meetings_polloption AS o SET count = v.count, weight = v.weight'
            f" FROM (VALUES {values}) AS v(position, count, weight)"
            " WHERE o.poll_id = %s AND o.position = v.position",
            [*params, poll_id],
        )


def _shuffle_rewrite(schema: str, poll_id: int) -> None:
    """Rewrite the poll's tally, voter list and receipts so that their system columns and their
    order say nothing of who voted when: every tally row updated in one statement; voter rows
    and receipts deleted and inserted again in a random order (voter rows with new random
    keys)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{schema}".meetings_polloption SET count = count WHERE poll_id = %s',
            [poll_id],
        )
        cursor.execute(
            f'WITH gone AS (DELETE FROM "{schema}".meetings_pollvoter WHERE poll_id = %s'
            " RETURNING poll_id, voter_id, cast_by_id, choices)"
            f' INSERT INTO "{schema}".meetings_pollvoter (id, poll_id, voter_id, cast_by_id,'
            " choices) SELECT gen_random_uuid(), poll_id, voter_id, cast_by_id, choices"
            " FROM gone ORDER BY random()",
            [poll_id],
        )
        cursor.execute(
            f'WITH gone AS (DELETE FROM "{schema}".meetings_pollreceipt WHERE poll_id = %s'
            " RETURNING digest, poll_id)"
            f' INSERT INTO "{schema}".meetings_pollreceipt (digest, poll_id)'
            " SELECT digest, poll_id FROM gone ORDER BY random()",
            [poll_id],
        )


@use_case
def poll_close(*, actor, poll: Poll, casting: str = "") -> PollResult:
    """The chair closes the poll: the result is computed, stored with its numbers, the rule,
    the quorum now and carried / not carried, and can never change (database triggers).

    A tie under a rule with the chair's casting vote: in a named poll the chair's own vote
    decides; in a secret poll the chair must cast the deciding vote openly now (``casting``
    "yes" or "no"), else the close is refused and nothing changes."""
    meeting = Meeting.objects.get(pk=poll.meeting_id)
    require(
        policies.is_chair(actor, meeting) and policies.participant_of(actor, meeting) is not None,
        _("Only the chair closes a poll."),
    )
    # The same lock as the votes' (poll_vote): NO KEY UPDATE, which the votes' foreign-key
    # checks (KEY SHARE) do not wait for.
    poll = Poll.objects.select_for_update(no_key=True).get(pk=poll.pk)
    _refuse_unless_open(poll)
    schema = connection.schema_name
    if poll.is_secret and poll.sealed_tally:
        _unsealed_write(schema, poll.pk, _unseal(poll.sealed_tally))
    _shuffle_rewrite(schema, poll.pk)
    options = list(PollOption.objects.filter(poll=poll))
    entitlements = list(PollEntitlement.objects.filter(poll=poll))
    entitled_weight = sum((e.weight for e in entitlements), Decimal("0"))
    members_weight = sum((p.weight for p in meeting.participants.all() if p.may_vote), Decimal("0"))
    voters = PollVoter.objects.filter(poll=poll).count()
    cast_weight = sum((o.weight for o in options), Decimal("0"))
    present_weight = max(_present_weight(meeting, entitlements), cast_weight)
    numbers: dict[str, Any] = {
        "options": [
            {
                "position": o.position,
                "code": o.code,
                "label": o.label,
                "count": o.count,
                "weight": str(o.weight),
            }
            for o in options
        ],
        "entitled_weight": str(entitled_weight),
        "present_weight": str(present_weight),
        "members_weight": str(members_weight),
    }
    casting_used = ""
    if poll.kind == PollKind.YES_NO:
        by_code = {o.code: o.weight for o in options}
        rules = dict(
            rule=poll.majority,
            base=poll.majority_base,
            abstentions_count=poll.abstentions_count,
            chair_casting_vote=poll.chair_casting_vote,
            yes=by_code[OptionCode.YES],
            no=by_code[OptionCode.NO],
            abstain=by_code[OptionCode.ABSTAIN],
            entitled=entitled_weight,
            present=present_weight,
            members=members_weight,
        )
        outcome = majority.decide(**rules)
        if outcome.tie and poll.chair_casting_vote:
            chair_vote = _chair_casting(poll, meeting, casting)
            outcome = majority.decide(**rules, casting=chair_vote)
            casting_used = outcome.casting_used
        carried = outcome.carried
        numbers.update(
            base_weight=str(outcome.base),
            required=str(outcome.required),
            strict=outcome.strict,
            tie=outcome.tie,
        )
        rule, base = (
            poll.majority,
            (poll.majority_base if poll.majority == Majority.TWO_THIRDS else ""),
        )
    else:
        winners, tie = majority.choice_winners(
            [(o.position, o.weight) for o in options], poll.max_choices
        )
        numbers.update(winners=winners, tie=tie)
        carried = bool(winners)
        rule, base = "plurality", ""
    reached, quorum = _quorum(meeting)
    now = timezone.now()
    result = PollResult.objects.create(
        poll=poll,
        rule=rule,
        base=base,
        abstentions_count=poll.abstentions_count,
        numbers=numbers,
        voters=voters,
        entitled=len(entitlements),
        quorum_reached=reached,
        quorum=quorum,
        carried=carried,
        casting_vote=casting_used,
        closed_at=now,
    )
    poll.status = PollStatus.CLOSED
    poll.closed_at = now
    poll.sealed_tally = ""
    poll.save(update_fields=["status", "closed_at", "sealed_tally"])
    agency_record(
        actor=actor,
        action="meetings.poll_closed",
        obj=poll,
        # The numbers are in the result; the trail says who closed and what was decided.
        after={
            "result": result.pk,
            "carried": carried,
            "voters": voters,
            "casting_vote": casting_used,
        },
    )
    meeting_publish(
        meeting.pk,
        "poll_closed",
        poll_id=poll.pk,
        carried=carried,
        voted=voters,
        options=[
            {"position": o["position"], "count": o["count"], "weight": o["weight"]}
            for o in numbers["options"]
        ],
    )
    return result


def _chair_casting(poll: Poll, meeting: Meeting, casting: str) -> str | None:
    """How the chair decides a tie: their own vote in a named poll; in a secret poll the
    deciding vote they cast openly now (required)."""
    if poll.is_secret:
        if casting not in ("yes", "no"):
            raise ValidationError(
                {
                    "casting": _(
                        "The vote is tied. As chair, cast the deciding vote openly: yes or no."
                    )
                }
            )
        return casting
    chair = Participant.objects.filter(meeting=meeting, role=MemberRole.CHAIR).first()
    if chair is None:
        return None
    row = PollVoter.objects.filter(poll=poll, voter=chair).first()
    if row is None or not row.choices:
        return None
    code = {1: "yes", 2: "no"}.get(row.choices[0])
    return code


__all__ = [
    "poll_close",
    "poll_create",
    "poll_open",
    "poll_vote",
    "proxy_grant",
    "proxy_revoke",
    "receipt_check",
    "receipt_digest",
]
