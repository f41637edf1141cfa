"""Sorted sets of one key: adds, scores, ranks, ranges, removals, pops and ZSCAN.

Each method only builds the argument tuple and names its key; the shell's doors (``base.Doors``) route it, do the
I/O and apply the reply conversion. Names, parameters and reply types are redis-py 8.1's (protocol 2): scores are
floats (or what ``score_cast_func`` makes of them), ``withscores`` gives ``(member, score)`` tuples, and argument
mistakes redis-py refuses are ``DataError`` before any I/O. The multi-key commands are in ``sorted_sets_multi``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..errors import DataError
from . import replies
from .base import Doors, Key

Member = bytes | str | int | float
Score = float | int | str | bytes
Cast = Callable[[Any], Any]


def cast_with(score_cast_func: Cast) -> Cast:
    """``score_cast_func`` as redis-py applies it: straight, or through ``float`` when it refuses ``b"1e+18"``."""
    if score_cast_func is float:
        return float

    def cast(score: Any) -> Any:
        try:
            return score_cast_func(score)
        except (ValueError, TypeError):
            return score_cast_func(float(score))

    return cast


def score_pairs(score_cast_func: Cast = float) -> Cast:
    """A flat ``[member, score, ...]`` reply as ``[(member, score), ...]`` (an empty reply as it came)."""
    cast = cast_with(score_cast_func)

    def convert(reply: Any) -> Any:
        if not reply:
            return reply
        it = iter(reply)
        return list(zip(it, map(cast, it)))

    return convert


_FLOAT_PAIRS = score_pairs(float)


def _rank_with_score(score_cast_func: Cast) -> Cast:
    cast = cast_with(score_cast_func)

    def convert(reply: Any) -> Any:
        return [reply[0], cast(reply[1])] if reply else reply

    return convert


def _zmscore(reply: Any) -> list[float | None]:
    return [None if score is None else float(score) for score in reply]


def _zscan(score_cast_func: Cast) -> Cast:
    cast = cast_with(score_cast_func)

    def convert(reply: Any) -> tuple[int, list[tuple[Any, Any]]]:
        cursor, flat = reply
        it = iter(flat)
        return int(cursor), list(zip(it, map(cast, it)))

    return convert


def _pairs_of(score_cast_func: Cast, withscores: bool) -> Cast | None:
    if not withscores:
        return None
    return _FLOAT_PAIRS if score_cast_func is float else score_pairs(score_cast_func)


def _limit(start: int | None, num: int | None, names: str = "``start`` and ``num``") -> list[Any]:
    if (start is None) != (num is None):
        raise DataError(f"{names} must both be specified")
    return [] if start is None else [b"LIMIT", start, num]


# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks with no options).
REPLIES: dict[str, Callable[[Any], Any]] = {
    "ZSCORE": replies.float_or_none,
    "ZINCRBY": replies.float_or_none,
    "ZMSCORE": _zmscore,
    "ZPOPMIN": _FLOAT_PAIRS,
    "ZPOPMAX": _FLOAT_PAIRS,
    "BZPOPMIN": replies.zpop,
    "BZPOPMAX": replies.zpop,
    "ZSCAN": _zscan(float),
}


class SortedSetCommands(Doors):
    def zadd(
        self,
        name: Key,
        mapping: Mapping[Member, Score],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> int | float | None:
        """ZADD: how many were added (changed with ``ch``); with ``incr`` the new score, None if refused."""
        if not mapping:
            raise DataError("zadd(): mapping must map at least one member to its score")
        if nx and xx:
            raise DataError("zadd(): nx and xx are mutually exclusive")
        if gt and lt:
            raise DataError("zadd(): gt and lt are mutually exclusive")
        if incr and len(mapping) != 1:
            raise DataError("zadd(incr=True) takes exactly one member")
        if nx and (gt or lt):
            raise DataError("zadd(): nx cannot go with gt or lt")
        options = ((b"NX", nx), (b"XX", xx), (b"CH", ch), (b"INCR", incr), (b"GT", gt), (b"LT", lt))
        args: list[Any] = [b"ZADD", name, *(flag for flag, on in options if on)]
        for member, score in mapping.items():
            args += [score, member]
        return self._keyed(tuple(args), name, False, replies.float_or_none if incr else None)

    def zrem(self, name: Key, *values: Member) -> int:
        return self._keyed((b"ZREM", name, *values), name, False)

    def zscore(self, name: Key, value: Member) -> float | None:
        return self._keyed((b"ZSCORE", name, value), name, True, replies.float_or_none)

    def zmscore(self, key: Key, members: list[Member]) -> list[float | None]:
        if not members:
            raise DataError("zmscore(): members must be a non-empty list")
        return self._keyed((b"ZMSCORE", key, *members), key, True, _zmscore)

    def zincrby(self, name: Key, amount: float, value: Member) -> float:
        return self._keyed((b"ZINCRBY", name, amount, value), name, False, replies.float_or_none)

    def zcard(self, name: Key) -> int:
        return self._keyed((b"ZCARD", name), name, True)

    def zcount(self, name: Key, min: Score, max: Score) -> int:
        return self._keyed((b"ZCOUNT", name, min, max), name, True)

    def zlexcount(self, name: Key, min: Member, max: Member) -> int:
        return self._keyed((b"ZLEXCOUNT", name, min, max), name, True)

    def zrank(
        self, name: Key, value: Member, withscore: bool = False, score_cast_func: Cast = float
    ) -> int | list[Any] | None:
        """ZRANK: the rank, or ``[rank, score]`` with ``withscore``; None for a missing member."""
        return self._rank(b"ZRANK", name, value, withscore, score_cast_func)

    def zrevrank(
        self, name: Key, value: Member, withscore: bool = False, score_cast_func: Cast = float
    ) -> int | list[Any] | None:
        return self._rank(b"ZREVRANK", name, value, withscore, score_cast_func)

    def _rank(self, command: bytes, name: Key, value: Member, withscore: bool, score_cast_func: Cast) -> Any:
        if not withscore:
            return self._keyed((command, name, value), name, True)
        return self._keyed((command, name, value, b"WITHSCORE"), name, True, _rank_with_score(score_cast_func))

    def zrange(
        self,
        name: Key,
        start: Score | Member,
        end: Score | Member,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: Cast = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> list[Any]:
        """ZRANGE by rank, score (``byscore``) or lex (``bylex``); plain ``desc`` goes as ZREVRANGE, as redis-py."""
        if desc and not (byscore or bylex) and offset is None and num is None:
            return self.zrevrange(name, start, end, withscores, score_cast_func)  # type: ignore[arg-type]
        args = _range_args(b"ZRANGE", None, name, start, end, desc, byscore, bylex, withscores, offset, num)
        return self._keyed(args, name, True, _pairs_of(score_cast_func, withscores))

    def zrevrange(
        self, name: Key, start: int, end: int, withscores: bool = False, score_cast_func: Cast = float
    ) -> list[Any]:
        args = (b"ZREVRANGE", name, start, end, b"WITHSCORES") if withscores else (b"ZREVRANGE", name, start, end)
        return self._keyed(args, name, True, _pairs_of(score_cast_func, withscores))

    def zrangestore(
        self,
        dest: Key,
        name: Key,
        start: Score | Member,
        end: Score | Member,
        byscore: bool = False,
        bylex: bool = False,
        desc: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> int:
        """ZRANGESTORE into ``dest`` (the same slot as ``name``): how many were stored."""
        args = _range_args(b"ZRANGESTORE", dest, name, start, end, desc, byscore, bylex, False, offset, num)
        return self._multi_keyed(args, (dest, name), False)

    def zrangebylex(
        self, name: Key, min: Member, max: Member, start: int | None = None, num: int | None = None
    ) -> list[Any]:
        return self._keyed((b"ZRANGEBYLEX", name, min, max, *_limit(start, num)), name, True)

    def zrevrangebylex(
        self, name: Key, max: Member, min: Member, start: int | None = None, num: int | None = None
    ) -> list[Any]:
        return self._keyed((b"ZREVRANGEBYLEX", name, max, min, *_limit(start, num)), name, True)

    def zrangebyscore(
        self,
        name: Key,
        min: Score,
        max: Score,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: Cast = float,
    ) -> list[Any]:
        return self._by_score(b"ZRANGEBYSCORE", name, min, max, start, num, withscores, score_cast_func)

    def zrevrangebyscore(
        self,
        name: Key,
        max: Score,
        min: Score,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: Cast = float,
    ) -> list[Any]:
        return self._by_score(b"ZREVRANGEBYSCORE", name, max, min, start, num, withscores, score_cast_func)

    def _by_score(self, command: bytes, name: Key, low: Score, high: Score, *rest: Any) -> Any:
        start, num, withscores, score_cast_func = rest
        args = (command, name, low, high, *_limit(start, num), *((b"WITHSCORES",) if withscores else ()))
        return self._keyed(args, name, True, _pairs_of(score_cast_func, withscores))

    def zremrangebyrank(self, name: Key, min: int, max: int) -> int:
        return self._keyed((b"ZREMRANGEBYRANK", name, min, max), name, False)

    def zremrangebyscore(self, name: Key, min: Score, max: Score) -> int:
        return self._keyed((b"ZREMRANGEBYSCORE", name, min, max), name, False)

    def zremrangebylex(self, name: Key, min: Member, max: Member) -> int:
        return self._keyed((b"ZREMRANGEBYLEX", name, min, max), name, False)

    def zpopmin(self, name: Key, count: int | None = None) -> list[tuple[Any, float]]:
        args = (b"ZPOPMIN", name) if count is None else (b"ZPOPMIN", name, count)
        return self._keyed(args, name, False, _FLOAT_PAIRS)

    def zpopmax(self, name: Key, count: int | None = None) -> list[tuple[Any, float]]:
        args = (b"ZPOPMAX", name) if count is None else (b"ZPOPMAX", name, count)
        return self._keyed(args, name, False, _FLOAT_PAIRS)

    def zrandmember(
        self, key: Key, count: int | None = None, withscores: bool = False
    ) -> bytes | str | list[Any] | None:
        """ZRANDMEMBER: one member (or None), or a list; with ``withscores`` the flat ``[member, score, ...]``
        reply as redis-py leaves it."""
        args: list[Any] = [b"ZRANDMEMBER", key]
        if count is not None:
            args.append(count)
        if withscores:
            args.append(b"WITHSCORES")
        return self._keyed(tuple(args), key, True)

    def zscan(
        self,
        name: Key,
        cursor: int = 0,
        match: Member | None = None,
        count: int | None = None,
        score_cast_func: Cast = float,
    ) -> tuple[int, list[tuple[Any, Any]]]:
        """One ZSCAN page: (next cursor as an int, [(member, score), ...])."""
        args: list[Any] = [b"ZSCAN", name, cursor]
        if match is not None:
            args += [b"MATCH", match]
        if count is not None:
            args += [b"COUNT", count]
        return self._keyed(tuple(args), name, True, _zscan(score_cast_func))

    def zscan_iter(
        self, name: Key, match: Member | None = None, count: int | None = None, score_cast_func: Cast = float
    ) -> Iterator[tuple[Any, Any]]:
        """Every (member, score) of the sorted set, ZSCAN page by page (an async iterator on the asyncio client)."""

        def page(cursor: int) -> Any:
            return self.zscan(name, cursor=cursor, match=match, count=count, score_cast_func=score_cast_func)

        return self._cursor_iter(page, list)


def _range_args(command: bytes, dest: Key | None, name: Key, start: Any, end: Any, *flags: Any) -> tuple:
    desc, byscore, bylex, withscores, offset, num = flags
    if byscore and bylex:
        raise DataError("``byscore`` and ``bylex`` can not be specified together.")
    limit = _limit(offset, num, "``offset`` and ``num``")
    if bylex and withscores:
        raise DataError("``withscores`` not supported in combination with ``bylex``.")
    args: list[Any] = [command] if dest is None else [command, dest]
    args += [name, start, end]
    options = ((b"BYSCORE", byscore), (b"BYLEX", bylex), (b"REV", desc))
    args += [flag for flag, on in options if on]
    args += limit
    if withscores:
        args.append(b"WITHSCORES")
    return tuple(args)
