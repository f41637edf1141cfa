"""Sets.

Rules kept here: redis-py 8.1's names, parameters and RESP2 reply types, oddities included (``sismember`` and
``smismember`` give the server's 0/1, ``spop`` with a count a list, not a set). Commands over several sets
(``sinter``/``sunion``/``sdiff``, their ``*store``, ``smove``, ``sintercard``) go through ``_multi_keyed``: every
key, the destination too, in one slot, or ``CrossSlotError`` before any I/O, as redis-py's cluster client
refuses them. ``sscan_iter`` walks the cursor through the shell's ``_cursor_iter`` door.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from . import replies
from .base import Doors, Key, flatten

Member = bytes | str | int | float | memoryview


def sscan_reply(reply: Any) -> tuple[int, list]:
    """SSCAN: (next cursor as an int, [member, ...])."""
    cursor, members = reply
    return int(cursor), list(members or ())


# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options).
REPLIES: dict[str, Callable[[Any], Any]] = {
    "SMEMBERS": replies.to_set,
    "SINTER": replies.to_set,
    "SUNION": replies.to_set,
    "SDIFF": replies.to_set,
    "SMOVE": replies.as_bool,
    "SSCAN": sscan_reply,
}


class SetCommands(Doors):
    def sadd(self, name: Key, *values: Member) -> int:
        return self._keyed((b"SADD", name, *values), name, False)

    def srem(self, name: Key, *values: Member) -> int:
        return self._keyed((b"SREM", name, *values), name, False)

    def smembers(self, name: Key) -> set[bytes | str]:
        return self._keyed((b"SMEMBERS", name), name, True, replies.to_set)

    def sismember(self, name: Key, value: Member) -> Literal[0, 1]:
        return self._keyed((b"SISMEMBER", name, value), name, True)

    def smismember(self, name: Key, values: Member | Iterable[Member], *args: Member) -> list[Literal[0, 1]]:
        return self._keyed((b"SMISMEMBER", name, *flatten(values, args)), name, True)

    def scard(self, name: Key) -> int:
        return self._keyed((b"SCARD", name), name, True)

    def spop(self, name: Key, count: int | None = None) -> bytes | str | list[bytes | str] | None:
        """One random member, removed (None for an empty set); with ``count`` a list of up to that many."""
        args = (b"SPOP", name) if count is None else (b"SPOP", name, count)
        return self._keyed(args, name, False)

    def srandmember(self, name: Key, number: int | None = None) -> bytes | str | list[bytes | str] | None:
        args = (b"SRANDMEMBER", name) if number is None else (b"SRANDMEMBER", name, number)
        return self._keyed(args, name, True)

    def smove(self, src: Key, dst: Key, value: Member) -> bool:
        return self._multi_keyed((b"SMOVE", src, dst, value), (src, dst), False, replies.as_bool)

    def sinter(self, keys: Key | Iterable[Key], *args: Key) -> set[bytes | str]:
        names = flatten(keys, args)
        return self._multi_keyed((b"SINTER", *names), tuple(names), True, replies.to_set)

    def sunion(self, keys: Key | Iterable[Key], *args: Key) -> set[bytes | str]:
        names = flatten(keys, args)
        return self._multi_keyed((b"SUNION", *names), tuple(names), True, replies.to_set)

    def sdiff(self, keys: Key | Iterable[Key], *args: Key) -> set[bytes | str]:
        names = flatten(keys, args)
        return self._multi_keyed((b"SDIFF", *names), tuple(names), True, replies.to_set)

    def sinterstore(self, dest: Key, keys: Key | Iterable[Key], *args: Key) -> int:
        names = flatten(keys, args)
        return self._multi_keyed((b"SINTERSTORE", dest, *names), (dest, *names), False)

    def sunionstore(self, dest: Key, keys: Key | Iterable[Key], *args: Key) -> int:
        names = flatten(keys, args)
        return self._multi_keyed((b"SUNIONSTORE", dest, *names), (dest, *names), False)

    def sdiffstore(self, dest: Key, keys: Key | Iterable[Key], *args: Key) -> int:
        names = flatten(keys, args)
        return self._multi_keyed((b"SDIFFSTORE", dest, *names), (dest, *names), False)

    def sintercard(self, numkeys: int, keys: Iterable[Key], limit: int = 0) -> int:
        """How many members the ``numkeys`` sets ``keys`` share, counting up to ``limit`` (0: no limit)."""
        names = tuple(keys)
        return self._multi_keyed((b"SINTERCARD", numkeys, *names, b"LIMIT", limit), names, True)

    def sscan(
        self, name: Key, cursor: int = 0, match: Any = None, count: int | None = None
    ) -> tuple[int, list[bytes | str]]:
        args: list[Any] = [b"SSCAN", name, cursor]
        if match is not None:
            args += [b"MATCH", match]
        if count is not None:
            args += [b"COUNT", count]
        return self._keyed(tuple(args), name, True, sscan_reply)

    def sscan_iter(self, name: Key, match: Any = None, count: int | None = None) -> Iterator[bytes | str]:
        """Every member of the set, SSCAN page by page."""

        def page(cursor: int) -> Any:
            return self.sscan(name, cursor=cursor, match=match, count=count)

        return self._cursor_iter(page, list)
