"""Hashes: one key per command, so every method goes through ``_keyed``.

Rules kept here: redis-py 8.1's names, parameters and RESP2 reply types, oddities included (``hsetnx`` gives the
server's 0/1, not a bool; ``hrandfield`` with ``withvalues`` gives the flat field, value, ... list). Argument
errors (``hset``/``hmset`` with nothing to set) are ``DataError`` before any I/O. ``hscan_iter`` walks the cursor
through the shell's ``_cursor_iter`` door (an iterator on the blocking client, an async iterator on asyncio's).
The hash-field expiry commands (Redis 7.4) are left out: the server we test against (7.0) has none of them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..errors import DataError
from . import replies
from .base import Doors, Key, flatten

Field = bytes | str | int | float | memoryview


def hscan_reply(reply: Any) -> tuple[int, dict]:
    """HSCAN: (next cursor as an int, {field: value})."""
    cursor, flat = reply
    return int(cursor), replies.pairs_to_dict(flat)


def hscan_novalues_reply(reply: Any) -> tuple[int, list]:
    """HSCAN NOVALUES: (next cursor as an int, [field, ...])."""
    cursor, fields = reply
    return int(cursor), list(fields or ())


# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``no_values``).
REPLIES: dict[str, Callable[[Any], Any]] = {
    "HGETALL": replies.pairs_to_dict,
    "HEXISTS": replies.as_bool,
    "HMSET": replies.as_bool,
    "HINCRBYFLOAT": float,
    "HSCAN": hscan_reply,
}


def _pairs(mapping: Mapping[Any, Any] | None) -> list[Any]:
    flat: list[Any] = []
    for field, value in (mapping or {}).items():
        flat += [field, value]
    return flat


def hscan_args(name: Key, cursor: int, match: Any, count: int | None, no_values: bool | None) -> tuple:
    args: list[Any] = [b"HSCAN", name, cursor]
    if match is not None:
        args += [b"MATCH", match]
    if count is not None:
        args += [b"COUNT", count]
    if no_values:  # redis-py sends NOVALUES for no_values=False too, then pairs the fields up: we do not
        args.append(b"NOVALUES")
    return tuple(args)


class HashCommands(Doors):
    def hset(
        self,
        name: Key,
        key: Field | None = None,
        value: Any = None,
        mapping: Mapping[Field, Any] | None = None,
        items: Sequence[Any] | None = None,
    ) -> int:
        """HSET: fields from ``items`` (flat field, value, ...), then ``key``/``value``, then ``mapping``."""
        if key is None and not mapping and not items:
            raise DataError("'hset' with no key value pairs")
        args: list[Any] = [b"HSET", name, *(items or ())]
        if key is not None:
            args += [key, value]
        args += _pairs(mapping)
        return self._keyed(tuple(args), name, False)

    def hsetnx(self, name: Key, key: Field, value: Any) -> int:
        return self._keyed((b"HSETNX", name, key, value), name, False)

    def hmset(self, name: Key, mapping: Mapping[Field, Any]) -> bool:
        """HMSET (deprecated by Redis and redis-py: use ``hset(name, mapping=...)``)."""
        warnings.warn("hmset is deprecated: use hset(name, mapping=...)", DeprecationWarning, stacklevel=2)
        if not mapping:
            raise DataError("'hmset' with 'mapping' of length 0")
        return self._keyed((b"HMSET", name, *_pairs(mapping)), name, False, replies.as_bool)

    def hget(self, name: Key, key: Field) -> bytes | str | None:
        return self._keyed((b"HGET", name, key), name, True)

    def hmget(self, name: Key, keys: Field | Iterable[Field], *args: Field) -> list[bytes | str | None]:
        return self._keyed((b"HMGET", name, *flatten(keys, args)), name, True)

    def hgetall(self, name: Key) -> dict[bytes | str, bytes | str]:
        return self._keyed((b"HGETALL", name), name, True, replies.pairs_to_dict)

    def hdel(self, name: Key, *keys: Field) -> int:
        return self._keyed((b"HDEL", name, *keys), name, False)

    def hexists(self, name: Key, key: Field) -> bool:
        return self._keyed((b"HEXISTS", name, key), name, True, replies.as_bool)

    def hincrby(self, name: Key, key: Field, amount: int = 1) -> int:
        return self._keyed((b"HINCRBY", name, key, amount), name, False)

    def hincrbyfloat(self, name: Key, key: Field, amount: float = 1.0) -> float:
        return self._keyed((b"HINCRBYFLOAT", name, key, amount), name, False, float)

    def hkeys(self, name: Key) -> list[bytes | str]:
        return self._keyed((b"HKEYS", name), name, True)

    def hvals(self, name: Key) -> list[bytes | str]:
        return self._keyed((b"HVALS", name), name, True)

    def hlen(self, name: Key) -> int:
        return self._keyed((b"HLEN", name), name, True)

    def hstrlen(self, name: Key, key: Field) -> int:
        return self._keyed((b"HSTRLEN", name, key), name, True)

    def hrandfield(
        self, key: Key, count: int | None = None, withvalues: bool = False
    ) -> bytes | str | list[bytes | str] | None:
        """HRANDFIELD: one field (None for a missing hash); with ``count`` a list, with ``withvalues`` the flat
        field, value, ... list, as redis-py gives it."""
        args: list[Any] = [b"HRANDFIELD", key]
        if count is not None:
            args.append(count)
        if withvalues:
            args.append(b"WITHVALUES")
        return self._keyed(tuple(args), key, True)

    def hscan(
        self,
        name: Key,
        cursor: int = 0,
        match: Any = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> tuple[int, dict[bytes | str, bytes | str]] | tuple[int, list[bytes | str]]:
        """HSCAN: (next cursor, {field: value}); with ``no_values`` (next cursor, [field, ...])."""
        convert = hscan_reply if not no_values else hscan_novalues_reply
        return self._keyed(hscan_args(name, cursor, match, count, no_values), name, True, convert)

    def hscan_iter(
        self, name: Key, match: Any = None, count: int | None = None, no_values: bool | None = None
    ) -> Iterator[tuple[bytes | str, bytes | str] | bytes | str]:
        """Every (field, value) of the hash (every field with ``no_values``), HSCAN page by page."""

        def page(cursor: int) -> Any:
            return self.hscan(name, cursor=cursor, match=match, count=count, no_values=no_values)

        return self._cursor_iter(page, list if no_values else _dict_items)


def _dict_items(page: dict) -> list:
    return list(page.items())
