"""Sets.

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


class SetCommands(Doors):
    def sadd(self, name: Key, *values: Any) -> int:
        return self._keyed((b"SADD", name, *values), name, False)

    def srem(self, name: Key, *values: Any) -> int:
        return self._keyed((b"SREM", name, *values), name, False)

    def smembers(self, name: Key) -> set:
        return self._keyed((b"SMEMBERS", name), name, True, replies.to_set)

    def sismember(self, name: Key, value: Any) -> bool:
        return self._keyed((b"SISMEMBER", name, value), name, True, replies.as_bool)

    def smismember(self, name: Key, values: Iterable[Any], *args: Any) -> list[bool]:
        return self._keyed((b"SMISMEMBER", name, *flatten(values, args)), name, True, replies.bool_list)

    def scard(self, name: Key) -> int:
        return self._keyed((b"SCARD", name), name, True)

    def spop(self, name: Key, count: int | None = None) -> Any:
        args = (b"SPOP", name) if count is None else (b"SPOP", name, count)
        return self._keyed(args, name, False)

    def srandmember(self, name: Key, number: int | None = None) -> Any:
        args = (b"SRANDMEMBER", name) if number is None else (b"SRANDMEMBER", name, number)
        return self._keyed(args, name, True)
