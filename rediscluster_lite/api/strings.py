"""Strings: GET/SET and their relatives, with redis-py's names, parameters and (protocol 2) reply types.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion. Rules kept here:

* Plain ``get(name)`` and ``set(name, value)`` stay on the framed fast path (``pack_key``/``pack_key_value``);
  any option takes the general ``_keyed`` door.
* Expiries take ``int`` or ``timedelta`` (relative) and ``int`` or ``datetime`` (absolute), via ``args``;
  options redis-py refuses together are a ``DataError`` before any I/O.
* ``lcs`` names two keys, so both must share one slot (``CrossSlotError`` otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..resp import command_head, pack_key, pack_key_value
from . import replies
from .args import AbsExpiryT, ExpiryT, exclusive, millis, seconds, unix_millis, unix_seconds
from .base import Doors, Key

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {
    "SETNX": replies.as_bool,
    "SETEX": replies.as_bool,
    "PSETEX": replies.as_bool,
    "INCRBYFLOAT": float,
}

_GET = command_head(b"GET", 2)
_SET = command_head(b"SET", 3)

Value = bytes | bytearray | memoryview | str | int | float


def expiry_flags(ex: ExpiryT | None, px: ExpiryT | None, exat: AbsExpiryT | None, pxat: AbsExpiryT | None) -> list[Any]:
    """The one expiry option given (callers check there is at most one), as ``[b"EX", seconds]`` etc."""
    if ex is not None:
        return [b"EX", seconds(ex, "ex")]
    if px is not None:
        return [b"PX", millis(px, "px")]
    if exat is not None:
        return [b"EXAT", unix_seconds(exat, "exat")]
    if pxat is not None:
        return [b"PXAT", unix_millis(pxat, "pxat")]
    return []


def _set_condition(nx: bool, xx: bool, ifeq: Any, ifne: Any, ifdeq: Any, ifdne: Any) -> list[Any]:
    exclusive("set", nx=nx, xx=xx, ifeq=ifeq, ifne=ifne, ifdeq=ifdeq, ifdne=ifdne)
    if nx:
        return [b"NX"]
    if xx:
        return [b"XX"]
    for word, value in ((b"IFEQ", ifeq), (b"IFNE", ifne), (b"IFDEQ", ifdeq), (b"IFDNE", ifdne)):
        if value is not None:
            return [word, value]
    return []


class StringCommands(Doors):
    def get(self, name: Key) -> bytes | str | None:
        return self._framed(pack_key(_GET, name, True, None))

    def set(
        self,
        name: Key,
        value: Value,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        ifeq: bytes | str | None = None,
        ifne: bytes | str | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
    ) -> bool | bytes | str | None:
        """``SET``; True when set, None when a condition prevented it (the old value instead with ``get``)."""
        if (
            ex is None
            and px is None
            and not (nx or xx or keepttl or get)
            and exat is None
            and pxat is None
            and ifeq is None
            and ifne is None
            and ifdeq is None
            and ifdne is None
        ):
            return self._framed(pack_key_value(_SET, name, value, False, replies.ok))
        exclusive("set", ex=ex, px=px, exat=exat, pxat=pxat, keepttl=keepttl)
        args: list[Any] = [b"SET", name, value, *_set_condition(nx, xx, ifeq, ifne, ifdeq, ifdne)]
        if get:
            args.append(b"GET")
        args += expiry_flags(ex, px, exat, pxat)
        if keepttl:
            args.append(b"KEEPTTL")
        return self._keyed(tuple(args), name, False, None if get else replies.ok)

    def setnx(self, name: Key, value: Value) -> bool:
        return self._keyed((b"SETNX", name, value), name, False, replies.as_bool)

    def setex(self, name: Key, time: ExpiryT, value: Value) -> bool:
        return self._keyed((b"SETEX", name, seconds(time, "time"), value), name, False, replies.as_bool)

    def psetex(self, name: Key, time_ms: ExpiryT, value: Value) -> bool:
        return self._keyed((b"PSETEX", name, millis(time_ms, "time_ms"), value), name, False, replies.as_bool)

    def getset(self, name: Key, value: Value) -> bytes | str | None:
        return self._keyed((b"GETSET", name, value), name, False)

    def getdel(self, name: Key) -> bytes | str | None:
        return self._keyed((b"GETDEL", name), name, False)

    def getex(
        self,
        name: Key,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
    ) -> bytes | str | None:
        """The value, setting (or with ``persist`` dropping) its expiry at the same time."""
        exclusive("getex", ex=ex, px=px, exat=exat, pxat=pxat, persist=persist)
        args = [b"GETEX", name, *expiry_flags(ex, px, exat, pxat)]
        if persist:
            args.append(b"PERSIST")
        return self._keyed(tuple(args), name, False)

    def incr(self, name: Key, amount: int = 1) -> int:
        return self._keyed((b"INCRBY", name, amount), name, False)

    def incrby(self, name: Key, amount: int = 1) -> int:
        return self._keyed((b"INCRBY", name, amount), name, False)

    def decr(self, name: Key, amount: int = 1) -> int:
        return self._keyed((b"DECRBY", name, amount), name, False)

    def decrby(self, name: Key, amount: int = 1) -> int:
        return self._keyed((b"DECRBY", name, amount), name, False)

    def incrbyfloat(self, name: Key, amount: float = 1.0) -> float:
        return self._keyed((b"INCRBYFLOAT", name, amount), name, False, float)

    def append(self, key: Key, value: Value) -> int:
        return self._keyed((b"APPEND", key, value), key, False)

    def strlen(self, name: Key) -> int:
        return self._keyed((b"STRLEN", name), name, True)

    def getrange(self, key: Key, start: int, end: int) -> bytes | str:
        return self._keyed((b"GETRANGE", key, start, end), key, True)

    def substr(self, name: Key, start: int, end: int = -1) -> bytes | str:
        return self._keyed((b"SUBSTR", name, start, end), name, True)

    def setrange(self, name: Key, offset: int, value: Value) -> int:
        return self._keyed((b"SETRANGE", name, offset, value), name, False)

    def lcs(
        self,
        key1: Key,
        key2: Key,
        len: bool | None = False,
        idx: bool | None = False,
        minmatchlen: int | None = 0,
        withmatchlen: bool | None = False,
    ) -> bytes | str | int | list:
        """The longest common subsequence of two strings (its length with ``len``, its matches with ``idx``)."""
        args: list[Any] = [b"LCS", key1, key2]
        if len:
            args.append(b"LEN")
        if idx:
            args.append(b"IDX")
        if minmatchlen:
            args += [b"MINMATCHLEN", minmatchlen]
        if withmatchlen:
            args.append(b"WITHMATCHLEN")
        return self._multi_keyed(tuple(args), (key1, key2), True)
