"""multikey.split, the combine helpers, and the fallback plans (per key during a migration; mget's
WRONGTYPE as nil), without a server."""

from __future__ import annotations

import pytest

from rediscluster_lite import key_slot
from rediscluster_lite.errors import ReadError, ResponseError, TooManyRedirects
from rediscluster_lite.multikey import (
    combine_all_ok,
    combine_in_order,
    combine_sum,
    in_key_order,
    mget_grouped,
    mget_retries,
    per_key_batch,
    per_key_retries,
    split,
)
from rediscluster_lite.resp import pack_command

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


# --- fallback plans -----------------------------------------------------------------------------------


def tryagain() -> ResponseError:
    return ResponseError("TRYAGAIN Multiple keys request during rehashing of slot")


def test_per_key_batch_is_one_command_per_key_with_its_slot():
    frames, slots, readonly = per_key_batch(b"DEL", [A, T1], False)
    assert frames == [pack_command((b"DEL", A)), pack_command((b"DEL", T1))]
    assert slots == [key_slot(A), key_slot(T1)]
    assert readonly == [False, False]


def test_parts_stuck_on_a_migration_are_retried_one_key_at_a_time():
    replies = [3, tryagain(), 1, tryagain()]
    assert per_key_retries(b"DEL", replies) == [1, 3]


def test_a_part_that_gave_up_after_tryagain_counts_as_stuck():
    gave_up = TooManyRedirects("slot 5: gave up", (("TRYAGAIN", "a:1", "busy"), ("TRYAGAIN", "a:1", "busy")))
    assert per_key_retries(b"MGET", [gave_up]) == [0]


def test_mset_has_no_per_key_form_so_a_stuck_part_raises_naming_it():
    with pytest.raises(ResponseError, match=r"TRYAGAIN.*command #1 \(MSET\) of 2"):
        per_key_retries(b"MSET", [b"OK", tryagain()])


def test_any_other_failure_raises_before_any_retry_is_planned():
    with pytest.raises(ReadError, match=r"command #2 \(EXISTS\)"):
        per_key_retries(b"EXISTS", [tryagain(), 1, ReadError("reset")])


def test_mget_groups_keys_that_share_a_slot_into_one_mget():
    keys = [A, T1, B, T2]
    gets = [pack_command((b"GET", k)) for k in keys]
    frames, slots, groups = mget_grouped(keys, gets, [key_slot(k) for k in keys])
    assert groups == [[0], [1, 3], [2]]
    assert frames == [gets[0], pack_command((b"MGET", T1, T2)), gets[2]]
    assert slots == [key_slot(A), key_slot(T1), key_slot(B)]


def test_a_gets_wrongtype_reads_as_nil_as_mget_would_say():
    replies = [b"1", ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")]
    assert mget_retries(replies, None) == []
    assert replies == [b"1", None]


def test_a_shared_mget_stuck_on_a_migration_is_retried_per_key():
    replies = [b"1", tryagain(), None]
    assert mget_retries(replies, [[0], [1, 3], [2]]) == [1]


def test_a_lone_get_that_failed_raises_naming_mget():
    with pytest.raises(ReadError, match=r"command #0 \(MGET\) of 1"):
        mget_retries([ReadError("reset")], [[0]])


def test_in_key_order_puts_get_values_and_mget_lists_back_at_their_keys():
    assert in_key_order(4, [[0], [1, 3], [2]], [b"a", [b"t1", b"t2"], b"b"]) == [b"a", b"t1", b"b", b"t2"]


# --- the plans, driven by scripted outcomes ------------------------------------------------------------------

from rediscluster_lite.effects import RUN, RUN_BATCH  # noqa: E402
from rediscluster_lite.multikey import mget_plan, split_plan  # noqa: E402


def play(steps, *outcomes):
    """Run a plan, answering its effects in turn with ``outcomes``; returns (effects seen, result)."""
    seen = []
    answers = iter(outcomes)
    try:
        effect = next(steps)
        while True:
            seen.append(effect)
            effect = steps.send(next(answers))
    except StopIteration as done:
        return seen, done.value


def test_mget_plan_is_one_batch_of_gets_and_the_values_in_key_order():
    seen, values = play(mget_plan([A, B, C]), [b"a", None, b"c"])
    assert [e[0] for e in seen] == [RUN_BATCH]
    assert list(seen[0][1]) == [pack_command((b"GET", k)) for k in (A, B, C)]
    assert values == [b"a", None, b"c"]


def test_mget_plan_reads_a_gets_wrongtype_as_nil_and_retries_a_stuck_shared_mget_per_key():
    seen, values = play(mget_plan([T1, A, T2]), [tryagain(), ResponseError("WRONGTYPE x")], [[b"1"], [b"2"]])
    assert [e[0] for e in seen] == [RUN_BATCH, RUN_BATCH]
    assert list(seen[1][1]) == [pack_command((b"MGET", T1)), pack_command((b"MGET", T2))]
    assert values == [b"1", None, b"2"]


def test_split_plan_of_one_slot_is_one_routed_command():
    seen, count = play(split_plan(b"DEL", [T1, T2], 1, False, combine_sum), 2)
    assert seen == [(RUN, pack_command((b"DEL", T1, T2)), key_slot(T1), False)]
    assert count == 2


def test_split_plan_one_slot_that_gave_up_on_tryagain_goes_key_by_key():
    gave_up = TooManyRedirects("slot 5: gave up", (("TRYAGAIN", "a:1", "busy"),))
    seen, count = play(split_plan(b"DEL", [T1, T2], 1, False, combine_sum), gave_up, [1, 0])
    assert [e[0] for e in seen] == [RUN, RUN_BATCH] and count == 1


def test_split_plan_raises_any_other_error_of_its_one_command():
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        play(split_plan(b"DEL", [T1, T2], 1, False, combine_sum), ResponseError("WRONGTYPE x"))


def test_split_plan_across_slots_is_one_batch_combined():
    seen, count = play(split_plan(b"EXISTS", [A, B], 1, True, combine_sum), [1, 1])
    assert [e[0] for e in seen] == [RUN_BATCH] and seen[0][3] == [True, True] and count == 2


def test_the_plans_refuse_no_keys_before_any_effect():
    with pytest.raises(ValueError, match="MGET needs at least one key"):
        next(mget_plan([]))
    with pytest.raises(ValueError, match="DEL needs at least one key"):
        next(split_plan(b"DEL", [], 1, False, combine_sum))
