"""Streams.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import Doors, Key

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {}


class StreamCommands(Doors):
    def xadd(self, name: Key, fields: Mapping[Any, Any], id: Any = "*", maxlen: int | None = None) -> Any:
        args: list[Any] = [b"XADD", name]
        if maxlen is not None:
            args += [b"MAXLEN", b"~", maxlen]
        args.append(id)
        for field, value in fields.items():
            args += [field, value]
        return self._keyed(tuple(args), name, False)

    def xread(self, streams: Mapping[Key, Any], count: int | None = None, block: int | None = None) -> Any:
        """XREAD over ``{stream: last_id}`` (one slot). ``block`` in milliseconds, as Redis takes it."""
        args: list[Any] = [b"XREAD"]
        if count is not None:
            args += [b"COUNT", count]
        if block is not None:
            args += [b"BLOCK", block]
        names = list(streams)
        args += [b"STREAMS", *names, *streams.values()]
        wait = None if block is None else block / 1000
        if wait is None:
            return self._multi_keyed(tuple(args), names, True)
        return self._blocking(tuple(args), names, True, wait)
