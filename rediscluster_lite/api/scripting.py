"""Scripts and functions: EVAL/FCALL routed by their keys; the script cache and function libraries fan out.

Rules kept here:

* ``eval``/``fcall`` and their variants go to the master of their keys' slot (all keys in one slot, else
  ``CrossSlotError`` before I/O); with no keys, to one master.
* The script cache is per node and not replicated: ``script_load`` and ``script_flush`` reach every node, replicas
  included (a promoted replica then has the script); ``script_exists`` asks the masters and is true for a SHA only
  where every node asked has it.
* Function libraries replicate: ``function_*`` writes go to every master and, as redis-py's cluster client gives
  them, return ``{"host:port": reply}`` (a bare reply when one node is named). ``function_dump`` reads one master.
* ``script_kill``, ``function_kill`` and ``function_stats`` concern the node running a script: they need
  ``target_nodes`` (redis-py cannot send them either without it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import fanout
from ..errors import DataError
from . import admin_replies as ar
from .base import Doors
from .server import TargetNodes, Text, on_nodes

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it.
REPLIES: dict[str, Callable[[Any], Any]] = {
    "SCRIPT EXISTS": lambda reply: [bool(x) for x in reply],
    "SCRIPT FLUSH": ar.ok,
    "SCRIPT KILL": ar.ok,
    "SCRIPT LOAD": ar.text,
    "FUNCTION DELETE": ar.ok,
    "FUNCTION FLUSH": ar.ok,
    "FUNCTION RESTORE": ar.ok,
}


def _needs_target(command: str, target_nodes: Any) -> None:
    if target_nodes is None:
        raise DataError(f"{command} concerns the node running a script: name it with target_nodes=")


class ScriptingCommands(Doors):
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

    # --- the script cache ------------------------------------------------------------------------

    def script_load(self, script: Any, target_nodes: TargetNodes = fanout.ALL) -> str:
        """Cache a script on every node (replicas too, so a promoted one has it); returns its SHA1 (``str``)."""
        return self._fanout((b"SCRIPT", b"LOAD", script), target_nodes, fanout.sha_of_all)

    def script_exists(self, *args: Any, target_nodes: TargetNodes = fanout.PRIMARIES) -> list[bool]:
        """One bool per SHA1: true where every node asked has the script."""
        return self._fanout((b"SCRIPT", b"EXISTS", *args), target_nodes, fanout.all_have)

    def script_flush(self, sync_type: str | None = None, target_nodes: TargetNodes = fanout.ALL) -> bool:
        if sync_type not in ("SYNC", "ASYNC", None):
            raise DataError("script_flush(): sync_type is 'SYNC', 'ASYNC' or None")
        args = (b"SCRIPT", b"FLUSH") if sync_type is None else (b"SCRIPT", b"FLUSH", sync_type)
        return self._fanout(args, target_nodes, fanout.all_ok)

    def script_kill(self, target_nodes: TargetNodes | None = None) -> bool:
        """Stop the read-only script running on ``target_nodes`` (required)."""
        _needs_target("SCRIPT KILL", target_nodes)
        return on_nodes(self, (b"SCRIPT", b"KILL"), target_nodes, ar.ok, fanout.all_true)

    # --- functions -------------------------------------------------------------------------------

    def function_load(
        self, code: Any, replace: bool = False, target_nodes: TargetNodes = fanout.PRIMARIES
    ) -> dict[str, Text] | Text:
        """Load a library on every master (replicas get it by replication): ``{"host:port": library name}``."""
        args = (b"FUNCTION", b"LOAD", b"REPLACE", code) if replace else (b"FUNCTION", b"LOAD", code)
        return self._fanout(args, target_nodes, fanout.like_redis_py())

    def function_delete(self, library: Any, target_nodes: TargetNodes = fanout.PRIMARIES) -> dict[str, bool] | bool:
        """``{"host:port": True}`` from every master."""
        return self._fanout((b"FUNCTION", b"DELETE", library), target_nodes, fanout.like_redis_py(ar.ok))

    def function_flush(
        self, mode: str = "SYNC", target_nodes: TargetNodes = fanout.PRIMARIES
    ) -> dict[str, bool] | bool:
        """``{"host:port": True}`` from every master."""
        return self._fanout((b"FUNCTION", b"FLUSH", mode), target_nodes, fanout.like_redis_py(ar.ok))

    def function_list(
        self, library: Any = "*", withcode: bool = False, target_nodes: TargetNodes = fanout.PRIMARIES
    ) -> dict[str, list] | list:
        """``{"host:port": [library, ...]}``, each library a flat ``[name, value, ...]`` list as the server sends it."""
        args = (b"FUNCTION", b"LIST", b"LIBRARYNAME", library)
        return self._fanout((*args, b"WITHCODE") if withcode else args, target_nodes, fanout.like_redis_py())

    def function_dump(self, target_nodes: TargetNodes | None = None) -> bytes:
        """Every library, serialized, from one master (``function_restore`` takes it)."""
        return on_nodes(self, (b"FUNCTION", b"DUMP"), target_nodes)

    def function_restore(
        self, payload: Any, policy: str | None = "APPEND", target_nodes: TargetNodes = fanout.PRIMARIES
    ) -> dict[str, bool] | bool:
        """``{"host:port": True}`` from every master."""
        args = (b"FUNCTION", b"RESTORE", payload) if policy is None else (b"FUNCTION", b"RESTORE", payload, policy)
        return self._fanout(args, target_nodes, fanout.like_redis_py(ar.ok))

    def function_kill(self, target_nodes: TargetNodes | None = None) -> Text:
        """Stop the read-only function running on ``target_nodes`` (required)."""
        _needs_target("FUNCTION KILL", target_nodes)
        return on_nodes(self, (b"FUNCTION", b"KILL"), target_nodes)

    def function_stats(self, target_nodes: TargetNodes | None = None) -> list | dict[str, list]:
        """``FUNCTION STATS`` of ``target_nodes`` (required), as the server sends it."""
        _needs_target("FUNCTION STATS", target_nodes)
        return on_nodes(self, (b"FUNCTION", b"STATS"), target_nodes)
