"""Typed command methods, shared by every client shell (sync today, pipelines and asyncio later).

Each method only builds the argument tuple and names its key(s); the shell's ``_keyed`` /
``_multi_keyed`` / ``_keyless`` decide routing and I/O, then apply the optional reply converter.
Converters follow redis-py's conventions so code moves over easily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import fanout
from .multikey import combine_all_ok, combine_in_order, combine_sum
from .resp import command_head, pack_key, pack_key_value, pack_keyed

__all__ = ["CommandsMixin"]

Key = bytes | str | int | float | memoryview


def _ok(reply: Any) -> bool | None:
    if reply is None:
        return None
    return reply == b"OK" or reply == "OK"


def _bool(reply: Any) -> bool:
    return bool(reply)


def _pairs_to_dict(reply: Any) -> dict:
    if isinstance(reply, dict):
        return reply
    it = iter(reply or ())
    return dict(zip(it, it))


def _to_set(reply: Any) -> set:
    return set(reply or ())


def _float_or_none(reply: Any) -> float | None:
    return None if reply is None else float(reply)


def _with_scores(reply: Any) -> list[tuple[Any, float]]:
    it = iter(reply or ())
    return [(member, float(score)) for member, score in zip(it, it)]


def _tuple_or_none(reply: Any) -> tuple | None:
    return None if reply is None else tuple(reply)


def _zpop(reply: Any) -> tuple | None:
    return None if reply is None else (reply[0], reply[1], float(reply[2]))


def _pong(reply: Any) -> bool:
    return reply == b"PONG" or reply == "PONG"


def _bool_list(reply: Any) -> list[bool]:
    return [bool(x) for x in reply]


_GET = command_head(b"GET", 2)
_SET = command_head(b"SET", 3)


class CommandsMixin:
    """Typed methods. A subclass supplies ``_framed``, ``_multi_keyed``, ``_keyless`` and the others below."""

    def _framed(self, entry: tuple[bytes, int, bool, Callable | None]) -> Any:
        # A single-key command already framed by resp.pack_key/pack_key_value: (packed, slot, readonly,
        # convert). GET and SET come this way directly, skipping the args tuple and the shape checks of _keyed.
        raise NotImplementedError

    def _keyed(self, args: tuple, key: Any, readonly: bool, convert: Callable | None = None) -> Any:
        # Every other single-key command: its argv, and the key it is routed by.
        return self._framed(pack_keyed(args, key, readonly, convert))

    def _multi_keyed(self, args: tuple, keys: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        raise NotImplementedError

    def _keyless(self, args: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        raise NotImplementedError

    def _split_by_slot(self, command: bytes, args: Sequence[Any], step: int, readonly: bool, combine: Callable) -> Any:
        raise NotImplementedError

    def _blocking(
        self, args: tuple, keys: Sequence, readonly: bool, block: float, convert: Callable | None = None
    ) -> Any:
        raise NotImplementedError

    def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Any:
        raise NotImplementedError

    # --- strings -----------------------------------------------------------------------------------

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
            return self._framed(pack_key_value(_SET, name, value, False, _ok))
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
        return self._keyed(tuple(args), name, False, _ok)

    def setnx(self, name: Key, value: Any) -> bool:
        return self._keyed((b"SETNX", name, value), name, False, _bool)

    def setex(self, name: Key, time: int, value: Any) -> bool | None:
        return self._keyed((b"SETEX", name, time, value), name, False, _ok)

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

    # --- keys --------------------------------------------------------------------------------------

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
        return self._mget(_flatten(keys, args))

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
        return self._multi_keyed((b"MSETNX", *args), args[::2], False, _bool)

    def expire(
        self, name: Key, time: int, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        return self._keyed((b"EXPIRE", name, time, *_expire_flags(nx, xx, gt, lt)), name, False, _bool)

    def pexpire(
        self, name: Key, time: int, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        return self._keyed((b"PEXPIRE", name, time, *_expire_flags(nx, xx, gt, lt)), name, False, _bool)

    def expireat(self, name: Key, when: int) -> bool:
        return self._keyed((b"EXPIREAT", name, when), name, False, _bool)

    def persist(self, name: Key) -> bool:
        return self._keyed((b"PERSIST", name), name, False, _bool)

    def ttl(self, name: Key) -> int:
        return self._keyed((b"TTL", name), name, True)

    def pttl(self, name: Key) -> int:
        return self._keyed((b"PTTL", name), name, True)

    def type(self, name: Key) -> Any:
        return self._keyed((b"TYPE", name), name, True)

    def rename(self, src: Key, dst: Key) -> bool | None:
        return self._multi_keyed((b"RENAME", src, dst), (src, dst), False, _ok)

    # --- hashes ------------------------------------------------------------------------------------

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
        return self._keyed((b"HSETNX", name, key, value), name, False, _bool)

    def hget(self, name: Key, key: Any) -> Any:
        return self._keyed((b"HGET", name, key), name, True)

    def hmget(self, name: Key, keys: Iterable[Any], *args: Any) -> list:
        return self._keyed((b"HMGET", name, *_flatten(keys, args)), name, True)

    def hgetall(self, name: Key) -> dict:
        return self._keyed((b"HGETALL", name), name, True, _pairs_to_dict)

    def hdel(self, name: Key, *keys: Any) -> int:
        return self._keyed((b"HDEL", name, *keys), name, False)

    def hexists(self, name: Key, key: Any) -> bool:
        return self._keyed((b"HEXISTS", name, key), name, True, _bool)

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

    # --- lists -------------------------------------------------------------------------------------

    def lpush(self, name: Key, *values: Any) -> int:
        return self._keyed((b"LPUSH", name, *values), name, False)

    def rpush(self, name: Key, *values: Any) -> int:
        return self._keyed((b"RPUSH", name, *values), name, False)

    def lpop(self, name: Key, count: int | None = None) -> Any:
        args = (b"LPOP", name) if count is None else (b"LPOP", name, count)
        return self._keyed(args, name, False)

    def rpop(self, name: Key, count: int | None = None) -> Any:
        args = (b"RPOP", name) if count is None else (b"RPOP", name, count)
        return self._keyed(args, name, False)

    def lrange(self, name: Key, start: int, end: int) -> list:
        return self._keyed((b"LRANGE", name, start, end), name, True)

    def llen(self, name: Key) -> int:
        return self._keyed((b"LLEN", name), name, True)

    def lindex(self, name: Key, index: int) -> Any:
        return self._keyed((b"LINDEX", name, index), name, True)

    def lset(self, name: Key, index: int, value: Any) -> bool | None:
        return self._keyed((b"LSET", name, index, value), name, False, _ok)

    def lrem(self, name: Key, count: int, value: Any) -> int:
        return self._keyed((b"LREM", name, count, value), name, False)

    def ltrim(self, name: Key, start: int, end: int) -> bool | None:
        return self._keyed((b"LTRIM", name, start, end), name, False, _ok)

    # --- sets --------------------------------------------------------------------------------------

    def sadd(self, name: Key, *values: Any) -> int:
        return self._keyed((b"SADD", name, *values), name, False)

    def srem(self, name: Key, *values: Any) -> int:
        return self._keyed((b"SREM", name, *values), name, False)

    def smembers(self, name: Key) -> set:
        return self._keyed((b"SMEMBERS", name), name, True, _to_set)

    def sismember(self, name: Key, value: Any) -> bool:
        return self._keyed((b"SISMEMBER", name, value), name, True, _bool)

    def smismember(self, name: Key, values: Iterable[Any], *args: Any) -> list[bool]:
        return self._keyed((b"SMISMEMBER", name, *_flatten(values, args)), name, True, _bool_list)

    def scard(self, name: Key) -> int:
        return self._keyed((b"SCARD", name), name, True)

    def spop(self, name: Key, count: int | None = None) -> Any:
        args = (b"SPOP", name) if count is None else (b"SPOP", name, count)
        return self._keyed(args, name, False)

    def srandmember(self, name: Key, number: int | None = None) -> Any:
        args = (b"SRANDMEMBER", name) if number is None else (b"SRANDMEMBER", name, number)
        return self._keyed(args, name, True)

    # --- sorted sets -------------------------------------------------------------------------------

    def zadd(
        self,
        name: Key,
        mapping: Mapping[Any, float],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Any:
        if not mapping:
            raise ValueError("zadd(): mapping must map at least one member to its score")
        if incr and len(mapping) != 1:
            raise ValueError("zadd(incr=True) takes exactly one member")
        options = ((b"NX", nx), (b"XX", xx), (b"GT", gt), (b"LT", lt), (b"CH", ch), (b"INCR", incr))
        flags = [flag for flag, on in options if on]
        args: list[Any] = [b"ZADD", name, *flags]
        for member, score in mapping.items():
            args += [score, member]
        return self._keyed(tuple(args), name, False, _float_or_none if incr else None)

    def zrem(self, name: Key, *members: Any) -> int:
        return self._keyed((b"ZREM", name, *members), name, False)

    def zscore(self, name: Key, member: Any) -> float | None:
        return self._keyed((b"ZSCORE", name, member), name, True, _float_or_none)

    def zincrby(self, name: Key, amount: float, member: Any) -> float:
        return self._keyed((b"ZINCRBY", name, amount, member), name, False, float)

    def zcard(self, name: Key) -> int:
        return self._keyed((b"ZCARD", name), name, True)

    def zcount(self, name: Key, min: Any, max: Any) -> int:
        return self._keyed((b"ZCOUNT", name, min, max), name, True)

    def zrank(self, name: Key, member: Any) -> int | None:
        return self._keyed((b"ZRANK", name, member), name, True)

    def zrange(
        self, name: Key, start: Any, end: Any, desc: bool = False, withscores: bool = False, byscore: bool = False
    ) -> list:
        args: list[Any] = [b"ZRANGE", name, start, end]
        if byscore:
            args.append(b"BYSCORE")
        if desc:
            args.append(b"REV")
        if withscores:
            args.append(b"WITHSCORES")
        return self._keyed(tuple(args), name, True, _with_scores if withscores else None)

    def zrangebyscore(self, name: Key, min: Any, max: Any, withscores: bool = False) -> list:
        args: tuple = (
            (b"ZRANGEBYSCORE", name, min, max, b"WITHSCORES") if withscores else (b"ZRANGEBYSCORE", name, min, max)
        )
        return self._keyed(args, name, True, _with_scores if withscores else None)

    # --- blocking commands: the read timeout grows by the command's own timeout --------------------

    def blpop(self, keys: Key | Iterable[Key], timeout: float = 0) -> Any:
        """Pop from the first non-empty list of ``keys`` (one slot), waiting up to ``timeout`` s (0: forever)."""
        names = _flatten(keys, ())
        return self._blocking((b"BLPOP", *names, timeout), names, False, timeout, _tuple_or_none)

    def brpop(self, keys: Key | Iterable[Key], timeout: float = 0) -> Any:
        names = _flatten(keys, ())
        return self._blocking((b"BRPOP", *names, timeout), names, False, timeout, _tuple_or_none)

    def blmove(self, src: Key, dst: Key, timeout: float, src_side: str = "LEFT", dst_side: str = "RIGHT") -> Any:
        return self._blocking((b"BLMOVE", src, dst, src_side, dst_side, timeout), (src, dst), False, timeout)

    def bzpopmin(self, keys: Key | Iterable[Key], timeout: float = 0) -> Any:
        names = _flatten(keys, ())
        return self._blocking((b"BZPOPMIN", *names, timeout), names, False, timeout, _zpop)

    def bzpopmax(self, keys: Key | Iterable[Key], timeout: float = 0) -> Any:
        names = _flatten(keys, ())
        return self._blocking((b"BZPOPMAX", *names, timeout), names, False, timeout, _zpop)

    def xadd(self, name: Key, fields: Mapping[Any, Any], id: Any = "*", maxlen: int | None = None) -> Any:
        args: list[Any] = [b"XADD", name]
        if maxlen is not None:
            args += [b"MAXLEN", b"~", maxlen]
        args.append(id)
        for field, value in fields.items():
            args += [field, value]
        return self._keyed(tuple(args), name, False)

    def xread(self, streams: Mapping[Key, Any], count: int | None = None, block: int | None = None) -> Any:
        """XREAD over ``{stream: last_id}`` (one slot). ``block`` in milliseconds, as Redis takes it."""
        args: list[Any] = [b"XREAD"]
        if count is not None:
            args += [b"COUNT", count]
        if block is not None:
            args += [b"BLOCK", block]
        names = list(streams)
        args += [b"STREAMS", *names, *streams.values()]
        wait = None if block is None else block / 1000
        if wait is None:
            return self._multi_keyed(tuple(args), names, True)
        return self._blocking(tuple(args), names, True, wait)

    # --- scripts and functions: routed by their keys ----------------------------------------------

    def eval(self, script: Any, numkeys: int, *keys_and_args: Any) -> Any:
        return self._script_call(b"EVAL", script, numkeys, keys_and_args, False)

    def evalsha(self, sha: Any, numkeys: int, *keys_and_args: Any) -> Any:
        return self._script_call(b"EVALSHA", sha, numkeys, keys_and_args, False)

    def eval_ro(self, script: Any, numkeys: int, *keys_and_args: Any) -> Any:
        return self._script_call(b"EVAL_RO", script, numkeys, keys_and_args, True)

    def evalsha_ro(self, sha: Any, numkeys: int, *keys_and_args: Any) -> Any:
        return self._script_call(b"EVALSHA_RO", sha, numkeys, keys_and_args, True)

    def fcall(self, function: Any, numkeys: int, *keys_and_args: Any) -> Any:
        return self._script_call(b"FCALL", function, numkeys, keys_and_args, False)

    def fcall_ro(self, function: Any, numkeys: int, *keys_and_args: Any) -> Any:
        return self._script_call(b"FCALL_RO", function, numkeys, keys_and_args, True)

    def _script_call(self, command: bytes, body: Any, numkeys: int, rest: tuple, readonly: bool) -> Any:
        if isinstance(numkeys, bool) or not isinstance(numkeys, int) or not 0 <= numkeys <= len(rest):
            raise ValueError(f"{command.decode()}: numkeys must be an int between 0 and {len(rest)}")
        args = (command, body, numkeys, *rest)
        if numkeys == 0:
            return self._keyless(args, readonly)
        return self._multi_keyed(args, rest[:numkeys], readonly)

    # --- keyless, and fan-out to many nodes (``target_nodes``: see fanout.py) -----------------------

    def ping(self, target_nodes: Any = None) -> bool:
        """PING one master chosen at random, or every node of ``target_nodes`` (true if all answer)."""
        if target_nodes is None:
            return self._keyless((b"PING",), False, _pong)
        return self._fanout((b"PING",), target_nodes, fanout.all_pong)

    def keys(self, pattern: Any = "*", target_nodes: Any = fanout.PRIMARIES) -> list:
        """KEYS on every master, concatenated. Blocks each node while it runs: prefer scan_iter()."""
        return self._fanout((b"KEYS", pattern), target_nodes, fanout.concatenated)

    def dbsize(self, target_nodes: Any = fanout.PRIMARIES) -> int:
        """Keys in the cluster: the masters' DBSIZE, summed."""
        return self._fanout((b"DBSIZE",), target_nodes, fanout.total)

    def flushall(self, asynchronous: bool = False, target_nodes: Any = fanout.PRIMARIES) -> bool:
        args = (b"FLUSHALL", b"ASYNC") if asynchronous else (b"FLUSHALL",)
        return self._fanout(args, target_nodes, fanout.all_ok)

    def flushdb(self, asynchronous: bool = False, target_nodes: Any = fanout.PRIMARIES) -> bool:
        args = (b"FLUSHDB", b"ASYNC") if asynchronous else (b"FLUSHDB",)
        return self._fanout(args, target_nodes, fanout.all_ok)

    def info(self, section: Any = None, target_nodes: Any = fanout.ALL) -> dict[str, dict]:
        """``{"host:port": {field: value}}`` for every node of ``target_nodes``."""
        args = (b"INFO",) if section is None else (b"INFO", section)
        return self._fanout(args, target_nodes, fanout.infos)

    def config_get(self, pattern: Any = "*", target_nodes: Any = fanout.PRIMARIES) -> dict[str, dict]:
        """``{"host:port": {parameter: value}}`` per node (settings may differ between nodes)."""
        return self._fanout((b"CONFIG", b"GET", pattern), target_nodes, fanout.config_maps)

    def config_set(self, name: Any, value: Any, target_nodes: Any = fanout.ALL) -> bool:
        return self._fanout((b"CONFIG", b"SET", name, value), target_nodes, fanout.all_ok)

    def script_load(self, script: Any, target_nodes: Any = fanout.ALL) -> Any:
        """Cache a script on every node (replicas too, so a promoted one has it); returns its SHA1."""
        return self._fanout((b"SCRIPT", b"LOAD", script), target_nodes, fanout.the_same)

    def script_exists(self, *shas: Any, target_nodes: Any = fanout.PRIMARIES) -> list[bool]:
        return self._fanout((b"SCRIPT", b"EXISTS", *shas), target_nodes, fanout.all_have)

    def script_flush(self, target_nodes: Any = fanout.ALL) -> bool:
        return self._fanout((b"SCRIPT", b"FLUSH"), target_nodes, fanout.all_ok)

    def function_load(self, code: Any, replace: bool = False, target_nodes: Any = fanout.PRIMARIES) -> Any:
        """Load a function library on every master (replicas get it by replication); returns its name."""
        args = (b"FUNCTION", b"LOAD", b"REPLACE", code) if replace else (b"FUNCTION", b"LOAD", code)
        return self._fanout(args, target_nodes, fanout.the_same)

    def function_flush(self, target_nodes: Any = fanout.PRIMARIES) -> bool:
        return self._fanout((b"FUNCTION", b"FLUSH"), target_nodes, fanout.all_ok)

    def echo(self, value: Any) -> Any:
        return self._keyless((b"ECHO", value), False)

    # --- pub/sub (publishing; subscribing is ``client.pubsub()``) ---------------------------------

    def publish(self, channel: Any, message: Any) -> int:
        """Classic PUBLISH: sent to one master; the cluster bus carries it to every node's subscribers.

        Returns the number of subscribers *on the node that received it* (Redis Cluster's semantics).
        """
        return self._keyless((b"PUBLISH", channel, message), False)

    def spublish(self, channel: Any, message: Any) -> int:
        """Sharded SPUBLISH: routed like a key to the master owning the channel's slot."""
        return self._keyed((b"SPUBLISH", channel, message), channel, False)


def _expire_flags(nx: bool, xx: bool, gt: bool, lt: bool) -> list[bytes]:
    return [f for f, on in ((b"NX", nx), (b"XX", xx), (b"GT", gt), (b"LT", lt)) if on]


def _flatten(first: Any, rest: tuple) -> list:
    if isinstance(first, (bytes, str, int, float, memoryview)):
        return [first, *rest]
    return [*first, *rest]
