"""The asyncio subscriber on real clusters, on both loops: ``async for`` over ``listen()``, coroutine handlers,
one task listening while another subscribes, a bounded queue when nobody reads, and a failover under
``listen()``. (Everything the blocking subscriber does is also run on this one by test_pubsub_live.py.)"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from rediscluster_lite import key_slot
from rediscluster_lite.asyncio import AsyncPubSub
from rediscluster_lite.asyncio import ClusterClient as AsyncClient
from rediscluster_lite.errors import ClientClosedError, EventLoopError, RedisClusterError


def unique(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex[:10]}"


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_listen_handlers_and_unsubscribing_end_the_iteration(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes) as client:
        classic, shard, handled = unique("c"), unique("s"), unique("h")
        seen_by_handler: list[bytes] = []

        async def on_handled(message: dict) -> None:
            await asyncio.sleep(0)
            seen_by_handler.append(message["data"])

        async with client.pubsub(ignore_subscribe_messages=True) as p:
            assert isinstance(p, AsyncPubSub)
            await p.subscribe(classic, **{handled: on_handled})
            await p.ssubscribe(shard)
            await until(lambda: len(p.connections) == 2)
            while await p.get_message(timeout=0.2) is not None:  # confirmations are swallowed
                pass
            await client.publish(classic, "one")
            await client.publish(handled, "to-handler")
            await client.spublish(shard, "two")
            got = []
            async for message in p.listen():
                got.append((message["type"], message["data"]))
                if len(got) == 2:
                    break
            assert sorted(got) == [("message", b"one"), ("smessage", b"two")]
            for _ in range(50):  # published on any master: the bus may bring it after the others
                if seen_by_handler:
                    break
                assert await p.get_message(timeout=0.1) is None  # handled messages never come out here
            assert seen_by_handler == [b"to-handler"]
            await p.unsubscribe()
            await p.sunsubscribe()
            async for message in p.listen():  # ends once the unsubscriptions are confirmed
                raise AssertionError(f"unexpected {message}")
            assert not p.subscribed


async def test_one_task_listens_while_another_subscribes(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes) as client:
        channels = [unique("many") for _ in range(8)]
        async with client.pubsub(ignore_subscribe_messages=True) as p:
            await p.ssubscribe(channels[0])
            received: list[bytes] = []

            async def listener() -> None:
                async for message in p.listen():
                    received.append(message["data"])
                    if len(received) == len(channels):
                        return

            task = asyncio.ensure_future(listener())
            for channel in channels[1:]:
                await p.ssubscribe(channel)  # concurrently with the listener's own reconnect/flush work
            await until(lambda: len(p.shard_nodes) == len(channels))
            await asyncio.sleep(0.2)  # the last confirmations
            for channel in channels:
                await client.spublish(channel, channel)
            await asyncio.wait_for(task, 10)
            assert sorted(received) == sorted(c.encode() for c in channels)
            # one connection per master at most, never one per subscribe call
            assert len(p.connections) <= len(client.slot_map.masters)


async def test_nobody_reading_pauses_the_links_and_nothing_is_lost(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes) as client:
        channel = unique("flood")
        async with client.pubsub(ignore_subscribe_messages=True, max_queued=50) as p:
            await p.ssubscribe(channel)  # one node: its messages keep their order (PUBLISH may take any master)
            while await p.get_message(timeout=0.2) is not None:
                pass
            payload = "x" * 2000  # about 32 messages per 64 KiB read
            pipe = client.pipeline()
            for i in range(500):
                pipe.spublish(channel, f"{i}:{payload}")
            await pipe.execute()
            await asyncio.sleep(0.5)  # the loop keeps reading until the queue is full
            assert p._paused and 50 <= len(p._queue) < 50 + 64
            got = []
            while len(got) < 500:
                message = await p.get_message(timeout=5)
                assert message is not None, f"only {len(got)} of 500"
                got.append(int(message["data"].split(b":", 1)[0]))
            assert got == list(range(500))  # in order, none lost while reading was paused
            assert not p._paused


async def test_a_subscriber_is_bound_to_its_clients_loop_and_refuses_after_close(redis_cluster):
    async with AsyncClient(redis_cluster.startup_nodes) as client:
        p = client.pubsub()
        await p.subscribe(unique("bound"))
        other_loop_error: list[BaseException] = []

        def elsewhere() -> None:
            try:
                asyncio.run(p.get_message())
            except BaseException as exc:  # noqa: BLE001 - inspected below
                other_loop_error.append(exc)

        await asyncio.get_running_loop().run_in_executor(None, elsewhere)
        assert len(other_loop_error) == 1 and isinstance(other_loop_error[0], EventLoopError)
        await p.aclose()
        with pytest.raises(ClientClosedError):
            await p.get_message()
        with pytest.raises(ClientClosedError):
            await p.subscribe("x")


async def test_listen_carries_on_across_a_failover(redis_cluster_factory):
    cluster = redis_cluster_factory()
    async with AsyncClient(cluster.startup_nodes) as client:
        shard = "aio-orders:{failover}"
        victim = cluster.master_of_slot(key_slot(shard))
        async with client.pubsub(ignore_subscribe_messages=True) as p:
            await p.ssubscribe(shard)
            await until(lambda: p.shard_nodes.get(shard.encode()) == victim.addr)
            await asyncio.sleep(0.2)
            got: list[bytes] = []

            async def listener() -> None:
                async for message in p.listen():
                    got.append(message["data"])

            task = asyncio.ensure_future(listener())
            await client.spublish(shard, "before")
            await until(lambda: got == [b"before"])
            await asyncio.get_running_loop().run_in_executor(None, cluster.kill, victim)
            promoted = None
            for i in range(600):  # publish until the promoted node's subscriber hears one
                try:
                    await client.spublish(shard, f"after-{i}")
                except RedisClusterError:
                    pass  # the master is gone until the replica takes over: not under test
                if len(got) > 1:
                    break
                await asyncio.sleep(0.05)
            promoted = await asyncio.get_running_loop().run_in_executor(None, cluster.wait_for_failover, victim)
            assert got[1].startswith(b"after-")
            assert p.shard_nodes[shard.encode()] == promoted.addr
            task.cancel()
