"""The client options on a real cluster: host=/port=, client_name in CLIENT LIST on every kind of connection
(both clients, pooled, dedicated, pub/sub), the health PING before an idle connection is used, and a retry
policy's attempts against a killed master; redis-py's RedisCluster given the same options for comparison."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.backoff
import redis.cluster
import redis.retry

from rediscluster_lite import ClusterClient
from rediscluster_lite.asyncio import ClusterClient as AsyncClient
from rediscluster_lite.errors import ConnectError
from rediscluster_lite.keyslot import key_slot
from rediscluster_lite.retry import ConstantBackoff, ExponentialWithJitterBackoff, NoBackoff, Retry


def named(cluster, node, name: str) -> list[dict[str, str]]:
    """The connections of ``node`` whose client name is ``name``, as CLIENT LIST describes them."""
    rows = [
        dict(field.split("=", 1) for field in line.split())
        for line in cluster.command(node, "CLIENT", "LIST").splitlines()
    ]
    return [row for row in rows if row.get("name") == name]


def key_per_master(client) -> dict:
    """One key for each master of the client's map."""
    keys: dict = {}
    i = 0
    while len(keys) < len(client.slot_map.masters):
        keys.setdefault(client.node_for(f"opt:{i}"), f"opt:{i}")
        i += 1
    return keys


def pings(cluster, node) -> int:
    stats = cluster.command(node, "INFO", "commandstats")
    for line in stats.splitlines():
        if line.startswith("cmdstat_ping:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


# --- host= and port=, and the same options as redis-py -----------------------------------------------------------


def test_host_and_port_start_a_client_like_redis_pys(redis_cluster):
    host, port = redis_cluster.startup_nodes[0]
    with ClusterClient(host=host, port=port, client_name="opt-same") as ours:
        theirs = redis.cluster.RedisCluster(host=host, port=port, client_name="opt-same")
        try:
            ours.set("opt:hp", "1")
            assert ours.get("opt:hp") == theirs.get("opt:hp") == b"1"
            assert ours.execute_command("CLIENT", "GETNAME") == theirs.execute_command("CLIENT", "GETNAME")
        finally:
            theirs.close()


def test_from_url_takes_the_name_and_the_retry_options(redis_cluster):
    host, port = redis_cluster.startup_nodes[0]
    url = f"redis://{host}:{port}/0?client_name=opt-url&retry_backoff_base=0.01&max_retries=2&health_check_interval=30"
    with ClusterClient.from_url(url) as client:
        assert client.execute_command("CLIENT", "GETNAME") == b"opt-url"
        assert client._policy.max_retries == 2 and client._policy.backoff_fn is not None


# --- client_name ---------------------------------------------------------------------------------------------------


def test_every_pooled_and_pub_sub_connection_of_the_blocking_client_carries_the_name(redis_cluster):
    with ClusterClient(redis_cluster.startup_nodes, client_name="opt-sync", password=None) as client:
        keys = key_per_master(client)
        for key in keys.values():
            client.set(key, "v")
        for master in keys:
            rows = named(redis_cluster, (master.host, master.port), "opt-sync")
            assert rows, f"no connection named opt-sync on {master.name}"
        with client.pubsub() as pubsub:
            pubsub.subscribe("opt-channel")
            assert pubsub.get_message(timeout=2)["type"] == "subscribe"
            subscribers = [
                row for n in redis_cluster.startup_nodes for row in named(redis_cluster, n, "opt-sync")
                if row.get("sub") == "1"
            ]  # fmt: skip
            assert len(subscribers) == 1


async def test_shared_dedicated_and_pub_sub_asyncio_connections_carry_the_name(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes, client_name="opt-async") as client:
        keys = key_per_master(client)
        for key in keys.values():
            await client.set(key, "v")
        master, key = next(iter(keys.items()))
        await client.blpop([f"{{{key}}}:list"], timeout=0.1)  # a dedicated connection
        for node in keys:
            assert named(redis_cluster, (node.host, node.port), "opt-async")
        rows = named(redis_cluster, (master.host, master.port), "opt-async")
        assert len(rows) >= 2 and any(row["cmd"] == "blpop" for row in rows)
        pubsub = client.pubsub()
        await pubsub.subscribe("opt-channel")
        assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
        found = [row for n in redis_cluster.startup_nodes for row in named(redis_cluster, n, "opt-async")]
        assert [row for row in found if row.get("sub") == "1"]
        await pubsub.aclose()


PARITY_OPTIONS = {"client_name": "opt-parity", "health_check_interval": 0.05, "retry": Retry(NoBackoff(), 1)}
PARITY_CALLS = [
    lambda c: c.execute_command("CLIENT", "GETNAME"),
    lambda c: c.delete("opt:parity"),
    lambda c: c.set("opt:parity", "1"),
    lambda c: c.get("opt:parity"),
    lambda c: c.mget(["opt:parity", "opt:other"]),
    lambda c: c.exists("opt:parity"),
]


async def test_the_asyncio_client_with_the_same_options_answers_as_the_blocking_one(redis_cluster):
    with ClusterClient(redis_cluster.startup_nodes, **PARITY_OPTIONS) as client:
        client.set("opt:parity", "0")  # both runs start from the same state (this test runs once per loop)
        expected = []
        for call in PARITY_CALLS:
            expected.append(call(client))
            time.sleep(0.06)  # past the interval: each call after the first meets a health PING
        expected.append(client.pipeline().set("opt:parity", "2").get("opt:parity").execute())
        client.set("opt:parity", "0")
    host, port = redis_cluster.startup_nodes[-1]
    async with AsyncClient(host=host, port=port, **PARITY_OPTIONS) as aio:  # host=/port= on this one
        got = []
        for call in PARITY_CALLS:
            got.append(await call(aio))
            await asyncio.sleep(0.06)
        got.append(await aio.pipeline().set("opt:parity", "2").get("opt:parity").execute())
    assert got == expected and expected[0] == b"opt-parity"
    assert [type(v) for v in got] == [type(v) for v in expected]


# --- health_check_interval -----------------------------------------------------------------------------------------


def test_a_pooled_connection_idle_past_the_interval_is_pinged_once_before_use(redis_cluster):
    with ClusterClient(redis_cluster.startup_nodes, health_check_interval=0.3) as client:
        client.set("opt:health", "v")
        node = client.node_for("opt:health")
        address = (node.host, node.port)
        before = pings(redis_cluster, address)
        client.get("opt:health")
        assert pings(redis_cluster, address) == before  # used just now: no PING
        time.sleep(0.5)
        assert client.get("opt:health") == b"v"
        assert pings(redis_cluster, address) == before + 1


async def test_an_asyncio_connection_quiet_past_the_interval_is_pinged_once_before_use(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes, health_check_interval=0.3) as client:
        await client.set("opt:health", "v")
        node = client.node_for("opt:health")
        address = (node.host, node.port)
        before = pings(redis_cluster, address)
        await client.get("opt:health")
        assert pings(redis_cluster, address) == before
        await asyncio.sleep(0.5)
        assert await client.get("opt:health") == b"v"
        assert pings(redis_cluster, address) == before + 1


# --- retry -----------------------------------------------------------------------------------------------------------


class Recording:
    """A backoff that records the failure counts it is asked about (short waits: all before any failover)."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def compute(self, failures: int) -> float:
        self.asked.append(failures)
        return 0.01


def test_a_retry_policys_attempts_against_a_killed_master(redis_cluster_factory):
    cluster = redis_cluster_factory()
    key = "opt:retry"
    sync_backoff, async_backoff, narrow = Recording(), Recording(), Recording()
    with ClusterClient(cluster.startup_nodes, retry=Retry(sync_backoff, 3)) as client, ClusterClient(
        cluster.startup_nodes, retry=Retry(narrow, 3, supported_errors=(TimeoutError,))
    ) as strict:  # fmt: skip
        client.set(key, "v")
        strict.get(key)
        owner = cluster.master_of_slot(key_slot(key))
        cluster.kill(owner)
        try:
            started = time.monotonic()
            with pytest.raises(ConnectError):
                client.get(key)
            assert sync_backoff.asked == [1, 2, 3]  # three retries, each after its backoff
            with pytest.raises(ConnectError):
                strict.get(key)
            assert narrow.asked == []  # a refused connection is not among its supported errors

            async def asynchronously() -> None:
                async with AsyncClient(cluster.startup_nodes, retry=Retry(async_backoff, 2)) as aio:
                    with pytest.raises(ConnectError):
                        await aio.get(key)

            asyncio.run(asynchronously())
            assert async_backoff.asked == [1, 2]
            assert time.monotonic() - started < 1.0  # all of it before the replica could take over
        finally:
            cluster.restart(owner)


def test_redis_py_backoff_objects_plug_in_and_a_healthy_cluster_needs_no_retry(redis_cluster):
    backoffs = [ExponentialWithJitterBackoff(cap=1, base=0.01), ConstantBackoff(0.01), NoBackoff(),
                redis.backoff.ExponentialWithJitterBackoff(cap=1, base=0.01)]  # fmt: skip
    for backoff in backoffs:
        with ClusterClient(redis_cluster.startup_nodes, retry=Retry(backoff, 2)) as client:
            client.set("opt:b", "1")
            assert client.get("opt:b") == b"1"
    theirs = redis.cluster.RedisCluster(
        *redis_cluster.startup_nodes[0], retry=redis.retry.Retry(redis.backoff.NoBackoff(), 2)
    )
    try:
        assert theirs.get("opt:b") == b"1"
    finally:
        theirs.close()
