"""Hashes.

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


class HashCommands(Doors):
    def hset(self, name: Key, key: Any = None, value: Any = None, mapping: Mapping[Any, Any] | None = None) -> int:
        args: list[Any] = [b"HSET", name]
        if key is not None:
            args += [key, value]
        if mapping:
            for k, v in mapping.items():
                args += [k, v]
        if len(args) == 2:
            raise ValueError("hset(): give key and value, or a non-empty mapping")
        return self._keyed(tuple(args), name, False)

    def hsetnx(self, name: Key, key: Any, value: Any) -> bool:
        return self._keyed((b"HSETNX", name, key, value), name, False, replies.as_bool)

    def hget(self, name: Key, key: Any) -> Any:
        return self._keyed((b"HGET", name, key), name, True)

    def hmget(self, name: Key, keys: Iterable[Any], *args: Any) -> list:
        return self._keyed((b"HMGET", name, *flatten(keys, args)), name, True)

    def hgetall(self, name: Key) -> dict:
        return self._keyed((b"HGETALL", name), name, True, replies.pairs_to_dict)

    def hdel(self, name: Key, *keys: Any) -> int:
        return self._keyed((b"HDEL", name, *keys), name, False)

    def hexists(self, name: Key, key: Any) -> bool:
        return self._keyed((b"HEXISTS", name, key), name, True, replies.as_bool)

    def hincrby(self, name: Key, key: Any, amount: int = 1) -> int:
        return self._keyed((b"HINCRBY", name, key, amount), name, False)

    def hincrbyfloat(self, name: Key, key: Any, amount: float = 1.0) -> float:
        return self._keyed((b"HINCRBYFLOAT", name, key, amount), name, False, float)

    def hkeys(self, name: Key) -> list:
        return self._keyed((b"HKEYS", name), name, True)

    def hvals(self, name: Key) -> list:
        return self._keyed((b"HVALS", name), name, True)

    def hlen(self, name: Key) -> int:
        return self._keyed((b"HLEN", name), name, True)
