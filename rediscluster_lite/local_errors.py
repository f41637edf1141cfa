"""The launcher's errors (:mod:`rediscluster_lite.local` re-exports them).

Rules: every failure of the launcher is a :class:`LauncherError`; a message names the node (``host:port``)
and the command, never a password.
"""

from __future__ import annotations

__all__ = ["LauncherError", "RedisServerNotFound", "CommandError", "NodeUnreachable", "NodeTimeout"]


class LauncherError(RuntimeError):
    """The local cluster could not be started, formed, or driven as asked."""


class RedisServerNotFound(LauncherError):
    """No ``redis-server`` binary was found. The message says how to install one."""


class CommandError(LauncherError):
    """A node answered a command with an error reply. ``code`` is its first word (``ERR``, ``MOVED``...)."""

    def __init__(self, message: str, node: str = "", command: str = "") -> None:
        super().__init__(f"{node}: {command}: {message}" if node else message)
        self.message = message
        self.code = message.split(" ", 1)[0] if message else ""
        self.node = node
        self.command = command


class NodeUnreachable(LauncherError, ConnectionError):
    """The node could not be reached, or the connection broke before the reply arrived."""

    def __init__(self, message: str, node: str = "") -> None:
        super().__init__(message)
        self.node = node


class NodeTimeout(NodeUnreachable, TimeoutError):
    """The node did not answer within the timeout (a paused node, for example)."""
