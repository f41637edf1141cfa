"""The asyncio client: the same constructor, options and typed methods as the blocking one, as coroutines.

Every decision is the core's (the same router, plans and state as the blocking client); this module wires
the asyncio shell (``dispatch``, ``drive``, ``topology``, ``connection``) to the typed methods. Nothing is
sent by the constructor: the slot map is loaded by the first command (or ``await client.initialize()``,
which ``async with`` calls).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from types import EllipsisType
from typing import Any

from .. import fanout
from ..api import CommandsMixin
from ..client_common import ClientCommon
from ..commands import check_command, route_with, slot_of_keys
from ..errors import RedisClusterError, WatchError
from ..fanout import fanout_plan
from ..multikey import mget_plan, split_plan
from ..options import client_parts
from ..readfrom import ReadFrom
from ..resp import pack_command
from ..scan import scan_args, scan_plan
from ..script import AsyncScript
from ..slotmap import Node
from ..transaction import WatchRetry
from .dispatch import TRANSPORT_ERRORS as _TRANSPORT_ERRORS
from .dispatch import AsyncDispatch
from .drive import drive_batch, drive_keys, drive_scan
from .pipeline import AsyncPipeline
from .pubsub import AsyncPubSub
from .topology import AsyncTopology
from .transaction import AsyncTransaction

__all__ = ["AsyncClusterClient"]


_running_loop = asyncio.get_running_loop
_monotonic = time.monotonic
_PRIMARY = ReadFrom.PRIMARY


class AsyncClusterClient(ClientCommon, CommandsMixin, AsyncDispatch):
    """A Redis Cluster client for asyncio. Share one per event loop.

    Takes the options of :class:`~rediscluster_lite.ClusterClient` (``max_connections_per_node`` has no
    meaning here), plus ``connections_per_node`` (shared multiplexed connections per node, default 1) and
    ``max_dedicated_per_node`` (connections for blocking commands at once per node, default 16).
    """

    def __init__(
        self,
        startup_nodes: Iterable[tuple[str, int] | str] | None = None,
        *,
        connections_per_node: int = 1,
        max_dedicated_per_node: int = 16,
        max_connections_per_node: int | None = None,
        **options: Any,
    ) -> None:
        parts = client_parts(startup_nodes, **options)
        self._settings = parts.settings
        self._policy = parts.policy
        self._topology = AsyncTopology(
            parts.nodes,
            parts.settings,
            read_from=parts.read_from,
            connections_per_node=connections_per_node,
            max_dedicated_per_node=max_dedicated_per_node,
            hosts=parts.hosts,
            **parts.topology_options,
        )

    async def initialize(self) -> AsyncClusterClient:
        """Load the slot map now (the first command does it otherwise). Raises ConnectError if no startup
        node answers."""
        topology = self._topology
        topology.bind()
        if not topology.refreshes:
            await topology.refresh("startup", force=True, raise_on_failure=True)
        return self

    async def __aenter__(self) -> AsyncClusterClient:
        return await self.initialize()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection. Commands still waiting fail with ClientClosedError."""
        await self._topology.close()

    close = aclose  # redis-py's asyncio client has both names

    # --- introspection -----------------------------------------------------------------------------

    async def refresh_slots(self) -> None:
        """Reload the slot map now."""
        self._topology.bind()
        await self._topology.refresh("requested", force=True, raise_on_failure=True)

    # --- the shell's part of the CommandsMixin contract ----------------------------------------------

    async def execute_command(self, *args: Any, readonly: bool | None = None) -> Any:
        """Send any command, routed by its keys (found from the server's ``COMMAND`` description)."""
        slot, readonly = await self._route_of(args, readonly)
        return await self._run(pack_command(args), slot, readonly)

    async def _route_of(self, args: Sequence, readonly: bool | None) -> tuple[int | None, bool]:
        check_command(args)
        self._topology.bind()
        return route_with(await self._topology.commands(), args, readonly)

    async def _framed(self, entry: tuple[bytes, int, bool, Callable | None]) -> Any:
        packed, slot, readonly, convert = entry
        # The hot path, inlined: a warm map, the slot's master, its open shared connection. One coroutine
        # frame instead of three (_framed -> _run -> _send); anything else goes the whole way through _run.
        topology = self._topology
        conn = node = None
        if topology.loop is _running_loop() and _monotonic() < topology.refresh_due and not topology.closed:
            if not readonly or topology.read_from is _PRIMARY:  # router.direct_target, inlined
                shard = topology.slot_map.slots[slot]
                if shard is not None:
                    node = shard.master
                    conn = topology.conns.get(node.name)
        if conn is None or conn.closed is not None:
            reply = await self._run(packed, slot, readonly)
        else:
            try:
                reply = await conn.request(packed)
            except _TRANSPORT_ERRORS as exc:
                reply = exc
            if isinstance(reply, BaseException):  # an error reply or a broken connection: the router's
                reply = await self._run(packed, slot, readonly, first=(node, reply))
        return reply if convert is None else convert(reply)

    async def _multi_keyed(self, args: tuple, keys: Sequence, readonly: bool, convert: Callable | None = None) -> Any:
        if not keys:
            raise TypeError(f"{args[0].decode()} needs at least one key")
        reply = await self._run(pack_command(args), slot_of_keys(keys, args[0].decode()), readonly)
        return reply if convert is None else convert(reply)

    async def _keyless(self, args: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        reply = await self._run(pack_command(args), None, readonly)
        return reply if convert is None else convert(reply)

    async def _blocking(
        self, args: tuple, keys: Sequence, readonly: bool, block: float, convert: Callable | None = None
    ) -> Any:
        reply = await self._run(pack_command(args), slot_of_keys(keys, args[0].decode()), readonly, block)
        return reply if convert is None else convert(reply)

    def _split_by_slot(self, command: bytes, args: Sequence, step: int, readonly: bool, combine: Callable) -> Any:
        # Not a coroutine itself: the plan checks its arguments (ValueError) when called, before any await.
        steps = split_plan(command, args, step, readonly, combine)
        return drive_keys(steps, next(steps), self._run_caught, self._run_batch)

    def _mget(self, keys: Sequence) -> Any:
        steps = mget_plan(keys)
        return drive_keys(steps, next(steps), self._run_caught, self._run_batch)

    async def _run_caught(self, packed: bytes, slot: int | None, readonly: bool) -> Any:
        try:
            return await self._run(packed, slot, readonly)
        except RedisClusterError as exc:
            return exc

    async def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Any:
        """One command to each node of ``target_nodes`` (all written in one turn); replies merged."""
        topology = self._topology
        topology.bind()
        if not topology.refreshes:
            await self.initialize()
        steps = fanout_plan(topology, self._policy, target_nodes)
        return combine(await drive_batch(steps, self._send_batch, topology, [pack_command(args)]))

    def register_script(self, source: str | bytes) -> AsyncScript:
        """An :class:`~rediscluster_lite.script.AsyncScript`: ``await script(keys, args)``."""
        return AsyncScript(self, source)

    def pubsub(
        self,
        *,
        node: Node | tuple[str, int] | str | None = None,
        ignore_subscribe_messages: bool = False,
        health_check_interval: float | None | EllipsisType = ...,
        max_queued: int = 10_000,
    ) -> AsyncPubSub:
        """A subscriber (``await p.subscribe(...)``, ``async for m in p.listen()``): classic channels on one node
        (``node``, or one the client picks), sharded channels on their slots' owners. See :class:`AsyncPubSub`."""
        return AsyncPubSub(
            self._topology,
            node=node,
            ignore_subscribe_messages=ignore_subscribe_messages,
            health_check_interval=health_check_interval,
            max_queued=max_queued,
        )

    # --- pipelines and scans -------------------------------------------------------------------------

    def pipeline(self, transaction: bool = False) -> AsyncPipeline | AsyncTransaction:
        """Queue commands and send them together (``await pipe.execute()``), or with ``transaction=True``
        an :class:`AsyncTransaction` (MULTI/EXEC on one slot, with WATCH)."""
        return AsyncTransaction(self) if transaction else AsyncPipeline(self)

    async def transaction(self, func: Callable, *watches: Any, max_attempts: int | None = None) -> list:
        """Run ``await func(tx)`` in a WATCH/MULTI/EXEC transaction, again while a watched key changes
        (as the blocking client's ``transaction``; ``max_attempts`` bounds the tries, None: no bound)."""
        retry = WatchRetry(max_attempts)
        while True:
            async with AsyncTransaction(self) as tx:
                try:
                    if watches:
                        await tx.watch(*watches)
                    await func(tx)
                    return await tx.execute()
                except WatchError:
                    if not retry.again():
                        raise

    async def scan_iter(
        self, match: Any = None, count: int | None = None, _type: Any = None, target_nodes: Any = fanout.PRIMARIES
    ) -> AsyncIterator:
        """Every key, one master at a time with SCAN's cursor (``async for key in client.scan_iter()``).
        Failover as in the blocking client: a master lost mid-scan is scanned again on its successor."""
        topology = self._topology
        topology.bind()
        if not topology.refreshes:
            await self.initialize()
        steps = scan_plan(topology, self._policy, scan_args(match, count, _type), target_nodes)
        async for key in drive_scan(steps, self._send, topology):
            yield key

    async def _cursor_iter(self, page: Callable[[int], Any], items: Callable[[Any], Iterable]) -> AsyncIterator:
        """HSCAN/SSCAN walks (``async for``): ``await page(cursor)`` until cursor 0 comes back."""
        cursor = 0
        while True:
            cursor, found = await page(cursor)
            for item in items(found):
                yield item
            if cursor == 0:
                return
