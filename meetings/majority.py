"""The majority arithmetic of polls (R-33): pure functions on Decimal weights, no database.

Yes / no / abstain polls (``decide``):

* simple: carried when yes > no. With ``abstentions_count`` an abstention counts like a vote
  against: yes > no + abstain.
* absolute: carried when yes > half of the entitled weight (everyone who could vote, so
  abstentions and those who did not vote already weigh against; the setting changes nothing).
* two-thirds: carried when yes >= 2/3 of the base, the base being the weight cast (yes + no,
  plus abstentions when they count), of the members present, or of all members.

A tie is yes = against (no, plus abstentions when they count) with at least one vote for each
side; under the absolute rule also yes = exactly half of the entitled weight. A two-thirds vote
has no tie. On a tie the motion is not carried unless the rules give the chair a casting vote and
the chair gave it (``casting`` "yes" or "no"): how the chair voted decides. In a named poll that
is the chair's own vote; in a secret poll nobody can know it, so the chair casts the deciding
vote openly at the close, as a separate act recorded with the result (meetings.services.voting).

Choice polls (``choice_winners``): the options with the most weight win, up to k of them, and an
option needs some weight to win. When options are tied across the k-th place, the tied ones are
not declared (``tie`` is set: the meeting decides again); those strictly above still win.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from meetings.constants import Majority, MajorityBase

ZERO = Decimal("0")


@dataclass(frozen=True)
class Outcome:
    carried: bool
    tie: bool
    base: Decimal  # the weight the yes weight was measured against
    required: Decimal  # the yes weight to pass (strictly more when ``strict``)
    strict: bool
    casting_used: str = ""  # "yes" / "no" when the chair's casting vote decided


def config_errors(
    *, rule: str, base: str, is_choice: bool, max_choices: int, option_count: int
) -> dict[str, str]:
    """What is wrong with a poll's configuration, by form field (empty: nothing)."""
    errors: dict[str, str] = {}
    if rule not in Majority.values:
        errors["majority"] = _("Choose one of the majority rules.")
    if base not in MajorityBase.values:
        errors["majority_base"] = _("Choose what the two-thirds are counted of.")
    if is_choice:
        if option_count < 2:
            errors["options"] = _("A choice needs at least two different options.")
        elif not 1 <= max_choices <= option_count:
            errors["max_choices"] = _(
                "A voter may choose between 1 and %(count)s options here."
            ) % {"count": option_count}
    elif max_choices != 1:
        errors["max_choices"] = _("A yes or no question takes one answer per voter.")
    return errors


def decide(
    *,
    rule: str,
    base: str,
    abstentions_count: bool,
    chair_casting_vote: bool,
    yes: Decimal,
    no: Decimal,
    abstain: Decimal,
    entitled: Decimal,
    present: Decimal,
    members: Decimal,
    casting: str | None = None,
) -> Outcome:
    """Whether a yes / no / abstain motion is carried under ``rule`` (see the module's doc)."""
    against = no + abstain if abstentions_count else no
    if rule == Majority.SIMPLE:
        tie = yes == against and yes > ZERO
        outcome = Outcome(
            carried=yes > against, tie=tie, base=yes + against, required=against, strict=True
        )
    elif rule == Majority.ABSOLUTE:
        tie = yes * 2 == entitled and yes == against and yes > ZERO
        outcome = Outcome(
            carried=yes * 2 > entitled, tie=tie, base=entitled, required=entitled / 2, strict=True
        )
    elif rule == Majority.TWO_THIRDS:
        measured = {
            MajorityBase.CAST: yes + against,
            MajorityBase.PRESENT: present,
            MajorityBase.MEMBERS: members,
        }[MajorityBase(base)]
        required = (measured * 2 / 3).quantize(Decimal("0.01"))
        return Outcome(
            carried=measured > ZERO and yes * 3 >= measured * 2,
            tie=False,
            base=measured,
            required=required,
            strict=False,
        )
    else:
        raise ValueError(f"unknown majority rule {rule!r}")
    if outcome.tie and chair_casting_vote and casting in ("yes", "no"):
        return Outcome(
            carried=casting == "yes",
            tie=True,
            base=outcome.base,
            required=outcome.required,
            strict=outcome.strict,
            casting_used=casting,
        )
    return outcome


def choice_winners(weights: list[tuple[int, Decimal]], k: int) -> tuple[list[int], bool]:
    """The winning keys among ``(key, weight)`` (at most ``k``), and whether a tie across the
    k-th place left some undecided."""
    ranked = sorted((item for item in weights if item[1] > ZERO), key=lambda item: -item[1])
    if len(ranked) <= k:
        return [key for key, _weight in ranked], False
    cutoff = ranked[k][1]  # the best weight that did not make it
    winners = [key for key, weight in ranked if weight > cutoff]
    return winners, len(winners) < k
