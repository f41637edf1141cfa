"""The blocking Connection and NodePool over scripted streams: no socket, no thread, no sleep."""

from __future__ import annotations

import pytest
from mockstream import EOF, MockNetwork, MockStream

from rediscluster_lite._sync.connection import Connection, ConnectionSettings
from rediscluster_lite._sync.pool import NodePool
from rediscluster_lite.errors import (
    ConnectError,
    PoolTimeout,
    ProtocolError,
    ReadError,
    ReadTimeout,
    ReplyDecodeError,
    ResponseError,
    WriteError,
)
from rediscluster_lite.reader import BIG_BULK_BYTES
from rediscluster_lite.resp import pack_command
from rediscluster_lite.slotmap import Node

NODE = Node("10.0.0.1", 7000)
GET = pack_command((b"GET", b"k"))


def connected(*script, **settings) -> tuple[Connection, MockStream]:
    network = MockNetwork()
    network.script(NODE.name, *script)
    conn = Connection(NODE, ConnectionSettings(stream_opener=network, **settings))
    conn.open()
    return conn, network.opened[0][1]


def test_a_request_sends_the_frame_and_returns_the_reply():
    conn, stream = connected(b"$3\r\nbar\r\n")
    assert conn.request(GET) == b"bar"
    assert stream.sent == [GET]


def test_a_reply_arriving_byte_by_byte_is_put_together():
    conn, _ = connected(*[bytes([b]) for b in b"*2\r\n$3\r\nfoo\r\n:12\r\n"])
    assert conn.request(GET) == [b"foo", 12]


def test_pipeline_replies_split_across_reads_come_back_in_order():
    data = b"".join(b":%d\r\n" % i for i in range(500))
    conn, _ = connected(data[:777], data[777:1500], data[1500:])
    assert conn.read_replies(500) == list(range(500))


def test_auth_is_sent_first_and_a_refusal_never_shows_the_password():
    network = MockNetwork()
    network.script(NODE.name, b"-WRONGPASS invalid username-password pair\r\n")
    conn = Connection(NODE, ConnectionSettings(stream_opener=network, password="s3cret!"))
    with pytest.raises(ResponseError) as info:
        conn.open()
    assert "s3cret!" not in str(info.value) and NODE.name in str(info.value)
    sent = network.opened[0][1]
    assert sent.sent == [pack_command((b"AUTH", b"s3cret!"))] and sent.closed
    assert conn.stream is None


def test_a_read_timeout_is_read_timeout_naming_the_node():
    conn, _ = connected()  # nothing scripted: the read times out
    with pytest.raises(ReadTimeout, match=NODE.name):
        conn.request(GET)


def test_the_peer_closing_mid_reply_is_a_read_error():
    conn, _ = connected(b"$10\r\nabc", EOF)
    with pytest.raises(ReadError, match="closed the connection"):
        conn.request(GET)


def test_a_reset_is_a_read_error_and_a_failed_write_a_write_error():
    conn, stream = connected(ConnectionResetError(104, "Connection reset by peer"))
    with pytest.raises(ReadError, match="reset"):
        conn.request(GET)
    stream.closed = True
    with pytest.raises(WriteError):
        conn.send(GET)


def test_garbage_raises_protocol_error_and_pipeline_errors_carry_the_replies_read():
    conn, _ = connected(b":1\r\n:2\r\n!!garbage\r\n")
    with pytest.raises(ProtocolError) as info:
        conn.read_replies(3)
    assert info.value.replies == [1, 2]  # type: ignore[attr-defined]


def test_an_undecodable_reply_is_a_value_and_the_next_reply_still_matches():
    conn, _ = connected(b"$1\r\n\xff\r\n$2\r\nok\r\n", encoding="utf-8")
    assert isinstance(conn.request(GET), ReplyDecodeError)
    assert conn.request(GET) == "ok"


def test_a_trickling_server_is_cut_off_after_one_more_timeout(monkeypatch):
    clock = iter([0.0, 0.1, 0.2, 5.3, 5.4])
    monkeypatch.setattr("rediscluster_lite._sync.connection.time.monotonic", lambda: next(clock))
    conn, _ = connected(b"$10\r\n", b"a", b"b", b"c", b"d", b"e", socket_timeout=5.0)
    with pytest.raises(ReadTimeout, match="did not complete"):
        conn.request(GET)


def test_an_oversized_reply_is_refused_from_its_header():
    conn, stream = connected(b"*4294967295\r\n", max_reply_bytes=65536)
    with pytest.raises(ProtocolError, match="announced a reply over max_reply_bytes"):
        conn.request(GET)
    assert stream.reads == 1  # refused on the header, not after waiting for data


def test_a_big_value_is_read_straight_into_its_bytes():
    value = b"v" * (BIG_BULK_BYTES + 5)
    data = b"$%d\r\n%b\r\n" % (len(value), value)
    conn, _ = connected(*[data[i : i + 65536] for i in range(0, len(data), 65536)])
    assert conn.request(GET) == value
    assert conn.reader.buffer is conn.reader._own


def test_extra_bytes_after_a_reply_make_the_connection_stale():
    conn, _ = connected(b"+OK\r\n+EXTRA\r\n")
    assert conn.request(GET) == b"OK"
    assert conn.is_stale()


def test_readonly_is_sent_once_before_the_command():
    conn, stream = connected(b"+OK\r\n$1\r\nx\r\n")
    assert conn.request_readonly(GET) == b"x"
    assert conn.readonly and stream.sent[0].startswith(b"*1\r\n$8\r\nREADONLY\r\n")


def test_set_read_timeout_reaches_the_stream():
    conn, stream = connected()
    conn.set_read_timeout(None)
    assert stream.read_timeout is None


# --- the pool ----------------------------------------------------------------------------------------------


def pool(network: MockNetwork, **kw) -> NodePool:
    return NodePool(NODE, ConnectionSettings(stream_opener=network), **kw)


def test_the_pool_reuses_a_released_connection_last_in_first_out():
    network = MockNetwork()
    p = pool(network)
    a, b = p.acquire(), p.acquire()
    p.release(a)
    p.release(b)
    assert p.acquire() is b and len(network.opened) == 2


def test_a_stale_idle_connection_is_discarded_not_reused():
    network = MockNetwork()
    p = pool(network)
    a = p.acquire()
    p.release(a)
    network.opened[0][1].idle_input = True  # the server closed it, or sent something unasked
    b = p.acquire()
    assert b is not a and network.opened[0][1].closed and len(network.opened) == 2


def test_an_exhausted_pool_times_out_with_pool_timeout():
    p = pool(MockNetwork(), max_connections=1, wait_timeout=0.01)
    p.acquire()
    with pytest.raises(PoolTimeout, match="raise max_connections_per_node"):
        p.acquire()


def test_a_failed_open_frees_its_slot():
    network = MockNetwork()
    network.refuse.add(NODE.name)
    p = pool(network, max_connections=1)
    with pytest.raises(ConnectError):
        p.acquire()
    network.refuse.clear()
    assert p.acquire().stream is not None  # the slot of the failed attempt was given back


def test_after_fork_the_parents_connections_are_dropped_not_reused():
    network = MockNetwork()
    p = pool(network)
    a = p.acquire()
    p.release(a)
    p.reset_after_fork()
    assert p.acquire() is not a
    p.release(a)  # an old-generation connection coming back is closed, not pooled
    assert a.stream is None
