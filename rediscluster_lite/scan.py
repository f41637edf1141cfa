"""``scan_iter``: every key of the cluster, one node at a time with SCAN's cursor. Pure code.

Rules:

1. The nodes are the ones ``target_nodes`` names in the slot map as it was when the scan began. Each
   master is remembered by the first slot it served then, so a master that fails over before or during
   its turn is scanned on the replica promoted in its place (the current owner of that slot).
2. A cursor is only meaningful to the node that issued it: a master lost mid-scan is scanned again from
   cursor 0 on its successor. As SCAN itself allows, some keys are then yielded twice.
3. A transport failure is judged by the router's :class:`~rediscluster_lite.router.Attempt` (SCAN is
   read-only, so safe to repeat): mark down, back off, refresh, within ``max_retries``; a read timeout is
   final. A node that is not a master (a replica, a named node) has no successor: any failure raises.
4. An error reply raises.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from .effects import FORCE_REFRESH, KEYS, REQUEST
from .errors import ResponseError
from .fanout import resolve_targets
from .resp import pack_command
from .router import FAIL, SLEEP, WAIT, Attempt, RetryPolicy, RoutingState
from .slotmap import Node, SlotMap

__all__ = ["scan_args", "scan_targets", "scan_plan"]

Plan = Generator[tuple, Any, None]


def scan_args(match: Any = None, count: int | None = None, _type: Any = None) -> list[Any]:
    """SCAN's options after the cursor."""
    args: list[Any] = []
    if match is not None:
        args += [b"MATCH", match]
    if count is not None:
        args += [b"COUNT", count]
    if _type is not None:
        args += [b"TYPE", _type]
    return args


def scan_targets(slot_map: SlotMap, target_nodes: Any) -> list[tuple[Node, int | None]]:
    """Rule 1: ``(node, first slot it serves)`` for each node, the slot ``None`` for a non-master."""
    plan = []
    for node in resolve_targets(slot_map, target_nodes):
        shard = slot_map.shard_of_node(node)
        is_master = shard is not None and shard.master == node
        # Every shard of a map serves at least one slot: remember its first.
        first = slot_map.shard_index.index(slot_map.shards.index(shard)) if is_master else None
        plan.append((node, first))
    return plan


def scan_plan(state: RoutingState, policy: RetryPolicy, args: list[Any], target_nodes: Any) -> Plan:
    """Yields ``(REQUEST, node, SCAN frame)`` (receives the reply or the transport error), ``(KEYS, keys)``
    for the caller, ``SLEEP`` and ``FORCE_REFRESH``. Returns when every node's cursor came back to 0."""
    for node, first_slot in scan_targets(state.slot_map, target_nodes):
        yield from _scan_node(state, policy, args, node, first_slot)


def _owner(state: RoutingState, slot: int | None, fallback: Node) -> Node:
    shard = state.slot_map.slots[slot] if slot is not None else None
    return shard.master if shard is not None else fallback


def _scan_node(state: RoutingState, policy: RetryPolicy, args: list[Any], node: Node, first_slot: int | None) -> Plan:
    node = _owner(state, first_slot, node)
    attempt = Attempt(first_slot, True, True)
    cursor: Any = 0
    while True:
        reply = yield (REQUEST, node, pack_command((b"SCAN", cursor, *args)))
        if isinstance(reply, BaseException):
            if isinstance(reply, ResponseError) or first_slot is None:
                raise reply
            verdict, payload = attempt.handle(state, policy, node, reply)
            if verdict == FAIL:
                raise payload
            if verdict == WAIT:
                yield (SLEEP, payload[0])
                yield (FORCE_REFRESH, f"scan: {node.name} failed")
            successor = _owner(state, first_slot, node)
            if successor != node:
                node, cursor = successor, 0  # rule 2
            continue
        cursor, keys = reply
        yield (KEYS, keys)
        if cursor in (b"0", "0", 0):
            return
