"""The quorum arithmetic (meetings.quorum): "at least" a count, "more than" a share."""

from decimal import Decimal as D

import pytest

from meetings.constants import QuorumKind
from meetings.quorum import Voter, quorum_compute


def voters(present: int, absent: int, weight: str = "1") -> list[Voter]:
    return [Voter(True, D(weight))] * present + [Voter(False, D(weight))] * absent


@pytest.mark.parametrize(
    ("kind", "value", "present", "absent", "reached", "required"),
    [
        # count: at least the number
        (QuorumKind.COUNT, "3", 2, 5, False, 3),
        (QuorumKind.COUNT, "3", 3, 4, True, 3),
        (QuorumKind.COUNT, "3", 4, 0, True, 3),
        (QuorumKind.COUNT, "0", 0, 3, True, 0),
        (QuorumKind.COUNT, "1", 0, 0, False, 1),  # nobody invited: no quorum
        # share of members: more than the share
        (QuorumKind.SHARE_MEMBERS, "0.5", 5, 5, False, 6),
        (QuorumKind.SHARE_MEMBERS, "0.5", 6, 4, True, 6),
        (QuorumKind.SHARE_MEMBERS, "0.5", 5, 4, True, 5),  # 5 of 9 is more than half
        (QuorumKind.SHARE_MEMBERS, "0.5", 4, 5, False, 5),
        (QuorumKind.SHARE_MEMBERS, "0.667", 2, 1, False, 3),  # 2/3 < 0.667
        (QuorumKind.SHARE_MEMBERS, "0.666", 2, 1, True, 2),  # 2/3 > 0.666
        (QuorumKind.SHARE_MEMBERS, "1", 3, 1, False, 4),  # all needed
        (QuorumKind.SHARE_MEMBERS, "1", 4, 0, True, 4),
        (QuorumKind.SHARE_MEMBERS, "0", 0, 4, False, 1),  # more than nothing: one
        (QuorumKind.SHARE_MEMBERS, "0", 1, 3, True, 1),
        (QuorumKind.SHARE_MEMBERS, "0.5", 0, 0, False, None),
    ],
)
def test_quorum_by_heads(kind, value, present, absent, reached, required):
    state = quorum_compute(kind=kind, value=D(value), voters=voters(present, absent))
    assert state.reached is reached
    assert state.required == required
    assert state.present == present and state.members == present + absent
    assert state.description


@pytest.mark.parametrize(
    ("value", "present_weights", "absent_weights", "reached"),
    [
        ("0.5", ["2"], ["1", "1"], False),  # exactly half of the weight
        ("0.5", ["2", "0.01"], ["1", "1"], True),
        ("0.5", ["3"], ["1", "1"], True),  # one heavy member is more than half
        ("0.5", ["1", "1"], ["3"], False),  # two light members are not
        ("0.75", ["3"], ["1"], False),
        ("0.74", ["3"], ["1"], True),
        ("1", ["1", "1"], ["1"], False),
        ("1", ["1", "1", "1"], [], True),
        ("0.5", [], [], False),
    ],
)
def test_quorum_by_weight(value, present_weights, absent_weights, reached):
    people = [Voter(True, D(w)) for w in present_weights] + [
        Voter(False, D(w)) for w in absent_weights
    ]
    state = quorum_compute(kind=QuorumKind.SHARE_WEIGHT, value=D(value), voters=people)
    assert state.reached is reached
    assert state.present_weight == sum((D(w) for w in present_weights), D(0))
    assert state.total_weight == sum((D(w) for w in present_weights + absent_weights), D(0))


def test_required_weight_is_the_share_of_the_total():
    state = quorum_compute(
        kind=QuorumKind.SHARE_WEIGHT, value=D("0.5"), voters=voters(1, 3, weight="2")
    )
    assert state.required == D("4") and not state.reached
    assert D(state.as_json()["required"]) == D("4") and state.as_json()["reached"] is False
