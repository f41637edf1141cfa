"""Cluster introspection (``CLUSTER ...``), client connections (``CLIENT ...``) and ACLs, with node targeting.

Rules kept here:

* As in server.py: one master unless ``target_nodes`` names nodes (:func:`server.on_nodes`), replies in redis-py's
  shapes (``CLUSTER NODES`` as ``{"host:port": {...}}``, ``CLUSTER SLOTS`` as ``{(start, end): {...}}`` ...).
* A command about one slot (``cluster_countkeysinslot``, ``cluster_get_keys_in_slot``) goes to the slot's owner;
  a slot outside 0..16383 is a ``DataError`` before I/O.
* ACL users are per node (Redis Cluster does not spread them): ``acl_setuser`` and ``acl_deluser`` change every
  node unless ``target_nodes`` narrows it, so the next read sees the same user wherever it lands. Only cluster
  topology reads live here; the commands that change the topology (MEET, FAILOVER, SETSLOT ...) are not offered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import fanout
from ..errors import DataError
from ..resp import pack_command
from . import admin_replies as ar
from .base import Doors, Key
from .server import TargetNodes, Text, on_nodes

_SLOTS = 16384


def cluster_info(reply: Any) -> dict[str, str]:
    return dict(line.split(":", 1) for line in ar.text(reply).splitlines() if line)


def _migration(item: str) -> dict[str, str] | None:
    for arrow, state in (("->-", "migrating"), ("-<-", "importing")):
        if arrow in item:
            slot, node_id = item[1:-1].split(arrow, 1)
            return {"slot": slot, "node_id": node_id, "state": state}
    return None


def _node_line(line: str) -> tuple[str, dict[str, Any]]:
    words = line.split(" ")
    node_id, addr, flags, master_id, ping, pong, epoch, connected = words[:8]
    at = addr.split("@")
    node: dict[str, Any] = {"node_id": node_id, "hostname": at[1].split(",")[1] if len(at) > 1 and "," in at[1] else ""}
    node.update(flags=flags, master_id=master_id, last_ping_sent=ping, last_pong_rcvd=pong, epoch=epoch)
    node.update(slots=[], migrations=[], connected=connected == "connected")
    for item in words[8:]:
        moving = _migration(item)
        if moving is not None:
            node["migrations"].append(moving)
        else:
            node["slots"].append(item.split("-"))
    return at[0], node


def cluster_nodes(reply: Any) -> dict[str, dict[str, Any]]:
    """``CLUSTER NODES``/``CLUSTER REPLICAS`` -> ``{"host:port": {"node_id", "flags", "slots", ...}}``."""
    lines = ar.text(reply).splitlines() if isinstance(reply, (bytes, str)) else [ar.text(x) for x in reply]
    return dict(_node_line(line) for line in lines)


def cluster_slots(reply: Any) -> dict[tuple[int, int], dict[str, Any]]:
    out = {}
    for start, end, primary, *replicas in reply:
        out[start, end] = {
            "primary": (ar.text(primary[0]), primary[1]),
            "replicas": [(ar.text(r[0]), r[1]) for r in replicas],
        }
    return out


def cluster_shards(reply: Any) -> list[dict[str, Any]]:
    """``CLUSTER SHARDS`` -> ``[{"slots": [start, end, ...], "nodes": [{field: value}]}]``, as redis-py's
    default client gives it (node fields as the server sent them)."""
    shards = []
    for shard in reply or ():
        fields = ar.pairs(shard)
        nodes = [ar.pairs(node) for node in fields.get(b"nodes", fields.get("nodes", ()))]
        shards.append({"slots": list(fields.get(b"slots", fields.get("slots", ()))), "nodes": nodes})
    return shards


def _slot(slot: Any) -> int:
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < _SLOTS:
        raise DataError(f"a slot is an int between 0 and {_SLOTS - 1}, not {slot!r}")
    return slot


class ClusterAdminCommands(Doors):
    def cluster_info(self, target_nodes: TargetNodes | None = None) -> dict[str, str]:
        return on_nodes(self, (b"CLUSTER", b"INFO"), target_nodes, cluster_info)

    def cluster_nodes(self, target_nodes: TargetNodes | None = None) -> dict[str, dict[str, Any]]:
        return on_nodes(self, (b"CLUSTER", b"NODES"), target_nodes, cluster_nodes)

    def cluster_replicas(self, node_id: Any, target_nodes: TargetNodes | None = None) -> dict[str, dict[str, Any]]:
        return on_nodes(self, (b"CLUSTER", b"REPLICAS", node_id), target_nodes, cluster_nodes)

    def cluster_slots(self, target_nodes: TargetNodes | None = None) -> dict[tuple[int, int], dict[str, Any]]:
        return on_nodes(self, (b"CLUSTER", b"SLOTS"), target_nodes, cluster_slots)

    def cluster_shards(self, target_nodes: TargetNodes | None = None) -> list[dict[str, Any]]:
        return on_nodes(self, (b"CLUSTER", b"SHARDS"), target_nodes, cluster_shards)

    def cluster_myid(self, target_node: TargetNodes) -> Text:
        """The id of ``target_node`` (required, as in redis-py)."""
        return on_nodes(self, (b"CLUSTER", b"MYID"), target_node)

    def cluster_myshardid(self, target_nodes: TargetNodes | None = None) -> Text:
        """``CLUSTER MYSHARDID`` (Redis 7.2+)."""
        return on_nodes(self, (b"CLUSTER", b"MYSHARDID"), target_nodes)

    def cluster_links(self, target_node: TargetNodes) -> list[list]:
        """``CLUSTER LINKS`` of ``target_node``: one flat ``[field, value, ...]`` list per link."""
        return on_nodes(self, (b"CLUSTER", b"LINKS"), target_node)

    def cluster_keyslot(self, key: Key) -> int:
        """The slot of ``key``, as the server computes it (``rediscluster_lite.key_slot`` does it locally)."""
        return self._keyless((b"CLUSTER", b"KEYSLOT", key), False)

    def cluster_count_failure_report(self, node_id: Any) -> int:
        return self._keyless((b"CLUSTER", b"COUNT-FAILURE-REPORTS", node_id), False)

    def cluster_countkeysinslot(self, slot_id: int) -> int:
        """Keys in a slot, from its master."""
        args = (b"CLUSTER", b"COUNTKEYSINSLOT", _slot(slot_id))
        return self._framed((pack_command(args), slot_id, False, None))

    def cluster_get_keys_in_slot(self, slot: int, num_keys: int) -> list[str]:
        """Up to ``num_keys`` key names of a slot (as ``str``, as redis-py gives them), from its master."""
        args = (b"CLUSTER", b"GETKEYSINSLOT", _slot(slot), num_keys)
        return self._framed((pack_command(args), slot, False, ar.texts))


_CLIENT_TYPES = ("normal", "master", "replica", "pubsub")


class ClientCommands(Doors):
    """``CLIENT ...`` on one pooled connection of one master (or ``target_nodes``): the connection is the
    client's, so a name set here is not the name of the next command's connection."""

    def client_id(self, target_nodes: TargetNodes | None = None) -> int:
        return on_nodes(self, (b"CLIENT", b"ID"), target_nodes)

    def client_getname(self, target_nodes: TargetNodes | None = None) -> str | None:
        return on_nodes(self, (b"CLIENT", b"GETNAME"), target_nodes, ar.text)

    def client_setname(self, name: Any, target_nodes: TargetNodes | None = None) -> bool:
        return on_nodes(self, (b"CLIENT", b"SETNAME", name), target_nodes, ar.ok, fanout.all_true)

    def client_info(self, target_nodes: TargetNodes | None = None) -> dict[str, Any]:
        return on_nodes(self, (b"CLIENT", b"INFO"), target_nodes, ar.client_fields)

    def client_list(
        self, _type: str | None = None, client_id: list[Any] | None = None, target_nodes: TargetNodes | None = None
    ) -> list[dict[str, str]]:
        args: list[Any] = [b"CLIENT", b"LIST"]
        if _type is not None:
            if str(_type).lower() not in _CLIENT_TYPES:
                raise DataError(f"CLIENT LIST _type must be one of {_CLIENT_TYPES!r}")
            args += [b"TYPE", _type]
        if client_id is not None and not isinstance(client_id, list):
            raise DataError("client_id must be a list")
        if client_id:
            args += [b"ID", *client_id]
        return on_nodes(self, tuple(args), target_nodes, ar.client_list)

    def client_kill(self, address: Any, target_nodes: TargetNodes | None = None) -> bool | int:
        return on_nodes(self, (b"CLIENT", b"KILL", address), target_nodes, ar.client_kill)

    def client_kill_filter(
        self,
        _id: Any = None,
        _type: str | None = None,
        addr: Any = None,
        skipme: bool | None = None,
        laddr: Any = None,
        user: Any = None,
        maxage: int | None = None,
        target_nodes: TargetNodes | None = None,
    ) -> int:
        args: list[Any] = []
        if _type is not None:
            if str(_type).lower() not in (*_CLIENT_TYPES, "slave"):
                raise DataError(f"CLIENT KILL type must be one of {(*_CLIENT_TYPES, 'slave')!r}")
            args += [b"TYPE", _type]
        if skipme is not None:
            if not isinstance(skipme, bool):
                raise DataError("CLIENT KILL skipme must be a bool")
            args += [b"SKIPME", b"YES" if skipme else b"NO"]
        for word, value in ((b"ID", _id), (b"ADDR", addr), (b"LADDR", laddr), (b"USER", user), (b"MAXAGE", maxage)):
            if value is not None:
                args += [word, value]
        if not args:
            raise DataError("CLIENT KILL needs at least one filter")
        return on_nodes(self, (b"CLIENT", b"KILL", *args), target_nodes, ar.client_kill)


def _encoded(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _prefixed(values: Iterable[Any], what: str, plus: bytes, minus: bytes) -> list[bytes]:
    out = []
    for i, value in enumerate(values):
        word = _encoded(value)
        if word[:1] == b"+":
            out.append(plus + word[1:])
        elif word[:1] == b"-":
            out.append(minus + word[1:])
        else:
            raise DataError(f'{what} {i} must be prefixed with a "+" to add or a "-" to remove')
    return out


def _key_pattern(key: Any) -> bytes:
    word = _encoded(key)
    return word if word[:1] in (b"%", b"~") else b"~" + word


def _rule(command: Any) -> bytes:
    word = _encoded(command)
    if word[:1] not in (b"+", b"-"):
        raise DataError(f'Command "{word.decode(errors="replace")}" must be prefixed with "+" or "-"')
    return word


def _category(category: Any) -> bytes:
    word = _encoded(category)
    if word[:1] not in (b"+", b"-"):
        raise DataError(f'Category "{word.decode(errors="replace")}" must be prefixed with "+" or "-"')
    return word if word[1:2] == b"@" else word[:1] + b"@" + word[1:]


def _as_list(value: Any) -> list:
    return [value] if isinstance(value, (str, bytes)) else list(value)


class AclCommands(Doors):
    def acl_whoami(self, target_nodes: TargetNodes | None = None) -> str:
        return on_nodes(self, (b"ACL", b"WHOAMI"), target_nodes, ar.text)

    def acl_list(self, target_nodes: TargetNodes | None = None) -> list[str]:
        return on_nodes(self, (b"ACL", b"LIST"), target_nodes, ar.texts)

    def acl_users(self, target_nodes: TargetNodes | None = None) -> list[str]:
        return on_nodes(self, (b"ACL", b"USERS"), target_nodes, ar.texts)

    def acl_cat(self, category: str | None = None, target_nodes: TargetNodes | None = None) -> list[str]:
        args = (b"ACL", b"CAT", category) if category else (b"ACL", b"CAT")
        return on_nodes(self, args, target_nodes, ar.texts)

    def acl_help(self, target_nodes: TargetNodes | None = None) -> list[str]:
        return on_nodes(self, (b"ACL", b"HELP"), target_nodes, ar.texts)

    def acl_genpass(self, bits: int | None = None, target_nodes: TargetNodes | None = None) -> str:
        if bits is None:
            return on_nodes(self, (b"ACL", b"GENPASS"), target_nodes, ar.text)
        try:
            number = int(bits)
        except ValueError:
            number = -1
        if not 0 <= number <= 4096:
            raise DataError("genpass optionally accepts a bits argument, between 0 and 4096.")
        return on_nodes(self, (b"ACL", b"GENPASS", number), target_nodes, ar.text)

    def acl_getuser(self, username: Any, target_nodes: TargetNodes | None = None) -> dict[str, Any] | None:
        return on_nodes(self, (b"ACL", b"GETUSER", username), target_nodes, ar.acl_getuser)

    def acl_dryrun(self, username: Any, *args: Any, target_nodes: TargetNodes | None = None) -> Text:
        return on_nodes(self, (b"ACL", b"DRYRUN", username, *args), target_nodes)

    def acl_log(self, count: int | None = None, target_nodes: TargetNodes | None = None) -> list[dict[str, Any]]:
        if count is not None and not isinstance(count, int):
            raise DataError("ACL LOG count must be an integer")
        args = (b"ACL", b"LOG") if count is None else (b"ACL", b"LOG", count)
        return on_nodes(self, args, target_nodes, ar.acl_log)

    def acl_log_reset(self, target_nodes: TargetNodes = fanout.ALL) -> bool:
        return on_nodes(self, (b"ACL", b"LOG", b"RESET"), target_nodes, ar.ok, fanout.all_true)

    def acl_deluser(self, *username: Any, target_nodes: TargetNodes = fanout.ALL) -> int:
        """Delete users on every node; the count is the largest any node deleted."""
        return on_nodes(self, (b"ACL", b"DELUSER", *username), target_nodes, None, fanout.largest)

    def acl_setuser(
        self,
        username: Any,
        enabled: bool = False,
        nopass: bool = False,
        passwords: Any = None,
        hashed_passwords: Any = None,
        categories: Iterable[Any] | None = None,
        commands: Iterable[Any] | None = None,
        keys: Iterable[Any] | None = None,
        channels: Iterable[Any] | None = None,
        selectors: Iterable[tuple[Any, Any]] | None = None,
        reset: bool = False,
        reset_keys: bool = False,
        reset_channels: bool = False,
        reset_passwords: bool = False,
        target_nodes: TargetNodes = fanout.ALL,
    ) -> bool:
        """Create or change a user on every node (``target_nodes`` to narrow it), as redis-py builds the rules."""
        flags = ((b"reset", reset), (b"resetkeys", reset_keys), (b"resetchannels", reset_channels))
        pieces: list[Any] = [word for word, on in (*flags, (b"resetpass", reset_passwords)) if on]
        pieces.append(b"on" if enabled else b"off")
        if (passwords or hashed_passwords) and nopass:
            raise DataError("Cannot set 'nopass' and supply 'passwords' or 'hashed_passwords'")
        if passwords:
            pieces += _prefixed(_as_list(passwords), "Password", b">", b"<")
        if hashed_passwords:
            pieces += _prefixed(_as_list(hashed_passwords), "Hashed password", b"#", b"!")
        if nopass:
            pieces.append(b"nopass")
        pieces += [_category(c) for c in categories or ()]
        pieces += [_rule(c) for c in commands or ()]
        pieces += [_key_pattern(k) for k in keys or ()]
        pieces += [b"&" + _encoded(c) for c in channels or ()]
        pieces += [b"(%s %s)" % (_rule(c), _key_pattern(k)) for c, k in selectors or ()]
        return on_nodes(self, (b"ACL", b"SETUSER", username, *pieces), target_nodes, ar.ok, fanout.all_true)


REPLIES: dict[str, Callable[[Any], Any]] = {
    "CLUSTER INFO": cluster_info,
    "CLUSTER NODES": cluster_nodes,
    "CLUSTER REPLICAS": cluster_nodes,
    "CLUSTER SLOTS": cluster_slots,
    "CLUSTER SHARDS": cluster_shards,
    "CLUSTER GETKEYSINSLOT": ar.texts,
    "CLIENT GETNAME": ar.text,
    "CLIENT SETNAME": ar.ok,
    "CLIENT INFO": ar.client_fields,
    "CLIENT LIST": ar.client_list,
    "CLIENT KILL": ar.client_kill,
    "ACL WHOAMI": ar.text,
    "ACL LIST": ar.texts,
    "ACL USERS": ar.texts,
    "ACL CAT": ar.texts,
    "ACL HELP": ar.texts,
    "ACL GENPASS": ar.text,
    "ACL GETUSER": ar.acl_getuser,
    "ACL LOG": ar.acl_log,
    "ACL SETUSER": ar.ok,
}
