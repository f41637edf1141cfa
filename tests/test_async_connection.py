"""The multiplexed asyncio connection driven by hand: a fake transport records writes, the test hands it
bytes through the BufferedProtocol calls. No socket, no sleep except where time itself is the subject."""

from __future__ import annotations

import asyncio

import pytest

from rediscluster_lite._async.connection import AsyncConnection
from rediscluster_lite.errors import ClientClosedError, ConnectError, ProtocolError, ReadError, ReadTimeout
from rediscluster_lite.resp import pack_command
from rediscluster_lite.settings import ConnectionSettings
from rediscluster_lite.slotmap import Node

NODE = Node("10.0.0.1", 7000)


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.aborted = True


def connected(**settings) -> tuple[AsyncConnection, FakeTransport]:
    conn = AsyncConnection(NODE, ConnectionSettings(**settings))
    conn._loop = asyncio.get_running_loop()
    transport = FakeTransport()
    conn.connection_made(transport)
    return conn, transport


def arrive(conn: AsyncConnection, data: bytes) -> None:
    """Bytes from the server, as the event loop hands them over (in buffer-sized pieces)."""
    view = memoryview(data)
    while view:
        buffer = conn.get_buffer(-1)
        n = min(len(view), len(buffer))
        buffer[:n] = view[:n]
        conn.buffer_updated(n)
        view = view[n:]


async def turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


GET = [pack_command((b"GET", f"k{i}")) for i in range(4)]


async def test_commands_of_one_turn_go_out_in_one_write_and_replies_reach_their_own_callers():
    conn, transport = connected()
    futures = [conn.request(frame) for frame in GET]
    await turn()
    assert transport.writes == [b"".join(GET)]
    arrive(conn, b"$2\r\nv0\r\n$2\r\nv1\r\n$2\r\nv2\r\n$2\r\nv3\r\n")
    assert [f.result() for f in futures] == [b"v0", b"v1", b"v2", b"v3"]


async def test_a_caller_cancelled_before_the_write_sends_nothing():
    conn, transport = connected()
    first, second = conn.request(GET[0]), conn.request(GET[1])
    first.cancel()
    await turn()
    assert transport.writes == [GET[1]]
    arrive(conn, b"$2\r\nv1\r\n")
    assert second.result() == b"v1"


async def test_a_caller_cancelled_after_the_write_keeps_its_place_and_its_reply_is_dropped():
    conn, transport = connected()
    first, second = conn.request(GET[0]), conn.request(GET[1])
    await turn()
    first.cancel()
    arrive(conn, b"$2\r\nv0\r\n")
    assert not second.done()  # v0 was first's, and nobody else's
    arrive(conn, b"$2\r\nv1\r\n")
    assert second.result() == b"v1"


async def test_a_many_reply_entry_collects_its_replies_in_order_even_split_across_reads():
    conn, _ = connected()
    batch = conn.request(b"".join(GET[:3]), 3)
    single = conn.request(GET[3])
    await turn()
    data = b":1\r\n:2\r\n:3\r\n$1\r\nx\r\n"
    for i in range(len(data)):
        arrive(conn, data[i : i + 1])
    assert batch.result() == [1, 2, 3] and single.result() == b"x"


async def test_the_peer_closing_fails_written_commands_with_read_error_and_unwritten_with_connect_error():
    conn, _ = connected()
    written = conn.request(GET[0])
    await turn()
    unwritten = conn.request(GET[1])
    conn.connection_lost(None)
    with pytest.raises(ReadError):
        written.result()
    with pytest.raises(ConnectError, match="not sent"):
        unwritten.result()
    with pytest.raises(ConnectError, match="closed"):
        conn.request(GET[2]).result()


async def test_garbage_fails_every_waiter_with_protocol_error_and_drops_the_connection():
    conn, transport = connected()
    futures = [conn.request(frame) for frame in GET[:2]]
    await turn()
    arrive(conn, b"?nonsense\r\n")
    for future in futures:
        with pytest.raises(ProtocolError):
            future.result()
    assert transport.aborted and conn.closed is not None


async def test_a_reply_nobody_asked_for_is_a_protocol_error():
    conn, transport = connected()
    arrive(conn, b"+surprise\r\n")
    assert transport.aborted and isinstance(conn.closed, ProtocolError)


async def test_a_batch_broken_part_way_keeps_the_replies_read_before_the_failure():
    conn, _ = connected()
    batch = conn.request(b"".join(GET[:3]), 3)
    await turn()
    arrive(conn, b":1\r\n")
    conn.connection_lost(ConnectionResetError())
    with pytest.raises(ReadError) as info:
        batch.result()
    assert info.value.replies == [1]  # type: ignore[attr-defined]


async def test_close_fails_waiters_with_client_closed_error():
    conn, transport = connected()
    future = conn.request(GET[0])
    await turn()
    conn.close()
    with pytest.raises(ClientClosedError):
        future.result()
    assert transport.aborted


async def test_a_silent_node_costs_about_one_timeout_then_the_connection_is_dropped():
    conn, transport = connected(socket_timeout=0.05)
    future = conn.request(GET[0])
    started = asyncio.get_running_loop().time()
    with pytest.raises(ReadTimeout, match="no reply"):
        await future
    elapsed = asyncio.get_running_loop().time() - started
    assert 0.04 <= elapsed < 1.0 and transport.aborted
    arrive_late = conn.request(GET[1])  # a late reply can reach nobody: the connection is gone
    with pytest.raises(ConnectError):
        arrive_late.result()


async def test_a_reply_trickling_forever_is_cut_off_after_two_timeouts():
    conn, _ = connected(socket_timeout=0.05)
    future = conn.request(GET[0])
    await turn()
    arrive(conn, b"$1000\r\n")
    started = asyncio.get_running_loop().time()
    while not future.done():
        arrive(conn, b"x")  # always some progress, never the end
        await asyncio.sleep(0.01)
    with pytest.raises(ReadTimeout, match="did not complete"):
        future.result()
    assert asyncio.get_running_loop().time() - started < 1.0
