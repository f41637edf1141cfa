"""Streams: appending, reading, trimming and deleting (consumer groups are in ``streams_groups``).

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it, do
the I/O and apply the reply conversion (``stream_replies``). Names, parameters and reply types are redis-py 8.1's
(protocol 2); the argument mistakes redis-py refuses are ``DataError`` before any I/O. XREAD over several streams
needs them in one slot; with ``block`` (milliseconds, as Redis takes it) it goes through ``_blocking``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DataError
from . import stream_replies
from .base import Doors, Key
from .stream_replies import Entry

StreamId = bytes | str | int
Fields = Mapping[Any, Any]

_REF_POLICIES = {"KEEPREF", "DELREF", "ACKED"}

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks with no options).
REPLIES: dict[str, Callable[[Any], Any]] = {
    "XRANGE": stream_replies.entries,
    "XREVRANGE": stream_replies.entries,
    "XREAD": stream_replies.xread,
}


def positive(value: Any, what: str, least: int = 1) -> Any:
    """``value`` unless it is not an int of at least ``least`` (then ``DataError``, as redis-py)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive integer" if least == 1 else "a non-negative integer"
        raise DataError(f"{what} must be {kind}")
    return value


def read_options(command: str, count: int | None, max_count: int | None, max_size: int | None) -> list[Any]:
    """COUNT / MAXCOUNT / MAXSIZE of XREAD and XREADGROUP, checked as redis-py checks them."""
    args: list[Any] = []
    if count is not None:
        args += [b"COUNT", positive(count, f"{command} count")]
    if max_count is not None:
        positive(max_count, f"{command} max_count")
        if count is not None and max_count < count:
            raise DataError(f"{command} max_count must be greater than or equal to count")
        args += [b"MAXCOUNT", max_count]
    if max_size is not None:
        args += [b"MAXSIZE", positive(max_size, f"{command} max_size")]
    return args


def stream_pairs(command: str, streams: Mapping[Key, StreamId]) -> tuple[list[Any], list[Any]]:
    if not isinstance(streams, dict) or not streams:
        raise DataError(f"{command} streams must be a non empty dict")
    names = list(streams)
    return names, [b"STREAMS", *names, *streams.values()]


def _trim_args(maxlen: Any, minid: Any, approximate: bool, limit: int | None, ref_policy: str | None) -> list[Any]:
    if ref_policy is not None and ref_policy not in _REF_POLICIES:
        raise DataError("ref_policy must be one of: KEEPREF, DELREF, ACKED")
    args: list[Any] = [b"MAXLEN" if maxlen is not None else b"MINID"]
    if approximate:
        args.append(b"~")
    args.append(maxlen if maxlen is not None else minid)
    if limit is not None:
        args += [b"LIMIT", limit]
    return args


class StreamCommands(Doors):
    def xadd(
        self,
        name: Key,
        fields: Fields,
        id: StreamId = "*",
        maxlen: int | None = None,
        approximate: bool = True,
        nomkstream: bool = False,
        minid: StreamId | None = None,
        limit: int | None = None,
        ref_policy: str | None = None,
        idmpauto: Any = None,
        idmp: tuple[Any, Any] | None = None,
    ) -> bytes | str | None:
        """XADD: the new entry's id (None with ``nomkstream`` on a missing stream)."""
        if maxlen is not None and minid is not None:
            raise DataError("xadd(): only one of maxlen or minid may be specified")
        if idmpauto is not None and idmp is not None:
            raise DataError("xadd(): only one of idmpauto or idmp may be specified")
        if (idmpauto is not None or idmp is not None) and id != "*":
            raise DataError("xadd(): IDMPAUTO and IDMP can only be used with id='*'")
        if ref_policy is not None and ref_policy not in _REF_POLICIES:
            raise DataError("xadd(): ref_policy must be one of: KEEPREF, DELREF, ACKED")
        args: list[Any] = [b"XADD", name]
        if nomkstream:
            args.append(b"NOMKSTREAM")
        if ref_policy is not None:
            args.append(ref_policy)
        if idmpauto is not None:
            args += [b"IDMPAUTO", idmpauto]
        if idmp is not None:
            if not isinstance(idmp, tuple) or len(idmp) != 2:
                raise DataError("xadd(): idmp must be a tuple of (producer_id, idempotent_id)")
            args += [b"IDMP", *idmp]
        if maxlen is not None:
            positive(maxlen, "XADD maxlen", least=0)
        if maxlen is not None or minid is not None:
            args += _trim_args(maxlen, minid, approximate, None, None)
        if limit is not None:
            args += [b"LIMIT", limit]
        if not isinstance(fields, dict) or not fields:
            raise DataError("xadd(): fields must be a non-empty dict")
        args.append(id)
        for field, value in fields.items():
            args += [field, value]
        return self._keyed(tuple(args), name, False)

    def xlen(self, name: Key) -> int:
        return self._keyed((b"XLEN", name), name, True)

    def xrange(self, name: Key, min: StreamId = "-", max: StreamId = "+", count: int | None = None) -> list[Entry]:
        args = (b"XRANGE", name, min, max)
        if count is not None:
            args += (b"COUNT", positive(count, "XRANGE count"))
        return self._keyed(args, name, True, stream_replies.entries)

    def xrevrange(self, name: Key, max: StreamId = "+", min: StreamId = "-", count: int | None = None) -> list[Entry]:
        args = (b"XREVRANGE", name, max, min)
        if count is not None:
            args += (b"COUNT", positive(count, "XREVRANGE count"))
        return self._keyed(args, name, True, stream_replies.entries)

    def xread(
        self,
        streams: Mapping[Key, StreamId],
        count: int | None = None,
        block: int | None = None,
        max_count: int | None = None,
        max_size: int | None = None,
    ) -> list[list[Any]]:
        """XREAD over ``{stream: last id}`` (one slot): ``[[stream, [(id, {field: value}), ...]], ...]``, ``[]``
        when nothing came. ``block`` in milliseconds (0: forever)."""
        args: list[Any] = [b"XREAD"]
        if block is not None:
            args += [b"BLOCK", positive(block, "XREAD block", least=0)]
        args += read_options("XREAD", count, max_count, max_size)
        names, tail = stream_pairs("XREAD", streams)
        if block is None:
            return self._multi_keyed((*args, *tail), names, True, stream_replies.xread)
        return self._blocking((*args, *tail), names, True, block / 1000, stream_replies.xread)

    def xdel(self, name: Key, *ids: StreamId) -> int:
        return self._keyed((b"XDEL", name, *ids), name, False)

    def xtrim(
        self,
        name: Key,
        maxlen: int | None = None,
        approximate: bool = True,
        minid: StreamId | None = None,
        limit: int | None = None,
        ref_policy: str | None = None,
    ) -> int:
        """XTRIM by ``maxlen`` or ``minid`` (exactly one): how many entries went."""
        if maxlen is not None and minid is not None:
            raise DataError("xtrim(): only one of maxlen or minid may be specified")
        if maxlen is None and minid is None:
            raise DataError("xtrim(): one of maxlen or minid must be specified")
        args = _trim_args(maxlen, minid, approximate, limit, ref_policy)
        if ref_policy is not None:
            args.append(ref_policy)
        return self._keyed((b"XTRIM", name, *args), name, False)
