"""A command mixin whose doors record what a method would send, with no client and no I/O: for tests of the
argv a method builds, the keys it routes by, and the argument errors it raises before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rediscluster_lite.api import CommandsMixin


class Sent:
    """One recorded call: which door, the argv (bytes command name first), the routing keys, read-only-ness."""

    def __init__(self, door: str, args: tuple, keys: tuple, readonly: bool, convert: Callable | None) -> None:
        self.door, self.args, self.keys, self.readonly, self.convert = door, args, keys, readonly, convert

    def __repr__(self) -> str:
        return f"Sent({self.door}, {self.args!r}, keys={self.keys!r}, readonly={self.readonly})"


class Recorder(CommandsMixin):
    """``Recorder().zadd("z", {"a": 1})`` returns the ``Sent`` it would have sent."""

    def _keyed(self, args: tuple, key: Any, readonly: bool, convert: Callable | None = None) -> Sent:
        return Sent("keyed", args, (key,), readonly, convert)

    def _framed(self, entry: tuple) -> Sent:
        raise AssertionError("GET and SET frame themselves; test them live")

    def _multi_keyed(self, args: tuple, keys: Sequence, readonly: bool, convert: Callable | None = None) -> Sent:
        return Sent("multi_keyed", args, tuple(keys), readonly, convert)

    def _keyless(self, args: tuple, readonly: bool, convert: Callable | None = None) -> Sent:
        return Sent("keyless", args, (), readonly, convert)

    def _split_by_slot(self, command: bytes, args: Sequence[Any], step: int, readonly: bool, combine: Callable) -> Sent:
        return Sent("split_by_slot", (command, *args), tuple(args[::step]), readonly, None)

    def _blocking(
        self, args: tuple, keys: Sequence, readonly: bool, block: float, convert: Callable | None = None
    ) -> Sent:
        return Sent("blocking", args, tuple(keys), readonly, convert)

    def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Sent:
        return Sent("fanout", args, (), False, None)

    def _mget(self, keys: Sequence[Any]) -> Sent:
        return Sent("mget", (b"MGET", *keys), tuple(keys), True, None)
