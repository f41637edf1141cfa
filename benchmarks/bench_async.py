"""The asyncio clients side by side: one process, one cluster, rounds interleaved, medians.

    python benchmarks/bench_async.py [--rounds 7] [--ops 20000] [--tasks 1,10,50,200] [--loop asyncio|uvloop]
                                     [--workloads get,set,pipeline,mget] [--clients lite,redis-py,...]
                                     [--startup HOST:PORT] [--json FILE]

Clients (in the order they run inside every round):
  lite      rediscluster_lite.asyncio.ClusterClient from this checkout
  redis-py  redis.asyncio.cluster.RedisCluster (hiredis parser when installed)
  coredis   coredis.RedisCluster
  glide     valkey-glide's GlideClusterClient (its Rust core does the I/O)
  floor     a bare multiplexed asyncio connection per master with hiredis: a slot table from CLUSTER SLOTS,
            framing, one future per command, one write per loop turn. No routing, no error handling.

Workloads (keys: one per slot, all 16384 slots, 16-byte values, as bench_cluster.py):
  get@N, set@N  N concurrent tasks doing GET (SET) of random keys, --ops commands per round in total
  pipeline      pipelines of 1000 commands (GET/SET alternating), --batch-ops commands per round
  mget          mget of 100 keys from different slots, --batch-ops keys per round

A client that lacks a workload, or is not installed, is listed as skipped. Figures on a shared machine
swing between runs: compare within one run only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import hiredis  # noqa: E402
from bench_cluster import _slot, cluster, make_keys, parse_startup, populate  # noqa: E402

CLIENTS = ["lite", "redis-py", "coredis", "glide", "floor"]


class Floor:
    """The floor: what a multiplexed asyncio connection per master costs, with nothing else."""

    def __init__(self, masters: list[tuple[str, int]], owner: list[int]) -> None:
        self.masters, self.owner = masters, owner
        self.conns: list[_FloorConn] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for host, port in self.masters:
            _, proto = await loop.create_connection(_FloorConn, host, port)
            self.conns.append(proto)

    async def get(self, key: str) -> Any:
        k = key.encode()
        return await self.conns[self.owner[_slot(k)]].send(hiredis.pack_command((b"GET", k)), 1)

    async def set(self, key: str, value: bytes) -> Any:
        k = key.encode()
        return await self.conns[self.owner[_slot(k)]].send(hiredis.pack_command((b"SET", k, value)), 1)

    async def batch(self, commands: list[tuple]) -> list:
        groups: dict[int, list[int]] = {}
        frames = []
        for i, argv in enumerate(commands):
            k = argv[1].encode()
            groups.setdefault(self.owner[_slot(k)], []).append(i)
            frames.append(hiredis.pack_command((argv[0], k, *argv[2:])))
        futures = [(idx, self.conns[c].send(b"".join(frames[i] for i in idx), len(idx))) for c, idx in groups.items()]
        out: list = [None] * len(commands)
        for idx, future in futures:
            for i, reply in zip(idx, await future):
                out[i] = reply
        return out

    async def close(self) -> None:
        for conn in self.conns:
            conn.transport.close()


class _FloorConn(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: list = []  # [future, count, replies]
        self.out: list[bytes] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def send(self, frame: bytes, count: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if not self.out:
            asyncio.get_running_loop().call_soon(self.flush)
        self.out.append(frame)
        self.waiting.append([future, count, []])
        return future

    def flush(self) -> None:
        self.transport.write(b"".join(self.out))
        self.out = []

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            head = self.waiting[0]
            head[2].append(reply)
            if len(head[2]) == head[1]:
                self.waiting.pop(0)
                head[0].set_result(head[2][0] if head[1] == 1 else head[2])


async def make_client(name: str, startup: list[tuple[str, int]]) -> Any:
    """An object with get/set/batch/close coroutines, or a str: why it is skipped."""
    if name == "lite":
        from rediscluster_lite.asyncio import ClusterClient

        return _Lite(await ClusterClient(startup).initialize())
    if name == "redis-py":
        try:
            from redis.asyncio.cluster import ClusterNode, RedisCluster
        except ImportError as exc:
            return f"not installed ({exc})"
        # redis-py opens one connection per concurrent command: let it (its default cap raises at 50 tasks).
        client = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in startup], max_connections=1000)
        await client.initialize()
        return _RedisPy(client)
    if name == "coredis":
        try:
            import coredis
        except ImportError as exc:
            return f"not installed ({exc})"
        client = coredis.RedisCluster(startup_nodes=[{"host": h, "port": p} for h, p in startup])
        await client.__aenter__()
        return _Coredis(client)
    if name == "glide":
        try:
            from glide import GlideClusterClient, GlideClusterClientConfiguration, NodeAddress
        except ImportError as exc:
            return f"not installed ({exc})"
        config = GlideClusterClientConfiguration([NodeAddress(h, p) for h, p in startup])
        return _Glide(await GlideClusterClient.create(config))
    if name == "floor":
        from rediscluster_lite.asyncio import ClusterClient

        probe = await ClusterClient(startup).initialize()  # only to read CLUSTER SLOTS
        masters = [(n.host, n.port) for n in probe.slot_map.masters]
        index = {m: i for i, m in enumerate(masters)}
        owner = [index[(s.master.host, s.master.port)] for s in probe.slot_map.slots]
        await probe.aclose()
        floor = Floor(masters, owner)
        await floor.start()
        return floor
    raise ValueError(name)


class _Lite:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.get, self.set = client.get, client.set

    async def batch(self, commands: list[tuple]) -> list:
        pipe = self.client.pipeline()
        for argv in commands:
            pipe.get(argv[1]) if argv[0] == b"GET" else pipe.set(argv[1], argv[2])
        return await pipe.execute()

    async def mget(self, keys: list[str]) -> list:
        return await self.client.mget(keys)

    async def close(self) -> None:
        await self.client.aclose()


class _RedisPy(_Lite):  # the same pipeline calls as lite's
    async def mget(self, keys: list[str]) -> list:
        return await self.client.mget_nonatomic(keys)


class _Coredis(_Lite):
    async def batch(self, commands: list[tuple]) -> list:
        async with self.client.pipeline() as pipe:
            requests = [pipe.get(a[1]) if a[0] == b"GET" else pipe.set(a[1], a[2]) for a in commands]
        return [await r for r in requests]

    async def mget(self, keys: list[str]) -> list:
        return list(await self.client.mget(keys))

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)


class _Glide(_Lite):
    async def batch(self, commands: list[tuple]) -> list:
        from glide import ClusterBatch

        batch = ClusterBatch(is_atomic=False)
        for argv in commands:
            batch.get(argv[1]) if argv[0] == b"GET" else batch.set(argv[1], argv[2])
        return await self.client.exec(batch, raise_on_error=True)

    async def mget(self, keys: list[str]) -> list:
        return await self.client.mget(keys)

    async def close(self) -> None:
        await self.client.close()


async def run_workload(client: Any, workload: str, keys: list[str], values: dict, args: argparse.Namespace) -> float:
    """One round of ``workload``: ops (keys) per second."""
    rng = random.Random(hash(workload) & 0xFFFF)
    if workload.startswith(("get@", "set@")):
        tasks = int(workload.split("@")[1])
        per_task = max(1, args.ops // tasks)
        picks = [[rng.choice(keys) for _ in range(per_task)] for _ in range(tasks)]
        if workload.startswith("get"):
            op = client.get

            async def one(batch: list[str]) -> None:
                for key in batch:
                    await op(key)
        else:
            op = client.set

            async def one(batch: list[str]) -> None:
                for key in batch:
                    await op(key, values[key])

        started = time.perf_counter()
        await asyncio.gather(*[one(b) for b in picks])
        return per_task * tasks / (time.perf_counter() - started)
    if workload == "pipeline":
        rounds = max(1, args.batch_ops // 1000)
        batches = []
        for _ in range(rounds):
            some = [rng.choice(keys) for _ in range(1000)]
            batches.append([(b"GET", k) if i % 2 else (b"SET", k, values[k]) for i, k in enumerate(some)])
        started = time.perf_counter()
        for batch in batches:
            await client.batch(batch)
        return rounds * 1000 / (time.perf_counter() - started)
    if workload == "mget":
        rounds = max(1, args.batch_ops // 100)
        groups = [rng.sample(keys, 100) for _ in range(rounds)]
        if not hasattr(client, "mget"):
            raise NotImplementedError
        started = time.perf_counter()
        for group in groups:
            got = await client.mget(group)
            assert len(got) == 100
        return rounds * 100 / (time.perf_counter() - started)
    raise ValueError(workload)


async def bench(startup: list[tuple[str, int]], args: argparse.Namespace) -> dict:
    keys, values = make_keys()
    populate(startup, keys, values)
    clients: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in args.clients:
        try:
            made = await make_client(name, startup)
        except Exception as exc:  # noqa: BLE001 - a peer that fails to start is reported, not fatal
            made = f"failed to start: {type(exc).__name__}: {exc}"
        if isinstance(made, str):
            skipped[name] = made
        else:
            clients[name] = made
    workloads = [f"{w}@{n}" for w in ("get", "set") if w in args.workloads for n in args.tasks]
    workloads += [w for w in ("pipeline", "mget") if w in args.workloads]
    samples: dict[str, dict[str, list[float]]] = {w: {} for w in workloads}
    failures: dict[str, str] = {}
    for round_no in range(args.rounds + 1):  # round 0 warms up
        for w in workloads:
            for name, client in clients.items():
                if name == "floor" and w == "mget":
                    continue  # the floor has no mget plan
                try:
                    rate = await run_workload(client, w, keys, values, args)
                except NotImplementedError:
                    continue
                except Exception as exc:  # noqa: BLE001 - a peer failing a workload is reported, not fatal
                    failures.setdefault(f"{name} {w}", f"{type(exc).__name__}: {exc}"[:200])
                    continue
                if round_no:
                    samples[w].setdefault(name, []).append(rate)
    for client in clients.values():
        await client.close()
    skipped.update(failures)
    return {"samples": samples, "skipped": skipped}


def report(result: dict, file: Any = sys.stdout) -> dict:
    summary: dict = {}
    for w, per in result["samples"].items():
        glide = statistics.median(per["glide"]) if "glide" in per else None
        floor = statistics.median(per["floor"]) if "floor" in per else None
        rows = {}
        for name, rates in per.items():
            med = statistics.median(rates)
            rows[name] = {
                "median": med,
                "min": min(rates),
                "max": max(rates),
                "vs_glide": med / glide if glide else None,
                "vs_floor": med / floor if floor else None,
            }
        summary[w] = rows
    print(f"{'workload':12} {'client':9} {'median':>11} {'min..max':>22} {'vs glide':>9} {'vs floor':>9}", file=file)
    for w, rows in summary.items():
        for name, row in rows.items():
            spread = f"{row['min']:,.0f}..{row['max']:,.0f}"
            vg = f"{row['vs_glide']:.2f}x" if row["vs_glide"] else "-"
            vf = f"{row['vs_floor']:.2f}x" if row["vs_floor"] else "-"
            print(f"{w:12} {name:9} {row['median']:>11,.0f} {spread:>22} {vg:>9} {vf:>9}", file=file)
    for name, why in result["skipped"].items():
        print(f"skipped {name}: {why}", file=file)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--batch-ops", type=int, default=50000)
    parser.add_argument("--tasks", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 50, 200])
    parser.add_argument("--workloads", type=lambda s: s.split(","), default=["get", "set", "pipeline", "mget"])
    parser.add_argument("--clients", type=lambda s: s.split(","), default=CLIENTS)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--startup", type=parse_startup)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    runner: Callable = asyncio.run
    if args.loop == "uvloop":
        import uvloop

        runner = uvloop.run
    with cluster(args.startup, args.replicas) as (startup, where):
        print(f"{where}; loop {args.loop}; {args.rounds} rounds after 1 warm-up; --ops {args.ops}", flush=True)
        result = runner(bench(startup, args))
    summary = report(result)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args) | {"startup": None}, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
