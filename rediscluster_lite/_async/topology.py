"""The asyncio shell around :class:`~rediscluster_lite.state.ClusterState`: connections, one event loop.

Every decision (refresh order and schedule, down-marks, redirect checks, the keyless rule, which nodes
give the command table) is the state's; this module carries them out with ``await``.

Rules it keeps:

1. Per node, ``connections_per_node`` shared multiplexed connections carry every task's commands (taken in
   turn); blocking commands get a dedicated connection each, at most ``max_dedicated_per_node`` at once
   per node (waiting up to ``pool_timeout`` for one, then :class:`PoolTimeout`).
2. Connecting and refreshing are single-flight: concurrent tasks wait for the one attempt and share its
   result; a task cancelled while connecting cancels nothing for the others.
3. A connection is opened only where the state allows (``connect_refusal``): credentials go nowhere else.
4. Bound to the event loop it first runs on; use from another loop raises :class:`EventLoopError`.
5. With a ``health_check_interval``, a connection (shared or dedicated) quiet that long answers a ``PING``
   before it is used (redis-py's meaning); one that does not is closed and replaced. The hot path's direct
   lookup (``conns``) is then left empty, so every use goes through that check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from ..commands import CommandTable
from ..errors import ClientClosedError, ConnectError, EventLoopError, PoolTimeout, RedisClusterError
from ..readfrom import ReadFrom
from ..resp import pack_command
from ..settings import ConnectionSettings
from ..slotmap import Node
from ..state import ClusterState, HostPolicy, load_command_table, refresh_slots
from .connection import AsyncConnection

__all__ = ["AsyncTopology"]

_CLUSTER_SLOTS = pack_command((b"CLUSTER", b"SLOTS"))
_COMMAND = pack_command((b"COMMAND",))
_PING = pack_command((b"PING",))
_monotonic = time.monotonic


class AsyncTopology(ClusterState):
    """The state of one asyncio client plus its connections."""

    def __init__(
        self,
        startup_nodes: Iterable[tuple[str, int]],
        settings: ConnectionSettings,
        *,
        read_from: ReadFrom = ReadFrom.PRIMARY,
        connections_per_node: int = 1,
        max_dedicated_per_node: int = 16,
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
        if type(connections_per_node) is not int or connections_per_node < 1:
            raise ValueError(f"connections_per_node must be an int >= 1, got {connections_per_node!r}")
        self.settings = settings
        self.connections_per_node = connections_per_node
        self.max_dedicated_per_node = max_dedicated_per_node
        self.pool_timeout = pool_timeout
        self.conns: dict[str, AsyncConnection] = {}  # the hot path's lookup: the next shared connection
        self._shared: dict[str, list[AsyncConnection]] = {}
        self._connecting: dict[str, asyncio.Future] = {}
        self._dedicated: dict[str, tuple[asyncio.Semaphore, list[AsyncConnection]]] = {}
        self._in_use: set[AsyncConnection] = set()  # dedicated connections lent out
        self._refreshing: asyncio.Future | None = None
        self._commands: CommandTable | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    # --- RoutingState: the state's decisions, at the current time ------------------------------------

    def is_down(self, node: Node) -> bool:
        if not self.down_until:
            return False
        return self.is_down_at(node, _monotonic())

    def mark_down(self, node: Node) -> None:
        self.mark_down_at(node, _monotonic())

    def bind(self) -> None:
        """Check (or, the first time, record) the running event loop."""
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
        elif loop is not self.loop:
            raise EventLoopError(
                "this ClusterClient is bound to the event loop it first ran on; create one client per loop"
            )
        if self.closed:
            raise ClientClosedError("this ClusterClient is closed")

    async def apply_moved(self, slot: int, node: Node) -> None:
        """A ``MOVED`` met outside the router (pub/sub), carried out as :meth:`follow_moved` decides."""
        for reason in self.follow_moved(slot, node):
            await self.refresh(reason)

    # --- connections -------------------------------------------------------------------------------

    async def connection(self, node: Node) -> AsyncConnection:
        """A shared connection to ``node``, opened if needed (single-flight per node)."""
        name = node.name
        conns = self._shared.get(name)
        if conns:
            live = [c for c in conns if c.closed is None]
            if len(live) == self.connections_per_node:
                conn = live[0]
                if len(live) > 1:  # take them in turn
                    live.append(live.pop(0))
                self._shared[name] = live
                if self.settings.health_check_interval is None or await self._answers(conn):
                    return conn
        pending = self._connecting.get(name)
        if pending is not None:
            return await asyncio.shield(pending)
        return await self._open_shared(node)

    async def _open_shared(self, node: Node) -> AsyncConnection:
        name = node.name
        future = self.loop.create_future()  # type: ignore[union-attr]
        self._connecting[name] = future
        try:
            conn = await self._open(node)
        except BaseException as exc:
            error = exc if isinstance(exc, Exception) else ConnectError(f"connecting to {name} was cancelled", name)
            future.set_exception(error)
            future.exception()  # retrieved: waiters, if any, see it too
            raise
        finally:
            del self._connecting[name]
        if self.closed:
            conn.close()
            raise ClientClosedError("this ClusterClient is closed")
        live = [c for c in self._shared.get(name, ()) if c.closed is None]
        live.append(conn)
        self._shared[name] = live
        if self.connections_per_node == 1 and self.settings.health_check_interval is None:
            self.conns[name] = conn  # the hot path takes it from here; else connection() rotates or checks
        future.set_result(conn)
        return conn

    async def _open(self, node: Node, timeout: float | None = None) -> AsyncConnection:
        refusal = self.connect_refusal(node)
        if refusal is not None:
            raise refusal
        conn = AsyncConnection(node, self.settings, timeout)
        await conn.open()
        return conn

    async def dedicated(self, node: Node, timeout: float | None) -> AsyncConnection:
        """A connection for one blocking command (``timeout``: its read timeout, ``None`` for none)."""
        gate, idle = self._dedicated.setdefault(node.name, (asyncio.Semaphore(self.max_dedicated_per_node), []))
        try:
            await asyncio.wait_for(gate.acquire(), self.pool_timeout)
        except asyncio.TimeoutError:
            raise PoolTimeout(
                f"all {self.max_dedicated_per_node} dedicated connections to {node.name} are in use "
                f"(waited {self.pool_timeout}s)",
                node.name,
            ) from None
        try:
            conn = await self._idle_dedicated(idle) or await self._open(node)
        except BaseException:
            gate.release()
            raise
        conn.timeout = timeout
        self._in_use.add(conn)
        return conn

    async def _idle_dedicated(self, idle: list[AsyncConnection]) -> AsyncConnection | None:
        while idle:
            conn = idle.pop()
            if conn.closed is not None:
                continue
            if self.settings.health_check_interval is None:
                return conn
            conn.timeout = self.settings.socket_timeout  # the PING's, not the last blocking command's
            try:
                if await self._answers(conn):
                    return conn
            except BaseException:
                conn.close()  # cancelled mid-PING: neither lent out nor idle any more
                raise
        return None

    async def _answers(self, conn: AsyncConnection) -> bool:
        """True if ``conn`` was quiet less than ``health_check_interval``, or answers a ``PING`` now (else it is
        closed: the caller opens another)."""
        if conn.quiet_for(_monotonic()) < self.settings.health_check_interval:  # type: ignore[operator]
            return True
        try:
            reply = await conn.request(_PING)
        except RedisClusterError:
            reply = None
        if reply == b"PONG" or reply == "PONG":
            return True
        conn.close(ConnectError(f"{conn.node.name} did not answer the health check", conn.node.name))
        return False

    def release_dedicated(self, conn: AsyncConnection, healthy: bool) -> None:
        gate, idle = self._dedicated[conn.node.name]
        self._in_use.discard(conn)
        if healthy and conn.closed is None and not self.closed:
            idle.append(conn)
        else:
            conn.close()
        gate.release()

    async def call(self, node: Node, packed: bytes) -> Any:
        """One request outside the router (topology queries). Raises on any failure."""
        conn = await self.connection(node)
        return await conn.request(packed)

    # --- refresh -----------------------------------------------------------------------------------

    async def refresh(self, reason: str = "", *, force: bool = False, raise_on_failure: bool = False) -> bool:
        """Reload the slot map from one reachable node (single-flight, rate-limited unless ``force``)."""
        if not self.refresh_wanted(_monotonic(), force):
            return False
        running = self._refreshing
        if running is not None:
            await asyncio.shield(running)
            return False
        self._refreshing = done = self.loop.create_future()  # type: ignore[union-attr]
        try:
            return await self._load(raise_on_failure)
        finally:
            self._refreshing = None
            done.set_result(None)

    async def _load(self, raise_on_failure: bool) -> bool:
        """Carry out :func:`~rediscluster_lite.state.refresh_slots`: ask each node it names."""
        new_map = await self._ask_each(refresh_slots(self, _monotonic(), raise_on_failure), _CLUSTER_SLOTS, True)
        if new_map is None:
            return False
        self._prune(new_map.nodes)
        return True

    def _prune(self, keep: Iterable[Node]) -> None:
        # Connections to nodes the map no longer names are closed once idle (a caller may still wait).
        names = {n.name for n in keep} | {n.name for n in self.startup_nodes}
        for name in [name for name in self._shared if name not in names]:
            conns = self._shared[name]
            if all(c.idle for c in conns):
                del self._shared[name]
                self.conns.pop(name, None)
                for conn in conns:
                    conn.close()

    async def commands(self) -> CommandTable:
        """The command table, fetched once."""
        table = self._commands
        if table is None:
            table = self._commands = await self._ask_each(load_command_table(self), _COMMAND, False)
        return table

    async def _ask_each(self, steps: Any, packed: bytes, timed: bool) -> Any:
        """Carry out a state generator that yields the next node to send ``packed`` to; it gets back the
        reply or the exception (with the time, when ``timed``), and returns the result."""
        try:
            node = next(steps)
            while True:
                try:
                    outcome = await self.call(node, packed)
                except (RedisClusterError, OSError) as exc:
                    outcome = exc
                node = steps.send((_monotonic(), outcome) if timed else outcome)
        except StopIteration as finished:
            return finished.value

    # --- lifecycle ---------------------------------------------------------------------------------

    def all_connections(self) -> list[AsyncConnection]:
        shared = [c for conns in self._shared.values() for c in conns]
        return shared + [c for _, idle in self._dedicated.values() for c in idle] + list(self._in_use)

    async def close(self) -> None:
        self.closed = True
        for conn in self.all_connections():
            conn.close()
        self._shared.clear()
        self.conns.clear()
        for _, idle in self._dedicated.values():
            idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing
