"""The blocking client's I/O: one command to one node, a batch to many, and the route loops around them.

Rules: a send returns the reply or the transport error as a value (the router judges it); a connection
interrupted mid-reply is discarded, never reused, so no reply can reach the wrong caller; a healthy
single command costs one ``direct_target`` and one ``_send``, with no generator.

:class:`Dispatch` is a base of ``ClusterClient``; it reads the client's ``_topology``, ``_policy`` and
``_settings``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..batch import after_asking, node_batch, node_batch_replies
from ..commands import check_command, route_with
from ..errors import ConnectionError, ProtocolError, ResponseError, TimeoutError
from ..resp import ASKING
from ..router import RetryPolicy, direct_read, direct_target, route, route_batch
from ..slotmap import Node
from .connection import ConnectionSettings
from .drive import drive_batch, drive_route
from .topology import Topology

__all__ = ["Dispatch"]

_TRANSPORT_ERRORS = (ConnectionError, TimeoutError, ProtocolError)
_monotonic = time.monotonic


class Dispatch:
    """Sends commands for a client: ``_run`` (one), ``_run_batch`` (many), over pooled connections."""

    _topology: Topology
    _policy: RetryPolicy
    _settings: ConnectionSettings

    def _route_of(self, args: Sequence, readonly: bool | None) -> tuple[int | None, bool]:
        """The slot (``None`` if keyless) and read-only-ness of any command, from the command table."""
        check_command(args)
        return route_with(self._topology.commands(), args, readonly)

    def _run_batch(self, packed: Sequence[bytes], slots: Sequence[int | None], readonly: Sequence[bool]) -> list:
        """Send many commands grouped by node; each node's batch is written before any reply is read."""
        topology = self._topology
        if _monotonic() >= topology.refresh_due:
            topology.refresh("periodic")
        return drive_batch(route_batch(topology, self._policy, slots, readonly), self._send_batch, topology, packed)

    def _send_batch(self, plan: dict, asking: set, replica_nodes: set, packed: list[bytes]) -> dict:
        outcomes: dict = {}
        in_flight = []
        # Phase 1: write every node's batch, so the nodes work in parallel.
        for node, indexes in plan.items():
            pool = self._topology.pool(node)
            try:
                conn = pool.acquire()
            except (*_TRANSPORT_ERRORS, ResponseError) as exc:
                outcomes[node] = [exc] * len(indexes)
                continue
            readonly_first = node in replica_nodes and not conn.readonly
            data, expected = node_batch(indexes, packed, asking, readonly_first)
            try:
                conn.send(data)
            except _TRANSPORT_ERRORS as exc:
                pool.discard(conn)
                outcomes[node] = [exc] * len(indexes)
                continue
            in_flight.append((node, indexes, pool, conn, readonly_first, expected))
        # Phase 2: read the replies, node by node.
        for node, indexes, pool, conn, readonly_first, expected in in_flight:
            try:
                raw = conn.read_replies(expected)
            except _TRANSPORT_ERRORS as exc:
                pool.discard(conn)
                raw = exc.replies + [exc] * (expected - len(exc.replies))  # type: ignore[attr-defined]
            except BaseException:
                pool.discard(conn)
                raise
            else:
                pool.release(conn)
            if readonly_first and not isinstance(raw[0], BaseException):
                conn.readonly = True
            outcomes[node] = node_batch_replies(raw, indexes, asking, readonly_first)
        return outcomes

    def _run(self, packed: bytes, slot: int | None, readonly: bool, block: float | None = None) -> Any:
        topology = self._topology
        if _monotonic() >= topology.refresh_due:
            topology.refresh("periodic")
        first = resume = None
        node = direct_target(topology, slot, readonly)
        if node is not None:
            outcome = self._send(node, packed, False, False, block)
            if not isinstance(outcome, BaseException):
                return outcome  # the hot path: no generator, no effects
            first = (node, outcome)
        elif readonly and slot is not None:  # a read under a read mode: its first candidate, still no generator
            read = direct_read(topology, slot)
            if read is not None:
                node, replica_read, resume = read
                outcome = self._send(node, packed, False, replica_read, block)
                if not isinstance(outcome, BaseException):
                    return outcome
                first = (node, outcome)
        steps = route(topology, self._policy, slot, readonly, readonly, first, resume)
        return drive_route(steps, self._send, topology, packed, block)

    def _send(self, node: Node, packed: bytes, asking: bool, replica_read: bool, block: float | None = None) -> Any:
        """One attempt on one node. Returns the reply, or the transport error as a value.

        ``block``: the command may legitimately wait that long on the server (BLPOP's timeout; 0 means
        forever), so the read timeout is extended by it for this request.
        """
        pool = self._topology.pool(node)
        try:
            conn = pool.acquire()
        except _TRANSPORT_ERRORS as exc:
            return exc
        except ResponseError as exc:  # AUTH refused while opening
            return exc
        try:
            if block is not None:
                base = self._settings.socket_timeout
                conn.set_read_timeout(None if block == 0 or base is None else base + block)
            if asking:
                conn.send(ASKING + packed)
                first = conn.read_reply()
                reply = after_asking(first, conn.read_reply())
            elif replica_read and not conn.readonly:
                reply = conn.request_readonly(packed)
            else:
                reply = conn.request(packed)
            if block is not None:
                conn.set_read_timeout(base)
        except _TRANSPORT_ERRORS as exc:
            pool.discard(conn)
            return exc
        except BaseException:
            pool.discard(conn)  # interrupted mid-reply: the next reader would get this reply
            raise
        pool.release(conn)
        return reply
