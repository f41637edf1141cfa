"""Stream consumer groups: XGROUP, XREADGROUP, XACK, XCLAIM/XAUTOCLAIM, XPENDING and XINFO.

Each method only builds the argument tuple and names its key (the stream); the shell's doors route it, do the
I/O and apply the conversion of ``stream_replies``. Names, parameters and reply types are redis-py 8.1's
(protocol 2), and the argument mistakes redis-py refuses are ``DataError`` before any I/O. XREADGROUP with
``block`` (milliseconds) goes through ``_blocking``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import DataError
from . import stream_replies
from .base import Doors, Key
from .stream_replies import Entry
from .streams import StreamId, positive, read_options, stream_pairs

Group = bytes | str
Consumer = bytes | str

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks with their
# default options).
REPLIES: dict[str, Callable[[Any], Any]] = {
    "XREADGROUP": stream_replies.xread,
    "XCLAIM": stream_replies.xclaim_by_name,
    "XAUTOCLAIM": stream_replies.xautoclaim,
    "XPENDING": stream_replies.xpending,
    "XGROUP CREATE": stream_replies.bool_ok,
    "XGROUP DESTROY": bool,
    "XGROUP SETID": stream_replies.bool_ok,
    "XINFO STREAM": stream_replies.xinfo_stream,
    "XINFO GROUPS": stream_replies.list_of_dicts,
    "XINFO CONSUMERS": stream_replies.list_of_dicts,
}


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"XCLAIM {what} must be an integer")
    return value


def _not_negative_if_int(value: Any, what: str) -> bool:
    """redis-py's ``int(value) < 0`` check that lets None through: True when ``value`` is to be sent."""
    try:
        if int(value) < 0:
            raise DataError(f"{what} must be a integer >= 0")
    except TypeError:
        return False
    return True


class StreamGroupCommands(Doors):
    def xgroup_create(
        self, name: Key, groupname: Group, id: StreamId = "$", mkstream: bool = False, entries_read: int | None = None
    ) -> bool:
        args: tuple = (b"XGROUP", b"CREATE", name, groupname, id)
        if mkstream:
            args += (b"MKSTREAM",)
        if entries_read is not None:
            args += (b"ENTRIESREAD", entries_read)
        return self._keyed(args, name, False, stream_replies.bool_ok)

    def xgroup_destroy(self, name: Key, groupname: Group) -> bool:
        return self._keyed((b"XGROUP", b"DESTROY", name, groupname), name, False, bool)

    def xgroup_createconsumer(self, name: Key, groupname: Group, consumername: Consumer) -> int:
        return self._keyed((b"XGROUP", b"CREATECONSUMER", name, groupname, consumername), name, False)

    def xgroup_delconsumer(self, name: Key, groupname: Group, consumername: Consumer) -> int:
        return self._keyed((b"XGROUP", b"DELCONSUMER", name, groupname, consumername), name, False)

    def xgroup_setid(self, name: Key, groupname: Group, id: StreamId, entries_read: int | None = None) -> bool:
        args: tuple = (b"XGROUP", b"SETID", name, groupname, id)
        if entries_read is not None:
            args += (b"ENTRIESREAD", entries_read)
        return self._keyed(args, name, False, stream_replies.bool_ok)

    def xreadgroup(
        self,
        groupname: Group,
        consumername: Consumer,
        streams: Mapping[Key, StreamId],
        count: int | None = None,
        block: int | None = None,
        noack: bool = False,
        claim_min_idle_time: int | None = None,
        max_count: int | None = None,
        max_size: int | None = None,
    ) -> list[list[Any]]:
        """XREADGROUP over ``{stream: id}`` (one slot), as ``xread``'s reply; ``block`` in milliseconds."""
        args: list[Any] = [b"XREADGROUP", b"GROUP", groupname, consumername]
        args += read_options("XREADGROUP", count, max_count, max_size)
        if block is not None:
            args += [b"BLOCK", positive(block, "XREADGROUP block", least=0)]
        if noack:
            args.append(b"NOACK")
        convert = stream_replies.xread
        if claim_min_idle_time is not None:
            args += [b"CLAIM", positive(claim_min_idle_time, "XREADGROUP claim_min_idle_time", least=0)]
            convert = stream_replies.xread_claimed
        names, tail = stream_pairs("XREADGROUP", streams)
        if block is None:
            return self._multi_keyed((*args, *tail), names, False, convert)
        return self._blocking((*args, *tail), names, False, block / 1000, convert)

    def xack(self, name: Key, groupname: Group, *ids: StreamId) -> int:
        return self._keyed((b"XACK", name, groupname, *ids), name, False)

    def xclaim(
        self,
        name: Key,
        groupname: Group,
        consumername: Consumer,
        min_idle_time: int,
        message_ids: Sequence[StreamId],
        idle: int | None = None,
        time: int | None = None,
        retrycount: int | None = None,
        force: bool = False,
        justid: bool = False,
    ) -> list[Entry] | list[Any]:
        """XCLAIM: the claimed entries, or only their ids with ``justid``."""
        if isinstance(min_idle_time, bool) or not isinstance(min_idle_time, int) or min_idle_time < 0:
            raise DataError("XCLAIM min_idle_time must be a non negative integer")
        if not isinstance(message_ids, (list, tuple)) or not message_ids:
            raise DataError("XCLAIM message_ids must be a non empty list or tuple of message IDs to claim")
        args: list[Any] = [b"XCLAIM", name, groupname, consumername, min_idle_time, *message_ids]
        for flag, value in ((b"IDLE", idle), (b"TIME", time), (b"RETRYCOUNT", retrycount)):
            if value is not None:
                args += [flag, _whole(value, flag.decode().lower())]
        for flag, on in ((b"FORCE", force), (b"JUSTID", justid)):
            if on:
                if not isinstance(on, bool):
                    raise DataError(f"XCLAIM {flag.decode().lower()} must be a boolean")
                args.append(flag)
        return self._keyed(tuple(args), name, False, None if justid else stream_replies.entries)

    def xautoclaim(
        self,
        name: Key,
        groupname: Group,
        consumername: Consumer,
        min_idle_time: int,
        start_id: StreamId = "0-0",
        count: int | None = None,
        justid: bool = False,
    ) -> list[Any]:
        """XAUTOCLAIM: ``[next start id, entries, deleted ids]``, or only the claimed ids with ``justid``."""
        _not_negative_if_int(min_idle_time, "XAUTOCLAIM min_idle_time")
        args: list[Any] = [b"XAUTOCLAIM", name, groupname, consumername, min_idle_time, start_id]
        if _not_negative_if_int(count, "XPENDING count"):
            args += [b"COUNT", count]
        if justid:
            args.append(b"JUSTID")
        convert = stream_replies.xautoclaim_justid if justid else stream_replies.xautoclaim
        return self._keyed(tuple(args), name, False, convert)

    def xpending(self, name: Key, groupname: Group) -> dict[str, Any]:
        """XPENDING's summary: {"pending", "min", "max", "consumers": [{"name", "pending"}]}."""
        return self._keyed((b"XPENDING", name, groupname), name, True, stream_replies.xpending)

    def xpending_range(
        self,
        name: Key,
        groupname: Group,
        min: StreamId | None,
        max: StreamId | None,
        count: int | None,
        consumername: Consumer | None = None,
        idle: int | None = None,
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """XPENDING's detail: [{"message_id", "consumer", "time_since_delivered", "times_delivered"}]; with no
        range at all, the summary of ``xpending`` (as redis-py)."""
        if min is None and max is None and count is None:
            if idle is not None or consumername is not None:
                raise DataError("xpending_range(): idle or consumername need min, max and count")
            return self.xpending(name, groupname)
        if min is None or max is None or count is None:
            raise DataError("xpending_range(): give min, max and count, or none of them")
        args: list[Any] = [b"XPENDING", name, groupname]
        if _not_negative_if_int(idle, "XPENDING idle"):
            args += [b"IDLE", idle]
        if _not_negative_if_int(count, "XPENDING count"):
            args += [min, max, count]
        if consumername:
            args.append(consumername)
        return self._keyed(tuple(args), name, True, stream_replies.xpending_range)

    def xinfo_stream(self, name: Key, full: bool = False) -> dict[str, Any]:
        """XINFO STREAM as a dict (str keys); with ``full``, entries as {id: fields} and groups as dicts."""
        if full:
            return self._keyed((b"XINFO", b"STREAM", name, b"FULL"), name, True, stream_replies.xinfo_stream_full)
        return self._keyed((b"XINFO", b"STREAM", name), name, True, stream_replies.xinfo_stream)

    def xinfo_groups(self, name: Key) -> list[dict[str, Any]]:
        return self._keyed((b"XINFO", b"GROUPS", name), name, True, stream_replies.list_of_dicts)

    def xinfo_consumers(self, name: Key, groupname: Group) -> list[dict[str, Any]]:
        return self._keyed((b"XINFO", b"CONSUMERS", name, groupname), name, True, stream_replies.list_of_dicts)
