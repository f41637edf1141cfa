"""Lists, blocking pops included (their read timeout grows by the command's own).

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import replies
from .base import Doors, Key, flatten

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {}


class ListCommands(Doors):
    def lpush(self, name: Key, *values: Any) -> int:
        return self._keyed((b"LPUSH", name, *values), name, False)

    def rpush(self, name: Key, *values: Any) -> int:
        return self._keyed((b"RPUSH", name, *values), name, False)

    def lpop(self, name: Key, count: int | None = None) -> Any:
        args = (b"LPOP", name) if count is None else (b"LPOP", name, count)
        return self._keyed(args, name, False)

    def rpop(self, name: Key, count: int | None = None) -> Any:
        args = (b"RPOP", name) if count is None else (b"RPOP", name, count)
        return self._keyed(args, name, False)

    def lrange(self, name: Key, start: int, end: int) -> list:
        return self._keyed((b"LRANGE", name, start, end), name, True)

    def llen(self, name: Key) -> int:
        return self._keyed((b"LLEN", name), name, True)

    def lindex(self, name: Key, index: int) -> Any:
        return self._keyed((b"LINDEX", name, index), name, True)

    def lset(self, name: Key, index: int, value: Any) -> bool | None:
        return self._keyed((b"LSET", name, index, value), name, False, replies.ok)

    def lrem(self, name: Key, count: int, value: Any) -> int:
        return self._keyed((b"LREM", name, count, value), name, False)

    def ltrim(self, name: Key, start: int, end: int) -> bool | None:
        return self._keyed((b"LTRIM", name, start, end), name, False, replies.ok)

    def blpop(self, keys: Key | Iterable[Key], timeout: float = 0) -> Any:
        """Pop from the first non-empty list of ``keys`` (one slot), waiting up to ``timeout`` s (0: forever)."""
        names = flatten(keys, ())
        return self._blocking((b"BLPOP", *names, timeout), names, False, timeout, replies.tuple_or_none)

    def brpop(self, keys: Key | Iterable[Key], timeout: float = 0) -> Any:
        names = flatten(keys, ())
        return self._blocking((b"BRPOP", *names, timeout), names, False, timeout, replies.tuple_or_none)

    def blmove(self, src: Key, dst: Key, timeout: float, src_side: str = "LEFT", dst_side: str = "RIGHT") -> Any:
        return self._blocking((b"BLMOVE", src, dst, src_side, dst_side, timeout), (src, dst), False, timeout)
