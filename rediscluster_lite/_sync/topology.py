"""The live view of the cluster: the current slot map, node pools, and which nodes failed recently.

Implements the router's :class:`~rediscluster_lite.router.RoutingState`. Refreshing the map is
single-flight (one thread asks ``CLUSTER SLOTS``; others wait for its answer) and rate-limited.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

from ..commands import CommandTable
from ..errors import ClientClosedError, ConnectError, ProtocolError, RedisClusterError, ResponseError
from ..readfrom import ReadFrom
from ..resp import pack_command
from ..slotmap import Node, Shard, SlotMap
from .connection import ConnectionSettings
from .pool import NodePool

__all__ = ["Topology"]

_CLUSTER_SLOTS = pack_command((b"CLUSTER", b"SLOTS"))
_COMMAND = pack_command((b"COMMAND",))

_live: weakref.WeakSet[Topology] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for topology in list(_live):
        topology.reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Topology:
    def __init__(
        self,
        startup_nodes: Iterable[tuple[str, int]],
        settings: ConnectionSettings,
        *,
        read_from: ReadFrom = ReadFrom.PRIMARY,
        max_connections_per_node: int = 64,
        pool_timeout: float = 2.0,
        refresh_interval: float | None = 5.0,
        min_refresh_interval: float = 0.1,
        down_for: float = 1.0,
    ) -> None:
        self.startup_nodes = tuple(Node(h, p) for h, p in startup_nodes)
        if not self.startup_nodes:
            raise ValueError("startup_nodes is empty: give at least one 'host:port' of the cluster")
        self.settings = settings
        self.read_from = read_from
        self.max_connections_per_node = max_connections_per_node
        self.pool_timeout = pool_timeout
        self.refresh_interval = refresh_interval
        self.min_refresh_interval = min_refresh_interval
        self.down_for = down_for
        self.slot_map: SlotMap = SlotMap([None] * 16384, ())
        # monotonic time of the next periodic refresh; 0 means "at the next command"
        self.refresh_due = 0.0
        self.refreshes = 0
        self._last_refresh = -1e9
        self._pools: dict[str, NodePool] = {}
        self._down: dict[str, float] = {}
        self._turns = itertools.count()
        self._refresh_lock = threading.Lock()
        self._pools_lock = threading.Lock()
        self._commands: CommandTable | None = None
        self._closed = False
        _live.add(self)

    # --- RoutingState ------------------------------------------------------------------------------

    def next_turn(self) -> int:
        return next(self._turns)

    def is_down(self, node: Node) -> bool:
        if not self._down:
            return False
        until = self._down.get(node.name)
        if until is None:
            return False
        if time.monotonic() < until:
            return True
        self._down.pop(node.name, None)
        return False

    def mark_down(self, node: Node) -> None:
        self._down[node.name] = time.monotonic() + self.down_for

    def apply_moved(self, slot: int, node: Node) -> None:
        # A lost race between two patches is harmless: the full refresh scheduled here fixes both.
        self.slot_map = self.slot_map.with_moved(slot, node)
        self.refresh_due = 0.0

    def keyless_shard(self) -> Shard:
        shards = self.slot_map.shards
        if not shards:
            raise LookupError
        return random.choice(shards)

    # --- pools -------------------------------------------------------------------------------------

    def pool(self, node: Node) -> NodePool:
        pool = self._pools.get(node.name)
        if pool is None:
            if self._closed:  # close() emptied the pools, so a closed client always lands here
                raise ClientClosedError("this ClusterClient is closed")
            with self._pools_lock:
                pool = self._pools.get(node.name)
                if pool is None:
                    pool = NodePool(node, self.settings, self.max_connections_per_node, self.pool_timeout)
                    self._pools[node.name] = pool
        return pool

    def pools(self) -> list[NodePool]:
        return list(self._pools.values())

    def _prune_pools(self, keep: Iterable[Node]) -> None:
        names = {n.name for n in keep} | {n.name for n in self.startup_nodes}
        with self._pools_lock:
            gone = [name for name in self._pools if name not in names]
            pools = [self._pools.pop(name) for name in gone]
        for pool in pools:
            pool.close()

    def call(self, node: Node, packed: bytes) -> Any:
        """One request outside the router (topology queries). Raises on any failure."""
        pool = self.pool(node)
        conn = pool.acquire()
        try:
            reply = conn.request(packed)
        except BaseException:
            pool.discard(conn)
            raise
        pool.release(conn)
        return reply

    # --- refresh -----------------------------------------------------------------------------------

    def refresh(self, reason: str = "", *, force: bool = False, raise_on_failure: bool = False) -> bool:
        """Reload the slot map from one reachable node. Returns whether a new map was loaded.

        Single-flight: if another thread is already refreshing, wait for it and use its result.
        Rate-limited: at most one refresh per ``min_refresh_interval`` unless ``force``.
        """
        if not force and time.monotonic() - self._last_refresh < self.min_refresh_interval:
            return False
        if not self._refresh_lock.acquire(blocking=False):
            budget = (self.settings.connect_timeout or 5.0) + (self.settings.socket_timeout or 5.0)
            if self._refresh_lock.acquire(timeout=budget):
                self._refresh_lock.release()
            return False
        try:
            return self._load(raise_on_failure)
        finally:
            self._refresh_lock.release()

    def _refresh_candidates(self) -> list[Node]:
        known = list(self.slot_map.nodes)
        random.shuffle(known)
        seen = {n.name for n in known}
        ordered = known + [n for n in self.startup_nodes if n.name not in seen]
        # Nodes that just failed are asked last, not skipped: they may be all we have.
        return [n for n in ordered if not self.is_down(n)] + [n for n in ordered if self.is_down(n)]

    def _load(self, raise_on_failure: bool) -> bool:
        errors: list[str] = []
        for node in self._refresh_candidates():
            try:
                reply = self.call(node, _CLUSTER_SLOTS)
                if isinstance(reply, ResponseError):
                    raise reply
                new_map = SlotMap.from_cluster_slots(reply, node.host)
            except (RedisClusterError, OSError) as exc:
                if isinstance(exc, ResponseError) and raise_on_failure and "auth" in str(exc).lower():
                    raise  # wrong credentials: every node will say the same; say it now
                errors.append(f"{node.name}: {exc}")
                if isinstance(exc, ConnectError):
                    self.mark_down(node)
                continue
            if not new_map.shards:
                errors.append(f"{node.name}: no slots assigned")
                continue
            self.slot_map = new_map
            self.refreshes += 1
            now = time.monotonic()
            self._last_refresh = now
            self.refresh_due = now + self.refresh_interval if self.refresh_interval else float("inf")
            self._prune_pools(new_map.nodes)
            return True
        now = time.monotonic()
        self._last_refresh = now
        # Not every command should pay a round of failing connects: try again in a second.
        self.refresh_due = now + min(self.refresh_interval or 1.0, 1.0)
        if raise_on_failure:
            raise ConnectError("could not load the cluster's slot map from any node: " + "; ".join(errors))
        return False

    # --- the command table -------------------------------------------------------------------------

    def commands(self) -> CommandTable:
        """The command table, fetched once. Two threads racing here both fetch; either result is right."""
        table = self._commands
        if table is None:
            table = self._commands = self._load_commands()
        return table

    def _load_commands(self) -> CommandTable:
        for node in list(self.slot_map.masters) or list(self.startup_nodes):
            try:
                reply = self.call(node, _COMMAND)
            except (RedisClusterError, OSError):
                continue
            if isinstance(reply, list) and reply:
                try:
                    return CommandTable.from_command_reply(reply)
                except ProtocolError:
                    break
            break  # an error reply (COMMAND denied): the built-in table will have to do
        return CommandTable()

    # --- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def reset_after_fork(self) -> None:
        self._refresh_lock = threading.Lock()
        self._pools_lock = threading.Lock()
        for pool in self._pools.values():
            pool.reset_after_fork()
