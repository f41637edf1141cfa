"""The client against the shared real cluster: commands, routing, input checks, timeouts, threads, fork."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
from cluster_helpers import commandstat

from rediscluster_lite import (
    ClusterClient,
    CrossSlotError,
    ReadTimeout,
    ResponseError,
    key_slot,
)


@pytest.fixture
def sync_client(redis_cluster):
    with ClusterClient(redis_cluster.startup_nodes) as c:
        yield c


@pytest.fixture
def client(redis_cluster, make_client):
    """The blocking client, or the asyncio one behind a blocking face (both_clients.py): one body for both."""
    with make_client(redis_cluster.startup_nodes) as c:
        yield c


def unique(prefix: str = "k") -> str:
    return f"{prefix}:{uuid.uuid4().hex}"


def test_startup_nodes_accept_tuples_and_host_port_strings(redis_cluster, make_client):
    host, port = redis_cluster.startup_nodes[0]
    with make_client([f"{host}:{port}"]) as by_string, make_client([(host, port)]) as by_tuple:
        assert len(by_string.slot_map.masters) == len(by_tuple.slot_map.masters) == 3


def test_startup_tries_each_node_until_one_answers(redis_cluster, make_client):
    dead = ("127.0.0.1", 1)  # nothing listens on port 1
    with make_client([dead, *redis_cluster.startup_nodes]) as c:
        assert c.ping() is True


def test_from_url(redis_cluster):
    host, port = redis_cluster.startup_nodes[0]
    with ClusterClient.from_url(f"redis://{host}:{port}") as c:
        key = unique()
        c.set(key, "v")
        assert c.get(key) == b"v"


def test_from_url_reads_options_from_the_query(redis_cluster):
    host, port = redis_cluster.startup_nodes[0]
    url = f"redis://{host}:{port}/0?decode_responses=true&socket_timeout=3&read_from=replica_preferred"
    with ClusterClient.from_url(url) as c:
        key = unique()
        c.set(key, "v")
        assert c.get(key) == "v"
        assert c.read_from.value == "replica_preferred"


@pytest.mark.parametrize(
    "url, message",
    [
        ("redis://127.0.0.1:1/3", "database 0"),
        ("redis://127.0.0.1:1?colour=blue", "unknown URL option 'colour'"),
        ("redis://127.0.0.1:1?decode_responses=maybe", "true or false"),
        ("http://127.0.0.1:1", "scheme"),
    ],
)
def test_from_url_refuses_what_it_cannot_honour_before_any_io(url, message):
    with pytest.raises(ValueError, match=message):
        ClusterClient.from_url(url)


def test_each_key_is_stored_on_the_master_owning_its_slot(client, redis_cluster):
    for i in range(30):
        key = f"route:{i}:{uuid.uuid4().hex}"
        client.set(key, i)
        owner = redis_cluster.master_of_slot(key_slot(key))
        assert redis_cluster.command(owner, "GET", key) == str(i)


def test_typed_commands_round_trip(client):
    k = unique()
    assert client.set(k, "v", ex=100) is True
    assert client.set(k, "w", nx=True) is None
    assert client.get(k) == b"v"
    assert 0 < client.ttl(k) <= 100
    assert client.expire(k, 50) is True
    assert client.exists(k) == 1
    assert client.delete(k) == 1
    assert client.get(k) is None
    n = unique("n")
    assert client.incr(n) == 1 and client.incr(n, 5) == 6 and client.decr(n) == 5
    h = unique("h")
    assert client.hset(h, mapping={"a": 1, "b": "two"}) == 2
    assert client.hgetall(h) == {b"a": b"1", b"b": b"two"}
    assert client.hget(h, "b") == b"two"
    lst = unique("l")
    assert client.rpush(lst, 1, 2, 3) == 3
    assert client.lrange(lst, 0, -1) == [b"1", b"2", b"3"]
    s = unique("s")
    assert client.sadd(s, "x", "y") == 2
    assert client.smembers(s) == {b"x", b"y"}
    z = unique("z")
    assert client.zadd(z, {"a": 1, "b": 2.5}) == 2
    assert client.zrange(z, 0, -1, withscores=True) == [(b"a", 1.0), (b"b", 2.5)]
    assert client.zscore(z, "b") == 2.5


def test_decode_responses_gives_str(redis_cluster, make_client):
    with make_client(redis_cluster.startup_nodes, decode_responses=True) as c:
        k = unique()
        c.set(k, "héllo")
        assert c.get(k) == "héllo"


def test_execute_command_routes_by_keys_from_the_server_command_table(client, redis_cluster):
    tag = uuid.uuid4().hex
    a, b = f"{{{tag}}}:a", f"{{{tag}}}:b"
    assert client.execute_command("MSET", a, 1, b, 2) == b"OK"
    assert client.execute_command("MGET", a, b) == [b"1", b"2"]
    # EVAL: keys after numkeys (movable keys, from the key specs)
    assert client.execute_command("EVAL", "return redis.call('GET', KEYS[1])", 1, a) == b"1"
    # XREAD ... STREAMS key id
    stream = unique("stream")
    client.execute_command("XADD", stream, "*", "f", "v")
    reply = client.execute_command("XREAD", "COUNT", 1, "STREAMS", stream, "0")
    assert reply[0][0] == stream.encode()
    # OBJECT ENCODING key (a subcommand whose key is argv[2])
    assert client.execute_command("OBJECT", "ENCODING", a) in (b"int", b"embstr")
    assert client._topology.commands().from_server


def test_server_error_replies_raise_response_error_with_code(client):
    k = unique()
    client.rpush(k, "x")
    with pytest.raises(ResponseError) as info:
        client.get(k)
    assert info.value.code == "WRONGTYPE"


def test_wrong_type_key_raises_type_error_before_any_io(client, redis_cluster):
    before = sum(commandstat(redis_cluster, n, "get") for n in redis_cluster.masters())
    for bad in (None, True, ["list"], {"d": 1}, object()):
        with pytest.raises(TypeError):
            client.get(bad)
    with pytest.raises(TypeError):
        client.set("k", None)
    after = sum(commandstat(redis_cluster, n, "get") for n in redis_cluster.masters())
    assert after == before


def test_cross_slot_command_raises_naming_the_slots_before_io(client, redis_cluster):
    before = sum(commandstat(redis_cluster, n, "mset") for n in redis_cluster.masters())
    with pytest.raises(CrossSlotError) as info:
        client.execute_command("MSET", "a", 1, "b", 2)
    assert set(info.value.slots) == {key_slot("a"), key_slot("b")}
    assert str(key_slot("a")) in str(info.value)
    after = sum(commandstat(redis_cluster, n, "mset") for n in redis_cluster.masters())
    assert after == before


def test_frozen_node_times_out_in_about_the_timeout_and_never_leaks_a_reply(redis_cluster, make_client):
    timeout = 0.5
    with make_client(redis_cluster.startup_nodes, socket_timeout=timeout) as c:
        k1 = unique("frozen")
        node = c.node_for(k1)
        tag = k1  # keep both keys on one node: same hash tag
        k1, k2 = f"{{{tag}}}:1", f"{{{tag}}}:2"
        c.set(k1, "one")
        c.set(k2, "two")
        # CLIENT PAUSE freezes the node for clients but not for the cluster bus: no failover.
        redis_cluster.command(c.node_for(k1).port, "CLIENT", "PAUSE", 1500, "ALL")
        started = time.monotonic()
        with pytest.raises(ReadTimeout):
            c.get(k1)
        elapsed = time.monotonic() - started
        assert timeout * 0.8 <= elapsed < timeout * 3, elapsed
        time.sleep(1.2)  # the pause ends; the server now answers the abandoned GET on a closed socket
        assert c.get(k2) == b"two"
        assert c.get(k1) == b"one"
        assert node is not None


def test_one_client_shared_by_threads_returns_each_caller_its_own_reply(sync_client):
    # Threads and fork are the blocking client's concerns.
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(300):
                key = f"thread:{worker}:{i}"
                value = f"{worker}-{i}-{uuid.uuid4().hex}"
                sync_client.set(key, value)
                got = sync_client.get(key)
                assert got == value.encode(), (got, value)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_never_reuses_the_parents_sockets(sync_client):
    # Threads and fork are the blocking client's concerns.
    key = unique("fork")
    sync_client.set(key, "parent")
    parent_conns = {id(c) for pool in sync_client._topology.pools() for c in pool._idle}
    parent_fds = {c.stream.fileno() for pool in sync_client._topology.pools() for c in pool._idle}
    assert parent_fds
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 1
        try:
            os.close(read_end)
            inherited = [c for pool in sync_client._topology.pools() for c in pool._idle if id(c) in parent_conns]
            value = sync_client.get(key)
            sync_client.set(key + ":child", "child")
            fresh = {c.stream.fileno() for pool in sync_client._topology.pools() for c in pool._idle}
            ok = not inherited and value == b"parent"
            os.write(write_end, f"{ok} {sorted(fresh)}".encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    message = os.read(read_end, 1000).decode()
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert message.startswith("True"), message
    # The parent's connections still work and carry the parent's own replies.
    for _ in range(20):
        assert sync_client.get(key) == b"parent"
    assert sync_client.get(key + ":child") == b"child"


def test_password_never_appears_in_repr(redis_cluster, make_client):
    secret = "s3cr3t-" + uuid.uuid4().hex
    with make_client(redis_cluster.startup_nodes, password=None) as c:
        assert secret not in repr(c)
    # A cluster without requirepass rejects AUTH: the error must not echo the password.
    with pytest.raises(ResponseError) as info:
        make_client(redis_cluster.startup_nodes, password=secret)
    assert secret not in str(info.value)
    assert secret not in repr(info.value)


def test_exhausted_pool_waits_then_raises_pool_timeout(redis_cluster):
    # Blocking client only: the asyncio client has no pool to exhaust (docs/asyncio.md).
    from rediscluster_lite import PoolTimeout

    with ClusterClient(
        redis_cluster.startup_nodes, max_connections_per_node=1, pool_timeout=0.3, socket_timeout=3
    ) as c:
        key = unique("pool")
        c.set(key, "v")
        port = c.node_for(key).port
        redis_cluster.command(port, "CLIENT", "PAUSE", 1000, "ALL")
        holder = threading.Thread(target=c.get, args=(key,))  # holds the node's only connection
        holder.start()
        time.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(PoolTimeout):
            c.get(key)
        assert 0.25 <= time.monotonic() - started < 1.0
        holder.join()
        assert c.get(key) == b"v"  # the connection came back to the pool


def test_concurrent_refreshes_are_single_flight(sync_client):
    # Threads and fork are the blocking client's concerns.
    topology = sync_client._topology
    before = topology.refreshes
    barrier = threading.Barrier(8)

    def refresh() -> None:
        barrier.wait()
        topology.refresh("test", force=True)

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= topology.refreshes - before < 8


def test_refreshes_are_rate_limited(client):
    topology = client._topology
    topology.refresh("first", force=True)
    before = topology.refreshes
    for _ in range(20):
        topology.refresh("storm")
    assert topology.refreshes == before


@pytest.mark.parametrize(
    "argv", [("MULTI",), ("SUBSCRIBE", "ch"), ("SELECT", 1), ("CLIENT", "REPLY", "OFF"), ("WATCH", "k")]
)
def test_connection_state_commands_are_refused_before_io(client, argv):
    with pytest.raises(ValueError) as info:
        client.execute_command(*argv)
    assert "use " in str(info.value)
    assert client.get(unique()) is None  # pooled connections untouched


def test_closed_client_refuses_commands(redis_cluster, make_client):
    from rediscluster_lite import ClientClosedError

    c = make_client(redis_cluster.startup_nodes)
    c.set(unique(), "v")
    c.close()
    with pytest.raises(ClientClosedError):
        c.get("anything")


def test_undecodable_reply_is_an_error_value_not_a_node_failure(redis_cluster, make_client):
    from rediscluster_lite import ReplyDecodeError

    key = unique()
    with make_client(redis_cluster.startup_nodes) as raw:
        raw.set(key, b"\xff\xfe")
    with make_client(redis_cluster.startup_nodes, decode_responses=True) as c:
        with pytest.raises(ReplyDecodeError):
            c.getdel(key)  # a write: it ran, and must not be reported as "maybe applied"
        assert c.get(key) is None
        assert not c._topology.is_down(c.node_for(key))
