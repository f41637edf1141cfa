"""``route_batch`` driven directly: which node each command of a batch goes to, what is sent again after
a failure, and what each command ends with. Replies are parsed from RESP bytes by the library's reader."""

from __future__ import annotations

import pytest
from test_router import M1, M2, OK, R1A, R1B, SHARD1, FakeState, err, parse

from rediscluster_lite.errors import (
    ClusterDownError,
    ConnectError,
    MaybeAppliedError,
    ReadError,
    ResponseError,
    SlotNotCoveredError,
)
from rediscluster_lite.readfrom import ReadFrom
from rediscluster_lite.router import REFRESH, SEND_BATCH, SLEEP, RetryPolicy, SendBatch, route_batch
from rediscluster_lite.slotmap import SlotMap

S1, S2 = 100, 9000  # a slot of SHARD1 (M1, replicas R1A, R1B) and one of SHARD2 (M2, no replicas)


class BatchDriver:
    """Runs ``route_batch`` to its end. ``answer(node, indexes)`` returns the outcome of each command sent
    to ``node`` in one round (RESP bytes or an exception instance); rounds are recorded."""

    def __init__(self, state: FakeState, answer, policy: RetryPolicy | None = None, on_refresh=None):
        self.state = state
        self.answer = answer
        self.policy = policy or RetryPolicy()
        self.on_refresh = on_refresh
        self.rounds: list[SendBatch] = []
        self.kinds: list[int] = []

    def run(self, slots, readonly):
        gen = route_batch(self.state, self.policy, slots, readonly)
        outcome = None
        while True:
            try:
                effect = gen.send(outcome)
            except StopIteration as done:
                return done.value
            self.kinds.append(effect[0])
            outcome = None
            if effect[0] == SEND_BATCH:
                self.rounds.append(effect)
                outcome = {node: self._replies(node, indexes) for node, indexes in effect.plan.items()}
            elif effect[0] == REFRESH and self.on_refresh is not None:
                self.on_refresh(self.state)

    def _replies(self, node, indexes):
        out = self.answer(node, list(indexes), len(self.rounds) - 1)
        return [parse(r) if isinstance(r, bytes) else r for r in out]

    def plan(self, round_index: int = 0) -> dict:
        return {node: list(indexes) for node, indexes in self.rounds[round_index].plan.items()}


def values(node, indexes, _round):
    return [b"$2\r\n%d\r\n" % (10 + i) if i < 90 else OK for i in indexes]


def test_healthy_batch_is_one_round_grouped_by_master_in_call_order():
    d = BatchDriver(FakeState(), values)
    results = d.run([S1, S2, S1, S2], [False, True, True, False])
    assert results == [b"10", b"11", b"12", b"13"]
    assert d.plan() == {M1: [0, 2], M2: [1, 3]}
    assert d.kinds == [SEND_BATCH]
    assert d.rounds[0].asking == set() and d.rounds[0].replica_nodes == set()


def test_reads_under_a_read_mode_go_to_one_candidate_per_shard_with_readonly():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED, turn=1)
    d = BatchDriver(state, values)
    results = d.run([S1, S1, S2, S1], [True, True, True, False])
    assert results == [b"10", b"11", b"12", b"13"]
    # turn 1 rotates SHARD1's replicas: R1B first; SHARD2 has none, so its master; the write to M1
    assert d.plan() == {M1: [3], R1B: [0, 1], M2: [2]}
    assert d.rounds[0].replica_nodes == {R1B}


def test_a_replica_marked_down_is_not_the_first_choice_of_a_batch():
    state = FakeState(read_from=ReadFrom.REPLICA)
    state.down.add(R1A)
    d = BatchDriver(state, values)
    d.run([S1, S1], [True, True])
    assert d.plan() == {R1B: [0, 1]}


def test_a_failed_replica_read_moves_to_the_next_candidate_of_its_shard_at_once():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)

    def answer(node, indexes, round_):
        if node == R1A:
            return [ReadError("reset", R1A.name)] * len(indexes)
        return values(node, indexes, round_)

    d = BatchDriver(state, answer)
    assert d.run([S1, S1], [True, True]) == [b"10", b"11"]
    assert d.plan(0) == {R1A: [0, 1]}
    assert d.plan(1) == {R1B: [0, 1]}  # the next replica, no sleep, no refresh
    assert d.rounds[1].replica_nodes == {R1B}
    assert SLEEP not in d.kinds and REFRESH not in d.kinds
    assert state.marked == [R1A, R1A]


def test_a_write_lost_after_send_is_maybe_applied_and_not_resent_while_reads_are():
    def answer(node, indexes, round_):
        if round_ == 0:
            return [ReadError("reset", M1.name)] * len(indexes)
        return values(node, indexes, round_)

    d = BatchDriver(FakeState(), answer)
    results = d.run([S1, S1], [False, True])
    assert isinstance(results[0], MaybeAppliedError)
    assert results[1] == b"11"
    assert d.plan(1) == {M1: [1]}


def test_moved_resends_only_the_redirected_command_to_the_new_owner():
    def answer(node, indexes, round_):
        return [err(f"MOVED {S1} {M2.name}") if (node == M1 and i == 0) else b"$1\r\nv\r\n" for i in indexes]

    state = FakeState()
    d = BatchDriver(state, answer)
    assert d.run([S1, S2, S1], [True, True, True]) == [b"v", b"v", b"v"]
    assert d.plan(1) == {M2: [0]}
    assert state.moved == [(S1, M2)]


def test_ask_resends_with_asking_and_leaves_the_map_alone():
    def answer(node, indexes, round_):
        return [err(f"ASK {S1} {M2.name}") if round_ == 0 else OK for _ in indexes]

    state = FakeState()
    d = BatchDriver(state, answer)
    assert d.run([S1], [False]) == [b"OK"]
    assert d.plan(1) == {M2: [0]} and d.rounds[1].asking == {0}
    assert state.moved == []


def test_tryagain_sleeps_before_the_next_round_and_clusterdown_also_refreshes():
    def answer(node, indexes, round_):
        if round_ == 0:
            return [err("TRYAGAIN multi-key"), err("CLUSTERDOWN the cluster is down")]
        return [OK] * len(indexes)

    d = BatchDriver(FakeState(), answer)
    assert d.run([S1, S1], [False, False]) == [b"OK", b"OK"]
    assert d.kinds == [SEND_BATCH, SLEEP, REFRESH, SEND_BATCH]


def test_clusterdown_past_the_budget_is_that_commands_error_the_others_keep_their_replies():
    def answer(node, indexes, round_):
        return [err("CLUSTERDOWN down") if i == 0 else OK for i in indexes]

    d = BatchDriver(FakeState(), answer, RetryPolicy(max_retries=1))
    results = d.run([S1, S2], [False, False])
    assert isinstance(results[0], ClusterDownError) and results[1] == b"OK"
    assert len(d.rounds) == 2


def test_an_error_reply_is_the_commands_result_and_is_not_resent():
    d = BatchDriver(FakeState(), lambda node, indexes, r: [err("WRONGTYPE wrong kind")] * len(indexes))
    (result,) = d.run([S1], [True])
    assert isinstance(result, ResponseError) and result.code == "WRONGTYPE"
    assert len(d.rounds) == 1


def test_keyless_commands_go_to_the_keyless_shard():
    d = BatchDriver(FakeState(), values)
    assert d.run([None, S1], [True, False]) == [b"10", b"11"]
    assert d.plan() == {M1: [1], M2: [0]}


def test_an_uncovered_slot_refreshes_then_is_sent_where_the_new_map_says():
    half = SlotMap.from_ranges([(0, 8191, SHARD1)])

    def cover(state):
        state.slot_map = SlotMap.from_ranges([(0, 16383, SHARD1)])

    d = BatchDriver(FakeState(slot_map=half), values, on_refresh=cover)
    assert d.run([S2, S1], [False, False]) == [b"10", b"11"]
    assert d.plan(0) == {M1: [1]}
    assert d.plan(1) == {M1: [0]}
    assert d.kinds == [SEND_BATCH, REFRESH, SEND_BATCH]


def test_a_slot_still_uncovered_after_the_refresh_is_slot_not_covered():
    half = SlotMap.from_ranges([(0, 8191, SHARD1)])
    d = BatchDriver(FakeState(slot_map=half), values)
    results = d.run([S2, S1], [False, False])
    assert isinstance(results[0], SlotNotCoveredError) and results[1] == b"11"


def test_replica_mode_on_a_shard_without_replicas_fails_that_command_only():
    d = BatchDriver(FakeState(read_from=ReadFrom.REPLICA), values)
    results = d.run([S2, S1], [True, True])
    assert isinstance(results[0], ClusterDownError) and "replica" in str(results[0])
    assert results[1] == b"11"
    assert all(M2 not in r.plan for r in d.rounds)


@pytest.mark.parametrize("mode", list(ReadFrom))
def test_writes_go_to_the_master_in_every_read_mode(mode):
    d = BatchDriver(FakeState(read_from=mode), values)
    d.run([S1, S2], [False, False])
    assert d.plan() == {M1: [0], M2: [1]}


def test_connect_error_retries_the_node_after_backoff_and_refresh():
    def answer(node, indexes, round_):
        if round_ == 0:
            return [ConnectError("refused", M1.name)] * len(indexes)
        return [OK] * len(indexes)

    d = BatchDriver(FakeState(), answer)
    assert d.run([S1, S1], [False, False]) == [b"OK", b"OK"]  # nothing was sent: safe to resend writes
    assert d.kinds == [SEND_BATCH, SLEEP, REFRESH, SEND_BATCH]


def test_shard1_has_two_replicas_for_these_tests():
    assert SHARD1.replicas == (R1A, R1B)
