"""Read modes, modelled on Lettuce's ``ReadFrom``: for a shard, the ordered nodes a read may try.

Writes never consult this: they always go to the shard's master.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from .slotmap import Node, Shard

__all__ = ["ReadFrom", "read_candidates"]


class ReadFrom(str, enum.Enum):
    """Where read-only commands go. Accepts the enum or its string (``"replica_preferred"``)."""

    PRIMARY = "primary"
    """Only the master (the default; always up to date)."""
    PRIMARY_PREFERRED = "primary_preferred"
    """The master; its replicas when the master cannot be reached (e.g. while it waits for failover)."""
    REPLICA = "replica"
    """Only replicas; an error when the shard has none reachable."""
    REPLICA_PREFERRED = "replica_preferred"
    """Replicas, spread over them; the master when no replica can be reached."""
    ANY = "any"
    """Any node of the shard, master included, spread evenly."""

    @classmethod
    def parse(cls, value: ReadFrom | str) -> ReadFrom:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_")
            key = _ALIASES.get(key, key)
            try:
                return cls(key)
            except ValueError:
                pass
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown read_from {value!r}; expected one of: {choices}")


_ALIASES = {
    "master": "primary",
    "upstream": "primary",
    "master_preferred": "primary_preferred",
    "upstream_preferred": "primary_preferred",
    "slave": "replica",
    "replica_only": "replica",
    "slave_preferred": "replica_preferred",
    "any_replica": "replica",
}


def _rotate(nodes: tuple[Node, ...], turn: int) -> tuple[Node, ...]:
    if len(nodes) < 2:
        return nodes
    k = turn % len(nodes)
    return nodes[k:] + nodes[:k]


def _primary(shard: Shard, turn: int) -> tuple[Node, ...]:
    return (shard.master,)


def _primary_preferred(shard: Shard, turn: int) -> tuple[Node, ...]:
    return (shard.master, *_rotate(shard.replicas, turn))


def _replica(shard: Shard, turn: int) -> tuple[Node, ...]:
    return _rotate(shard.replicas, turn)


def _replica_preferred(shard: Shard, turn: int) -> tuple[Node, ...]:
    return (*_rotate(shard.replicas, turn), shard.master)


def _any(shard: Shard, turn: int) -> tuple[Node, ...]:
    return _rotate(shard.nodes, turn)


_ORDER: dict[ReadFrom, Callable[[Shard, int], tuple[Node, ...]]] = {
    ReadFrom.PRIMARY: _primary,
    ReadFrom.PRIMARY_PREFERRED: _primary_preferred,
    ReadFrom.REPLICA: _replica,
    ReadFrom.REPLICA_PREFERRED: _replica_preferred,
    ReadFrom.ANY: _any,
}


def read_candidates(mode: ReadFrom, shard: Shard, turn: int = 0) -> tuple[Node, ...]:
    """The nodes to try for a read, best first. ``turn`` rotates among equals to spread load."""
    return _ORDER[mode](shard, turn)
