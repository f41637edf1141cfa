"""Lua scripts by SHA1, loaded on demand on whichever node runs them.

``EVALSHA`` first; a ``NOSCRIPT`` reply means nothing ran on that node (a new node, a restarted one, a
promoted replica, a flushed script cache), so the script is sent whole with ``EVAL``, which also caches it
there. No fan-out ``SCRIPT LOAD`` is needed, and failover needs no special case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from .errors import ResponseError

__all__ = ["Script", "AsyncScript"]


class Script:
    """``client.register_script(source)``; call it with ``keys`` (one slot) and ``args``."""

    def __init__(self, client: Any, source: str | bytes) -> None:
        self.client = client
        self.source = source.encode() if isinstance(source, str) else bytes(source)
        self.sha = hashlib.sha1(self.source).hexdigest()

    def __repr__(self) -> str:
        return f"<Script sha={self.sha}>"

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = (), client: Any = None) -> Any:
        target = client if client is not None else self.client
        if getattr(target, "queues_commands", False):
            # A pipeline cannot react to NOSCRIPT in the middle of its batch: send the body.
            return target.eval(self.source, len(keys), *keys, *args)
        try:
            return target.evalsha(self.sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if exc.code != "NOSCRIPT":
                raise
        return target.eval(self.source, len(keys), *keys, *args)


class AsyncScript(Script):
    """``async_client.register_script(source)``: ``await script(keys, args)``; EVALSHA, then EVAL on
    NOSCRIPT (a new, restarted or promoted node), as :class:`Script`."""

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = (), client: Any = None) -> Any:  # type: ignore[override]
        target = client if client is not None else self.client
        if getattr(target, "queues_commands", False):
            return target.eval(self.source, len(keys), *keys, *args)
        try:
            return await target.evalsha(self.sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if exc.code != "NOSCRIPT":
                raise
        return await target.eval(self.source, len(keys), *keys, *args)
