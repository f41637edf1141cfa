"""Commands for many nodes at once: which nodes (``target_nodes``), and how to merge their answers.

Pure code. ``target_nodes`` is ``"primaries"`` (default for most), ``"replicas"``, ``"all"``, ``"random"``
(one master), a :class:`Node`, a ``"host:port"`` string, a ``(host, port)`` tuple, or a list of those.

:func:`fanout_plan` sends one command to each of them and fails over by these rules:

* every node's command is written before any reply is read (one ``SEND_BATCH``);
* an error reply raises at once, naming the node;
* a node that could not even be connected to (nothing was sent: a master that just failed over), for a
  mode (``"primaries"``...), costs a backoff, a refresh, and a send to the nodes the new map names that
  have not answered yet; the router's :class:`~rediscluster_lite.router.Attempt` judges it, on the one
  ``max_retries`` budget;
* any other failure (the command may have run there), or a node named explicitly, marks the node down,
  asks for a refresh and raises.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Iterable
from typing import Any

from .effects import FORCE_REFRESH
from .errors import ConnectError, ResponseError
from .router import FAIL, REFRESH, SEND_BATCH, SLEEP, Attempt, RetryPolicy, RoutingState
from .slotmap import Node, SlotMap, parse_address

__all__ = [
    "PRIMARIES",
    "REPLICAS",
    "ALL",
    "RANDOM",
    "resolve_targets",
    "names_a_mode",
    "fanout_plan",
    "parse_info",
    "info_fields",
]

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


def fanout_plan(state: RoutingState, policy: RetryPolicy, target_nodes: Any) -> Generator[tuple, Any, dict]:
    """Send one command (the shell's frame, index 0 of its batch) to every node of ``target_nodes``.

    Yields ``(SEND_BATCH, {node: [0]}, set(), set())``, ``SLEEP``, ``REFRESH`` and ``FORCE_REFRESH``.
    Returns ``{node name: reply}`` in the order the nodes answered; raises as the module docstring says.
    """
    by_mode = names_a_mode(target_nodes)
    replies: dict[str, Any] = {}
    attempt = Attempt(None, False, False)
    while True:
        nodes = [n for n in resolve_targets(state.slot_map, target_nodes) if n.name not in replies]
        outcomes = yield (SEND_BATCH, {node: [0] for node in nodes}, set(), set())
        unreachable: tuple[Node, BaseException] | None = None
        for node in nodes:
            reply = outcomes[node][0]
            if isinstance(reply, ResponseError):
                raise ResponseError(f"{reply.message} (from {node.name})")
            if isinstance(reply, BaseException):
                state.mark_down(node)
                if not isinstance(reply, ConnectError) or not by_mode:
                    yield (REFRESH, f"{node.name}: {type(reply).__name__}")
                    raise reply
                unreachable = (node, reply)
            else:
                replies[node.name] = reply
        if unreachable is None:
            return replies
        # Nothing was sent to that node: the router's rule 5 for a command that never left.
        verdict, payload = attempt.handle(state, policy, *unreachable)
        if verdict == FAIL:
            raise payload
        yield (SLEEP, payload[0])
        yield (FORCE_REFRESH, f"fan-out: {type(unreachable[1]).__name__}")


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


def like_redis_py(convert: Any = None, merge: Any = None) -> Any:
    """A combine as redis-py's cluster client merges: each node's reply converted by ``convert``; then
    ``merge`` over ``{node name: value}`` if given, else the bare value for one node, else the dict."""

    def combine(replies: dict[str, Any]) -> Any:
        values = replies if convert is None else {name: convert(r) for name, r in replies.items()}
        if merge is not None:
            return merge(values)
        if len(values) == 1:
            return next(iter(values.values()))
        return values

    return combine


def all_true(values: dict[str, Any]) -> bool:
    """True when every node's (converted) reply is true."""
    return all(values.values())


def summed(values: dict[str, Any]) -> int:
    return sum(values.values())


def largest(values: dict[str, Any]) -> int:
    return max(values.values())


def sha_of_all(values: dict[str, Any]) -> Any:
    """SCRIPT LOAD on many nodes: their common SHA1 (as ``str``, as redis-py gives it)."""
    sha = the_same(values)
    return sha.decode() if isinstance(sha, bytes) else sha
