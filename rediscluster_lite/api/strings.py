"""Strings: GET/SET and their relatives.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..resp import command_head, pack_key, pack_key_value
from . import replies
from .base import Doors, Key

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {}

_GET = command_head(b"GET", 2)
_SET = command_head(b"SET", 3)


class StringCommands(Doors):
    def get(self, name: Key) -> Any:
        return self._framed(pack_key(_GET, name, True, None))

    def set(
        self,
        name: Key,
        value: Any,
        ex: int | None = None,
        px: int | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
        exat: int | None = None,
        pxat: int | None = None,
    ) -> Any:
        """``SET``; True when set, None when ``nx``/``xx`` prevented it (the old value with ``get``)."""
        if ex is None and px is None and not (nx or xx or keepttl or get) and exat is None and pxat is None:
            return self._framed(pack_key_value(_SET, name, value, False, replies.ok))
        args: list[Any] = [b"SET", name, value]
        if ex is not None:
            args += [b"EX", ex]
        if px is not None:
            args += [b"PX", px]
        if exat is not None:
            args += [b"EXAT", exat]
        if pxat is not None:
            args += [b"PXAT", pxat]
        if keepttl:
            args.append(b"KEEPTTL")
        if nx and xx:
            raise ValueError("set(): nx and xx are mutually exclusive")
        if nx:
            args.append(b"NX")
        if xx:
            args.append(b"XX")
        if get:
            args.append(b"GET")
            return self._keyed(tuple(args), name, False)
        return self._keyed(tuple(args), name, False, replies.ok)

    def setnx(self, name: Key, value: Any) -> bool:
        return self._keyed((b"SETNX", name, value), name, False, replies.as_bool)

    def setex(self, name: Key, time: int, value: Any) -> bool | None:
        return self._keyed((b"SETEX", name, time, value), name, False, replies.ok)

    def getset(self, name: Key, value: Any) -> Any:
        return self._keyed((b"GETSET", name, value), name, False)

    def getdel(self, name: Key) -> Any:
        return self._keyed((b"GETDEL", name), name, False)

    def incr(self, name: Key, amount: int = 1) -> int:
        return self._keyed((b"INCRBY", name, amount), name, False)

    incrby = incr

    def decr(self, name: Key, amount: int = 1) -> int:
        return self._keyed((b"DECRBY", name, amount), name, False)

    decrby = decr

    def incrbyfloat(self, name: Key, amount: float = 1.0) -> float:
        return self._keyed((b"INCRBYFLOAT", name, amount), name, False, float)

    def append(self, name: Key, value: Any) -> int:
        return self._keyed((b"APPEND", name, value), name, False)

    def strlen(self, name: Key) -> int:
        return self._keyed((b"STRLEN", name), name, True)

    def getrange(self, name: Key, start: int, end: int) -> Any:
        return self._keyed((b"GETRANGE", name, start, end), name, True)

    def setrange(self, name: Key, offset: int, value: Any) -> int:
        return self._keyed((b"SETRANGE", name, offset, value), name, False)
