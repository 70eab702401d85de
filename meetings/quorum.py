"""The quorum of a meeting (R-31): a pure function of the rules and the participants, and
``quorum_state(meeting)`` that reads them (one query, or none when given them).

Who counts: the *voters* (``Participant.may_vote``: chair, secretary and members with a weight
above zero; observers never). Present means ``Participant.presence == present`` (one who left
no longer counts).

The thresholds, one reading for every kind:

- ``count``: reached when the present voters are **at least** ``quorum_value`` (3 = three or
  more present).
- ``share_members``: reached when the present voters are **more than** ``quorum_value`` of the
  voting members (0.5 = more than half: 5 of 10 is not a quorum, 6 of 10 is). A share of 1 (or
  above) means every voter present.
- ``share_weight``: the same with vote weights: the present weight is **more than**
  ``quorum_value`` of the total weight (1 = all of it).

"More than" for shares follows the usual wording of boards' rules ("more than half of the
members"); arithmetic is exact (``Fraction``), so 2/3 of 3 members never rounds. A meeting with
no voter has no quorum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from meetings.constants import Presence, QuorumKind


@dataclass(frozen=True)
class Voter:
    present: bool
    weight: Decimal


@dataclass(frozen=True)
class QuorumState:
    reached: bool
    kind: str
    present: int  # voters present
    members: int  # voters invited
    # What is needed: a number of voters (count, share_members) or a weight (share_weight),
    # the smallest figure that reaches the quorum (None: unreachable, e.g. no voter).
    required: int | Decimal | None
    present_weight: Decimal
    total_weight: Decimal
    description: str

    def as_json(self) -> dict:
        return {
            "reached": self.reached,
            "kind": self.kind,
            "present": self.present,
            "members": self.members,
            "required": None if self.required is None else str(self.required),
            "present_weight": str(self.present_weight),
            "total_weight": str(self.total_weight),
            "description": self.description,
        }


def _fmt(value: Decimal) -> str:
    """A weight without trailing zeros (2.50 → 2.5, 3.00 → 3)."""
    return format(Decimal(value).normalize(), "f")


def _percent(share: Fraction) -> str:
    return _fmt(
        (Decimal(share.numerator) * 100 / Decimal(share.denominator)).quantize(Decimal("0.1"))
    )


def _smallest_count_above(share: Fraction, total: int) -> int | None:
    """The smallest whole n with n > share × total (capped: all of them for share ≥ 1)."""
    if total <= 0:
        return None
    if share >= 1:
        return total
    bound = share * total
    n = bound.numerator // bound.denominator + 1
    return min(max(n, 0), total)


def quorum_compute(*, kind: str, value: Decimal, voters: Iterable[Voter]) -> QuorumState:
    """The quorum for ``kind``/``value`` (a Rules' ``quorum_kind``/``quorum_value``) given the
    voters (non-voters must already be left out)."""
    voters = list(voters)
    members = len(voters)
    present = sum(1 for voter in voters if voter.present)
    total_weight = sum((voter.weight for voter in voters), Decimal(0))
    present_weight = sum((voter.weight for voter in voters if voter.present), Decimal(0))
    share = Fraction(value) if value is not None else Fraction(0)
    required: int | Decimal | None
    if kind == QuorumKind.COUNT:
        required = int(value)
        reached = members > 0 and present >= required
        description = _(
            "%(present)s of %(members)s voting members present; at least %(required)s needed"
        ) % {"present": present, "members": members, "required": required}
    elif kind == QuorumKind.SHARE_WEIGHT:
        figures = {"present": _fmt(present_weight), "total": _fmt(total_weight)}
        if total_weight <= 0:
            required, reached = None, False
        elif share >= 1:
            required, reached = total_weight, present_weight >= total_weight
        else:
            required = Decimal(share.numerator) / Decimal(share.denominator) * total_weight
            reached = Fraction(present_weight) > share * Fraction(total_weight)
        if share >= 1:
            description = _("Weight present %(present)s of %(total)s; all of it needed") % figures
        else:
            description = _(
                "Weight present %(present)s of %(total)s; more than %(share)s%% needed"
            ) % {**figures, "share": _percent(share)}
    else:  # a share of the members
        required = _smallest_count_above(share, members)
        reached = required is not None and present >= required
        description = _(
            "%(present)s of %(members)s voting members present; %(required)s needed"
        ) % {"present": present, "members": members, "required": required or "-"}
    return QuorumState(
        reached=bool(reached),
        kind=str(kind),
        present=present,
        members=members,
        required=required,
        present_weight=present_weight,
        total_weight=total_weight,
        description=description,
    )


def voters_of(participants: Iterable) -> list[Voter]:
    """The voters among ``participants`` (``Participant.may_vote``) and whether each is
    present."""
    return [
        Voter(present=p.presence == Presence.PRESENT, weight=p.weight)
        for p in participants
        if p.may_vote
    ]


def quorum_voters(meeting) -> list[Voter]:
    """The meeting's voters and whether each is present (one query)."""
    from meetings.models import Participant

    return voters_of(
        Participant.objects.filter(meeting_id=meeting.pk).only("role", "weight", "presence")
    )


def quorum_state(meeting, participants: Iterable | None = None) -> QuorumState:
    """The meeting's quorum now, from its rules and its participants' presence: those given
    (a page that has read them), else read here (one query)."""
    voters = voters_of(participants) if participants is not None else quorum_voters(meeting)
    return quorum_compute(kind=meeting.quorum_kind, value=meeting.quorum_value, voters=voters)
