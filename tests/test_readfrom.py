"""Read modes: for a shard, the nodes a read tries, best first, and how turns spread the load."""

from __future__ import annotations

from collections import Counter

import pytest

from rediscluster_lite import ReadFrom as PublicReadFrom
from rediscluster_lite.readfrom import ReadFrom, read_candidates
from rediscluster_lite.slotmap import Node, Shard

M = Node("10.0.0.1", 7000)
R1 = Node("10.0.0.2", 7001)
R2 = Node("10.0.0.3", 7002)
R3 = Node("10.0.0.4", 7003)

FULL = Shard(M, (R1, R2))
BARE = Shard(M, ())


@pytest.mark.parametrize(
    "mode, expected",
    [
        (ReadFrom.PRIMARY, (M,)),
        (ReadFrom.PRIMARY_PREFERRED, (M, R1, R2)),
        (ReadFrom.REPLICA, (R1, R2)),
        (ReadFrom.REPLICA_PREFERRED, (R1, R2, M)),
        (ReadFrom.ANY, (M, R1, R2)),
    ],
    ids=lambda v: v.value if isinstance(v, ReadFrom) else None,
)
def test_candidate_order_at_turn_zero(mode, expected):
    assert read_candidates(mode, FULL, 0) == expected


@pytest.mark.parametrize(
    "mode, expected",
    [
        (ReadFrom.PRIMARY, (M,)),
        (ReadFrom.PRIMARY_PREFERRED, (M, R2, R1)),
        (ReadFrom.REPLICA, (R2, R1)),
        (ReadFrom.REPLICA_PREFERRED, (R2, R1, M)),
        (ReadFrom.ANY, (R1, R2, M)),
    ],
    ids=lambda v: v.value if isinstance(v, ReadFrom) else None,
)
def test_candidate_order_at_turn_one(mode, expected):
    assert read_candidates(mode, FULL, 1) == expected


@pytest.mark.parametrize(
    "mode, expected",
    [
        (ReadFrom.PRIMARY, (M,)),
        (ReadFrom.PRIMARY_PREFERRED, (M,)),
        (ReadFrom.REPLICA, ()),
        (ReadFrom.REPLICA_PREFERRED, (M,)),
        (ReadFrom.ANY, (M,)),
    ],
    ids=lambda v: v.value if isinstance(v, ReadFrom) else None,
)
def test_shard_without_replicas(mode, expected):
    for turn in range(3):
        assert read_candidates(mode, BARE, turn) == expected


@pytest.mark.parametrize("mode", list(ReadFrom), ids=lambda m: m.value)
def test_every_candidate_list_is_a_permutation_of_allowed_nodes(mode):
    shard = Shard(M, (R1, R2, R3))
    allowed = {
        ReadFrom.PRIMARY: {M},
        ReadFrom.PRIMARY_PREFERRED: {M, R1, R2, R3},
        ReadFrom.REPLICA: {R1, R2, R3},
        ReadFrom.REPLICA_PREFERRED: {M, R1, R2, R3},
        ReadFrom.ANY: {M, R1, R2, R3},
    }[mode]
    for turn in range(10):
        nodes = read_candidates(mode, shard, turn)
        assert len(nodes) == len(set(nodes)) == len(allowed)
        assert set(nodes) == allowed


@pytest.mark.parametrize(
    "mode, spread",
    [(ReadFrom.REPLICA, {R1, R2, R3}), (ReadFrom.REPLICA_PREFERRED, {R1, R2, R3}), (ReadFrom.ANY, {M, R1, R2, R3})],
    ids=lambda v: v.value if isinstance(v, ReadFrom) else None,
)
def test_turns_spread_first_choices_evenly(mode, spread):
    shard = Shard(M, (R1, R2, R3))
    firsts = Counter(read_candidates(mode, shard, turn)[0] for turn in range(1200))
    assert set(firsts) == spread
    assert len(set(firsts.values())) == 1  # exactly even


def test_preferred_modes_keep_the_fallback_last_and_the_primary_first():
    shard = Shard(M, (R1, R2, R3))
    for turn in range(7):
        assert read_candidates(ReadFrom.REPLICA_PREFERRED, shard, turn)[-1] == M
        assert read_candidates(ReadFrom.PRIMARY_PREFERRED, shard, turn)[0] == M


def test_large_turn_numbers_work():
    assert read_candidates(ReadFrom.REPLICA, FULL, 10**12 + 1) == (R2, R1)


@pytest.mark.parametrize(
    "text, mode",
    [
        ("primary", ReadFrom.PRIMARY),
        ("PRIMARY", ReadFrom.PRIMARY),
        ("master", ReadFrom.PRIMARY),
        ("upstream", ReadFrom.PRIMARY),
        ("primary_preferred", ReadFrom.PRIMARY_PREFERRED),
        ("primary-preferred", ReadFrom.PRIMARY_PREFERRED),
        ("master_preferred", ReadFrom.PRIMARY_PREFERRED),
        ("replica", ReadFrom.REPLICA),
        ("slave", ReadFrom.REPLICA),
        ("REPLICA_PREFERRED", ReadFrom.REPLICA_PREFERRED),
        (" replica_preferred ", ReadFrom.REPLICA_PREFERRED),
        ("slave_preferred", ReadFrom.REPLICA_PREFERRED),
        ("any", ReadFrom.ANY),
    ],
)
def test_parse_accepts_names_and_lettuce_style_aliases(text, mode):
    assert ReadFrom.parse(text) is mode


def test_parse_passes_enum_members_through():
    for mode in ReadFrom:
        assert ReadFrom.parse(mode) is mode


@pytest.mark.parametrize("value", ["nearest", "", "primary preferred", None, 1, b"primary"])
def test_parse_rejects_unknown_values_listing_the_choices(value):
    with pytest.raises(ValueError) as info:
        ReadFrom.parse(value)
    assert "replica_preferred" in str(info.value)


def test_read_from_is_a_str_enum_exported_at_the_top_level():
    assert PublicReadFrom is ReadFrom
    assert ReadFrom.REPLICA_PREFERRED == "replica_preferred"
    assert {m.value for m in ReadFrom} == {"primary", "primary_preferred", "replica", "replica_preferred", "any"}
