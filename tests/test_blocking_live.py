"""Blocking commands on the shared real cluster: the read timeout grows by the command's own timeout.

Clients here use a short ``socket_timeout`` on purpose: a blocking wait longer than it must not be taken
for a dead node.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
from cluster_helpers import other_slot_key, tag

from rediscluster_lite import ClusterClient, CrossSlotError


@pytest.fixture
def client(redis_cluster, make_client):
    with make_client(redis_cluster.startup_nodes, socket_timeout=0.3) as c:
        yield c


@pytest.fixture
def pusher(redis_cluster):
    """``pusher(delay, fn)``: run ``fn(other_client)`` on another thread after ``delay`` seconds (a blocking
    client of its own: it is not the client under test)."""
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []
    other = ClusterClient(redis_cluster.startup_nodes)

    def start(delay: float, fn) -> None:
        def run() -> None:
            try:
                time.sleep(delay)
                fn(other)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)

    yield start
    for thread in threads:
        thread.join(10)
    other.close()
    assert not errors, errors


def timed(fn):
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


# --- timeouts -----------------------------------------------------------------------------------------


def test_blpop_times_out_with_none_after_its_own_timeout_not_a_read_timeout(client):
    key = f"{tag()}:empty"
    result, elapsed = timed(lambda: client.blpop(key, timeout=1))
    assert result is None
    assert 0.9 <= elapsed < 2.0


def test_bzpopmin_with_a_fractional_timeout_returns_none(client):
    result, elapsed = timed(lambda: client.bzpopmin(f"{tag()}:z", timeout=0.5))
    assert result is None
    assert 0.45 <= elapsed < 1.5


def test_xread_block_times_out_with_an_empty_list(client):
    result, elapsed = timed(lambda: client.xread({f"{tag()}:s": "$"}, block=800))
    assert result == []
    assert 0.75 <= elapsed < 1.8


def test_blmove_times_out_with_none(client):
    t = tag()
    result, elapsed = timed(lambda: client.blmove(f"{t}:src", f"{t}:dst", 0.5))
    assert result is None
    assert 0.45 <= elapsed < 1.5


def test_the_read_timeout_is_restored_after_a_blocking_call(redis_cluster):
    # The blocking client's pooled sockets (the asyncio client's blocking commands use dedicated connections).
    client = ClusterClient(redis_cluster.startup_nodes, socket_timeout=0.3)
    key = f"{tag()}:restore"
    assert client.blpop(key, timeout=0.5) is None
    node = client.node_for(key)
    pool = client._topology.pool(node)
    (conn,) = pool._idle  # the connection BLPOP used, back in the pool
    raw = conn.stream.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.calcsize("ll"))
    seconds, micros = struct.unpack("ll", raw)
    assert seconds + micros / 1e6 == pytest.approx(0.3, abs=0.01)


# --- woken by another client --------------------------------------------------------------------------


def test_blpop_is_woken_by_a_push_from_another_thread(client, pusher):
    key = f"{tag()}:q"
    pusher(0.4, lambda other: other.rpush(key, "job"))
    result, elapsed = timed(lambda: client.blpop(key, timeout=5))
    assert result == (key.encode(), b"job")
    assert 0.3 <= elapsed < 2.0


def test_blpop_forever_is_woken_after_longer_than_the_socket_timeout(redis_cluster, pusher, make_client):
    key = f"{tag()}:forever"
    with make_client(redis_cluster.startup_nodes, socket_timeout=0.2) as client:
        pusher(0.5, lambda other: other.rpush(key, "late"))
        result, elapsed = timed(lambda: client.blpop(key, timeout=0))
        assert result == (key.encode(), b"late")
        assert elapsed >= 0.45
        assert client.get(f"{tag()}:after") is None  # the connection is still in step


def test_blpop_takes_the_first_non_empty_list_of_its_keys(client):
    t = tag()
    client.rpush(f"{t}:b", "from-b")
    assert client.blpop([f"{t}:a", f"{t}:b"], timeout=1) == (f"{t}:b".encode(), b"from-b")


def test_brpop_pops_from_the_tail(client, pusher):
    key = f"{tag()}:q"
    client.rpush(key, "first", "last")
    assert client.brpop(key, timeout=1) == (key.encode(), b"last")
    assert client.lrange(key, 0, -1) == [b"first"]
    pusher(0.4, lambda other: other.rpush(key, "x", "y"))
    client.lpop(key)
    assert client.brpop(key, timeout=5) == (key.encode(), b"y")


def test_bzpopmin_returns_key_member_and_float_score(client):
    key = f"{tag()}:z"
    client.zadd(key, {"low": 1.5, "high": 9})
    result = client.bzpopmin(key, timeout=1)
    assert result == (key.encode(), b"low", 1.5)
    assert isinstance(result[2], float)
    assert client.bzpopmax(key, timeout=1) == (key.encode(), b"high", 9.0)


def test_bzpopmin_is_woken_by_a_zadd(client, pusher):
    key = f"{tag()}:z"
    pusher(0.4, lambda other: other.zadd(key, {"m": 2}))
    assert client.bzpopmin(key, timeout=5) == (key.encode(), b"m", 2.0)


def test_blmove_moves_an_element_pushed_later(client, pusher):
    t = tag()
    src, dst = f"{t}:src", f"{t}:dst"
    pusher(0.4, lambda other: other.rpush(src, "item"))
    assert client.blmove(src, dst, 5) == b"item"
    assert client.lrange(dst, 0, -1) == [b"item"]


def test_xread_block_returns_entries_added_by_another_thread(client, pusher):
    stream = f"{tag()}:events"
    pusher(0.4, lambda other: other.xadd(stream, {"kind": "click"}))
    result, elapsed = timed(lambda: client.xread({stream: "$"}, block=5000))
    assert elapsed >= 0.3
    ((name, entries),) = result
    assert name == stream.encode()
    assert len(entries) == 1
    entry_id, fields = entries[0]
    assert fields == {b"kind": b"click"}
    assert client.execute_command("XRANGE", stream, "-", "+") == [[entry_id, [b"kind", b"click"]]]


def test_xread_block_zero_waits_forever(redis_cluster, pusher, make_client):
    stream = f"{tag()}:events"
    with make_client(redis_cluster.startup_nodes, socket_timeout=0.2) as client:
        pusher(0.5, lambda other: other.xadd(stream, {"n": 1}))
        result = client.xread({stream: "$"}, block=0)
        assert result[0][0] == stream.encode()


def test_xread_without_block_returns_at_once(client):
    stream = f"{tag()}:events"
    client.xadd(stream, {"a": 1})
    result, elapsed = timed(lambda: client.xread({stream: "0"}, count=10))
    assert elapsed < 0.3
    assert result[0][1][0][1] == {b"a": b"1"}


# --- one slot -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, a, b: c.blpop([a, b], timeout=1),
        lambda c, a, b: c.brpop([a, b], timeout=1),
        lambda c, a, b: c.bzpopmin([a, b], timeout=1),
        lambda c, a, b: c.bzpopmax([a, b], timeout=1),
        lambda c, a, b: c.blmove(a, b, 1),
        lambda c, a, b: c.xread({a: "$", b: "$"}, block=1000),
        lambda c, a, b: c.xread({a: "0", b: "0"}),
    ],
    ids=["blpop", "brpop", "bzpopmin", "bzpopmax", "blmove", "xread-block", "xread"],
)
def test_keys_of_different_slots_raise_cross_slot_before_waiting(client, call):
    a = f"{tag()}:a"
    b = other_slot_key(a)
    started = time.monotonic()
    with pytest.raises(CrossSlotError):
        call(client, a, b)
    assert time.monotonic() - started < 0.2
