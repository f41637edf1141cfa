"""fanout_plan, driven with scripted outcomes: one command to many nodes, and its failover rules."""

from __future__ import annotations

import pytest
from scripted_plans import M1, M2, R1, FakeState, Script, after_failover, reply

from rediscluster_lite.effects import FORCE_REFRESH
from rediscluster_lite.errors import ConnectError, ConnectTimeout, ReadError, ResponseError
from rediscluster_lite.fanout import fanout_plan
from rediscluster_lite.router import REFRESH, SEND_BATCH, SLEEP, RetryPolicy


def answers(**by_node):
    """A SEND_BATCH answer: each node of the plan gets its scripted outcome (default: PONG)."""

    def answer(effect):
        return {node: [by_node.get(key(node), b"PONG")] for node in effect[1]}

    return answer


def key(node) -> str:
    return node.name.replace(".", "_").replace(":", "_")


def test_every_node_gets_one_batch_and_the_replies_come_back_by_name():
    state = FakeState()
    script = Script(state, batch=[answers()])
    assert script.run(fanout_plan(state, RetryPolicy(), "primaries")) == {M1.name: b"PONG", M2.name: b"PONG"}
    ((kind, plan, asking, replica_nodes),) = script.effects
    assert kind == SEND_BATCH and plan == {M1: [0], M2: [0]} and not asking and not replica_nodes


def test_an_unreachable_master_costs_a_backoff_a_refresh_and_a_send_to_its_successor_only():
    state = FakeState(refreshed=[after_failover()])
    script = Script(state, batch=[answers(**{key(M1): ConnectError("refused")}), answers()])
    assert script.run(fanout_plan(state, RetryPolicy(), "primaries")) == {M2.name: b"PONG", R1.name: b"PONG"}
    assert state.marked == [M1, M1]  # by the plan, and by the router's rule for a command that never left
    assert script.kinds == [SEND_BATCH, SLEEP, FORCE_REFRESH, SEND_BATCH]
    assert script.effects[3][1] == {R1: [0]}  # M2 already answered: not asked twice


def test_unreachable_past_max_retries_raises_the_connect_error():
    state = FakeState()
    refused = answers(**{key(M1): ConnectError("refused")})
    script = Script(state, batch=[refused] * 3)
    with pytest.raises(ConnectError, match="refused"):
        script.run(fanout_plan(state, RetryPolicy(max_retries=2), "primaries"))
    assert len(script.of(SEND_BATCH)) == 3


def test_a_second_connect_timeout_gives_up():
    state = FakeState()
    slow = answers(**{key(M1): ConnectTimeout("slow")})
    script = Script(state, batch=[slow] * 5)
    with pytest.raises(ConnectTimeout):
        script.run(fanout_plan(state, RetryPolicy(max_retries=4), "primaries"))
    assert len(script.of(SEND_BATCH)) == 2


def test_a_failure_after_the_send_marks_down_refreshes_and_raises_without_resending():
    state = FakeState()
    lost = ReadError("reset")
    script = Script(state, batch=[answers(**{key(M2): lost})])
    with pytest.raises(ReadError):
        script.run(fanout_plan(state, RetryPolicy(), "primaries"))
    assert state.marked == [M2]
    assert script.kinds == [SEND_BATCH, REFRESH]


def test_a_node_named_explicitly_is_not_replaced_when_unreachable():
    state = FakeState(refreshed=[after_failover()])
    script = Script(state, batch=[answers(**{key(M1): ConnectError("refused")})])
    with pytest.raises(ConnectError):
        script.run(fanout_plan(state, RetryPolicy(), [M1.name, M2.name]))
    assert len(script.of(SEND_BATCH)) == 1


def test_an_error_reply_raises_naming_the_node():
    state = FakeState()
    script = Script(state, batch=[answers(**{key(M2): reply(b"-ERR unknown subcommand\r\n")})])
    with pytest.raises(ResponseError, match=r"unknown subcommand \(from 10.0.0.4:7003\)"):
        script.run(fanout_plan(state, RetryPolicy(), "primaries"))
