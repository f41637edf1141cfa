"""Keys of any type: existence, expiry, copying, renaming, sorting; multi-key ones split by slot and merged.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion. Rules kept here:

* ``delete``/``unlink``/``exists``/``touch``/``mget``/``mset`` take keys of any slots: one command per slot,
  merged back (atomic within a slot only). Anything else naming several keys (``copy``, ``rename``, ``msetnx``,
  ``sort`` with ``store`` or ``by``/``get`` patterns) needs them in one slot: ``CrossSlotError`` before I/O.
* Expiries take ``int``/``timedelta`` (relative) or ``int``/``datetime`` (absolute), via ``args``.
* Replies have redis-py's (protocol 2) types: bools where its callbacks give bools, raw replies elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import DataError
from ..multikey import combine_all_ok, combine_in_order, combine_sum
from . import replies
from .args import AbsExpiryT, ExpiryT, millis, seconds, unix_millis, unix_seconds
from .base import Doors, Key, expire_flags, flatten

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(
        ("COPY", "EXPIRE", "EXPIREAT", "PEXPIRE", "PEXPIREAT", "MSETNX", "PERSIST", "RENAMENX"), replies.as_bool
    ),
    "MSET": replies.ok,
    "RENAME": replies.ok,
}


def combine_each_ok(parts: list, replies_: list[Any], count: int) -> list[bool]:
    """mset_nonatomic: one bool per slot's MSET, slots in the order their first key came."""
    return [r == b"OK" or r == "OK" for r in replies_]


def _pairs(mapping: Mapping[Key, Any]) -> list[Any]:
    args: list[Any] = []
    for key, value in mapping.items():
        args += [key, value]
    return args


def _as_int(value: Any, message: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataError(message) from None


def _pattern_key(pattern: Any) -> bool:
    # A BY/GET pattern names keys when it substitutes elements into it ("#" is the element itself).
    text = pattern.decode("utf-8", "replace") if isinstance(pattern, (bytes, bytearray)) else str(pattern)
    return "*" in text and text != "#"


def sort_args(
    command: bytes, name: Key, start: Any, num: Any, by: Any, get: Any, desc: bool, alpha: bool, store: Any
) -> tuple[list[Any], list[Any]]:
    """SORT/SORT_RO's argv and the keys it touches (``name``, ``store``, and the patterns that name keys)."""
    if (start is None) != (num is None):
        raise DataError("sort(): start and num must both be given")
    args: list[Any] = [command, name]
    keys: list[Any] = [name]
    if by is not None:
        args += [b"BY", by]
        keys += [by] if _pattern_key(by) else []
    if start is not None:
        args += [b"LIMIT", start, num]
    patterns = [] if get is None else [get] if isinstance(get, (bytes, str)) else list(get)
    for pattern in patterns:
        args += [b"GET", pattern]
        keys += [pattern] if _pattern_key(pattern) else []
    if desc:
        args.append(b"DESC")
    if alpha:
        args.append(b"ALPHA")
    if store is not None:
        args += [b"STORE", store]
        keys.append(store)
    return args, keys


def _groups(n: int) -> Callable[[Any], Any]:
    def convert(reply: Any) -> Any:
        if not reply:
            return reply
        return list(zip(*[reply[i::n] for i in range(n)]))

    return convert


class KeyCommands(Doors):
    # Keys from any slots: one command per slot, merged back (not atomic across slots).

    def delete(self, *names: Key) -> int:
        return self._split_by_slot(b"DEL", names, 1, False, combine_sum)

    def unlink(self, *names: Key) -> int:
        return self._split_by_slot(b"UNLINK", names, 1, False, combine_sum)

    def exists(self, *names: Key) -> int:
        return self._split_by_slot(b"EXISTS", names, 1, True, combine_sum)

    def touch(self, *names: Key) -> int:
        return self._split_by_slot(b"TOUCH", names, 1, True, combine_sum)

    def mget(self, keys: Key | Iterable[Key], *args: Key) -> list[bytes | str | None]:
        """Values of ``keys`` in order (``None`` for missing ones), from any slots."""
        return self._mget(flatten(keys, args))

    def mget_nonatomic(self, keys: Key | Iterable[Key], *args: Key) -> list[bytes | str | None]:
        """``mget`` (which already splits by slot), under redis-py's cluster name."""
        return self._mget(flatten(keys, args))

    def _mget(self, keys: Sequence[Any]) -> Any:
        # One MGET per slot. The client overrides this with a faster plan for keys alone in their slots.
        return self._split_by_slot(b"MGET", keys, 1, True, combine_in_order)

    def mset(self, mapping: Mapping[Key, Any]) -> bool:
        """Set every pair, from any slots. Each slot's part is atomic; the whole is not."""
        return self._split_by_slot(b"MSET", _pairs(mapping), 2, False, combine_all_ok)

    def mset_nonatomic(self, mapping: Mapping[Key, Any]) -> list[bool]:
        """One MSET per slot, as redis-py's: a bool per slot, slots in the order their first key came."""
        return self._split_by_slot(b"MSET", _pairs(mapping), 2, False, combine_each_ok)

    def msetnx(self, mapping: Mapping[Key, Any]) -> bool:
        """All-or-nothing, so every key must share one slot (``CrossSlotError`` otherwise)."""
        args = _pairs(mapping)
        return self._multi_keyed((b"MSETNX", *args), tuple(args[::2]), False, replies.as_bool)

    def copy(self, source: Key, destination: Key, destination_db: str | None = None, replace: bool = False) -> bool:
        args: list[Any] = [b"COPY", source, destination]
        if destination_db is not None:
            args += [b"DB", destination_db]
        if replace:
            args.append(b"REPLACE")
        return self._multi_keyed(tuple(args), (source, destination), False, replies.as_bool)

    def dump(self, name: Key) -> bytes | None:
        return self._keyed((b"DUMP", name), name, True)

    def restore(
        self,
        name: Key,
        ttl: float,
        value: bytes,
        replace: bool = False,
        absttl: bool = False,
        idletime: int | None = None,
        frequency: int | None = None,
    ) -> bytes | str:
        """Recreate a key from ``dump``'s payload; the server's ``OK`` as it is (redis-py has no callback)."""
        args: list[Any] = [b"RESTORE", name, ttl, value]
        if replace:
            args.append(b"REPLACE")
        if absttl:
            args.append(b"ABSTTL")
        if idletime is not None:
            args += [b"IDLETIME", _as_int(idletime, "restore(): idletime must be an integer")]
        if frequency is not None:
            args += [b"FREQ", _as_int(frequency, "restore(): frequency must be an integer")]
        return self._keyed(tuple(args), name, False)

    def expire(
        self, name: Key, time: ExpiryT, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        args = (b"EXPIRE", name, seconds(time, "time"), *expire_flags(nx, xx, gt, lt))
        return self._keyed(args, name, False, replies.as_bool)

    def pexpire(
        self, name: Key, time: ExpiryT, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        args = (b"PEXPIRE", name, millis(time, "time"), *expire_flags(nx, xx, gt, lt))
        return self._keyed(args, name, False, replies.as_bool)

    def expireat(
        self, name: Key, when: AbsExpiryT, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        args = (b"EXPIREAT", name, unix_seconds(when, "when"), *expire_flags(nx, xx, gt, lt))
        return self._keyed(args, name, False, replies.as_bool)

    def pexpireat(
        self, name: Key, when: AbsExpiryT, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        args = (b"PEXPIREAT", name, unix_millis(when, "when"), *expire_flags(nx, xx, gt, lt))
        return self._keyed(args, name, False, replies.as_bool)

    def expiretime(self, key: Key) -> int:
        return self._keyed((b"EXPIRETIME", key), key, True)

    def pexpiretime(self, key: Key) -> int:
        return self._keyed((b"PEXPIRETIME", key), key, True)

    def persist(self, name: Key) -> bool:
        return self._keyed((b"PERSIST", name), name, False, replies.as_bool)

    def ttl(self, name: Key) -> int:
        return self._keyed((b"TTL", name), name, True)

    def pttl(self, name: Key) -> int:
        return self._keyed((b"PTTL", name), name, True)

    def type(self, name: Key) -> bytes | str:
        return self._keyed((b"TYPE", name), name, True)

    def rename(self, src: Key, dst: Key) -> bool:
        return self._multi_keyed((b"RENAME", src, dst), (src, dst), False, replies.ok)

    def renamenx(self, src: Key, dst: Key) -> bool:
        return self._multi_keyed((b"RENAMENX", src, dst), (src, dst), False, replies.as_bool)

    def object(self, infotype: str, key: Key, **kwargs: Any) -> Any:
        """``OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key``: the server's reply as it is (bytes or an int)."""
        return self._keyed((b"OBJECT", infotype, key), key, True)

    def randomkey(self, **kwargs: Any) -> bytes | str | None:
        """A random key of a random master (``None`` when that master holds none)."""
        return self._keyless((b"RANDOMKEY",), True)

    def sort(
        self,
        name: Key,
        start: int | None = None,
        num: int | None = None,
        by: str | None = None,
        get: list[str] | str | None = None,
        desc: bool = False,
        alpha: bool = False,
        store: Key | None = None,
        groups: bool | None = False,
    ) -> list | int:
        """Sorted elements (tuples of ``len(get)`` with ``groups``), or their count with ``store``."""
        args, keys = sort_args(b"SORT", name, start, num, by, get, desc, alpha, store)
        n = None
        if groups:
            if not get or isinstance(get, (bytes, str)) or len(get) < 2:
                raise DataError('sort(): "groups" needs "get" with at least two patterns')
            n = len(get)
        convert = _groups(n) if n else None
        if len(keys) == 1:
            return self._keyed(tuple(args), name, False, convert)
        return self._multi_keyed(tuple(args), tuple(keys), False, convert)

    def sort_ro(
        self,
        key: Key,
        start: int | None = None,
        num: int | None = None,
        by: str | None = None,
        get: list[str] | str | None = None,
        desc: bool = False,
        alpha: bool = False,
    ) -> list:
        """``SORT_RO``: ``sort`` without ``store``, so it may go to a replica under a read mode."""
        args, keys = sort_args(b"SORT_RO", key, start, num, by, get, desc, alpha, None)
        if len(keys) == 1:
            return self._keyed(tuple(args), key, True)
        return self._multi_keyed(tuple(args), tuple(keys), True)
