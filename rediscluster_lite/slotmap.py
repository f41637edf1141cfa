"""The slot map: which shard (a master and its replicas) serves each of the 16384 slots.

A :class:`SlotMap` is immutable. A refresh builds a new one from a ``CLUSTER SLOTS`` reply and the
topology swaps the reference; a ``MOVED`` builds a patched copy. Readers on other threads therefore
always see a whole, consistent map, without locks. Lookup is one list index: ``map.slots[slot]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from attrs import field, frozen

from .errors import ProtocolError

__all__ = ["SLOTS", "Node", "Shard", "SlotMap", "parse_address"]

SLOTS = 16384


@frozen(order=True)
class Node:
    """One server, identified by its address. ``name`` is ``host:port`` (the pool key)."""

    host: str
    port: int
    node_id: str | None = field(default=None, eq=False, order=False)
    name: str = field(init=False, eq=False, order=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "name", format_address(self.host, self.port))

    def __str__(self) -> str:
        return self.name


@frozen
class Shard:
    """A master and its replicas, as one ``CLUSTER SLOTS`` range names them."""

    master: Node
    replicas: tuple[Node, ...] = ()

    @property
    def nodes(self) -> tuple[Node, ...]:
        return (self.master, *self.replicas)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_address(value: Any) -> tuple[str, int]:
    """``("h", 1)``, ``"h:1"``, ``"[::1]:1"`` or a :class:`Node` -> ``(host, port)``."""
    if isinstance(value, Node):
        return value.host, value.port
    if isinstance(value, str):
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"expected 'host:port', got {value!r}")
        return host.strip("[]"), int(port)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        host, port = value
        if isinstance(host, str) and isinstance(port, int) and not isinstance(port, bool):
            return host, port
    raise TypeError(f"a startup node is a (host, port) tuple or a 'host:port' string, got {value!r}")


@frozen(eq=False)
class SlotMap:
    """16384 slots -> :class:`Shard` (or ``None`` for an uncovered slot)."""

    slots: list  # list[Shard | None], length SLOTS; never mutated after construction
    shards: tuple[Shard, ...]
    # slot -> position of its shard in ``shards`` (len(shards) when uncovered): lets a pipeline group
    # commands by shard with two list lookups each, no hashing.
    shard_index: list = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        position = {id(shard): i for i, shard in enumerate(self.shards)}
        missing = len(self.shards)
        object.__setattr__(self, "shard_index", [position.get(id(shard), missing) for shard in self.slots])

    @property
    def masters(self) -> tuple[Node, ...]:
        return tuple(s.master for s in self.shards)

    @property
    def nodes(self) -> tuple[Node, ...]:
        seen: dict[Node, None] = {}
        for shard in self.shards:
            for node in shard.nodes:
                seen.setdefault(node)
        return tuple(seen)

    def uncovered(self) -> list[tuple[int, int]]:
        """Uncovered slot ranges, as inclusive ``(start, end)`` pairs."""
        ranges: list[tuple[int, int]] = []
        start = None
        for slot, shard in enumerate(self.slots):
            if shard is None and start is None:
                start = slot
            elif shard is not None and start is not None:
                ranges.append((start, slot - 1))
                start = None
        if start is not None:
            ranges.append((start, SLOTS - 1))
        return ranges

    def shard_of_node(self, node: Node) -> Shard | None:
        for shard in self.shards:
            if node == shard.master or node in shard.replicas:
                return shard
        return None

    def with_moved(self, slot: int, node: Node) -> SlotMap:
        """A copy in which ``slot`` is served by ``node`` (as a ``MOVED`` reply says)."""
        shard = next((s for s in self.shards if s.master == node), None)
        shards = self.shards
        if shard is None:
            # The new owner is not a known master (a promoted replica, or a new node): its replicas are
            # unknown until the full refresh that a MOVED always schedules.
            shard = Shard(node, ())
            shards = (*shards, shard)
        slots = list(self.slots)
        slots[slot] = shard
        return SlotMap(slots, _live_shards(slots, shards))

    def with_nodes(self, admit: Callable[[Node], Node | None]) -> SlotMap:
        """A copy with every node replaced by ``admit(node)``; a node it maps to ``None`` is left out (a
        master's slots then become uncovered). For ``address_remap`` and ``allowed_hosts``."""
        replaced: dict[int, Shard | None] = {}
        for shard in self.shards:
            master = admit(shard.master)
            replicas = tuple(r for r in map(admit, shard.replicas) if r is not None)
            replaced[id(shard)] = None if master is None else Shard(master, replicas)
        slots = [None if shard is None else replaced[id(shard)] for shard in self.slots]
        return SlotMap(slots, tuple(s for s in replaced.values() if s is not None))

    @classmethod
    def from_ranges(cls, ranges: Iterable[tuple[int, int, Shard]]) -> SlotMap:
        slots: list[Shard | None] = [None] * SLOTS
        shards: dict[Node, Shard] = {}
        for start, end, shard in ranges:
            if not (0 <= start <= end < SLOTS):
                raise ProtocolError(f"slot range {start}-{end} is outside 0-{SLOTS - 1}")
            shard = shards.setdefault(shard.master, shard)
            slots[start : end + 1] = [shard] * (end - start + 1)
        return cls(slots, tuple(shards.values()))

    @classmethod
    def from_cluster_slots(cls, reply: Sequence[Any], asked_host: str) -> SlotMap:
        """Build from a ``CLUSTER SLOTS`` reply (Redis 3 to 7 shapes).

        Each entry is ``[start, end, master, replica...]`` and each node ``[host, port, id?, meta?]``.
        An empty host, ``?`` or no host means "the host you asked" (Redis 7 with unknown endpoints).
        """
        if not isinstance(reply, (list, tuple)):
            raise ProtocolError(f"CLUSTER SLOTS: expected an array, got {type(reply).__name__}")
        ranges = []
        for entry in reply:
            try:
                start, end = int(entry[0]), int(entry[1])
                master = _node(entry[2], asked_host)
                replicas = tuple(_node(r, asked_host) for r in entry[3:])
            except (TypeError, ValueError, IndexError) as exc:
                raise ProtocolError(f"CLUSTER SLOTS: malformed entry {entry!r:.200}") from exc
            ranges.append((start, end, Shard(master, replicas)))
        return cls.from_ranges(ranges)


def _node(entry: Sequence[Any], asked_host: str) -> Node:
    host = entry[0]
    if isinstance(host, bytes):
        host = host.decode()
    if not host or host == "?":
        host = asked_host
    node_id = entry[2] if len(entry) > 2 else None
    if isinstance(node_id, bytes):
        node_id = node_id.decode()
    return Node(host, int(entry[1]), node_id or None)


def _live_shards(slots: list, shards: tuple[Shard, ...]) -> tuple[Shard, ...]:
    used = {id(s) for s in slots if s is not None}
    return tuple(s for s in shards if id(s) in used)
