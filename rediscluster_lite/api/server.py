"""Keyless commands, fan-out to many nodes (``target_nodes``: see fanout.py), publishing.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import fanout
from . import replies
from .base import Doors

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {}


class ServerCommands(Doors):
    def ping(self, target_nodes: Any = None) -> bool:
        """PING one master chosen at random, or every node of ``target_nodes`` (true if all answer)."""
        if target_nodes is None:
            return self._keyless((b"PING",), False, replies.pong)
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

    def publish(self, channel: Any, message: Any) -> int:
        """Classic PUBLISH: sent to one master; the cluster bus carries it to every node's subscribers.

        Returns the number of subscribers *on the node that received it* (Redis Cluster's semantics).
        """
        return self._keyless((b"PUBLISH", channel, message), False)

    def spublish(self, channel: Any, message: Any) -> int:
        """Sharded SPUBLISH: routed like a key to the master owning the channel's slot."""
        return self._keyed((b"SPUBLISH", channel, message), channel, False)
