"""The classic walk-through with the asyncio client, against real redis-server processes: SIGKILL the master of
``key_01``, its replica is promoted and the same client keeps reading; kill the promoted node too and the client
fails promptly; restart both and the client recovers with the new roles kept."""

from __future__ import annotations

import asyncio
import time

import pytest

from rediscluster_lite import ClusterDownError, ConnectionError, ReadFrom, key_slot
from rediscluster_lite.asyncio import ClusterClient

KEYS = {"key_01": b"value-01", "key_02": b"value-02", "key_03": b"value-03"}


async def in_thread(fn, *args):
    # The launcher's waits block: run them off the event loop so the client's connections keep going.
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def test_async_walkthrough_failover_cluster_down_and_recovery(redis_cluster_factory):
    cluster = redis_cluster_factory(appendonly=True)
    async with ClusterClient(cluster.startup_nodes, read_from=ReadFrom.REPLICA_PREFERRED) as client:
        for key, value in KEYS.items():
            assert await client.set(key, value) is True
        owners = {key: cluster.master_of_slot(key_slot(key)) for key in KEYS}
        assert len({o.port for o in owners.values()}) == 3
        old_master = owners["key_01"]
        (replica,) = cluster.replicas_of(old_master)

        cluster.kill(old_master)
        promoted = await in_thread(cluster.wait_for_failover, old_master)
        assert promoted.port == replica.port
        assert await client.get("key_01") == KEYS["key_01"]  # the same client, no restart
        assert await client.set("key_01", b"after-failover") is True
        assert client.node_for("key_01").port == promoted.port

        cluster.kill(promoted)  # that shard has no node left: fail promptly
        started = time.monotonic()
        with pytest.raises((ClusterDownError, ConnectionError)):
            await client.get("key_01")
        assert time.monotonic() - started < 5.0
        await in_thread(cluster.wait_for_state, "fail", 30)
        started = time.monotonic()
        with pytest.raises((ClusterDownError, ConnectionError)):
            await client.set("key_02", b"x")
        assert time.monotonic() - started < 5.0

        await in_thread(cluster.restart, promoted)
        await in_thread(cluster.restart, old_master)
        await in_thread(cluster.wait_for_state, "ok", 30)
        deadline = time.monotonic() + 15
        while True:
            try:
                value = await client.get("key_01")
                break
            except (ClusterDownError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        assert value == b"after-failover"
        assert cluster.role_of(promoted) == "master" and cluster.role_of(old_master) == "replica"
        assert client.node_for("key_01").port == promoted.port
        assert await client.get("key_02") == KEYS["key_02"]
