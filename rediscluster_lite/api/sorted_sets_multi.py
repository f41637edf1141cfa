"""Sorted-set commands over several keys: ZUNION/ZINTER/ZDIFF and their STORE forms, ZINTERCARD, ZMPOP and the
blocking pops.

Every key of one call must share a slot (``CrossSlotError`` before any I/O otherwise, as redis-py's cluster client
refuses them); the blocking ones go through the ``_blocking`` door, whose read timeout grows with ``timeout``.
Parameters and reply types are redis-py 8.1's (protocol 2): ZDIFF and ZRANDMEMBER-like replies (ZMPOP, BZMPOP)
stay as Redis sends them, because redis-py converts none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import DataError
from . import replies
from .base import Doors, Key, flatten
from .sorted_sets import Cast, score_pairs

Keys = Sequence[Key] | Mapping[Key, float]

_AGGREGATES = ("SUM", "MIN", "MAX", "COUNT")

# By-name conversions: these commands' redis-py callbacks all need options, but BZPOPMIN/BZPOPMAX's (in
# ``sorted_sets.REPLIES``).
REPLIES: dict[str, Callable[[Any], Any]] = {}


def _aggregate_args(command: bytes, dest: Key | None, keys: Keys, aggregate: str | None, withscores: bool) -> tuple:
    """``command [dest] numkeys key ... [WEIGHTS w ...] [AGGREGATE a] [WITHSCORES]``: a mapping gives weights."""
    args: list[Any] = [command] if dest is None else [command, dest]
    names = list(keys)
    args += [len(names), *names]
    if isinstance(keys, Mapping):
        weights = list(keys.values())
        if weights:
            args += [b"WEIGHTS", *weights]
    if aggregate:
        if aggregate.upper() not in _AGGREGATES:
            raise DataError("aggregate can be sum, min, max or count.")
        args += [b"AGGREGATE", aggregate]
    if withscores:
        args.append(b"WITHSCORES")
    return tuple(args)


def _min_or_max(min: bool, max: bool) -> bytes:
    if bool(min) == bool(max):
        raise DataError("Either min or max, but not both must be set")
    return b"MIN" if min else b"MAX"


class SortedSetMultiCommands(Doors):
    def zunion(
        self, keys: Keys, aggregate: str | None = None, withscores: bool = False, score_cast_func: Cast = float
    ) -> list[Any]:
        args = _aggregate_args(b"ZUNION", None, keys, aggregate, withscores)
        return self._multi_keyed(args, tuple(keys), True, score_pairs(score_cast_func) if withscores else None)

    def zinter(self, keys: Keys, aggregate: str | None = None, withscores: bool = False) -> list[Any]:
        args = _aggregate_args(b"ZINTER", None, keys, aggregate, withscores)
        return self._multi_keyed(args, tuple(keys), True, score_pairs(float) if withscores else None)

    def zdiff(self, keys: Sequence[Key], withscores: bool = False) -> list[Any]:
        """ZDIFF: the members of the first set not in the others; with ``withscores`` the flat
        ``[member, score, ...]`` reply, as redis-py leaves it."""
        args = _aggregate_args(b"ZDIFF", None, keys, None, withscores)
        return self._multi_keyed(args, tuple(keys), True)

    def zunionstore(self, dest: Key, keys: Keys, aggregate: str | None = None) -> int:
        args = _aggregate_args(b"ZUNIONSTORE", dest, keys, aggregate, False)
        return self._multi_keyed(args, (dest, *keys), False)

    def zinterstore(self, dest: Key, keys: Keys, aggregate: str | None = None) -> int:
        args = _aggregate_args(b"ZINTERSTORE", dest, keys, aggregate, False)
        return self._multi_keyed(args, (dest, *keys), False)

    def zdiffstore(self, dest: Key, keys: Sequence[Key]) -> int:
        return self._multi_keyed((b"ZDIFFSTORE", dest, len(keys), *keys), (dest, *keys), False)

    def zintercard(self, numkeys: int, keys: Sequence[Key], limit: int = 0) -> int:
        return self._multi_keyed((b"ZINTERCARD", numkeys, *keys, b"LIMIT", limit), tuple(keys), True)

    def zmpop(
        self, num_keys: int, keys: Sequence[Key], min: bool = False, max: bool = False, count: int = 1
    ) -> list[Any] | None:
        """ZMPOP: ``[key, [[member, score], ...]]`` (scores as Redis sends them), or None when all are empty."""
        args: list[Any] = [b"ZMPOP", num_keys, *keys, _min_or_max(min, max)]
        if count != 1:
            args += [b"COUNT", count]
        return self._multi_keyed(tuple(args), tuple(keys), False)

    def bzmpop(
        self,
        timeout: float,
        numkeys: int,
        keys: Sequence[Key],
        min: bool = False,
        max: bool = False,
        count: int = 1,
    ) -> list[Any] | None:
        """BZMPOP: as ``zmpop``, waiting up to ``timeout`` seconds (0: forever); None on timeout."""
        args = (b"BZMPOP", timeout, numkeys, *keys, _min_or_max(min, max), b"COUNT", count)
        return self._blocking(args, list(keys), False, timeout)

    def bzpopmin(self, keys: Key | Iterable[Key], timeout: float | None = 0) -> tuple[Any, Any, float] | None:
        """BZPOPMIN: (key, member, score) from the first non-empty set, waiting ``timeout`` s (0: forever)."""
        return self._bzpop(b"BZPOPMIN", keys, timeout)

    def bzpopmax(self, keys: Key | Iterable[Key], timeout: float | None = 0) -> tuple[Any, Any, float] | None:
        return self._bzpop(b"BZPOPMAX", keys, timeout)

    def _bzpop(self, command: bytes, keys: Key | Iterable[Key], timeout: float | None) -> Any:
        wait = 0 if timeout is None else timeout
        names = flatten(keys, ())
        return self._blocking((command, *names, wait), names, False, wait, replies.zpop)
