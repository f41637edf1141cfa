"""The library's one exception tree.

Every error a caller can see is a subclass of :class:`RedisClusterError`. Redirects (MOVED, ASK) and
TRYAGAIN are *values* inside the core and never surface as exceptions; the router turns them into
retries, and only when its budget runs out does the caller see :class:`TooManyRedirects`.
"""

from __future__ import annotations

import builtins

__all__ = [
    "RedisClusterError",
    "ClientClosedError",
    "DataError",
    "EventLoopError",
    "WatchError",
    "ConnectionError",
    "ConnectError",
    "ReadError",
    "WriteError",
    "MaybeAppliedError",
    "TimeoutError",
    "ConnectTimeout",
    "ReadTimeout",
    "PoolTimeout",
    "ProtocolError",
    "ReplyDecodeError",
    "ResponseError",
    "ClusterError",
    "ClusterDownError",
    "SlotNotCoveredError",
    "CrossSlotError",
    "TooManyRedirects",
    "NodeNotAllowedError",
]


class RedisClusterError(Exception):
    """Base of every error raised by rediscluster_lite."""


class ConnectionError(RedisClusterError, builtins.ConnectionError):  # noqa: A001 - deliberate shadow
    """The connection to a node could not be used. ``node`` names it as ``host:port``."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


class ConnectError(ConnectionError):
    """The TCP (or TLS) connection could not be opened. Nothing was sent."""


class WriteError(ConnectionError):
    """Sending the command failed. Part of it may have reached the server."""


class ReadError(ConnectionError):
    """The connection broke after the command was sent, before the whole reply arrived."""


class MaybeAppliedError(ReadError):
    """A non-repeatable command was sent, then the connection broke: the server may have applied it.

    The client does not resend such a command by itself; the caller decides. ``history``: what the
    command met before, oldest first, as ``(kind, node, detail)`` tuples.
    """

    history: tuple = ()


class TimeoutError(RedisClusterError, builtins.TimeoutError):  # noqa: A001 - deliberate shadow
    """An operation took longer than its timeout."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


class ConnectTimeout(TimeoutError, ConnectError):
    """Opening the connection timed out. Nothing was sent."""


class ReadTimeout(TimeoutError):
    """The reply did not arrive within ``socket_timeout``. The command may have been applied."""


class PoolTimeout(TimeoutError):
    """No connection to the node became free within the pool's wait limit."""


class ProtocolError(RedisClusterError):
    """The server sent bytes that are not valid RESP, or a reply over the configured size limit."""


class ReplyDecodeError(ProtocolError):
    """With ``decode_responses``, a reply was not valid text in the chosen encoding.

    The whole reply was read (the command ran; the connection stays usable): ``raw`` says why.
    """


class ResponseError(RedisClusterError):
    """An error reply from the server, such as ``-WRONGTYPE ...``.

    ``code`` is the first word (``WRONGTYPE``, ``ERR``, ``MOVED`` ...); ``message`` the whole text.
    hiredis builds these directly from error replies (see ``resp.py``), so they are plain values until
    the client decides to raise one.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = message.split(" ", 1)[0] if message else ""


class DataError(RedisClusterError, ValueError):
    """Arguments the command cannot take (``set`` with both ``ex`` and ``px``, ``zadd`` with ``nx`` and ``xx``, an
    expiry that is not a number or a ``timedelta``/``datetime``). Raised before any I/O; redis-py's ``DataError``.
    A ``ValueError`` too, so code written against the earlier argument checks keeps working."""


class ClientClosedError(RedisClusterError):
    """The client was closed with ``close()`` (or its ``with`` block ended) and cannot be used."""


class EventLoopError(RedisClusterError, RuntimeError):
    """An asyncio client was used from an event loop other than the one it first ran on."""


class WatchError(RedisClusterError):
    """A transaction did not run: a WATCHed key changed (or its slot moved) before ``EXEC``.

    Nothing was applied; ``client.transaction(...)`` retries on it.
    """


class ClusterError(RedisClusterError):
    """The cluster as a whole could not serve the command.

    ``history``: when a redirect or retry budget ran out, what the command met, oldest first, as
    ``(kind, node, detail)`` tuples (empty otherwise).
    """

    history: tuple = ()


class ClusterDownError(ClusterError):
    """The cluster reports ``CLUSTERDOWN`` (not all slots are served) and retries did not help."""


class SlotNotCoveredError(ClusterError):
    """No node serves the key's slot in the current slot map, even after a refresh."""

    def __init__(self, message: str, slot: int | None = None) -> None:
        super().__init__(message)
        self.slot = slot


class CrossSlotError(ClusterError):
    """The keys of one atomic command or transaction hash to different slots. Raised before any I/O."""

    def __init__(self, message: str, slots: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.slots = slots


class TooManyRedirects(ClusterError):
    """The redirect/retry budget ran out. ``history`` lists what happened, oldest first."""

    def __init__(self, message: str, history: tuple = ()) -> None:
        super().__init__(message)
        self.history = history


class NodeNotAllowedError(ClusterError):
    """A server named a node the client will not connect to: outside ``allowed_hosts``, or a redirect to a
    host on which even a refreshed slot map names no node. Nothing (credentials included) was sent to it.
    ``node`` names it as ``host:port``, as the server announced it."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node
