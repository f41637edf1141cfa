"""Stream reply conversions, in redis-py 8.1's protocol-2 shapes.

An entry is ``(id, {field: value})``; XREAD/XREADGROUP give ``[[stream, entries], ...]`` (``[]`` when nothing
came); XINFO replies are dicts with ``str`` keys (values as Redis sends them); XPENDING's summary is a dict and its
detail a list of dicts. These are pure functions of the raw reply.
"""

from __future__ import annotations

from typing import Any

from . import replies

Entry = tuple[Any, dict[Any, Any] | None]


def text(value: Any) -> Any:
    """A bytes key as ``str`` (undecodable bytes replaced), as redis-py's ``str_if_bytes``."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def str_keyed(reply: Any) -> dict[str, Any]:
    if reply is None:
        return {}
    if isinstance(reply, dict):
        return {text(k): v for k, v in reply.items()}
    return {text(k): v for k, v in zip(reply[::2], reply[1::2])}


def entries(reply: Any) -> list[Entry] | None:
    """``[[id, [field, value, ...]], ...]`` as ``[(id, {field: value}), ...]``; a deleted entry is (None, None)."""
    if reply is None:
        return None
    return [(None, None) if e is None else (e[0], replies.pairs_to_dict(e[1])) for e in reply]


def xclaim_by_name(reply: Any) -> list[Any] | None:
    """XCLAIM sent by name: entries converted, but a JUSTID reply (bare ids) as it came (redis-py's callback fails
    on those)."""
    if reply and isinstance(reply[0], (bytes, str)):
        return reply
    return entries(reply)


def claimed_entries(reply: Any) -> list[tuple] | None:
    """XREADGROUP ... CLAIM entries: ``(id, {field: value}, idle, deliveries)`` with the extras as sent."""
    if reply is None:
        return None
    return [(None, None) if e is None else (e[0], replies.pairs_to_dict(e[1]), *e[2:]) for e in reply]


def xread(reply: Any) -> list[list[Any]]:
    if reply is None:
        return []
    if isinstance(reply, dict):
        return [[name, entries(found)] for name, found in reply.items()]
    return [[r[0], entries(r[1])] for r in reply]


def xread_claimed(reply: Any) -> list[list[Any]]:
    if reply is None:
        return []
    return [[r[0], claimed_entries(r[1])] for r in reply]


def list_of_dicts(reply: Any) -> list[dict[str, Any]]:
    return [str_keyed(item) for item in reply]


def xinfo_stream(reply: Any) -> dict[str, Any]:
    data = str_keyed(reply)
    for end in ("first-entry", "last-entry"):
        entry = data.get(end)
        if entry is not None and entry[0] is not None:
            data[end] = (entry[0], replies.pairs_to_dict(entry[1]))
    return data


def xinfo_stream_full(reply: Any) -> dict[str, Any]:
    data = str_keyed(reply)
    data["entries"] = {entry_id: replies.pairs_to_dict(fields) for entry_id, fields in data["entries"]}
    groups = [str_keyed(group) for group in data["groups"]]
    for group in groups:
        consumers = group.get("consumers")
        if consumers and consumers[0] is not None:
            group["consumers"] = [str_keyed(c) for c in consumers]
    data["groups"] = groups
    return data


def xpending(reply: Any) -> dict[str, Any]:
    consumers = [{"name": name, "pending": int(count)} for name, count in reply[3] or []]
    return {"pending": reply[0], "min": reply[1], "max": reply[2], "consumers": consumers}


_PENDING_KEYS = ("message_id", "consumer", "time_since_delivered", "times_delivered")


def xpending_range(reply: Any) -> list[dict[str, Any]]:
    return [dict(zip(_PENDING_KEYS, r)) for r in reply]


def xautoclaim(reply: Any) -> list[Any]:
    """``[next start id, [(id, {field: value}), ...], deleted ids]`` (the last on Redis 7 and later)."""
    converted = list(reply)
    converted[1] = entries(converted[1])
    return converted


def xautoclaim_justid(reply: Any) -> list[Any]:
    return reply[1]


def bool_ok(reply: Any) -> bool:
    return text(reply) == "OK"
