"""The asyncio client on real clusters: commands, pipelines, cross-slot multi-key commands, fan-out, scans,
scripts, blocking commands; loop binding, closing, cancellation, a frozen node, a master killed."""

from __future__ import annotations

import asyncio
import os
import random

import pytest

from rediscluster_lite import ClusterClient, ReadFrom, key_slot
from rediscluster_lite.asyncio import ClusterClient as AsyncClient
from rediscluster_lite.errors import (
    ClientClosedError,
    CrossSlotError,
    EventLoopError,
    ReadTimeout,
    ResponseError,
)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_typed_commands_pipelines_and_multi_key_commands(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes) as c:
        assert await c.set("aio:a", "1") is True
        assert await c.get("aio:a") == b"1"
        assert await c.incrby("aio:n", 5) >= 5
        keys = [f"aio:mk:{i}" for i in range(50)]  # over many slots
        assert await c.mset({k: k for k in keys}) is True
        assert await c.mget(keys) == [k.encode() for k in keys]
        assert await c.exists(*keys) == 50
        assert await c.delete(*keys) == 50
        pipe = c.pipeline()
        for i in range(100):
            pipe.set(f"aio:p:{i}", i).get(f"aio:p:{i}")
        results = await pipe.execute()
        assert results == [x for i in range(100) for x in (True, str(i).encode())]
        assert await c.execute_command("GET", "aio:p:7") == b"7"
        with pytest.raises(CrossSlotError):
            await c.rename("aio:a", "aio:b")  # refused before any I/O
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await c.lpush("aio:a", "x")


async def test_fan_out_scan_scripts_and_blocking_commands(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes, decode_responses=True) as c:
        assert await c.ping() is True
        for i in range(30):
            await c.set(f"aioscan:{i}", i)
        found = {key async for key in c.scan_iter(match="aioscan:*")}
        assert found == {f"aioscan:{i}" for i in range(30)}
        script = c.register_script("return redis.call('GET', KEYS[1])")
        await c.script_flush()  # every node forgets it: EVALSHA meets NOSCRIPT, the body follows
        assert await script(["aioscan:3"]) == "3"
        assert await c.blpop(["aio:empty-list"], timeout=0.1) is None
        waiter = asyncio.ensure_future(c.blpop(["aio:list"], timeout=5))
        await asyncio.sleep(0.1)
        assert await c.get("aioscan:4") == "4"  # the shared connection is not stalled by the blocked one
        await c.rpush("aio:list", "item")
        assert await waiter == ("aio:list", "item") or await waiter == ["aio:list", "item"]


async def test_the_same_replies_as_the_blocking_client(redis_cluster):
    # Each client works on its own keys ("K" in an argument becomes the client's prefix), in the same order.
    calls = [
        ("hset", ("K:h",), {"mapping": {"f1": "a", "f2": "b"}}),
        ("hgetall", ("K:h",), {}),
        ("sadd", ("K:s", "x", "y"), {}),
        ("smembers", ("K:s",), {}),
        ("zadd", ("K:z", {"a": 1.5, "b": 2}), {}),
        ("zrange", ("K:z", 0, -1), {"withscores": True}),
        ("expire", ("K:h", 100), {}),
        ("ttl", ("K:h",), {}),
        ("type", ("K:s",), {}),
        ("lpush", ("K:l", "1", "2", "3"), {}),
        ("lrange", ("K:l", 0, -1), {}),
        ("incrbyfloat", ("K:f", 1.5), {}),
        ("set", ("K:x", "v"), {"nx": True}),
        ("set", ("K:x", "v"), {"nx": True}),
        ("getdel", ("K:x",), {}),
        ("exists", ("K:h", "K:s", "K:missing"), {}),
    ]

    def keyed(args: tuple, prefix: str) -> tuple:
        return tuple(a.replace("K:", prefix) if isinstance(a, str) else a for a in args)

    sync = ClusterClient(redis_cluster.startup_nodes)
    async with AsyncClient(redis_cluster.startup_nodes) as c:
        for name, args, kwargs in calls:
            expected = getattr(sync, name)(*keyed(args, "aio:sync:"), **kwargs)
            got = await getattr(c, name)(*keyed(args, "aio:async:"), **kwargs)
            assert got == expected and type(got) is type(expected), name
    sync.close()


async def test_a_client_is_bound_to_its_first_event_loop(redis_cluster):
    c = AsyncClient(redis_cluster.startup_nodes)
    await c.set("aio:loop", "1")

    def elsewhere() -> None:
        async def use() -> None:
            await c.get("aio:loop")

        asyncio.run(use())

    with pytest.raises(EventLoopError, match="bound to the event loop"):
        await asyncio.get_running_loop().run_in_executor(None, elsewhere)
    await c.aclose()


async def test_closing_fails_waiting_commands_clearly_and_leaves_no_fd(redis_cluster):
    warm = AsyncClient(redis_cluster.startup_nodes)  # the loop's own lazily made fds are counted in `before`
    await warm.get("aio:x")
    await warm.aclose()
    await asyncio.sleep(0.05)
    before = open_fds()
    c = AsyncClient(redis_cluster.startup_nodes)
    await c.initialize()
    waiter = asyncio.ensure_future(c.blpop(["aio:never"], timeout=10))
    gets = [asyncio.ensure_future(c.get(f"aio:x{i}")) for i in range(20)]
    await asyncio.sleep(0.05)
    await c.aclose()
    outcomes = await asyncio.gather(waiter, *gets, return_exceptions=True)
    assert isinstance(outcomes[0], ClientClosedError)
    assert all(o is None or isinstance(o, ClientClosedError) for o in outcomes[1:])
    with pytest.raises(ClientClosedError):
        await c.get("aio:x")
    await asyncio.sleep(0.05)
    assert open_fds() <= before


async def test_a_cancellation_storm_never_delivers_a_wrong_reply(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes) as c:
        keys = [f"aio:storm:{i}" for i in range(300)]
        await c.mset({k: f"value-of-{k}" for k in keys})
        wrong: list = []
        rng = random.Random(4)

        async def reader(n: int) -> None:
            for _ in range(n):
                key = rng.choice(keys)
                value = await c.get(key)
                if value != f"value-of-{key}".encode():
                    wrong.append((key, value))
                if rng.random() < 0.2:
                    pipe = c.pipeline()
                    some = rng.sample(keys, 5)
                    for k in some:
                        pipe.get(k)
                    got = await pipe.execute()
                    wrong.extend((k, v) for k, v in zip(some, got) if v != f"value-of-{k}".encode())

        tasks = [asyncio.ensure_future(reader(40)) for _ in range(200)]
        for _ in range(60):
            await asyncio.sleep(0.002)
            victim = rng.choice(tasks)
            victim.cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        assert wrong == []
        assert any(isinstance(d, asyncio.CancelledError) for d in done)
        assert all(d is None or isinstance(d, asyncio.CancelledError) for d in done)
        # healthy afterwards: every key reads as its own value
        assert await c.mget(keys) == [f"value-of-{k}".encode() for k in keys]


async def test_a_frozen_master_costs_about_one_timeout_then_reads_go_on(redis_cluster_factory):
    cluster = redis_cluster_factory()
    key = "aio:frozen"
    async with AsyncClient(cluster.startup_nodes, socket_timeout=0.5) as c:
        await c.set(key, "v")
        owner = cluster.master_of_slot(key_slot(key))
        cluster.pause(owner, None)
        try:
            started = asyncio.get_running_loop().time()
            with pytest.raises(ReadTimeout):
                await c.get(key)
            assert asyncio.get_running_loop().time() - started < 2.0
        finally:
            cluster.resume(owner)
        assert await c.get(key) == b"v"  # a new connection: the late reply reached nobody


async def test_a_killed_master_the_same_client_keeps_reading_and_acknowledged_writes_survive(redis_cluster_factory):
    cluster = redis_cluster_factory()
    async with AsyncClient(cluster.startup_nodes, read_from=ReadFrom.REPLICA_PREFERRED) as c:
        key = "key_01"
        await c.set(key, "value-01")
        owner = cluster.master_of_slot(key_slot(key))
        acknowledged: list[str] = []
        stop = asyncio.Event()

        async def writer() -> None:
            i = 0
            while not stop.is_set():
                k = f"{{key_01}}:w{i}"  # same slot as key_01: through the failover of that master
                try:
                    await c.set(k, i)
                    acknowledged.append(k)
                except Exception:  # noqa: BLE001 - MaybeAppliedError/ClusterDownError during the failover
                    await asyncio.sleep(0.05)
                i += 1

        task = asyncio.ensure_future(writer())
        await asyncio.sleep(0.2)
        cluster.kill(owner)
        await asyncio.get_running_loop().run_in_executor(None, cluster.wait_for_failover, owner)
        for _ in range(50):
            assert await c.get(key) == b"value-01"  # replica reads: no error reaches the caller
        await asyncio.sleep(0.5)
        stop.set()
        await task
        assert acknowledged
        await c.refresh_slots()
        found = await c.mget(acknowledged)
        # The specification allows losing writes acknowledged just before the master died, no more:
        lost = [k for k, v in zip(acknowledged, found) if v is None]
        assert len(lost) <= 50, f"{len(lost)} of {len(acknowledged)} acknowledged writes lost"


async def test_several_shared_connections_per_node_are_taken_in_turn(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes, connections_per_node=2) as c:
        keys = [f"aio:cpn:{i}" for i in range(60)]
        await c.mset({k: k for k in keys})
        values = await asyncio.gather(*[c.get(k) for k in keys * 3])
        assert values == [k.encode() for k in keys * 3]
        shared = c._topology._shared
        assert shared and all(len(conns) == 2 for conns in shared.values())
        assert all(conn.closed is None for conns in shared.values() for conn in conns)


async def test_transactions_watch_multi_exec_and_the_retrying_helper(redis_cluster):
    from rediscluster_lite.errors import WatchError

    async with AsyncClient(redis_cluster.startup_nodes) as c:
        await c.set("{aiotx}:bal", 100)
        await c.delete("{aiotx}:n")
        async with c.pipeline(transaction=True) as tx:
            await tx.watch("{aiotx}:bal")
            balance = int(await tx.get("{aiotx}:bal"))
            assert await c.incr("aio:other") >= 1  # the shared connection serves while the transaction holds its own
            tx.multi()
            tx.set("{aiotx}:bal", balance - 10).incr("{aiotx}:n")
            assert await tx.execute() == [True, 1]
        assert await c.get("{aiotx}:bal") == b"90"

        tx = c.pipeline(transaction=True)
        await tx.watch("{aiotx}:bal")
        await c.set("{aiotx}:bal", 5)  # another writer changes the watched key
        tx.multi()
        tx.set("{aiotx}:bal", 1)
        with pytest.raises(WatchError):
            await tx.execute()
        assert await c.get("{aiotx}:bal") == b"5"

        with pytest.raises(CrossSlotError):
            c.pipeline(transaction=True).set("aiotx-a", 1).set("aiotx-b", 2)  # refused when queued

        await c.set("{aiotx}:counter", 0)

        async def add_one(tx) -> None:
            value = int(await tx.get("{aiotx}:counter"))
            await asyncio.sleep(0)  # let the other tasks interleave between the read and EXEC
            tx.multi()
            tx.set("{aiotx}:counter", value + 1)

        await asyncio.gather(*[c.transaction(add_one, "{aiotx}:counter") for _ in range(20)])
        assert await c.get("{aiotx}:counter") == b"20"  # every lost race was retried, none double-counted
        assert await c.pipeline(transaction=True).execute() == []
