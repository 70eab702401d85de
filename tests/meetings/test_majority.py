"""The majority arithmetic (meetings.majority), one row per rule, base, abstention setting and
tie: (rule, base, abstentions count, casting vote allowed, yes, no, abstain, entitled, present,
members, chair's casting vote) -> (carried, tie)."""

from decimal import Decimal as D

import pytest

from meetings import majority

S, A, T = "simple", "absolute", "two_thirds"
CAST, PRESENT, MEMBERS = "cast", "present", "members"

# fmt: off
CASES = [
    # rule base    abst  cast  yes no abst ent pres mem casting  carried tie
    (S, CAST, False, True,  5, 4, 0, 10, 10, 10, None,  True,  False),  # yes > no
    (S, CAST, False, True,  4, 5, 0, 10, 10, 10, None,  False, False),
    (S, CAST, False, True,  4, 3, 3, 10, 10, 10, None,  True,  False),  # abstentions ignored
    (S, CAST, True,  True,  4, 3, 3, 10, 10, 10, None,  False, False),  # ...or count against
    (S, CAST, True,  True,  5, 3, 1, 10, 10, 10, None,  True,  False),
    (S, CAST, False, True,  4, 4, 2, 10, 10, 10, None,  False, True),   # tie, no casting given
    (S, CAST, False, True,  4, 4, 2, 10, 10, 10, "yes", True,  True),   # chair's vote decides
    (S, CAST, False, True,  4, 4, 2, 10, 10, 10, "no",  False, True),
    (S, CAST, False, False, 4, 4, 2, 10, 10, 10, "yes", False, True),   # rules give no casting
    (S, CAST, True,  True,  4, 2, 2, 10, 10, 10, "yes", True,  True),   # tie counting abstentions
    (S, CAST, False, True,  0, 0, 3, 10, 10, 10, "yes", False, False),  # nobody for or against
    (A, CAST, False, True,  6, 0, 0, 10, 10, 10, None,  True,  False),  # 6 > 10/2
    (A, CAST, False, True,  5, 0, 0, 10, 10, 10, None,  False, False),  # exactly half is not more
    (A, CAST, False, True,  5, 4, 0, 10, 10, 10, None,  False, False),  # yes > no is not enough
    (A, CAST, True,  True,  6, 1, 3, 10, 10, 10, None,  True,  False),  # abstentions change nothing
    (A, CAST, False, True,  5, 5, 0, 10, 10, 10, None,  False, True),   # everyone split: a tie
    (A, CAST, False, True,  5, 5, 0, 10, 10, 10, "yes", True,  True),
    (T, CAST, False, True,  6, 3, 5, 20, 20, 20, None,  True,  False),  # 6 >= 2/3 of 9
    (T, CAST, False, True,  5, 3, 0, 20, 20, 20, None,  False, False),  # 5 < 2/3 of 8
    (T, CAST, True,  True,  6, 3, 1, 20, 20, 20, None,  False, False),  # 6 < 2/3 of 10
    (T, CAST, True,  True,  8, 3, 1, 20, 20, 20, None,  True,  False),  # 8 >= 2/3 of 12
    (T, PRESENT, False, True, 8, 1, 0, 15, 12, 20, None, True,  False),  # 8 >= 2/3 of 12
    (T, PRESENT, False, True, 7, 1, 0, 15, 12, 20, None, False, False),
    (T, MEMBERS, False, True, 13, 0, 0, 15, 12, 20, None, False, False),  # 13 < 2/3 of 20
    (T, MEMBERS, False, True, 14, 0, 0, 15, 12, 20, None, True,  False),
    (T, CAST, False, True,  0, 0, 0, 10, 10, 10, "yes", False, False),  # nothing cast, no tie
    (T, CAST, False, True,  D("2.5"), D("1.25"), 0, 10, 10, 10, None, True, False),  # weights
]
# fmt: on


@pytest.mark.parametrize(
    "rule,base,abst,casting_allowed,yes,no,abstain,entitled,present,members,casting,carried,tie",
    CASES,
)
def test_majority_rules(
    rule,
    base,
    abst,
    casting_allowed,
    yes,
    no,
    abstain,
    entitled,
    present,
    members,
    casting,
    carried,
    tie,
):
    outcome = majority.decide(
        rule=rule,
        base=base,
        abstentions_count=abst,
        chair_casting_vote=casting_allowed,
        yes=D(yes),
        no=D(no),
        abstain=D(abstain),
        entitled=D(entitled),
        present=D(present),
        members=D(members),
        casting=casting,
    )
    assert (outcome.carried, outcome.tie) == (carried, tie)
    assert outcome.casting_used == (casting if tie and casting_allowed and casting else "")


@pytest.mark.parametrize(
    "weights,k,winners,tie",
    [
        ([(1, 5), (2, 3), (3, 1)], 1, [1], False),
        ([(1, 5), (2, 3), (3, 1)], 2, [1, 2], False),
        ([(1, 3), (2, 3), (3, 1)], 1, [], True),  # tied for the only place
        ([(1, 5), (2, 3), (3, 3)], 2, [1], True),  # tied for the second place
        ([(1, 0), (2, 0)], 1, [], False),  # no weight, no winner
        ([(1, 2), (2, 0), (3, 0)], 2, [1], False),
    ],
)
def test_choice_winners(weights, k, winners, tie):
    result = majority.choice_winners([(key, D(w)) for key, w in weights], k)
    assert result == (winners, tie)


@pytest.mark.parametrize(
    "config,field",
    [
        ({"rule": "plurality"}, "majority"),
        ({"base": "everyone"}, "majority_base"),
        ({"is_choice": True, "option_count": 1}, "options"),
        ({"is_choice": True, "option_count": 3, "max_choices": 4}, "max_choices"),
        ({"is_choice": True, "option_count": 3, "max_choices": 0}, "max_choices"),
        ({"max_choices": 2}, "max_choices"),
    ],
)
def test_invalid_configuration(config, field):
    values = {"rule": S, "base": CAST, "is_choice": False, "max_choices": 1, "option_count": 3}
    values.update(config)
    assert field in majority.config_errors(**values)
    assert not majority.config_errors(
        rule=S, base=CAST, is_choice=False, max_choices=1, option_count=3
    )
