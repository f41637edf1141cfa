"""scan_plan, driven with scripted outcomes: each master's cursor to 0, and the scan across a failover."""

from __future__ import annotations

import pytest
from scripted_plans import M1, M2, R1, R2, FakeState, Script, after_failover, reply

from rediscluster_lite.effects import FORCE_REFRESH, KEYS, REQUEST
from rediscluster_lite.errors import ConnectError, ReadError, ReadTimeout, ResponseError
from rediscluster_lite.resp import pack_command
from rediscluster_lite.router import SLEEP, RetryPolicy
from rediscluster_lite.scan import scan_args, scan_plan, scan_targets


def page(cursor: bytes, *keys: bytes) -> bytes:
    body = b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys)
    return b"*2\r\n$%d\r\n%s\r\n*%d\r\n%s" % (len(cursor), cursor, len(keys), body)


def scan(cursor, *args) -> bytes:
    return pack_command((b"SCAN", cursor, *args))


def test_options_follow_the_cursor_in_order():
    assert scan_args() == []
    assert scan_args(match="k*", count=10, _type="hash") == [b"MATCH", "k*", b"COUNT", 10, b"TYPE", "hash"]


def test_each_master_is_remembered_by_the_first_slot_it_serves_and_replicas_by_none():
    state = FakeState()
    assert scan_targets(state.slot_map, "primaries") == [(M1, 0), (M2, 8192)]
    assert scan_targets(state.slot_map, "replicas") == [(R1, None), (R2, None)]


def test_every_master_is_scanned_until_its_cursor_is_zero():
    state = FakeState()
    script = Script(state, request=[page(b"7", b"a"), page(b"0", b"b"), page(b"0", b"c", b"d")])
    script.run(scan_plan(state, RetryPolicy(), [b"COUNT", 2], "primaries"))
    assert script.keys == [b"a", b"b", b"c", b"d"]
    assert script.of(REQUEST) == [
        (REQUEST, M1, scan(0, b"COUNT", 2)),
        (REQUEST, M1, scan(b"7", b"COUNT", 2)),
        (REQUEST, M2, scan(0, b"COUNT", 2)),
    ]


def test_a_master_lost_mid_scan_is_scanned_again_from_zero_on_its_promoted_replica():
    state = FakeState(refreshed=[after_failover()])
    script = Script(state, request=[page(b"7", b"a"), ReadError("reset"), page(b"0", b"a", b"b"), page(b"0", b"c")])
    script.run(scan_plan(state, RetryPolicy(), [], "primaries"))
    assert script.keys == [b"a", b"a", b"b", b"c"]  # SCAN allows a key twice; none is lost
    assert state.marked == [M1]
    assert script.kinds[2:5] == [REQUEST, SLEEP, FORCE_REFRESH]
    assert [e[1:] for e in script.of(REQUEST)] == [(M1, scan(0)), (M1, scan(b"7")), (R1, scan(0)), (M2, scan(0))]


def test_a_master_that_failed_over_before_its_turn_is_scanned_on_its_successor():
    state = FakeState()
    steps = scan_plan(state, RetryPolicy(), [], "primaries")
    script = Script(state, request=[page(b"0", b"a"), page(b"0", b"c")])
    state.slot_map = after_failover()  # the plan was made from the map as the scan began
    script.run(steps)
    assert [e[1] for e in script.of(REQUEST)] == [R1, M2]


def test_the_same_node_keeps_its_cursor_when_the_refresh_names_no_successor():
    state = FakeState()
    script = Script(state, request=[page(b"7", b"a"), ConnectError("refused"), page(b"0"), page(b"0")])
    script.run(scan_plan(state, RetryPolicy(), [], "primaries"))
    assert [e[1:] for e in script.of(REQUEST)][:3] == [(M1, scan(0)), (M1, scan(b"7")), (M1, scan(b"7"))]


def test_failures_past_max_retries_raise():
    state = FakeState()
    script = Script(state, request=[ReadError("reset")] * 3)
    with pytest.raises(ReadError):
        script.run(scan_plan(state, RetryPolicy(max_retries=2), [], "primaries"))
    assert len(script.of(REQUEST)) == 3


def test_a_read_timeout_is_final():
    state = FakeState()
    script = Script(state, request=[ReadTimeout("frozen")])
    with pytest.raises(ReadTimeout):
        script.run(scan_plan(state, RetryPolicy(), [], "primaries"))
    assert script.kinds == [REQUEST]


def test_a_replica_target_has_no_successor_so_any_failure_raises():
    state = FakeState()
    script = Script(state, request=[ConnectError("refused")])
    with pytest.raises(ConnectError):
        script.run(scan_plan(state, RetryPolicy(), [], "replicas"))
    assert script.kinds == [REQUEST]


def test_an_error_reply_raises():
    state = FakeState()
    script = Script(state, request=[reply(b"-ERR invalid cursor\r\n")])
    with pytest.raises(ResponseError, match="invalid cursor"):
        script.run(scan_plan(state, RetryPolicy(), [], "primaries"))
    assert KEYS not in script.kinds
