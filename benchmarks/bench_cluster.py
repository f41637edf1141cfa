"""rediscluster_lite vs redis-py's RedisCluster vs a bare socket, side by side, one process, one cluster.

    python benchmarks/bench_cluster.py [--rounds 7] [--ops 10000] [--batch-ops 50000]
                                       [--workloads get,set,pipeline,mget] [--startup HOST:PORT] [--json FILE]
                                       [--read-from primary,replica_preferred,...] [--baseline PATH]
    python benchmarks/bench_cluster.py --profile [--profiler auto|cprofile|pyinstrument|both] [--ops 20000]

Clients (columns, in the order they run inside every round):
  lite      rediscluster_lite.ClusterClient, from this checkout (read_from=PRIMARY)
  lite/MODE one more lite client per extra --read-from mode (e.g. lite/replica_preferred)
  base      with --baseline PATH: the ClusterClient of another checkout (PATH/rediscluster_lite, e.g. a
            `git worktree` of the commit before a change), loaded under another module name, same modes
  redis-py  redis.cluster.RedisCluster with its default parser (hiredis when redis.utils.HIREDIS_AVAILABLE)
  bare      one blocking TCP socket per master, TCP_NODELAY, hiredis.pack_command + hiredis.Reader, the slot
            owner looked up in a table built once from CLUSTER SLOTS: no pool, no retries, no redirects. The
            floor for what Python can do per round trip.

Workloads (keys cover all 16384 slots, one key per slot, shuffled; values are 16 bytes):
  get       sequential GET of existing keys                  --ops GETs per round
  set       sequential SET                                   --ops SETs per round
  pipeline  pipelines of 1000 commands, GET/SET alternating   --batch-ops commands per round
            (redis-py: pipeline(); lite: only if ClusterClient has .pipeline)
  mget      mget of 100 keys from different slots            --batch-ops keys per round
            (redis-py: mget_nonatomic; lite: only if ClusterClient has .mget; bare: lite's plan, see BareCluster.mget)

A warm-up round (results checked against the values written) runs first, then --rounds rounds, each running
lite, redis-py, bare in turn (interleaved, so load changes on a shared machine hit all three alike). Reported
per workload and client: median ops/s (keys per second for pipeline/mget), min..max over the rounds, client
CPU per op (this thread's CPU time / ops), and the ratio of medians vs redis-py with the min..max of the
per-round ratios (each round's pair ran back to back); with more than one lite-like client, also each one's
ratio to ``lite`` (the same per-round pairing).

Without --startup the script starts its own 3-master/3-replica cluster (--replicas 0: 3 masters alone) with
rediscluster_lite.local.LocalCluster and stops it afterwards. With --startup it writes keys ``bench:<n>`` (16384 of
them) and deletes them at the end.
"""

from __future__ import annotations

import argparse
import binascii
import gc
import json
import os
import platform
import random
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import hiredis  # noqa: E402

import rediscluster_lite  # noqa: E402
from rediscluster_lite import ClusterClient  # noqa: E402

SLOTS = 16384
VALUE_SIZE = 16
PIPELINE_SIZE = 1000
MGET_SIZE = 100
KEY_PREFIX = "bench:"
WORKLOADS = ("get", "set", "pipeline", "mget")
UNITS = {"get": "GET/s", "set": "SET/s", "pipeline": "cmds/s", "mget": "keys/s"}
CLIENT_ORDER = ("lite", "redis-py", "bare")

Batch = list[tuple[bool, str, bytes]]  # (is_set, key, value)


# --- data -------------------------------------------------------------------------------------------


def _slot(key: bytes) -> int:
    # Our keys carry no hash tag ("{"), so the whole key is hashed; see make_keys.
    return binascii.crc_hqx(key, 0) & (SLOTS - 1)


def make_keys(seed: int = 1) -> tuple[list[str], dict[str, bytes]]:
    """One key per slot (``bench:<n>``, no hash tags), shuffled; and each key's 16-byte value."""
    by_slot: list[str | None] = [None] * SLOTS
    missing = SLOTS
    n = 0
    while missing:
        key = f"{KEY_PREFIX}{n}"
        s = _slot(key.encode())
        if by_slot[s] is None:
            by_slot[s] = key
            missing -= 1
        n += 1
    keys = [k for k in by_slot if k is not None]
    random.Random(seed).shuffle(keys)
    values = {k: f"v{i:0{VALUE_SIZE - 1}d}".encode() for i, k in enumerate(keys)}
    assert all("{" not in k for k in keys) and all(len(v) == VALUE_SIZE for v in values.values())
    return keys, values


def cycle(keys: Sequence[str], count: int, start: int = 0) -> list[str]:
    n = len(keys)
    return [keys[(start + i) % n] for i in range(count)]


# --- the bare-socket reference --------------------------------------------------------------------


class BareCluster:
    """One blocking socket per master; slot -> socket from one CLUSTER SLOTS. No pool, no retries."""

    def __init__(self, startup: Sequence[tuple[str, int]]) -> None:
        reply, via_host = self._cluster_slots(startup)
        self.masters: list[tuple[str, int]] = []
        self.conns: list[tuple[socket.socket, Any, bytearray]] = []  # (socket, hiredis.Reader, buffer)
        owner_idx: list[int] = [-1] * SLOTS
        for entry in reply:
            start, end, master = entry[0], entry[1], entry[2]
            host = master[0].decode() if isinstance(master[0], bytes) else str(master[0])
            if host in ("", "?"):
                host = via_host
            addr = (host, int(master[1]))
            if addr not in self.masters:
                self.masters.append(addr)
                self.conns.append(self._connect(addr))
            owner_idx[start : end + 1] = [self.masters.index(addr)] * (end + 1 - start)
        if -1 in owner_idx:
            raise RuntimeError("the cluster does not cover all 16384 slots")
        self.owner_idx = owner_idx  # slot -> index into conns
        self.owner = [self.conns[n] for n in owner_idx]  # slot -> connection
        self.get, self.set = self._make_single()

    @staticmethod
    def _connect(addr: tuple[str, int]) -> tuple[socket.socket, Any, bytearray]:
        sock = socket.create_connection(addr, timeout=10)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, hiredis.Reader(), bytearray(65536)

    @classmethod
    def _cluster_slots(cls, startup: Sequence[tuple[str, int]]) -> tuple[list, str]:
        last: Exception | None = None
        for addr in startup:
            try:
                conn = cls._connect(addr)
            except OSError as exc:
                last = exc
                continue
            try:
                (reply,) = _exchange(conn, [hiredis.pack_command((b"CLUSTER", b"SLOTS"))])
            finally:
                conn[0].close()
            if isinstance(reply, list) and reply:
                return reply, addr[0]
        raise RuntimeError(f"no startup node answered CLUSTER SLOTS ({last})")

    def _make_single(self) -> tuple[Callable[[str], Any], Callable[[str, bytes], Any]]:
        owner, pack, crc, reply_error = self.owner, hiredis.pack_command, binascii.crc_hqx, hiredis.ReplyError

        def call(args: tuple, key: str) -> Any:
            sock, reader, buf = owner[crc(key.encode(), 0) & 0x3FFF]
            sock.sendall(pack(args))
            while True:
                n = sock.recv_into(buf)
                if not n:
                    raise ConnectionError("server closed the connection")
                reader.feed(buf, 0, n)
                reply = reader.gets()
                if reply is not False:
                    if type(reply) is reply_error:
                        raise reply
                    return reply

        def get(key: str) -> Any:
            return call((b"GET", key), key)

        def set_(key: str, value: bytes) -> Any:
            return call((b"SET", key, value), key)

        return get, set_

    def _send_groups(self, frames: list[list[bytes]], places: list[list[Any]]) -> list[tuple[list[Any], list[Any]]]:
        """Write every node's frames (all writes before any read), then read each node's replies.

        Returns ``(places, replies)`` per node that had something to send.
        """
        conns = self.conns
        busy = [n for n in range(len(conns)) if frames[n]]
        for n in busy:
            conns[n][0].sendall(b"".join(frames[n]))
        reply_error = hiredis.ReplyError
        out = []
        for n in busy:
            replies = _read_replies(conns[n], len(frames[n]))
            for r in replies:
                if type(r) is reply_error:
                    raise r
            out.append((places[n], replies))
        return out

    def pipeline(self, batch: Batch) -> list[Any]:
        """Commands grouped by node, every node's batch written before any reply is read."""
        owner_idx, pack, crc = self.owner_idx, hiredis.pack_command, binascii.crc_hqx
        frames: list[list[bytes]] = [[] for _ in self.conns]
        places: list[list[Any]] = [[] for _ in self.conns]
        for i, (is_set, k, v) in enumerate(batch):
            n = owner_idx[crc(k.encode(), 0) & 0x3FFF]
            frames[n].append(pack((b"SET", k, v)) if is_set else pack((b"GET", k)))
            places[n].append(i)
        out: list[Any] = [None] * len(batch)
        for positions, replies in self._send_groups(frames, places):
            for i, r in zip(positions, replies):
                out[i] = r
        return out

    def mget(self, keys: Sequence[str]) -> list[Any]:
        """The plan rediscluster_lite uses: a GET for each key alone in its slot, one MGET per slot that
        several keys share (mget_nonatomic sends an MGET per slot), pipelined per node, merged in order.

        (This reference assumes every key holds a string: a GET of another type is an error here, where
        lite reads it as None as MGET does.)"""
        owner_idx, pack, crc = self.owner_idx, hiredis.pack_command, binascii.crc_hqx
        by_slot: dict[int, list[int]] = {}
        for i, k in enumerate(keys):
            s = crc(k.encode(), 0) & 0x3FFF
            group = by_slot.get(s)
            if group is None:
                by_slot[s] = [i]
            else:
                group.append(i)
        frames: list[list[bytes]] = [[] for _ in self.conns]
        places: list[list[Any]] = [[] for _ in self.conns]
        for s, idx in by_slot.items():
            n = owner_idx[s]
            if len(idx) == 1:
                frames[n].append(pack((b"GET", keys[idx[0]])))
            else:
                frames[n].append(pack((b"MGET", *[keys[i] for i in idx])))
            places[n].append(idx)
        out: list[Any] = [None] * len(keys)
        for groups, replies in self._send_groups(frames, places):
            for idx, reply in zip(groups, replies):
                if len(idx) == 1:
                    out[idx[0]] = reply
                else:
                    for i, v in zip(idx, reply):
                        out[i] = v
        return out

    def delete(self, keys: Sequence[str]) -> None:
        frames: list[list[bytes]] = [[] for _ in self.conns]
        places: list[list[Any]] = [[] for _ in self.conns]
        for k in keys:
            n = self.owner_idx[_slot(k.encode())]
            frames[n].append(hiredis.pack_command((b"DEL", k)))
            places[n].append(k)
        self._send_groups(frames, places)

    def close(self) -> None:
        for sock, _, _ in self.conns:
            sock.close()
        self.conns.clear()


def _read_replies(conn: tuple[socket.socket, Any, bytearray], count: int) -> list[Any]:
    sock, reader, buf = conn
    out: list[Any] = []
    while len(out) < count:
        reply = reader.gets()
        if reply is False:
            n = sock.recv_into(buf)
            if not n:
                raise ConnectionError("server closed the connection")
            reader.feed(buf, 0, n)
            continue
        out.append(reply)
    return out


def _exchange(conn: tuple[socket.socket, Any, bytearray], frames: list[bytes]) -> list[Any]:
    conn[0].sendall(b"".join(frames))
    return _read_replies(conn, len(frames))


# --- the candidates -------------------------------------------------------------------------------


class Candidate:
    """A client under test: the four workload entry points, or a reason why one is missing."""

    def __init__(self, name: str, close: Callable[[], None]) -> None:
        self.name = name
        self.close = close
        self.ops: dict[str, Callable[..., Any]] = {}
        self.missing: dict[str, str] = {}


def _pipeline_via(client: Any) -> Callable[[Batch], list[Any]]:
    def run(batch: Batch) -> list[Any]:
        pipe = client.pipeline()
        for is_set, k, v in batch:
            if is_set:
                pipe.set(k, v)
            else:
                pipe.get(k)
        return pipe.execute()

    return run


def _takes_a_list(fn: Callable[..., Any]) -> bool:
    """``mget(keys, *args)`` (redis-py's shape) rather than ``mget(*keys)``."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return True
    return not params or params[0].kind is not inspect.Parameter.VAR_POSITIONAL


def load_baseline(path: str) -> Any:
    """The ``rediscluster_lite`` package of another checkout, imported as ``rediscluster_lite_baseline``.

    The package imports itself relatively, so a second copy loads side by side with this checkout's.
    """
    import importlib.util

    root = Path(path).resolve() / "rediscluster_lite"
    init = root / "__init__.py"
    if not init.is_file():
        sys.exit(f"--baseline {path}: no rediscluster_lite/__init__.py there")
    name = "rediscluster_lite_baseline"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(root)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def lite_candidate(
    startup: Sequence[tuple[str, int]],
    name: str = "lite",
    client_class: Any = ClusterClient,
    read_from: str = "primary",
) -> Candidate:
    client = client_class(startup, read_from=read_from)
    c = Candidate(name, client.close)
    c.ops["get"] = client.get
    c.ops["set"] = client.set
    if hasattr(client, "pipeline"):
        c.ops["pipeline"] = _pipeline_via(client)
    else:
        c.missing["pipeline"] = "ClusterClient has no pipeline() yet"
    mget = getattr(client, "mget", None) or getattr(client, "mget_nonatomic", None)
    if mget is not None:
        c.ops["mget"] = mget if _takes_a_list(mget) else (lambda keys: mget(*keys))
    else:
        c.missing["mget"] = "ClusterClient has no mget() yet"
    return c


def redispy_candidate(startup: Sequence[tuple[str, int]]) -> tuple[Candidate, dict[str, Any]]:
    import redis
    import redis.utils
    from redis.cluster import ClusterNode, RedisCluster

    client = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in startup])
    c = Candidate("redis-py", client.close)
    c.ops["get"] = client.get
    c.ops["set"] = client.set
    c.ops["pipeline"] = _pipeline_via(client)
    c.ops["mget"] = client.mget_nonatomic
    info: dict[str, Any] = {"version": redis.__version__, "hiredis_available": bool(redis.utils.HIREDIS_AVAILABLE)}
    try:  # what an actual connection uses, not just what should be the default
        client.get(f"{KEY_PREFIX}0")
        pool = client.get_primaries()[0].redis_connection.connection_pool
        conn = pool.get_connection()
        info["parser"] = type(conn._parser).__name__
        info["protocol"] = conn.protocol
        pool.release(conn)
    except Exception as exc:  # noqa: BLE001 - informational only
        info["parser"] = f"? ({exc})"
    return c, info


def bare_candidate(startup: Sequence[tuple[str, int]]) -> tuple[Candidate, list[tuple[str, int]]]:
    bare = BareCluster(startup)
    c = Candidate("bare", bare.close)
    c.ops.update(get=bare.get, set=bare.set, pipeline=bare.pipeline, mget=bare.mget)
    return c, list(bare.masters)


# --- workloads ------------------------------------------------------------------------------------


class Workload:
    """Inputs for one workload, the same for every client; ``run(op)`` does one timed round."""

    def __init__(self, name: str, keys: list[str], values: dict[str, bytes], ops: int, batch_ops: int) -> None:
        self.name = name
        self.values = values
        if name in ("get", "set"):
            self.keys = cycle(keys, ops)
            self.count = len(self.keys)
        elif name == "pipeline":
            n = max(1, batch_ops // PIPELINE_SIZE)
            flat = cycle(keys, n * PIPELINE_SIZE, start=ops)
            self.batches: list[Batch] = [
                [(j % 2 == 1, k, values[k]) for j, k in enumerate(flat[b * PIPELINE_SIZE : (b + 1) * PIPELINE_SIZE])]
                for b in range(n)
            ]
            self.count = n * PIPELINE_SIZE
        elif name == "mget":
            n = max(1, batch_ops // MGET_SIZE)
            flat = cycle(keys, n * MGET_SIZE, start=ops)
            self.groups = [flat[b * MGET_SIZE : (b + 1) * MGET_SIZE] for b in range(n)]
            self.count = n * MGET_SIZE
        else:
            raise ValueError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")

    def run(self, op: Callable[..., Any]) -> None:
        name = self.name
        if name == "get":
            for k in self.keys:
                op(k)
        elif name == "set":
            values = self.values
            for k in self.keys:
                op(k, values[k])
        elif name == "pipeline":
            for batch in self.batches:
                op(batch)
        else:
            for group in self.groups:
                op(group)

    def check(self, op: Callable[..., Any]) -> None:
        """One untimed pass that also checks the replies (the warm-up round)."""
        v = self.values
        if self.name == "get":
            bad = [k for k in self.keys[:2000] if op(k) != v[k]]
        elif self.name == "set":
            bad = [k for k in self.keys[:2000] if op(k, v[k]) not in (True, b"OK", "OK")]
        elif self.name == "pipeline":
            bad = []
            for batch in self.batches:
                got = op(batch)
                if len(got) != len(batch):
                    raise AssertionError(f"pipeline returned {len(got)} results for {len(batch)} commands")
                bad += [
                    k
                    for (is_set, k, val), r in zip(batch, got)
                    if r != (True if is_set else val) and not (is_set and r in (b"OK", "OK"))
                ]
        else:
            bad = []
            for group in self.groups:
                got = list(op(group))
                bad += [k for k, r in zip(group, got) if r != v[k]]
                if len(got) != len(group):
                    raise AssertionError(f"mget returned {len(got)} values for {len(group)} keys")
        if bad:
            raise AssertionError(f"{len(bad)} wrong replies, first for key {bad[0]!r}")
        self.run(op)


def timed(workload: Workload, op: Callable[..., Any]) -> tuple[float, float]:
    """(ops per second, client CPU seconds per op) for one round."""
    gc.collect()
    c0, t0 = time.thread_time(), time.perf_counter()
    workload.run(op)
    t1, c1 = time.perf_counter(), time.thread_time()
    return workload.count / (t1 - t0), (c1 - c0) / workload.count


# --- cluster ---------------------------------------------------------------------------------------


def parse_startup(text: str) -> list[tuple[str, int]]:
    out = []
    for part in text.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise argparse.ArgumentTypeError(f"expected HOST:PORT[,HOST:PORT...], got {text!r}")
        out.append((host.strip("[]"), int(port)))
    return out


@contextmanager
def cluster(startup: list[tuple[str, int]] | None, replicas: int = 1) -> Iterator[tuple[list[tuple[str, int]], str]]:
    if startup:
        yield startup, "existing cluster"
        return
    try:
        from rediscluster_lite.local import LocalCluster
    except ImportError as exc:
        sys.exit(f"rediscluster_lite.local is not available ({exc}); start a cluster and pass --startup HOST:PORT")
    with LocalCluster(replicas_per_master=replicas) as local:
        yield list(local.startup_nodes), f"LocalCluster {local.n_masters}x{local.replicas_per_master}"


def populate(startup: list[tuple[str, int]], keys: list[str], values: dict[str, bytes]) -> None:
    bare = BareCluster(startup)
    try:
        for i in range(0, len(keys), 2000):
            bare.pipeline([(True, k, values[k]) for k in keys[i : i + 2000]])
    finally:
        bare.close()


def cleanup(startup: list[tuple[str, int]], keys: list[str]) -> None:
    bare = BareCluster(startup)
    try:
        bare.delete(keys)
    finally:
        bare.close()


def checkout_version(root: Path | None = None) -> str:
    """``<commit>`` of this checkout (or of ``root``), ``+dirty`` when rediscluster_lite/ has uncommitted changes."""
    import subprocess

    root = root or Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "rediscluster_lite"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def server_version(startup: list[tuple[str, int]]) -> str:
    try:
        conn = BareCluster._connect(startup[0])
        try:
            (info,) = _exchange(conn, [hiredis.pack_command((b"INFO", b"server"))])
        finally:
            conn[0].close()
        for line in info.decode().splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1]
    except OSError:
        pass
    return "?"


# --- report ----------------------------------------------------------------------------------------


def summarize(
    samples: dict[str, dict[str, list[tuple[float, float]]]], names: list[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for w, per_client in samples.items():
        ref = [r for r, _ in per_client.get("redis-py", [])]
        res: dict[str, dict[str, Any]] = {}
        for name in names:
            if name not in per_client:
                continue
            rates = [r for r, _ in per_client[name]]
            cpu = [c for _, c in per_client[name]]
            med = statistics.median(rates)
            row: dict[str, Any] = {
                "median_ops_s": med,
                "min_ops_s": min(rates),
                "max_ops_s": max(rates),
                "us_per_op": 1e6 / med,
                "cpu_us_per_op": statistics.median(cpu) * 1e6,
                "ops_s": rates,
            }
            if ref:
                paired = [a / b for a, b in zip(rates, ref)]
                row["vs_redis_py"] = med / statistics.median(ref)
                row["vs_redis_py_min"] = min(paired)
                row["vs_redis_py_max"] = max(paired)
            lite = [r for r, _ in per_client.get("lite", [])]
            if lite and name != "lite" and (name.startswith("lite/") or name.startswith("base")):
                paired = [a / b for a, b in zip(rates, lite)]
                row["vs_lite"] = med / statistics.median(lite)
                row["vs_lite_min"] = min(paired)
                row["vs_lite_max"] = max(paired)
            res[name] = row
        out[w] = res
    return out


def print_table(summary: dict[str, dict[str, dict[str, Any]]], skipped: dict[str, dict[str, str]], file: Any) -> None:
    width = max([9] + [len(name) for res in summary.values() for name in res])
    head = (
        f"{'workload':9} {'client':{width}} {'median':>10} {'min..max':>17} {'us/op':>7} {'cpu us/op':>9} "
        f"{'vs redis-py':>11} {'per-round ratio':>16} {'vs lite (per round)':>22}"
    )
    print(head, file=file)
    print("-" * len(head), file=file)
    for w, res in summary.items():
        for name, row in res.items():
            spread = f"{row['min_ops_s']:,.0f}..{row['max_ops_s']:,.0f}"
            ratio = f"{row['vs_redis_py']:.2f}x" if "vs_redis_py" in row else "-"
            rr = f"{row['vs_redis_py_min']:.2f}..{row['vs_redis_py_max']:.2f}" if "vs_redis_py" in row else "-"
            if name == "redis-py":
                rr = ""
            vs_lite = ""
            if "vs_lite" in row:
                vs_lite = f"{row['vs_lite']:.3f}x ({row['vs_lite_min']:.2f}..{row['vs_lite_max']:.2f})"
            print(
                f"{w:9} {name:{width}} {row['median_ops_s']:>10,.0f} {spread:>17} {row['us_per_op']:>7.1f} "
                f"{row['cpu_us_per_op']:>9.1f} {ratio:>11} {rr:>16} {vs_lite:>22}",
                file=file,
            )
        for name, why in skipped.get(w, {}).items():
            print(f"{w:9} {name:{width}} {'skipped: ' + why:>10}", file=file)
        print(f"{'':9} {'':{width}} ({UNITS[w]})", file=file)


# --- profile ---------------------------------------------------------------------------------------


def profile_get(startup: list[tuple[str, int]], ops: int, top: int, which: str, client_name: str = "lite") -> None:
    """Profile one client's sequential GET loop (the lite client by default) and print the top functions."""
    keys, values = make_keys()
    populate(startup, keys, values)
    if client_name == "lite":
        cand = lite_candidate(startup)
    elif client_name == "redis-py":
        cand = redispy_candidate(startup)[0]
    else:
        cand = bare_candidate(startup)[0]
    get = cand.ops["get"]
    try:
        work = Workload("get", keys, values, ops, 0)
        work.check(get)
        rate, cpu = timed(work, get)
        print(
            f"{client_name}, unprofiled: {rate:,.0f} GET/s, {1e6 / rate:.1f} us/GET wall, "
            f"{cpu * 1e6:.1f} us/GET client CPU\n"
        )
        have_pyinstrument = True
        try:
            import pyinstrument  # noqa: F401
        except ImportError:
            have_pyinstrument = False
        if which == "auto":
            which = "pyinstrument" if have_pyinstrument else "cprofile"
        if which in ("cprofile", "both"):
            _profile_cprofile(work, get, top)
        if which in ("pyinstrument", "both"):
            if not have_pyinstrument:
                print("pyinstrument is not installed (pip install pyinstrument)")
            else:
                _profile_pyinstrument(work, get, top)
    finally:
        cand.close()


def _func_name(key: tuple[str, int, str]) -> str:
    file, line, func = key
    if file == "~":
        return func
    path = Path(file)
    parts = path.parts
    if "rediscluster_lite" in parts:
        where = "/".join(parts[parts.index("rediscluster_lite") :])
    else:
        where = path.name
    return f"{where}:{line}({func})"


_IO_METHODS = ("recv_into", "recv", "sendall", "send", "poll")


def _profile_cprofile(work: Workload, op: Callable[..., Any], top: int) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    work.run(op)
    prof.disable()
    stats = pstats.Stats(prof)
    entries = stats.stats  # type: ignore[attr-defined]  # {(file, line, func): (cc, ncalls, tottime, cumtime, callers)}
    total = sum(e[2] for e in entries.values())
    n = work.count
    print(f"cProfile, {n} GETs, {total / n * 1e6:.1f} us/GET under the profiler (cProfile inflates Python calls)")
    rows = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)
    io = sum(e[2] for k, e in entries.items() if k[0] == "~" and any(m in k[2] for m in _IO_METHODS))
    print(
        f"in socket calls ({', '.join(_IO_METHODS)}): {io / total * 100:.1f}% ({io / n * 1e6:.1f} us/GET); "
        f"everything else: {(total - io) / total * 100:.1f}% ({(total - io) / n * 1e6:.1f} us/GET)"
    )
    print(f"{'self %':>6} {'self us/GET':>11} {'calls/GET':>9} {'cum %':>6}  function")
    for key, (_cc, nc, tt, ct, _callers) in rows[:top]:
        print(f"{tt / total * 100:6.1f} {tt / n * 1e6:11.2f} {nc / n:9.2f} {ct / total * 100:6.1f}  {_func_name(key)}")
    print()


def _profile_pyinstrument(work: Workload, op: Callable[..., Any], top: int) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002)
    profiler.start()
    work.run(op)
    profiler.stop()
    print(f"pyinstrument (sampling), {work.count} GETs; self time, % of total:")
    text = profiler.output_text(flat=True, flat_time="self", time="percent_of_total", unicode=False, color=False)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    body = [ln for ln in lines if "%" in ln or ln[:1].isdigit()]
    for ln in (body or lines)[:top]:
        print(ln)
    print("\ncall tree (total time, % of total):")
    tree = profiler.output_text(time="percent_of_total", unicode=False, color=False)
    print("\n".join(tree.splitlines()[:60]))


# --- main ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds per workload (after one warm-up round)")
    ap.add_argument("--ops", type=int, default=10_000, help="GETs / SETs per round per client (default 10000)")
    ap.add_argument(
        "--batch-ops", type=int, default=50_000, help="commands (pipeline) / keys (mget) per round (default 50000)"
    )
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of get,set,pipeline,mget")
    ap.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="replicas per master of the cluster the script starts (default 1; 0: no replication traffic)",
    )
    ap.add_argument(
        "--read-from",
        default="primary",
        help="comma-separated read modes: one lite client per mode (primary always runs, as 'lite')",
    )
    ap.add_argument("--baseline", metavar="PATH", help="another checkout whose ClusterClient runs as 'base' too")
    ap.add_argument("--startup", type=parse_startup, help="HOST:PORT[,HOST:PORT...] of an existing cluster")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE ('-' for stdout)")
    ap.add_argument("--profile", action="store_true", help="instead of the comparison, profile a GET loop (--ops GETs)")
    ap.add_argument(
        "--profiler",
        choices=("auto", "cprofile", "pyinstrument", "both"),
        default="auto",
        help="auto: pyinstrument when installed, else cProfile",
    )
    ap.add_argument("--profile-client", choices=CLIENT_ORDER, default="lite", help="whose GET loop to profile")
    ap.add_argument("--top", type=int, default=20, help="functions listed by --profile")
    args = ap.parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r}; choose from {', '.join(WORKLOADS)}")
    if args.rounds < 1 or args.ops < 1 or args.batch_ops < 1:
        ap.error("--rounds, --ops and --batch-ops must be positive")

    out = sys.stderr if args.json == "-" else sys.stdout
    with cluster(args.startup, args.replicas) as (startup, origin):
        if args.profile:
            profile_get(startup, args.ops, args.top, args.profiler, args.profile_client)
            if args.startup:
                cleanup(startup, make_keys()[0])
            return 0
        return run_benchmark(args, workloads, startup, origin, out)


def lite_candidates(args: argparse.Namespace, startup: Sequence[tuple[str, int]]) -> tuple[list[Candidate], str]:
    """``lite`` (PRIMARY), ``lite/MODE`` per other --read-from mode, and the same for --baseline as ``base``."""
    modes = [m.strip().lower() for m in args.read_from.split(",") if m.strip()] or ["primary"]
    if modes[0] != "primary":
        modes.insert(0, "primary")
    sources: list[tuple[str, Any]] = [("lite", ClusterClient)]
    version = ""
    if args.baseline:
        module = load_baseline(args.baseline)
        sources.append(("base", module.ClusterClient))
        version = f"{args.baseline} ({checkout_version(Path(args.baseline))})"
    out = []
    for mode in modes:
        for prefix, client_class in sources:
            name = prefix if mode == "primary" else f"{prefix}/{mode}"
            out.append(lite_candidate(startup, name, client_class, mode))
    return out, version


def run_benchmark(
    args: argparse.Namespace, workloads: list[str], startup: list[tuple[str, int]], origin: str, out: Any
) -> int:
    keys, values = make_keys()
    populate(startup, keys, values)
    candidates, baseline_version = lite_candidates(args, startup)
    redispy, redispy_info = redispy_candidate(startup)
    bare, masters = bare_candidate(startup)
    candidates += [redispy, bare]
    order = [c.name for c in candidates]
    meta = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "loadavg_start": os.getloadavg(),
        "rediscluster_lite": f"{rediscluster_lite.__version__} ({checkout_version()})",
        "baseline": baseline_version,
        "read_from": args.read_from,
        "redis_py": redispy_info,
        "hiredis": hiredis.__version__,
        "redis_server": server_version(startup),
        "cluster": f"{origin}, masters {', '.join(f'{h}:{p}' for h, p in masters)}",
        "rounds": args.rounds,
        "ops": args.ops,
        "batch_ops": args.batch_ops,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    print(
        f"python {meta['python']} ({meta['machine']}), load {meta['loadavg_start'][0]:.2f}; "
        f"rediscluster_lite {meta['rediscluster_lite']}, redis-py {redispy_info['version']} "
        f"(HIREDIS_AVAILABLE={redispy_info['hiredis_available']}, parser {redispy_info.get('parser')}, "
        f"RESP{redispy_info.get('protocol', '?')}), hiredis {meta['hiredis']}, redis-server {meta['redis_server']}",
        file=out,
    )
    if baseline_version:
        print(f"baseline: {baseline_version}", file=out)
    print(f"{meta['cluster']}; {args.rounds} rounds after 1 warm-up, order {', '.join(order)}", file=out)
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {}
    skipped: dict[str, dict[str, str]] = {}
    try:
        for w in workloads:
            work = Workload(w, keys, values, args.ops, args.batch_ops)
            active = []
            for c in candidates:
                if w in c.missing:
                    skipped.setdefault(w, {})[c.name] = c.missing[w]
                    continue
                try:
                    work.check(c.ops[w])
                except Exception as exc:  # noqa: BLE001 - a broken candidate is reported, not fatal
                    skipped.setdefault(w, {})[c.name] = f"warm-up failed: {type(exc).__name__}: {exc}"[:200]
                    continue
                active.append(c)
            per_client: dict[str, list[tuple[float, float]]] = {c.name: [] for c in active}
            t0 = time.perf_counter()
            for _ in range(args.rounds):
                for c in active:
                    per_client[c.name].append(timed(work, c.ops[w]))
            samples[w] = per_client
            print(
                f"  {w}: {work.count} ops x {len(active)} clients x {args.rounds} rounds in "
                f"{time.perf_counter() - t0:.1f}s",
                file=out,
            )
    finally:
        for c in candidates:
            c.close()
        if args.startup:
            cleanup(startup, keys)
    meta["loadavg_end"] = os.getloadavg()
    summary = summarize(samples, order)
    print(file=out)
    print_table(summary, skipped, out)
    print(f"\nload average at end {meta['loadavg_end'][0]:.2f}", file=out)
    if args.json:
        doc = {"meta": meta, "units": UNITS, "results": summary, "skipped": skipped}
        text = json.dumps(doc, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
