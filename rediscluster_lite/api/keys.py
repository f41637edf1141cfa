"""Keys of any type: existence, expiry, renaming; multi-key ones split by slot and merged.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..multikey import combine_all_ok, combine_in_order, combine_sum
from . import replies
from .base import Doors, Key, expire_flags, flatten

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {}


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

    def mget(self, keys: Key | Iterable[Key], *args: Key) -> list:
        """Values of ``keys`` in order (``None`` for missing ones), from any slots."""
        return self._mget(flatten(keys, args))

    def _mget(self, keys: Sequence[Any]) -> Any:
        # One MGET per slot. The client overrides this with a faster plan for keys alone in their slots.
        return self._split_by_slot(b"MGET", keys, 1, True, combine_in_order)

    def mset(self, mapping: Mapping[Key, Any]) -> bool:
        """Set every pair, from any slots. Each slot's part is atomic; the whole is not."""
        args: list[Any] = []
        for key, value in mapping.items():
            args += [key, value]
        return self._split_by_slot(b"MSET", args, 2, False, combine_all_ok)

    def msetnx(self, mapping: Mapping[Key, Any]) -> bool:
        """All-or-nothing, so every key must share one slot (``CrossSlotError`` otherwise)."""
        args: list[Any] = []
        for key, value in mapping.items():
            args += [key, value]
        return self._multi_keyed((b"MSETNX", *args), args[::2], False, replies.as_bool)

    def expire(
        self, name: Key, time: int, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        return self._keyed((b"EXPIRE", name, time, *expire_flags(nx, xx, gt, lt)), name, False, replies.as_bool)

    def pexpire(
        self, name: Key, time: int, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        return self._keyed((b"PEXPIRE", name, time, *expire_flags(nx, xx, gt, lt)), name, False, replies.as_bool)

    def expireat(self, name: Key, when: int) -> bool:
        return self._keyed((b"EXPIREAT", name, when), name, False, replies.as_bool)

    def persist(self, name: Key) -> bool:
        return self._keyed((b"PERSIST", name), name, False, replies.as_bool)

    def ttl(self, name: Key) -> int:
        return self._keyed((b"TTL", name), name, True)

    def pttl(self, name: Key) -> int:
        return self._keyed((b"PTTL", name), name, True)

    def type(self, name: Key) -> Any:
        return self._keyed((b"TYPE", name), name, True)

    def rename(self, src: Key, dst: Key) -> bool | None:
        return self._multi_keyed((b"RENAME", src, dst), (src, dst), False, replies.ok)
