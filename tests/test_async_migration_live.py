"""A live slot migration (MIGRATING/IMPORTING + MIGRATE, ASK in flight) while the asyncio client runs GETs, SETs,
pipelines and cross-slot mgets: nothing reaches the caller but the right values."""

from __future__ import annotations

import asyncio

from test_migration_live import TAG, migrate_slot

from rediscluster_lite import key_slot
from rediscluster_lite.asyncio import ClusterClient


async def test_a_live_migration_is_invisible_to_the_asyncio_client(redis_cluster_factory):
    cluster = redis_cluster_factory()
    slot = key_slot(TAG)
    source = cluster.master_of_slot(slot)
    target = next(m for m in cluster.masters() if m.port != source.port)
    keys = [f"{TAG}:{i}" for i in range(200)]
    others = [f"aio:mig:{i}" for i in range(50)]  # elsewhere: the mgets span the moving slot and others

    async with ClusterClient(cluster.startup_nodes) as client:
        await client.mset({k: k for k in keys + others})
        stop = asyncio.Event()
        rounds = [0]

        async def traffic() -> None:
            while not stop.is_set():
                rounds[0] += 1
                pipe = client.pipeline()
                for key in keys[::7]:
                    pipe.get(key)
                assert await pipe.execute() == [k.encode() for k in keys[::7]]
                assert await client.mget(keys[:20] + others[:20]) == [k.encode() for k in keys[:20] + others[:20]]
                fresh = f"{TAG}:fresh:{rounds[0]}"  # created mid-migration: only the target may take it (ASK)
                assert await client.set(fresh, "new") is True
                assert await client.get(fresh) == b"new"

        workers = [asyncio.ensure_future(traffic()) for _ in range(4)]
        await asyncio.sleep(0.2)
        await asyncio.get_running_loop().run_in_executor(None, migrate_slot, cluster, slot, source, target)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*workers)  # any wrong value or error surfaces here
        assert rounds[0] >= 8
        assert cluster.master_of_slot(slot).port == target.port
        assert await client.mget(keys) == [k.encode() for k in keys]
        assert client.node_for(keys[0]).port == target.port
