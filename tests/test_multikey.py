"""multikey.split and the combine helpers, without a server."""

from __future__ import annotations

import pytest

from rediscluster_lite import key_slot
from rediscluster_lite.multikey import combine_all_ok, combine_in_order, combine_sum, split

# Keys chosen to land in distinct slots, and two that share one through a hash tag.
A, B, C = "alpha", "bravo", "charlie"
T1, T2 = "{tag}:1", "{tag}:2"


def test_the_sample_keys_cover_the_cases():
    assert len({key_slot(A), key_slot(B), key_slot(C), key_slot(T1)}) == 4
    assert key_slot(T1) == key_slot(T2)


def test_one_part_per_slot_each_with_its_slot():
    parts = split(b"MGET", [A, B, C])
    assert [slot for slot, _, _ in parts] == [key_slot(A), key_slot(B), key_slot(C)]
    assert [argv for _, _, argv in parts] == [(b"MGET", A), (b"MGET", B), (b"MGET", C)]
    assert [positions for _, positions, _ in parts] == [[0], [1], [2]]


def test_same_slot_keys_share_one_command_in_their_order():
    parts = split(b"DEL", [T2, A, T1])
    assert len(parts) == 2
    (slot, positions, argv) = next(p for p in parts if p[0] == key_slot(T1))
    assert positions == [0, 2]
    assert argv == (b"DEL", T2, T1)


def test_parts_come_in_order_of_first_appearance():
    parts = split(b"EXISTS", [C, A, C, B, A])
    assert [p[0] for p in parts] == [key_slot(C), key_slot(A), key_slot(B)]
    assert [p[1] for p in parts] == [[0, 2], [1, 4], [3]]


def test_step_two_keeps_each_key_with_its_value():
    parts = split(b"MSET", [A, "va", T1, "v1", B, "vb", T2, "v2"], step=2)
    by_slot = {slot: (positions, argv) for slot, positions, argv in parts}
    assert by_slot[key_slot(A)] == ([0], (b"MSET", A, "va"))
    assert by_slot[key_slot(B)] == ([2], (b"MSET", B, "vb"))
    assert by_slot[key_slot(T1)] == ([1, 3], (b"MSET", T1, "v1", T2, "v2"))  # positions count pairs


def test_step_two_hashes_keys_not_values():
    # A value that hashes elsewhere must not pull its pair into another slot.
    parts = split(b"MSET", [T1, A, T2, B], step=2)
    assert len(parts) == 1
    assert parts[0][0] == key_slot(T1)
    assert parts[0][2] == (b"MSET", T1, A, T2, B)


def test_an_odd_number_of_key_value_items_raises_value_error():
    with pytest.raises(ValueError, match="MSET"):
        split(b"MSET", [A, "va", B], step=2)


def test_no_keys_make_no_parts():
    assert split(b"MGET", []) == []


def test_bytes_and_str_keys_of_one_name_share_a_slot():
    parts = split(b"MGET", [b"alpha", "alpha"])
    assert len(parts) == 1
    assert parts[0][1] == [0, 1]


# --- combining ---------------------------------------------------------------------------------------


def test_combine_in_order_puts_each_value_back_at_its_key():
    keys = [C, T1, A, T2, B]
    parts = split(b"MGET", keys)
    values = {C: b"c", T1: b"t1", A: None, T2: b"t2", B: b"b"}
    replies = [[values[keys[p]] for p in positions] for _, positions, _ in parts]
    assert combine_in_order(parts, replies, len(keys)) == [b"c", b"t1", None, b"t2", b"b"]


def test_combine_in_order_with_a_repeated_key():
    keys = [A, B, A]
    parts = split(b"MGET", keys)
    replies = [[b"a"] * len(positions) if slot == key_slot(A) else [b"b"] for slot, positions, _ in parts]
    assert combine_in_order(parts, replies, 3) == [b"a", b"b", b"a"]


def test_combine_sum_adds_the_counts():
    parts = split(b"DEL", [A, B, T1, T2])
    assert combine_sum(parts, [1, 0, 2], 4) == 3


def test_combine_all_ok_needs_every_part_ok():
    parts = split(b"MSET", [A, 1, B, 2], step=2)
    assert combine_all_ok(parts, [b"OK", "OK"], 2) is True
    assert combine_all_ok(parts, [b"OK", None], 2) is False
