"""The asyncio client's I/O: one command to one node, a batch to many, and the route loops around them.

Rules: a send returns the reply or the transport error as a value (the router judges it); the replies of
a multiplexed connection reach their own callers only (``connection.py``); a healthy single command costs
one ``direct_target``, one dict lookup and one future, with no generator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from ..batch import after_asking, node_batch, node_batch_replies
from ..errors import ConnectionError, ProtocolError, ResponseError, TimeoutError
from ..resp import ASKING, READONLY
from ..router import RetryPolicy, direct_read, direct_target, route, route_batch
from ..settings import ConnectionSettings
from ..slotmap import Node
from .drive import drive_batch, drive_route
from .topology import AsyncTopology

__all__ = ["AsyncDispatch", "TRANSPORT_ERRORS"]

TRANSPORT_ERRORS = _TRANSPORT_ERRORS = (ConnectionError, TimeoutError, ProtocolError)
_monotonic = time.monotonic
_running_loop = asyncio.get_running_loop


class AsyncDispatch:
    """Sends commands for an asyncio client: ``_run`` (one), ``_run_batch`` (many)."""

    _topology: AsyncTopology
    _policy: RetryPolicy
    _settings: ConnectionSettings

    async def _run(
        self, packed: bytes, slot: int | None, readonly: bool, block: float | None = None, first: Any = None
    ) -> Any:
        """One command; ``first`` is ``(node, outcome)`` of a try already made (the client's inlined hot path)."""
        topology = self._topology
        resume = None
        if first is not None:
            steps = route(topology, self._policy, slot, readonly, readonly, first, resume)
            return await drive_route(steps, self._send, topology, packed, block)
        if topology.loop is not _running_loop() or topology.closed:
            topology.bind()
        if _monotonic() >= topology.refresh_due:
            await topology.refresh("periodic", raise_on_failure=not topology.refreshes)
        node = direct_target(topology, slot, readonly)
        if node is not None:
            outcome = await self._send(node, packed, False, False, block)
            if not isinstance(outcome, BaseException):
                return outcome  # the hot path: no generator, no effects
            first = (node, outcome)
        elif readonly and slot is not None:  # a read under a read mode: its first candidate, still no generator
            read = direct_read(topology, slot)
            if read is not None:
                node, replica_read, resume = read
                outcome = await self._send(node, packed, False, replica_read, block)
                if not isinstance(outcome, BaseException):
                    return outcome
                first = (node, outcome)
        steps = route(topology, self._policy, slot, readonly, readonly, first, resume)
        return await drive_route(steps, self._send, topology, packed, block)

    async def _send(
        self, node: Node, packed: bytes, asking: bool, replica_read: bool, block: float | None = None
    ) -> Any:
        """One attempt on one node. Returns the reply, or the transport error as a value."""
        if block is not None:
            return await self._send_blocking(node, packed, block)
        topology = self._topology
        try:
            conn = topology.conns.get(node.name)
            if conn is None or conn.closed is not None:
                conn = await topology.connection(node)
            if asking:
                first, reply = await conn.request(ASKING + packed, 2)
                return after_asking(first, reply)
            if replica_read and not conn.readonly:
                conn.readonly = True  # at most one READONLY in flight per connection
                first, reply = await conn.request(READONLY + packed, 2)
                if isinstance(first, ResponseError):
                    conn.readonly = False
                    return first
                return reply
            return await conn.request(packed)
        except (*_TRANSPORT_ERRORS, ResponseError) as exc:  # ResponseError: AUTH refused while opening
            return exc

    async def _send_blocking(self, node: Node, packed: bytes, block: float) -> Any:
        # BLPOP and friends wait on the server: a connection of their own, its timeout extended by theirs.
        topology = self._topology
        base = self._settings.socket_timeout
        try:
            conn = await topology.dedicated(node, None if block == 0 or base is None else base + block)
        except (*_TRANSPORT_ERRORS, ResponseError) as exc:
            return exc
        healthy = False
        try:
            reply = await conn.request(packed)
            healthy = True
            return reply
        except _TRANSPORT_ERRORS as exc:
            return exc
        finally:
            topology.release_dedicated(conn, healthy)  # cancelled mid-wait: closed, never reused

    async def _run_batch(self, packed: Sequence[bytes], slots: Sequence[int | None], readonly: Sequence[bool]) -> list:
        """Send many commands grouped by node; every node's batch is written in the same turn."""
        topology = self._topology
        if topology.loop is not asyncio.get_running_loop() or topology.closed:
            topology.bind()
        if _monotonic() >= topology.refresh_due:
            await topology.refresh("periodic", raise_on_failure=not topology.refreshes)
        steps = route_batch(topology, self._policy, slots, readonly)
        return await drive_batch(steps, self._send_batch, topology, packed)

    async def _send_batch(self, plan: dict, asking: set, replica_nodes: set, packed: list[bytes]) -> dict:
        outcomes: dict = {}
        in_flight = []
        topology = self._topology
        for node, indexes in plan.items():
            try:
                conn = topology.conns.get(node.name)
                if conn is None or conn.closed is not None:
                    conn = await topology.connection(node)
            except (*_TRANSPORT_ERRORS, ResponseError) as exc:
                outcomes[node] = [exc] * len(indexes)
                continue
            readonly_first = node in replica_nodes and not conn.readonly
            if readonly_first:
                conn.readonly = True
            data, expected = node_batch(indexes, packed, asking, readonly_first)
            in_flight.append((node, indexes, conn, readonly_first, expected, conn.request(data, expected, True)))
        for node, indexes, conn, readonly_first, expected, future in in_flight:
            try:
                raw = await future
            except _TRANSPORT_ERRORS as exc:
                got = getattr(exc, "replies", [])
                raw = got + [exc] * (expected - len(got))
            if readonly_first and isinstance(raw[0], BaseException):
                conn.readonly = False
            outcomes[node] = node_batch_replies(raw, indexes, asking, readonly_first)
        return outcomes
