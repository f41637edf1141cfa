"""Lists, blocking pops included (their read timeout grows by the command's own).

Rules kept here: redis-py 8.1's names, parameters and RESP2 reply types. A command naming more than one key
(``lmove``, ``rpoplpush``, ``lmpop``, ``blpop`` ...) goes through ``_multi_keyed``/``_blocking``: all its keys
must share one slot, or ``CrossSlotError`` before any I/O, as redis-py's cluster client refuses them too. A
blocking timeout of None means 0 (wait forever), as in redis-py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import replies
from .base import Doors, Key, flatten

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options).
REPLIES: dict[str, Callable[[Any], Any]] = {
    "LSET": replies.ok,
    "LTRIM": replies.ok,
    "BLPOP": replies.tuple_or_none,
    "BRPOP": replies.tuple_or_none,
}

Value = bytes | str | int | float | memoryview
Popped = bytes | str | list[bytes | str] | None
# LMPOP/BLMPOP: [list name, [popped values]], or None when every list was empty.
MultiPopped = list[Any] | None


def _pop(command: bytes, name: Key, count: int | None) -> tuple:
    return (command, name) if count is None else (command, name, count)


class ListCommands(Doors):
    def lpush(self, name: Key, *values: Value) -> int:
        return self._keyed((b"LPUSH", name, *values), name, False)

    def rpush(self, name: Key, *values: Value) -> int:
        return self._keyed((b"RPUSH", name, *values), name, False)

    def lpushx(self, name: Key, *values: Value) -> int:
        return self._keyed((b"LPUSHX", name, *values), name, False)

    def rpushx(self, name: Key, *values: Value) -> int:
        return self._keyed((b"RPUSHX", name, *values), name, False)

    def lpop(self, name: Key, count: int | None = None) -> Popped:
        """One value (None for an empty list); with ``count`` a list of up to that many (None when empty)."""
        return self._keyed(_pop(b"LPOP", name, count), name, False)

    def rpop(self, name: Key, count: int | None = None) -> Popped:
        return self._keyed(_pop(b"RPOP", name, count), name, False)

    def lrange(self, name: Key, start: int, end: int) -> list[bytes | str]:
        return self._keyed((b"LRANGE", name, start, end), name, True)

    def llen(self, name: Key) -> int:
        return self._keyed((b"LLEN", name), name, True)

    def lindex(self, name: Key, index: int) -> bytes | str | None:
        return self._keyed((b"LINDEX", name, index), name, True)

    def lset(self, name: Key, index: int, value: Value) -> bool:
        return self._keyed((b"LSET", name, index, value), name, False, replies.ok)

    def lrem(self, name: Key, count: int, value: Value) -> int:
        return self._keyed((b"LREM", name, count, value), name, False)

    def ltrim(self, name: Key, start: int, end: int) -> bool:
        return self._keyed((b"LTRIM", name, start, end), name, False, replies.ok)

    def linsert(self, name: Key, where: str, refvalue: Value, value: Value) -> int:
        """LINSERT ``where`` ("BEFORE"/"AFTER") ``refvalue``: the new length, -1 when ``refvalue`` is absent."""
        return self._keyed((b"LINSERT", name, where, refvalue, value), name, False)

    def lpos(
        self,
        name: Key,
        value: Value,
        rank: int | None = None,
        count: int | None = None,
        maxlen: int | None = None,
    ) -> int | list[int] | None:
        """The index of ``value`` (None if absent); with ``count`` a list of indexes."""
        args: list[Any] = [b"LPOS", name, value]
        for option, given in ((b"RANK", rank), (b"COUNT", count), (b"MAXLEN", maxlen)):
            if given is not None:
                args += [option, given]
        return self._keyed(tuple(args), name, True)

    def lmove(self, first_list: Key, second_list: Key, src: str = "LEFT", dest: str = "RIGHT") -> bytes | str | None:
        return self._multi_keyed((b"LMOVE", first_list, second_list, src, dest), (first_list, second_list), False)

    def blmove(
        self, first_list: Key, second_list: Key, timeout: float, src: str = "LEFT", dest: str = "RIGHT"
    ) -> bytes | str | None:
        args = (b"BLMOVE", first_list, second_list, src, dest, timeout)
        return self._blocking(args, (first_list, second_list), False, timeout)

    def rpoplpush(self, src: Key, dst: Key) -> bytes | str | None:
        return self._multi_keyed((b"RPOPLPUSH", src, dst), (src, dst), False)

    def brpoplpush(self, src: Key, dst: Key, timeout: float | None = 0) -> bytes | str | None:
        timeout = timeout or 0
        return self._blocking((b"BRPOPLPUSH", src, dst, timeout), (src, dst), False, timeout)

    def lmpop(self, num_keys: int, *args: Key, direction: str, count: int | None = 1) -> MultiPopped:
        """LMPOP from the first non-empty list of ``args`` (one slot): [name, [values]], or None."""
        argv: list[Any] = [b"LMPOP", num_keys, *args, direction]
        if count != 1:
            argv += [b"COUNT", count]
        return self._multi_keyed(tuple(argv), args, False)

    def blmpop(self, timeout: float, numkeys: int, *args: Key, direction: str, count: int | None = 1) -> MultiPopped:
        """BLMPOP: as ``lmpop``, waiting up to ``timeout`` seconds (0: forever)."""
        argv = (b"BLMPOP", timeout, numkeys, *args, direction, b"COUNT", count)
        return self._blocking(argv, args, False, timeout)

    def blpop(self, keys: Key | Iterable[Key], timeout: float | None = 0) -> tuple[bytes | str, bytes | str] | None:
        """Pop from the first non-empty list of ``keys`` (one slot), waiting up to ``timeout`` s (0: forever):
        (list name, value), or None on timeout."""
        names = flatten(keys, ())
        timeout = timeout or 0
        return self._blocking((b"BLPOP", *names, timeout), names, False, timeout, replies.tuple_or_none)

    def brpop(self, keys: Key | Iterable[Key], timeout: float | None = 0) -> tuple[bytes | str, bytes | str] | None:
        names = flatten(keys, ())
        timeout = timeout or 0
        return self._blocking((b"BRPOP", *names, timeout), names, False, timeout, replies.tuple_or_none)
