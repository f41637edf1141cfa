"""Scripts and functions, routed by their keys; loading and flushing fan out.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Doors

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options); a typed method may convert differently where its arguments ask for it (``withscores``).
REPLIES: dict[str, Callable[[Any], Any]] = {}


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
