"""The real client against scripted fake nodes: redirects end to end, and servers that misbehave (cut
replies, garbage, huge lengths, silence, trickling, bad encodings, refused AUTH). Every failure must be a
library error, arrive in bounded time and memory, and never leave a connection whose next reply belongs
to someone else."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import traceback
from pathlib import Path

import pytest
from fakenode import (
    OK,
    Close,
    Cut,
    Delayed,
    FakeNode,
    Flood,
    Silent,
    Trickle,
    ask,
    bulk,
    error,
    moved,
    slots_reply,
)

from rediscluster_lite import ClusterClient, key_slot
from rediscluster_lite.errors import (
    ClusterDownError,
    ConnectionError,
    CrossSlotError,
    MaybeAppliedError,
    ProtocolError,
    ReadError,
    ReadTimeout,
    RedisClusterError,
    ReplyDecodeError,
    ResponseError,
    TooManyRedirects,
)
from rediscluster_lite.slotmap import Node

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

TIMEOUT = 0.3  # socket_timeout for these tests
BOUND = 1.5  # "bounded time": a few timeouts at most, never a hang

KEY = "user:{42}"
SLOT = key_slot(KEY)
assert 0 < SLOT < 16383


@pytest.fixture
def nodes():
    """``nodes(n)`` -> n fresh fake nodes, closed after the test."""
    made: list[FakeNode] = []

    def make(count: int = 1) -> list[FakeNode]:
        new = [FakeNode(name=chr(ord("A") + len(made) + i)) for i in range(count)]
        made.extend(new)
        return new

    yield make
    for node in made:
        node.close()


@pytest.fixture
def clients():
    made: list[ClusterClient] = []

    def make(*fakes: FakeNode, **kwargs) -> ClusterClient:
        options = dict(socket_timeout=TIMEOUT, connect_timeout=TIMEOUT, refresh_interval=None)
        options.update(kwargs)
        client = ClusterClient([f.address for f in fakes], **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def one_node_cluster(nodes, clients, **kwargs) -> tuple[FakeNode, ClusterClient]:
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    client = clients(a, **kwargs)
    a.clear()
    return a, client


def as_node(fake: FakeNode) -> Node:
    return Node(fake.host, fake.port)


def conn_ids(fake: FakeNode, name: str) -> list[int]:
    want = name.upper().encode()
    return [cid for cid, argv in fake.received if argv[0].upper() == want]


# Sleeping a while proves nothing was sent only if the sleep was long enough. These helpers wait for a reply
# instead, one that can only come once everything sent earlier has been read (the fake records a command
# as soon as it reads it).

MARK = b"marker-4c1d9e"
MARKERS = ([b"ECHO", MARK], [b"PING", MARK])


def ping_on_a_fresh_socket(fake: FakeNode) -> None:
    """PING ``fake`` on a new connection and wait for the answer: the listener's accept queue is FIFO,
    so every connection opened before this one has been accepted (and counted) by then."""
    with socket.create_connection((fake.host, fake.port), timeout=5) as sock:
        sock.sendall(b"*2\r\n$4\r\nPING\r\n$%d\r\n%s\r\n" % (len(MARK), MARK))
        answer = b""
        while not answer.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            assert chunk, "the fake node closed the marker connection"
            answer += chunk


def settled(fake: FakeNode, client: ClusterClient) -> tuple[list[list[bytes]], int]:
    """``(commands, connections)`` that reached ``fake`` so far, markers left out, nothing still on its way.

    An ECHO through ``client`` goes out on its idle connection (LIFO pool), behind anything the client
    wrote there (TCP keeps order); a PING on a fresh socket is accepted after any connection the client
    opened. If the client had broken or leaked its idle connection, the ECHO opens a new one: counted.
    """
    fake.on("ECHO", lambda argv, node: bulk(argv[-1]))
    assert client.echo(MARK) == MARK
    ping_on_a_fresh_socket(fake)
    return [argv for argv in fake.commands() if argv not in MARKERS], fake.connections - 1


def drained(fake: FakeNode, client: ClusterClient) -> FakeNode:
    """Close ``client`` and wait until ``fake`` has read every connection to its end (EOF): then all the
    client ever sent it is recorded, and counts like ``len(fake.commands("GET")) == 1`` are final."""
    client.close()
    ping_on_a_fresh_socket(fake)
    assert fake.wait_for(lambda: len(fake.ended) == fake.connections), "a connection to the fake stayed open"
    return fake


# --- redirects, end to end ------------------------------------------------------------------------------


def test_moved_then_success_end_to_end(nodes, clients):
    a, b = nodes(2)
    truth = {"slots": [(0, 16383, a)]}
    for fake in (a, b):
        fake.on("CLUSTER SLOTS", lambda argv, node: slots_reply(truth["slots"]))
    client = clients(a)
    assert client.node_for(KEY) == as_node(a)

    # the slot moves to b; a answers MOVED, as a real node does
    truth["slots"] = [(0, SLOT - 1, a), (SLOT, SLOT, b), (SLOT + 1, 16383, a)]
    a.on("GET", moved(SLOT, b))
    b.on("GET", bulk("from-b"))
    assert client.get(KEY) == b"from-b"
    assert b.commands("GET") == [[b"GET", KEY.encode()]]
    assert client.node_for(KEY) == as_node(b)

    assert client.get(KEY) == b"from-b"
    assert len(a.commands("GET")) == 1  # the second GET went straight to b
    assert len(b.commands("GET")) == 2


def test_ask_sends_asking_then_the_command_on_the_same_connection(nodes, clients):
    a, b = nodes(2)
    a.serve_slots([(0, 16383, a)])
    b.serve_slots([(0, 16383, a)])
    client = clients(a)
    a.on("GET", [ask(SLOT, b), bulk("from-a")])
    b.on("ASKING", OK)
    b.on("GET", bulk("from-b"))

    assert client.get(KEY) == b"from-b"
    assert [argv for _, argv in b.received] == [[b"ASKING"], [b"GET", KEY.encode()]]
    (asking_conn,), (get_conn,) = conn_ids(b, "ASKING"), conn_ids(b, "GET")
    assert asking_conn == get_conn
    # the map is untouched: the next GET for the key goes to a again, without ASKING
    assert client.node_for(KEY) == as_node(a)
    assert client.get(KEY) == b"from-a"
    assert len(a.commands("GET")) == 2
    assert len(b.commands("ASKING")) == 1


def test_ask_target_refusing_asking_raises_its_error(nodes, clients):
    a, b = nodes(2)
    a.serve_slots([(0, 16383, a)])
    client = clients(a)
    a.on("GET", ask(SLOT, b))
    b.on("ASKING", error("ERR ASKING refused"))
    b.on("GET", bulk("from-b"))
    with pytest.raises(ResponseError) as info:
        client.get(KEY)
    assert info.value.code == "ERR"


def test_write_to_a_dead_master_refreshes_and_goes_to_the_promoted_node(nodes, clients):
    a, b = nodes(2)
    truth = {"slots": [(0, 16383, a, [b])]}
    for fake in (a, b):
        fake.on("CLUSTER SLOTS", lambda argv, node: slots_reply(truth["slots"]))
    client = clients(a, b)
    truth["slots"] = [(0, 16383, b)]  # a dies, b is promoted
    a.close()
    b.on("SET", OK)
    start = time.monotonic()
    assert client.set(KEY, "v") is True
    assert time.monotonic() - start < BOUND
    assert b.commands("SET") == [[b"SET", KEY.encode(), b"v"]]
    assert client.node_for(KEY) == as_node(b)


def test_replica_read_sends_readonly_once_per_connection_and_writes_go_to_the_master(nodes, clients):
    a, r = nodes(2)
    for fake in (a, r):
        fake.serve_slots([(0, 16383, a, [r])])
    client = clients(a, read_from="replica_preferred")
    r.on("READONLY", OK)
    r.on("GET", bulk("from-replica"))
    a.on("SET", OK)
    a.clear()
    assert client.get(KEY) == b"from-replica"
    assert client.get(KEY) == b"from-replica"
    assert [argv[0] for _, argv in r.received if argv[0] != b"CLUSTER"] == [b"READONLY", b"GET", b"GET"]
    readonly_conn = conn_ids(r, "READONLY")[0]
    assert conn_ids(r, "GET") == [readonly_conn, readonly_conn]
    assert client.set(KEY, "v") is True
    assert a.commands("SET") and not r.commands("SET")
    assert a.commands("GET") == []


def test_silent_replica_costs_one_timeout_then_the_read_goes_to_the_master(nodes, clients):
    a, r = nodes(2)
    for fake in (a, r):
        fake.serve_slots([(0, 16383, a, [r])])
    client = clients(a, read_from="replica_preferred")
    r.on("READONLY", OK)
    r.on("GET", Silent())
    a.on("GET", bulk("from-master"))
    start = time.monotonic()
    assert client.get(KEY) == b"from-master"
    assert TIMEOUT * 0.8 < time.monotonic() - start < TIMEOUT * 3
    assert len(drained(r, client).commands("GET")) == 1


def test_moved_with_decode_responses(nodes, clients):
    a, b = nodes(2)
    a.serve_slots([(0, 16383, a)])
    b.serve_slots([(0, 16383, a)])
    client = clients(a, decode_responses=True)
    a.on("GET", moved(SLOT, b))
    b.on("GET", bulk("from-b"))
    assert client.get(KEY) == "from-b"


def test_tryagain_then_success_end_to_end(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("MSET", [error("TRYAGAIN Multiple keys request during rehashing of slot"), OK])
    assert client.execute_command("MSET", "{t}a", "1", "{t}b", "2") == b"OK"
    assert len(a.commands("MSET")) == 2


def test_clusterdown_forever_raises_cluster_down_in_bounded_time(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", (DATA / "clusterdown.resp").read_bytes())
    start = time.monotonic()
    with pytest.raises(ClusterDownError):
        client.get(KEY)
    assert time.monotonic() - start < BOUND * 2
    assert 2 <= len(a.commands("GET")) <= 10


def test_redirect_loop_between_nodes_raises_too_many_redirects(nodes, clients):
    a, b = nodes(2)
    for fake in (a, b):
        fake.serve_slots([(0, 16383, a)])
    client = clients(a, max_redirects=3)
    a.on("GET", moved(SLOT, b))
    b.on("GET", moved(SLOT, a))
    start = time.monotonic()
    with pytest.raises(TooManyRedirects) as info:
        client.get(KEY)
    assert time.monotonic() - start < BOUND
    assert len(info.value.history) == 4
    assert {h[0] for h in info.value.history} == {"MOVED"}
    assert len(a.commands("GET")) + len(b.commands("GET")) == 4


def test_error_reply_is_raised_and_the_connection_stays_in_use(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", [error("WRONGTYPE Operation against a key holding the wrong kind of value"), bulk("v")])
    with pytest.raises(ResponseError) as info:
        client.get(KEY)
    assert info.value.code == "WRONGTYPE"
    assert client.get(KEY) == b"v"
    first, second = conn_ids(a, "GET")
    assert first == second  # an error reply is a whole reply: the connection is healthy
    assert len(a.commands("GET")) == 2


def test_startup_tries_each_node_until_one_answers(nodes, clients):
    dead, garbage, good = nodes(3)
    dead.close()
    garbage.on("CLUSTER SLOTS", b"@@@\r\n")
    good.serve_slots([(0, 16383, good)])
    good.on("GET", bulk("v"))
    start = time.monotonic()
    client = clients(dead, garbage, good)
    assert time.monotonic() - start < BOUND
    assert client.get(KEY) == b"v"


def test_startup_with_no_reachable_node_fails_promptly_naming_them(nodes):
    dead, refusing = nodes(2)
    dead.close()
    refusing.on("CLUSTER SLOTS", error("ERR This instance has cluster support disabled"))
    start = time.monotonic()
    with pytest.raises(ConnectionError) as info:
        ClusterClient(
            [dead.address, (refusing.host, refusing.port)],
            socket_timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            refresh_interval=None,
        )
    assert time.monotonic() - start < BOUND
    assert dead.address in str(info.value) and refusing.address in str(info.value)
    assert "cluster support disabled" in str(info.value)


# --- replies cut mid-way, frozen nodes ---------------------------------------------------------------------


def test_reply_cut_midway_for_a_write_raises_maybe_applied_in_bounded_time(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("SET", [Cut(b"+O")])
    a.on("GET", bulk("mine"))
    start = time.monotonic()
    with pytest.raises(MaybeAppliedError) as info:
        client.set(KEY, "v")
    assert time.monotonic() - start < BOUND
    assert isinstance(info.value, ReadError) and isinstance(info.value, ConnectionError)
    assert len(a.commands("SET")) == 1  # never resent
    # the next command gets its own reply, on another connection
    assert client.get(KEY) == b"mine"
    assert conn_ids(a, "GET")[0] != conn_ids(a, "SET")[0]


def test_reply_cut_midway_for_a_read_is_resent_on_a_new_connection(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", [Cut(b"$5\r\nhel"), bulk("hello")])
    assert client.get(KEY) == b"hello"
    first, second = conn_ids(a, "GET")
    assert first != second


def test_connection_closed_without_reply_for_a_read_is_resent(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", [Close(), bulk("hello")])
    assert client.get(KEY) == b"hello"


@pytest.mark.parametrize(
    ("first", "rest"),
    [
        (b"", bulk("stale")),  # frozen, then the whole reply
        (b"$5\r\nst", b"ale\r\n"),  # half a reply, frozen, then the rest
    ],
    ids=["frozen-then-whole-reply", "half-reply-frozen-then-rest"],
)
def test_timed_out_connection_is_never_reused(nodes, clients, first, rest):
    a, client = one_node_cluster(nodes, clients)
    late = Delayed(first, 0.45, rest)
    a.on("GET", [late, bulk("fresh")])
    start = time.monotonic()
    with pytest.raises(ReadTimeout):
        client.get(KEY)
    assert TIMEOUT * 0.8 < time.monotonic() - start < BOUND
    assert late.done.wait(5)  # the late bytes have now been sent on the old connection
    assert client.get(KEY) == b"fresh"
    first, second = conn_ids(a, "GET")
    assert first != second


def test_silent_server_raises_read_timeout_in_about_socket_timeout(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", Silent())
    start = time.monotonic()
    with pytest.raises(ReadTimeout) as info:
        client.get(KEY)
    elapsed = time.monotonic() - start
    assert TIMEOUT * 0.8 < elapsed < TIMEOUT * 3
    assert info.value.node == a.address
    assert len(drained(a, client).commands("GET")) == 1  # a frozen node costs one timeout, not several


def test_silent_server_for_a_write_raises_maybe_applied_in_about_socket_timeout(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("SET", Silent())
    start = time.monotonic()
    with pytest.raises(MaybeAppliedError) as info:
        client.set(KEY, "v")
    assert TIMEOUT * 0.8 < time.monotonic() - start < TIMEOUT * 3
    assert isinstance(info.value.__cause__, ReadTimeout)
    assert len(drained(a, client).commands("SET")) == 1


def test_trickling_server_is_cut_off_in_bounded_time(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    # one byte every 50 ms: each recv succeeds well within socket_timeout, the reply never completes in time
    a.on("GET", Trickle(bulk("x" * 2000), interval=0.05))
    start = time.monotonic()
    with pytest.raises(RedisClusterError) as info:
        client.get(KEY)
    assert time.monotonic() - start < TIMEOUT * 4
    assert isinstance(info.value, (ReadTimeout, ProtocolError, ConnectionError))


# --- garbage and over-limit replies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [b"@@@ not resp\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n", b":12abc\r\n", b"$-7\r\n", b"*-3\r\n"],
    ids=["bad-type-byte", "http", "bad-integer", "negative-bulk", "negative-array"],
)
def test_garbage_reply_raises_library_protocol_error(nodes, clients, garbage):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", [garbage, bulk("after")])
    start = time.monotonic()
    with pytest.raises(ProtocolError) as info:
        client.get(KEY)
    assert time.monotonic() - start < BOUND
    assert type(info.value).__module__ == "rediscluster_lite.errors"
    assert a.address in str(info.value)
    assert client.get(KEY) == b"after"  # a fresh connection, its own reply


def test_garbage_reply_to_a_write_is_a_library_error_that_may_have_applied(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("SET", b"@@@\r\n")
    with pytest.raises(MaybeAppliedError) as info:
        client.set(KEY, "v")
    assert isinstance(info.value.__cause__, ProtocolError)


def test_huge_array_length_is_a_library_error_not_memory_error(nodes, clients):
    a, client = one_node_cluster(nodes, clients, max_reply_bytes=65536)
    a.on("GET", [b"*4294967295\r\n", bulk("after")])
    try:
        client.get(KEY)
    except RedisClusterError:
        pass
    except MemoryError as exc:
        pytest.fail(f"a 14-byte reply header escaped as a raw MemoryError: {exc!r}")
    else:
        pytest.fail("a 4294967295-element array header was accepted")
    assert client.get(KEY) == b"after"


def test_huge_bulk_length_with_small_max_reply_bytes_raises_protocol_error(nodes, clients):
    a, client = one_node_cluster(nodes, clients, max_reply_bytes=65536)
    flood = Flood(b"$500000000\r\n", total=64 * 1024 * 1024)
    a.on("GET", [flood, bulk("after")])
    start = time.monotonic()
    with pytest.raises(ProtocolError) as info:
        client.get(KEY)
    assert time.monotonic() - start < BOUND
    assert "65536" in str(info.value)
    assert client.get(KEY) == b"after"


def test_declared_bulk_length_over_max_reply_bytes_fails_without_waiting_for_the_data(nodes, clients):
    # The header alone says the reply is over the limit; the client need not wait a timeout to know.
    a, client = one_node_cluster(nodes, clients, max_reply_bytes=65536, socket_timeout=1.0)
    a.on("GET", Delayed(b"$10000000\r\nxxxx", 5.0, b""))
    start = time.monotonic()
    with pytest.raises(RedisClusterError) as info:
        client.get(KEY)
    elapsed = time.monotonic() - start
    assert isinstance(info.value, ProtocolError), f"got {type(info.value).__name__} after {elapsed:.2f}s"
    assert elapsed < 0.5


def test_huge_array_header_split_across_two_reads_is_still_refused(nodes, clients):
    # The digit run arrives in two recv()s: neither chunk alone holds a dangerous header.
    a, client = one_node_cluster(nodes, clients, max_reply_bytes=65536, socket_timeout=1.0)
    a.on("GET", [Delayed(b"*429", 0.2, b"4967295\r\n"), bulk("after")])
    with pytest.raises(RedisClusterError) as info:
        client.get(KEY)
    assert isinstance(info.value, ProtocolError) or isinstance(info.value.__cause__, ProtocolError)
    assert client.get(KEY) == b"after"


def test_long_digit_runs_inside_values_are_not_mistaken_for_headers(nodes, clients):
    # A value full of digits passes the cheap digit-run filter; the precise check must still accept it.
    a, client = one_node_cluster(nodes, clients, max_reply_bytes=65536)
    a.on("GET", bulk("1234567890" * 50))
    assert client.get(KEY) == b"1234567890" * 50


def test_header_lookalikes_inside_values_are_not_mistaken_for_headers(nodes, clients):
    # A type byte and a long digit run pass the cheap filter; without a header's CRLF the regex rejects them.
    a, client = one_node_cluster(nodes, clients, max_reply_bytes=65536)
    value = b"price=12345678901234 *99999999999 $1000000000000 " * 10
    a.on("GET", bulk(value))
    assert client.get(KEY) == value


CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from rediscluster_lite import ClusterClient
    client = ClusterClient([sys.argv[1]], socket_timeout=0.5, connect_timeout=0.5, refresh_interval=None,
                           max_reply_bytes=65536)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    try:
        client.get("k")
        error = None
    except BaseException as exc:
        error = type(exc).__name__
    print(json.dumps({"error": error, "elapsed": time.monotonic() - start,
                      "grew_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}))
    """
)


def run_child_client(fake: FakeNode) -> dict:
    """Run one GET in a fresh interpreter (so its peak memory is its own) and report what happened."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, fake.address], capture_output=True, text=True, timeout=30, env=env
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_huge_bulk_flood_is_refused_in_bounded_memory(nodes):
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    flood = Flood(b"$500000000\r\n", total=400 * 1024 * 1024)
    a.on("GET", flood)
    result = run_child_client(a)
    assert result["error"] == "ProtocolError"
    assert result["grew_kb"] < 32 * 1024, result  # well under the 400 MB on offer
    assert flood.sent < 200 * 1024 * 1024


def test_huge_aggregate_header_is_refused_in_bounded_memory(nodes):
    # A 14-byte header must not make the client allocate for 20 million elements (160 MB) up front.
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    a.on("GET", Delayed(b">20000000\r\n", 2.0, b""))
    result = run_child_client(a)
    assert result["grew_kb"] < 32 * 1024, result
    assert result["error"] is not None


# --- encodings ----------------------------------------------------------------------------------------------


def test_non_utf8_reply_with_decode_responses_is_a_library_error(nodes, clients):
    a, client = one_node_cluster(nodes, clients, decode_responses=True)
    a.on("GET", [b"$2\r\n\xff\xfe\r\n", bulk("ok")])
    with pytest.raises(RedisClusterError) as info:
        client.get(KEY)
    assert not isinstance(info.value, UnicodeDecodeError)
    assert isinstance(info.value, ProtocolError)
    assert client.get(KEY) == "ok"  # str, on a fresh connection


def test_non_utf8_error_reply_with_decode_responses_is_a_library_error(nodes, clients):
    a, client = one_node_cluster(nodes, clients, decode_responses=True)
    a.on("GET", [b"-ERR bad \xff\xfe\r\n", bulk("ok")])
    with pytest.raises(RedisClusterError) as info:
        client.get(KEY)
    assert not isinstance(info.value, UnicodeDecodeError)
    assert client.get(KEY) == "ok"


def test_binary_reply_without_decode_responses_is_bytes(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", b"$2\r\n\xff\xfe\r\n")
    assert client.get(KEY) == b"\xff\xfe"


# --- checks before any I/O -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get(object()),
        lambda c: c.get(None),
        lambda c: c.set(KEY, object()),
        lambda c: c.set(["list", "key"], "v"),
        lambda c: c.delete(KEY, {"a": 1}),
        lambda c: c.hset(KEY, "f", object()),
    ],
    ids=["get-object", "get-None", "set-object-value", "set-list-key", "delete-dict-key", "hset-object-value"],
)
def test_wrong_type_argument_raises_type_error_before_any_bytes_are_sent(nodes, clients, call):
    a, client = one_node_cluster(nodes, clients)
    connections = a.connections
    with pytest.raises(TypeError):
        call(client)
    assert settled(a, client) == ([], connections)


def test_wrong_type_key_in_execute_command_is_rejected_before_the_command_is_sent(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", bulk("v"))
    client.execute_command("GET", KEY)  # warm the command table
    a.clear()
    with pytest.raises(TypeError):
        client.execute_command("GET", object())
    with pytest.raises(TypeError):
        client.execute_command("SET", KEY, object())
    assert settled(a, client)[0] == []


@pytest.mark.parametrize("table", ["server", "fallback"])
def test_cross_slot_mset_raises_cross_slot_error_naming_the_slots_before_sending(nodes, clients, table):
    a, client = one_node_cluster(nodes, clients)
    if table == "server":
        a.on("COMMAND", (DATA / "command_redis7.resp").read_bytes())
    else:
        a.on("COMMAND", error("NOPERM this user has no permissions to run the 'command' command"))
    a.on("MSET", OK)
    with pytest.raises(CrossSlotError) as info:
        client.execute_command("MSET", "a", "1", "b", "2")
    slots = (key_slot("a"), key_slot("b"))
    assert info.value.slots == slots
    assert all(str(s) in str(info.value) for s in slots)
    assert [argv for argv in settled(a, client)[0] if argv[0] == b"MSET"] == []
    assert client.execute_command("MSET", "{t}a", "1", "{t}b", "2") == b"OK"
    assert a.commands("MSET") == [[b"MSET", b"{t}a", b"1", b"{t}b", b"2"]]


def test_cross_slot_atomic_typed_command_raises_before_any_io(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    with pytest.raises(CrossSlotError) as info:
        client.rename("a", "b")
    assert info.value.slots == (key_slot("a"), key_slot("b"))
    assert settled(a, client)[0] == []


# --- secrets -------------------------------------------------------------------------------------------------

SECRET = "hunter2-Zq8x-secret"


def full_text(exc: BaseException) -> str:
    """Everything an error can show: message, repr, and the formatted chain of causes."""
    return str(exc) + repr(exc) + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


WRONGPASS = error("WRONGPASS invalid username-password pair or user is disabled.")


@pytest.mark.parametrize("username", [None, "app"])
def test_refused_auth_at_startup_never_shows_the_password(nodes, username):
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    a.on("AUTH", WRONGPASS)
    with pytest.raises(RedisClusterError) as info:
        ClusterClient(
            [a.address],
            username=username,
            password=SECRET,
            socket_timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            refresh_interval=None,
        )
    sent = a.commands("AUTH")
    assert sent and sent[0][-1] == SECRET.encode()  # the password did go to the server...
    assert SECRET not in full_text(info.value)  # ...and nowhere else
    assert "WRONGPASS" in str(info.value)


def test_client_repr_never_shows_the_password(nodes, clients):
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    a.on("AUTH", OK)
    a.on("GET", bulk("v"))
    client = clients(a, password=SECRET, username="app")
    assert client.get(KEY) == b"v"
    assert SECRET not in repr(client)
    assert SECRET not in str(client)
    url_client = ClusterClient.from_url(
        f"redis://app:{SECRET}@{a.address}", socket_timeout=TIMEOUT, refresh_interval=None
    )
    try:
        assert SECRET not in repr(url_client)
    finally:
        url_client.close()


def test_auth_refused_by_a_redirect_target_never_shows_the_password(nodes, clients):
    a, b = nodes(2)
    a.serve_slots([(0, 16383, a)])
    a.on("AUTH", OK)
    a.on("GET", moved(SLOT, b))
    b.on("AUTH", WRONGPASS)
    b.on("GET", bulk("never"))
    client = clients(a, password=SECRET)
    with pytest.raises(RedisClusterError) as info:
        client.get(KEY)
    assert b.commands("AUTH"), "the redirect target was never asked to authenticate"
    assert drained(b, client).commands("GET") == []
    assert SECRET not in full_text(info.value)


# --- the fake node itself ------------------------------------------------------------------------------------


def test_fake_node_records_commands_and_closes_cleanly():
    fake = FakeNode()
    fake.on("GET", [bulk("one"), Silent()])
    with socket.create_connection((fake.host, fake.port), timeout=1) as sock:
        sock.sendall(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n")
        data = b""
        while not (b"-ERR" in data and data.endswith(b"\r\n")):  # the whole error line
            chunk = sock.recv(100)
            assert chunk, data
            data += chunk
        # the first GET answered, the second one silent, PING unscripted
        assert data.startswith(b"$3\r\none\r\n-ERR unknown command 'PING'")
        assert fake.names() == ["GET", "GET", "PING"]
        fake.close()
        assert sock.recv(100) == b""  # closed by the fake
    with pytest.raises(OSError):
        socket.create_connection((fake.host, fake.port), timeout=0.5).close()
    # close() joined them; counting every thread in the process would depend on other tests' threads
    assert fake.alive_threads() == []


def test_a_second_answer_to_one_command_is_never_taken_for_the_next_answer(nodes, clients):
    # Both replies arrive in one write, so the client reads past the first: the connection is out of step
    # and must not be reused (before, the next GET returned b"unsolicited").
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", [bulk("first") + bulk("unsolicited"), bulk("second")])
    assert client.get(KEY) == b"first"
    assert client.get(KEY) == b"second"


def test_a_pipeline_node_answering_more_than_asked_keeps_the_answers_and_drops_the_connection(nodes, clients):
    a, client = one_node_cluster(nodes, clients)
    a.on("GET", [bulk("first"), bulk("second") + bulk("unsolicited"), bulk("third")])
    assert client.pipeline().get(KEY).get(KEY).execute() == [b"first", b"second"]
    assert client.get(KEY) == b"third"
    assert len(set(conn_ids(a, "GET"))) == 2  # the out-of-step connection was replaced


def test_integer_zero_replies_in_a_pipeline_are_replies_not_the_end_of_the_buffer(nodes, clients):
    # hiredis's "no whole reply yet" is False by default, and 0 == False: the drain must not stop at 0.
    a, client = one_node_cluster(nodes, clients)
    a.on("EXISTS", b":0\r\n")
    pipe = client.pipeline()
    for _ in range(5):
        pipe.exists(KEY)
    assert pipe.execute() == [0, 0, 0, 0, 0]


def test_an_undecodable_reply_inside_a_pipeline_stands_in_its_place_and_the_rest_are_read(nodes, clients):
    a, client = one_node_cluster(nodes, clients, decode_responses=True)
    a.on("GET", [bulk("a"), bulk(b"\xff\xfe"), bulk("c"), bulk("d")])
    results = client.pipeline().get(KEY).get(KEY).get(KEY).execute(raise_on_error=False)
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], ReplyDecodeError)
    assert client.get(KEY) == "d"  # the stream stayed in step
