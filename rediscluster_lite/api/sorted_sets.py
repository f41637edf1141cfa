"""Sorted sets, blocking pops included.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import replies
from .base import Doors, Key, flatten

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {}


class SortedSetCommands(Doors):
    def zadd(
        self,
        name: Key,
        mapping: Mapping[Any, float],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Any:
        if not mapping:
            raise ValueError("zadd(): mapping must map at least one member to its score")
        if incr and len(mapping) != 1:
            raise ValueError("zadd(incr=True) takes exactly one member")
        options = ((b"NX", nx), (b"XX", xx), (b"GT", gt), (b"LT", lt), (b"CH", ch), (b"INCR", incr))
        flags = [flag for flag, on in options if on]
        args: list[Any] = [b"ZADD", name, *flags]
        for member, score in mapping.items():
            args += [score, member]
        return self._keyed(tuple(args), name, False, replies.float_or_none if incr else None)

    def zrem(self, name: Key, *members: Any) -> int:
        return self._keyed((b"ZREM", name, *members), name, False)

    def zscore(self, name: Key, member: Any) -> float | None:
        return self._keyed((b"ZSCORE", name, member), name, True, replies.float_or_none)

    def zincrby(self, name: Key, amount: float, member: Any) -> float:
        return self._keyed((b"ZINCRBY", name, amount, member), name, False, float)

    def zcard(self, name: Key) -> int:
        return self._keyed((b"ZCARD", name), name, True)

    def zcount(self, name: Key, min: Any, max: Any) -> int:
        return self._keyed((b"ZCOUNT", name, min, max), name, True)

    def zrank(self, name: Key, member: Any) -> int | None:
        return self._keyed((b"ZRANK", name, member), name, True)

    def zrange(
        self, name: Key, start: Any, end: Any, desc: bool = False, withscores: bool = False, byscore: bool = False
    ) -> list:
        args: list[Any] = [b"ZRANGE", name, start, end]
        if byscore:
            args.append(b"BYSCORE")
        if desc:
            args.append(b"REV")
        if withscores:
            args.append(b"WITHSCORES")
        return self._keyed(tuple(args), name, True, replies.with_scores if withscores else None)

    def zrangebyscore(self, name: Key, min: Any, max: Any, withscores: bool = False) -> list:
        args: tuple = (
            (b"ZRANGEBYSCORE", name, min, max, b"WITHSCORES") if withscores else (b"ZRANGEBYSCORE", name, min, max)
        )
        return self._keyed(args, name, True, replies.with_scores if withscores else None)

    def bzpopmin(self, keys: Key | Iterable[Key], timeout: float = 0) -> Any:
        names = flatten(keys, ())
        return self._blocking((b"BZPOPMIN", *names, timeout), names, False, timeout, replies.zpop)

    def bzpopmax(self, keys: Key | Iterable[Key], timeout: float = 0) -> Any:
        names = flatten(keys, ())
        return self._blocking((b"BZPOPMAX", *names, timeout), names, False, timeout, replies.zpop)
