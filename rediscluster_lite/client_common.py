"""What the blocking and the asyncio client share besides the typed methods: options from a URL, the read
mode, introspection. Pure code: it reads the client's topology (its ``ClusterState``), never does I/O."""

from __future__ import annotations

from typing import Any

from .keyslot import key_slot
from .readfrom import ReadFrom
from .slotmap import Node, SlotMap
from .urls import parse_url

__all__ = ["ClientCommon"]


class ClientCommon:
    _topology: Any
    _settings: Any

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Any:
        """``redis://[user:password@]host:port[/0][?option=value...]`` (``rediss://`` for TLS with
        verification). Options in the query: ``socket_timeout``, ``connect_timeout`` (seconds),
        ``decode_responses`` (true/false), ``read_from`` (a mode name); keyword arguments win."""
        address, options = parse_url(url)
        for name, value in options.items():
            kwargs.setdefault(name, value)
        return cls([address], **kwargs)

    @property
    def read_from(self) -> ReadFrom:
        """The read mode. Setting it (a :class:`ReadFrom` or its name) takes effect on the next command."""
        return self._topology.read_from

    @read_from.setter
    def read_from(self, mode: ReadFrom | str) -> None:
        self._topology.read_from = ReadFrom.parse(mode)

    def __repr__(self) -> str:
        names = ", ".join(n.name for n in self._topology.slot_map.masters)
        return f"<{type(self).__name__} masters=[{names}] read_from={self.read_from.value} {self._settings!r}>"

    @staticmethod
    def key_slot(key: Any) -> int:
        return key_slot(key)

    @property
    def slot_map(self) -> SlotMap:
        """The current (immutable) slot map."""
        return self._topology.slot_map

    def node_for(self, key: Any) -> Node:
        """The master currently serving ``key``'s slot."""
        shard = self._topology.slot_map.slots[key_slot(key)]
        if shard is None:
            raise LookupError(f"slot {key_slot(key)} is not covered")
        return shard.master
