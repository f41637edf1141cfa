"""Commands for many nodes at once: which nodes (``target_nodes``), and how to merge their answers.

Pure code. ``target_nodes`` is ``"primaries"`` (default for most), ``"replicas"``, ``"all"``, ``"random"``
(one master), a :class:`Node`, a ``"host:port"`` string, a ``(host, port)`` tuple, or a list of those.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from .slotmap import Node, SlotMap, parse_address

__all__ = ["PRIMARIES", "REPLICAS", "ALL", "RANDOM", "resolve_targets", "names_a_mode", "parse_info", "info_fields"]

PRIMARIES, REPLICAS, ALL, RANDOM = "primaries", "replicas", "all", "random"
_ALIASES = {"masters": PRIMARIES, "primary": PRIMARIES, "slaves": REPLICAS, "replica": REPLICAS, "nodes": ALL}


def names_a_mode(target: Any) -> bool:
    """``"primaries"``, ``"all"``... rather than a node (``"host:port"``) or a list of nodes."""
    return isinstance(target, str) and ":" not in target


def resolve_targets(slot_map: SlotMap, target: Any) -> list[Node]:
    """The nodes ``target`` names (for a mode, in the order of the map's shards).

    ``ValueError`` if it names none or an unknown mode.
    """
    if names_a_mode(target):
        mode = _ALIASES.get(target.lower(), target.lower())
        if mode == PRIMARIES:
            nodes = list(slot_map.masters)
        elif mode == REPLICAS:
            nodes = [r for shard in slot_map.shards for r in shard.replicas]
        elif mode == ALL:
            nodes = list(slot_map.nodes)
        elif mode == RANDOM:
            nodes = [random.choice(slot_map.masters)] if slot_map.masters else []
        else:
            raise ValueError(
                f"unknown target_nodes {target!r}: use 'primaries', 'replicas', 'all', 'random', a node, "
                "'host:port', or a list of nodes"
            )
        if not nodes:
            raise ValueError(f"target_nodes={target!r} names no node in the current slot map")
        return nodes
    if isinstance(target, (Node, str)) or (
        isinstance(target, tuple) and len(target) == 2 and isinstance(target[1], int)
    ):
        host, port = parse_address(target)
        known = {(n.host, n.port): n for n in slot_map.nodes}
        return [known.get((host, port), Node(host, port))]
    if isinstance(target, Iterable):
        out: list[Node] = []
        for item in target:
            for node in resolve_targets(slot_map, item):
                if node not in out:
                    out.append(node)
        if not out:
            raise ValueError("target_nodes is an empty list: name at least one node")
        return out
    raise TypeError(f"target_nodes must be a mode name, a node or a list of nodes, not {type(target).__name__}")


def info_fields(text: Any) -> dict[str, str]:
    """``INFO`` / ``CLUSTER INFO`` text -> ``{field: value}``, values as the server wrote them."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def parse_info(text: Any) -> dict[str, Any]:
    """``INFO`` text -> ``{"redis_version": "7.0.15", "connected_clients": 3, ...}`` (numbers converted)."""
    return {key: _number(value) for key, value in info_fields(text).items()}


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


# --- merging per-node replies ({node name: reply}) -------------------------------------------------


def per_node(replies: dict[str, Any]) -> dict[str, Any]:
    return replies


def total(replies: dict[str, Any]) -> int:
    return sum(replies.values())


def concatenated(replies: dict[str, Any]) -> list:
    return [item for reply in replies.values() for item in reply]


def all_ok(replies: dict[str, Any]) -> bool:
    return all(r in (b"OK", "OK", True) for r in replies.values())


def all_pong(replies: dict[str, Any]) -> bool:
    return all(r in (b"PONG", "PONG") for r in replies.values())


def infos(replies: dict[str, Any]) -> dict[str, dict]:
    return {name: parse_info(text) for name, text in replies.items()}


def config_maps(replies: dict[str, Any]) -> dict[str, dict]:
    out = {}
    for name, reply in replies.items():
        it = iter(reply)
        out[name] = dict(zip(it, it)) if isinstance(reply, list) else dict(reply)
    return out


def all_have(replies: dict[str, Any]) -> list[bool]:
    """SCRIPT EXISTS: true where every node has the script."""
    columns = list(replies.values())
    return [all(bool(col[i]) for col in columns) for i in range(len(columns[0]))] if columns else []


def the_same(replies: dict[str, Any]) -> Any:
    """A value every node must agree on (a script's SHA1, a function library's name)."""
    values = list(replies.values())
    if any(v != values[0] for v in values[1:]):
        raise ValueError(f"the nodes disagree: {replies!r:.300}")
    return values[0] if values else None
