"""The blocking shell around :class:`~rediscluster_lite.state.ClusterState`: pools, locks, a clock, fork.

Every decision (refresh order and schedule, down-marks, redirect checks, the keyless rule) is the
state's; this module only carries them out. It implements the router's
:class:`~rediscluster_lite.router.RoutingState` by passing ``time.monotonic()`` to the state.

Rules it keeps:

1. Refreshing the map is single-flight: one thread asks ``CLUSTER SLOTS``; the others wait for it
   (bounded by a connect and a read timeout) and use its answer.
2. A pool is opened only where the state allows (``connect_refusal``): a host in ``allowed_hosts`` that a
   slot map or the startup list has named. Credentials go nowhere else.
3. After ``fork()`` the child gets fresh locks and never reuses a connection of its parent.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

from ..commands import CommandTable
from ..errors import ClientClosedError, RedisClusterError
from ..readfrom import ReadFrom
from ..resp import pack_command
from ..slotmap import Node
from ..state import ClusterState, HostPolicy, load_command_table, refresh_slots
from .connection import ConnectionSettings
from .pool import NodePool

__all__ = ["Topology"]

_CLUSTER_SLOTS = pack_command((b"CLUSTER", b"SLOTS"))
_COMMAND = pack_command((b"COMMAND",))
_monotonic = time.monotonic

_live: weakref.WeakSet[Topology] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for topology in list(_live):
        topology.reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Topology(ClusterState):
    """The state of one client plus its node pools. Attributes read per command (``slot_map``,
    ``read_from``, ``refresh_due``) are the state's own, so reading them costs nothing extra."""

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
        hosts: HostPolicy | None = None,
    ) -> None:
        super().__init__(
            [Node(h, p) for h, p in startup_nodes],
            read_from=read_from,
            refresh_interval=refresh_interval,
            min_refresh_interval=min_refresh_interval,
            down_for=down_for,
            hosts=hosts,
        )
        self.settings = settings
        self.max_connections_per_node = max_connections_per_node
        self.pool_timeout = pool_timeout
        self._pools: dict[str, NodePool] = {}
        self._refresh_lock = threading.Lock()
        self._pools_lock = threading.Lock()
        self._commands: CommandTable | None = None
        self._closed = False
        _live.add(self)

    # --- RoutingState: the state's decisions, at the current time ------------------------------------

    def is_down(self, node: Node) -> bool:
        if not self.down_until:
            return False
        return self.is_down_at(node, _monotonic())

    def mark_down(self, node: Node) -> None:
        self.mark_down_at(node, _monotonic())

    def apply_moved(self, slot: int, node: Node) -> None:
        """A ``MOVED`` to ``node`` (as announced) met outside the router (pub/sub), carried out as
        :meth:`follow_moved` decides: a node the map does not name is followed only if a refresh names it;
        otherwise :class:`NodeNotAllowedError`."""
        for reason in self.follow_moved(slot, node):
            self.refresh(reason)

    # --- pools -------------------------------------------------------------------------------------

    def pool(self, node: Node) -> NodePool:
        pool = self._pools.get(node.name)
        if pool is None:
            if self._closed:  # close() emptied the pools, so a closed client always lands here
                raise ClientClosedError("this ClusterClient is closed")
            refusal = self.connect_refusal(node)
            if refusal is not None:
                raise refusal
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
        if not self.refresh_wanted(_monotonic(), force):
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

    def _load(self, raise_on_failure: bool) -> bool:
        """Carry out :func:`~rediscluster_lite.state.refresh_slots`: ask each node it names."""
        new_map = self._ask_each(refresh_slots(self, _monotonic(), raise_on_failure), _CLUSTER_SLOTS, True)
        if new_map is None:
            return False
        self._prune_pools(new_map.nodes)
        return True

    # --- the command table -------------------------------------------------------------------------

    def commands(self) -> CommandTable:
        """The command table, fetched once. Two threads racing here both fetch; either result is right."""
        table = self._commands
        if table is None:
            table = self._commands = self._load_commands()
        return table

    def _load_commands(self) -> CommandTable:
        """Carry out :func:`~rediscluster_lite.state.load_command_table`."""
        return self._ask_each(load_command_table(self), _COMMAND, False)

    def _ask_each(self, steps: Any, packed: bytes, timed: bool) -> Any:
        """Carry out a state generator that yields the next node to send ``packed`` to; it gets back the
        reply or the exception (with the time, when ``timed``), and returns the result."""
        try:
            node = next(steps)
            while True:
                try:
                    outcome = self.call(node, packed)
                except (RedisClusterError, OSError) as exc:
                    outcome = exc
                node = steps.send((_monotonic(), outcome) if timed else outcome)
        except StopIteration as done:
            return done.value

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
