"""Server commands: one node by default, or the nodes of ``target_nodes`` (see fanout.py), merged as redis-py does.

Rules kept here:

* ``target_nodes=None`` (the default of most methods) sends to one master, as redis-py's default node; the reply is
  that node's, converted. Given ``target_nodes``, each node's reply is converted, then merged as redis-py's
  ``RedisCluster`` merges it (``all`` for OK-type replies, ``sum`` for counts), otherwise the bare value for one
  node and ``{"host:port": value}`` for several (:func:`on_nodes`).
* Where redis-py's default would give a wrong cluster-wide answer or change one node only, the default names the
  nodes instead: ``dbsize``/``keys`` ask every master (redis-py asks one), ``config_set``/``config_resetstat``/
  ``config_rewrite``/``slowlog_reset`` go to every node. The reply types stay redis-py's.
* ``readonly``/``readwrite`` are connection state the client owns (read modes): refused with ``ValueError``, as
  ``execute_command`` refuses them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from .. import fanout
from ..commands import refuse_connection_state
from ..errors import DataError
from ..slotmap import Node
from . import admin_replies as ar
from . import replies
from .base import Doors, Key

TargetNodes = str | Node | tuple[str, int] | Sequence[Any]
Text = bytes | str

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it.
REPLIES: dict[str, Callable[[Any], Any]] = {
    "PING": replies.pong,
    "INFO": ar.parse_info,
    "CONFIG GET": ar.config_dict,
    "CONFIG SET": ar.ok,
    "CONFIG RESETSTAT": ar.ok,
    "LASTSAVE": ar.unix_datetime,
    "TIME": ar.time_pair,
    "DEBUG OBJECT": ar.debug_object,
    "MEMORY STATS": ar.memory_stats,
    "SLOWLOG GET": ar.slowlog_entries,
    "SLOWLOG RESET": ar.ok,
    "COMMAND": ar.command_table,
    "COMMAND GETKEYS": ar.texts,
    "FLUSHALL": ar.ok,
    "FLUSHDB": ar.ok,
}


def on_nodes(
    doors: Doors,
    args: tuple,
    target_nodes: Any,
    convert: Callable[[Any], Any] | None = None,
    merge: Callable[[dict[str, Any]], Any] | None = None,
) -> Any:
    """One master (``target_nodes=None``) or the named nodes, converted and merged as the module docstring says."""
    if target_nodes is None:
        if merge is None:
            return doors._keyless(args, False, convert)

        def one(reply: Any) -> Any:
            return merge({"": reply if convert is None else convert(reply)})

        return doors._keyless(args, False, one)
    return doors._fanout(args, target_nodes, fanout.like_redis_py(convert, merge))


class ServerCommands(Doors):
    def ping(self, target_nodes: TargetNodes | None = None) -> bool:
        """PING one master, or every node of ``target_nodes`` (true if all answer)."""
        if target_nodes is None:
            return self._keyless((b"PING",), False, replies.pong)
        return self._fanout((b"PING",), target_nodes, fanout.all_pong)

    def echo(self, value: Any, target_nodes: TargetNodes | None = None) -> Text:
        return on_nodes(self, (b"ECHO", value), target_nodes)

    def time(self, target_nodes: TargetNodes | None = None) -> tuple[int, int]:
        """The server's clock: ``(seconds, microseconds)``."""
        return on_nodes(self, (b"TIME",), target_nodes, ar.time_pair)

    def lastsave(self, target_nodes: TargetNodes | None = None) -> datetime.datetime:
        return on_nodes(self, (b"LASTSAVE",), target_nodes, ar.unix_datetime)

    def keys(self, pattern: Any = "*", target_nodes: TargetNodes = fanout.PRIMARIES) -> list:
        """KEYS on every master, concatenated. Blocks each node while it runs: prefer scan_iter()."""
        return self._fanout((b"KEYS", pattern), target_nodes, fanout.concatenated)

    def dbsize(self, target_nodes: TargetNodes = fanout.PRIMARIES) -> int:
        """Keys in the cluster: the masters' DBSIZE, summed (redis-py's default asks one node)."""
        return self._fanout((b"DBSIZE",), target_nodes, fanout.total)

    def flushall(self, asynchronous: bool = False, target_nodes: TargetNodes = fanout.PRIMARIES) -> bool:
        args = (b"FLUSHALL", b"ASYNC") if asynchronous else (b"FLUSHALL",)
        return self._fanout(args, target_nodes, fanout.all_ok)

    def flushdb(self, asynchronous: bool = False, target_nodes: TargetNodes = fanout.PRIMARIES) -> bool:
        args = (b"FLUSHDB", b"ASYNC") if asynchronous else (b"FLUSHDB",)
        return self._fanout(args, target_nodes, fanout.all_ok)

    def info(self, section: Any = None, *args: Any, target_nodes: TargetNodes | None = None) -> dict[str, Any]:
        """One master's ``INFO`` as ``{field: value}``; with ``target_nodes`` naming several nodes,
        ``{"host:port": {field: value}}``."""
        argv = (b"INFO",) if section is None else (b"INFO", section, *args)
        return on_nodes(self, argv, target_nodes, ar.parse_info)

    def config_get(self, pattern: Any = "*", *args: Any, target_nodes: TargetNodes | None = None) -> dict[str, Any]:
        """One master's settings as ``{parameter: value}`` (``str``); several nodes: ``{"host:port": {...}}``."""
        return on_nodes(self, (b"CONFIG", b"GET", pattern, *args), target_nodes, ar.config_dict)

    def config_set(self, name: Any, value: Any, *args: Any, target_nodes: TargetNodes = fanout.ALL) -> bool:
        """Set on every node (``target_nodes`` to narrow it); true when all said OK."""
        return on_nodes(self, (b"CONFIG", b"SET", name, value, *args), target_nodes, ar.ok, fanout.all_true)

    def config_resetstat(self, target_nodes: TargetNodes = fanout.ALL) -> bool:
        return on_nodes(self, (b"CONFIG", b"RESETSTAT"), target_nodes, ar.ok, fanout.all_true)

    def config_rewrite(self, target_nodes: TargetNodes = fanout.ALL) -> bool:
        return on_nodes(self, (b"CONFIG", b"REWRITE"), target_nodes, None, fanout.all_true)

    def memory_usage(self, key: Key, samples: int | None = None) -> int | None:
        """Bytes the key and its value take (None if there is no such key), from the key's master."""
        args = (
            (b"MEMORY", b"USAGE", key)
            if not isinstance(samples, int)
            else (b"MEMORY", b"USAGE", key, b"SAMPLES", samples)
        )
        return self._keyed(args, key, True)

    def memory_stats(self, target_nodes: TargetNodes | None = None) -> dict[str, Any]:
        return on_nodes(self, (b"MEMORY", b"STATS"), target_nodes, ar.memory_stats)

    def slowlog_get(self, num: int | None = None, target_nodes: TargetNodes | None = None) -> list[dict[str, Any]]:
        args = (b"SLOWLOG", b"GET") if num is None else (b"SLOWLOG", b"GET", num)
        return on_nodes(self, args, target_nodes, ar.slowlog_entries)

    def slowlog_len(self, target_nodes: TargetNodes | None = None) -> int:
        return on_nodes(self, (b"SLOWLOG", b"LEN"), target_nodes)

    def slowlog_reset(self, target_nodes: TargetNodes = fanout.ALL) -> bool:
        return on_nodes(self, (b"SLOWLOG", b"RESET"), target_nodes, ar.ok, fanout.all_true)

    def debug_object(self, key: Key) -> dict[str, Any]:
        """``DEBUG OBJECT`` on the key's master (the server must allow DEBUG: ``enable-debug-command``)."""
        return self._keyed((b"DEBUG", b"OBJECT", key), key, True, ar.debug_object)

    def wait(self, num_replicas: int, timeout: int, target_nodes: TargetNodes | None = None) -> int:
        """``WAIT`` on one pooled connection: it counts the replicas that have that connection's writes."""
        return on_nodes(self, (b"WAIT", num_replicas, timeout), target_nodes, None, fanout.summed)

    def waitaof(self, num_local: int, num_replicas: int, timeout: int, target_nodes: TargetNodes | None = None) -> list:
        """``WAITAOF`` (Redis 7.2+)."""
        return on_nodes(self, (b"WAITAOF", num_local, num_replicas, timeout), target_nodes)

    def readonly(self, target_nodes: TargetNodes | None = None) -> bool:
        """Refused (``ValueError``), as by ``execute_command``: the client sends READONLY itself, per ``read_from``."""
        refuse_connection_state((b"READONLY",))
        raise AssertionError("unreachable")

    def readwrite(self, target_nodes: TargetNodes | None = None) -> bool:
        """Refused (``ValueError``), as by ``execute_command``: use ``read_from='primary'``."""
        refuse_connection_state((b"READWRITE",))
        raise AssertionError("unreachable")

    def publish(self, channel: Any, message: Any) -> int:
        """Classic PUBLISH: sent to one master; the cluster bus carries it to every node's subscribers.

        Returns the number of subscribers *on the node that received it* (Redis Cluster's semantics).
        """
        return self._keyless((b"PUBLISH", channel, message), False)

    def spublish(self, channel: Any, message: Any) -> int:
        """Sharded SPUBLISH: routed like a key to the master owning the channel's slot."""
        return self._keyed((b"SPUBLISH", channel, message), channel, False)


class CommandTableCommands(Doors):
    """``COMMAND`` and its subcommands: the server's command table (one master, as redis-py asks a random one)."""

    def command(self, target_nodes: TargetNodes | None = None) -> dict[str, dict[str, Any]]:
        return on_nodes(self, (b"COMMAND",), target_nodes, ar.command_table)

    def command_count(self, target_nodes: TargetNodes | None = None) -> int:
        return on_nodes(self, (b"COMMAND", b"COUNT"), target_nodes)

    def command_info(self, *command_names: Any, target_nodes: TargetNodes | None = None) -> dict[str, dict[str, Any]]:
        """``COMMAND INFO`` in ``command()``'s shape (redis-py refuses it with NotImplementedError)."""
        return on_nodes(self, (b"COMMAND", b"INFO", *command_names), target_nodes, ar.command_table)

    def command_docs(self, *command_names: Any, target_nodes: TargetNodes | None = None) -> dict[str, dict[str, Any]]:
        """``COMMAND DOCS`` as ``{name: {field: value}}`` (redis-py refuses it with NotImplementedError)."""
        return on_nodes(self, (b"COMMAND", b"DOCS", *command_names), target_nodes, ar.command_docs)

    def command_list(
        self,
        module: str | None = None,
        category: str | None = None,
        pattern: str | None = None,
        target_nodes: TargetNodes | None = None,
    ) -> list[Text]:
        pieces: list[Any] = []
        for word, value in ((b"MODULE", module), (b"ACLCAT", category), (b"PATTERN", pattern)):
            if value is not None:
                pieces += [word, value]
        args = (b"COMMAND", b"LIST", b"FILTERBY", *pieces) if pieces else (b"COMMAND", b"LIST")
        return on_nodes(self, args, target_nodes)

    def command_getkeys(self, *args: Any) -> list[str]:
        if not args:
            raise DataError("command_getkeys() needs a command and its arguments")
        return self._keyless((b"COMMAND", b"GETKEYS", *args), False, ar.texts)

    def command_getkeysandflags(self, *args: Any) -> list[list]:
        if not args:
            raise DataError("command_getkeysandflags() needs a command and its arguments")
        return self._keyless((b"COMMAND", b"GETKEYSANDFLAGS", *args), False)
