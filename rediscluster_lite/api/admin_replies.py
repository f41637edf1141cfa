"""Reply conversions for the server, cluster-admin, ACL and client commands, in redis-py's shapes.

Rules kept here: pure functions of one node's reply (merging several nodes' replies is fanout.py's job); they take
``bytes`` or ``str`` alike (``decode_responses`` either way) and give the Python types redis-py's ``RedisCluster``
gives with its defaults: structural keys as ``str``, user data left as the server sent it."""

from __future__ import annotations

import datetime
from typing import Any


def text(value: Any) -> Any:
    """``bytes`` -> ``str`` (UTF-8, bad bytes replaced); anything else unchanged."""
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray, memoryview)) else value


def texts(reply: Any) -> list:
    return [text(item) for item in reply or ()]


def ok(reply: Any) -> bool:
    return text(reply) == "OK"


# --- INFO ------------------------------------------------------------------------------------------


def _info_value(value: str) -> Any:
    if "," not in value and "=" not in value:
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if "=" not in value:
        return [_info_value(v) for v in value.split(",") if v]
    fields: dict[str, Any] = {}
    for item in value.split(","):
        if not item:
            continue
        if "=" in item:
            name, _, sub = item.rpartition("=")
            fields[name] = _info_value(sub)
        else:
            fields[item] = True
    return fields


def parse_info(reply: Any) -> dict[str, Any]:
    """``INFO`` text -> ``{field: value}``: numbers as int/float, ``a=1,b=2`` as dicts, ``a,b`` as lists."""
    info: dict[str, Any] = {}
    for line in text(reply).splitlines():
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            info.setdefault("__raw__", []).append(line)
            continue
        key, value = line.split(":", 1)
        if key == "cmdstat_host":
            key, value = line.rsplit(":", 1)
        if key == "module":
            info.setdefault("modules", []).append(_info_value(value))
        else:
            info[key] = _info_value(value)
    return info


def config_dict(reply: Any) -> dict[Any, Any]:
    """``CONFIG GET`` -> ``{parameter: value}``, both as ``str``."""
    items = [text(x) for x in reply or ()] if not isinstance(reply, dict) else None
    if items is None:
        return {text(k): text(v) for k, v in reply.items()}
    it = iter(items)
    return dict(zip(it, it))


def unix_datetime(reply: Any) -> datetime.datetime | None:
    """``LASTSAVE`` -> a local naive ``datetime``."""
    if not reply:
        return None
    try:
        return datetime.datetime.fromtimestamp(int(reply))
    except ValueError:
        return None


def time_pair(reply: Any) -> tuple[int, int]:
    return int(reply[0]), int(reply[1])


def debug_object(reply: Any) -> dict[str, Any]:
    fields = dict(kv.split(":", 1) for kv in ("type:" + text(reply)).split())
    parsed: dict[str, Any] = dict(fields)
    for name in ("refcount", "serializedlength", "lru", "lru_seconds_idle"):
        if name in parsed:
            parsed[name] = int(parsed[name])
    return parsed


def _number_or_text(value: Any) -> Any:
    if isinstance(value, (bytes, str)):
        try:
            return float(value)
        except ValueError:
            return text(value)
    return value


def memory_stats(reply: Any) -> dict[str, Any]:
    """``MEMORY STATS`` -> ``{str: int | float | str}``; ``db.N`` entries as dicts of their own.

    The doubles (ratios, percentages) arrive as strings over RESP2; they are floats here, as redis-py's
    default client gives them."""
    it = iter(reply or ())
    stats: dict[str, Any] = {}
    for key, value in zip(it, it):
        name = text(key)
        if name.startswith("db.") and isinstance(value, list):
            sub = iter(value)
            stats[name] = {text(k): v for k, v in zip(sub, sub)}
        else:
            stats[name] = _number_or_text(value)
    return stats


def slowlog_entries(reply: Any) -> list[dict[str, Any]]:
    out = []
    for item in reply or ():
        entry: dict[str, Any] = {"id": item[0], "start_time": int(item[1]), "duration": int(item[2])}
        first, rest = (3, 4) if isinstance(item[3], list) else (4, 5)
        if first == 4:
            entry["complexity"] = item[3]
        words = item[first]
        space = " " if words and isinstance(words[0], str) else b" "
        entry["command"] = space.join(words)
        if len(item) >= rest + 2:
            entry["client_address"], entry["client_name"] = item[rest], item[rest + 1]
        out.append(entry)
    return out


# --- CLIENT ----------------------------------------------------------------------------------------

_CLIENT_INTS = ("id", "age", "idle", "db", "sub", "psub", "multi", "qbuf", "qbuf-free", "obl", "argv-mem", "oll")
_CLIENT_INTS += ("omem", "tot-mem")


def client_fields(reply: Any) -> dict[str, Any]:
    """One ``CLIENT INFO`` line -> ``{field: value}``, the counters redis-py knows as ints."""
    fields: dict[str, Any] = {}
    for item in text(reply).strip().split():
        name, value = item.split("=")
        fields[name] = value
    for name in _CLIENT_INTS:
        if name in fields:
            fields[name] = int(fields[name])
    return fields


def client_list(reply: Any) -> list[dict[str, str]]:
    """``CLIENT LIST`` -> one ``{field: value}`` (all ``str``) per client; a value may hold spaces."""
    clients = []
    for line in text(reply).splitlines():
        fields: dict[str, str] = {}
        last = None
        for token in line.split(" "):
            if "=" in token:
                last, value = token.split("=", 1)
                fields[last] = value
            elif last is not None:
                fields[last] += " " + token
        if fields:
            clients.append(fields)
    return clients


def client_kill(reply: Any) -> bool | int:
    return reply if isinstance(reply, int) else ok(reply)


# --- ACL -------------------------------------------------------------------------------------------


def _words(value: Any) -> list:
    if isinstance(value, (bytes, str)):
        value = text(value).split(" ")
        return [] if value == [""] else value
    return value


def acl_getuser(reply: Any) -> dict[str, Any] | None:
    if reply is None:
        return None
    it = iter(reply)
    data: dict[str, Any] = {text(k): v for k, v in zip(it, it)}
    data["flags"] = texts(data["flags"])
    data["passwords"] = texts(data["passwords"])
    data["keys"] = _words(data["keys"])
    if "channels" in data:
        data["channels"] = _words(data["channels"])
    if data.get("selectors"):
        data["selectors"] = [texts(selector) for selector in data["selectors"]]
    rules = text(data["commands"]).split(" ")
    data["commands"] = [rule for rule in rules if "@" not in rule]
    data["categories"] = [rule for rule in rules if "@" in rule]
    data["enabled"] = "on" in data["flags"]
    return data


def acl_log(reply: Any) -> list[dict[str, Any]] | bool:
    if not isinstance(reply, list):
        return ok(reply)
    entries = []
    for entry in reply:
        it = iter(entry)
        fields: dict[str, Any] = {text(k): text(v) for k, v in zip(it, it)}
        fields["client-info"] = client_fields(fields.get("client-info", ""))
        fields["age-seconds"] = float(fields["age-seconds"])
        entries.append(fields)
    return entries


# --- COMMAND ---------------------------------------------------------------------------------------


def command_table(reply: Any) -> dict[str, dict[str, Any]]:
    """``COMMAND`` / ``COMMAND INFO`` -> ``{name: {"name", "arity", "flags", ...}}`` (unknown names skipped)."""
    table = {}
    for entry in reply or ():
        if entry is None:
            continue
        name = text(entry[0])
        info: dict[str, Any] = {"name": name, "arity": int(entry[1]), "flags": texts(entry[2])}
        info.update(first_key_pos=entry[3], last_key_pos=entry[4], step_count=entry[5])
        if len(entry) > 6:
            info["acl_categories"] = texts(entry[6])
        if len(entry) > 7:
            info.update(tips=entry[7], key_specifications=entry[8], subcommands=entry[9])
        table[name] = info
    return table


def command_docs(reply: Any) -> dict[str, dict[str, Any]]:
    """``COMMAND DOCS`` -> ``{name: {field: value}}`` (field names as ``str``, values as sent)."""
    it = iter(reply or ())
    docs = {}
    for name, fields in zip(it, it):
        pairs = iter(fields)
        docs[text(name)] = {text(k): v for k, v in zip(pairs, pairs)}
    return docs


def pairs(reply: Any) -> dict:
    """A flat ``[name, value, ...]`` list (or a dict) -> a dict, names and values as sent."""
    if isinstance(reply, dict):
        return dict(reply)
    it = iter(reply or ())
    return dict(zip(it, it))
