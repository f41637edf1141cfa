"""One blocking connection to one node: open (stream, then AUTH and CLIENT SETNAME in one write), send bytes,
read replies.

Any failure leaves the connection unusable; the caller must close it and never return it to a pool,
so nobody can read a reply meant for someone else. What bytes mean (sizes, parse errors, decoding) is the
:class:`~rediscluster_lite.reader.ReplyReader`'s; what the bytes travel on is the stream's (``stream.py``).
This module only moves bytes between the two and keeps time.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import ConnectError, ConnectTimeout, ProtocolError, ReadError, ReadTimeout, ResponseError, WriteError
from ..errors import ConnectionError as LinkError
from ..errors import TimeoutError as LinkTimeout
from ..reader import INCOMPLETE, ReplyReader
from ..resp import READONLY, pack_command
from ..settings import ConnectionSettings
from ..slotmap import Node
from .stream import Stream, open_socket_stream

__all__ = ["ConnectionSettings", "Connection"]

PING = pack_command((b"PING",))


class Connection:
    """One node's connection: ``stream`` carries the bytes, ``reader`` makes replies of them."""

    __slots__ = ("node", "stream", "reader", "readonly", "generation", "settings", "idle_since", "__weakref__")

    def __init__(self, node: Node, settings: ConnectionSettings, generation: int = 0) -> None:
        self.node = node
        self.settings = settings
        self.generation = generation
        self.readonly = False
        self.idle_since = 0.0  # when it went back to its pool (kept only with a health_check_interval)
        self.stream: Stream | None = None
        self.reader = ReplyReader(node.name, settings.reply_limits, settings.encoding)

    def __repr__(self) -> str:
        state = "open" if self.stream is not None else "closed"
        return f"<Connection {self.node.name} {state}{' readonly' if self.readonly else ''}>"

    # --- open / close ----------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, then the set-up (AUTH, CLIENT SETNAME) in one write. Raises ConnectError/ConnectTimeout
        (nothing of the caller's was sent: a set-up that fails in transit counts as a failed connect too), or
        ResponseError when the node refuses the set-up."""
        opener = self.settings.stream_opener or open_socket_stream
        self.stream = opener(self.node, self.settings)
        setup = self.settings.setup
        if setup is not None:
            self._set_up(*setup)
        if self.settings.health_check_interval is not None:
            self.idle_since = time.monotonic()

    def _set_up(self, packed: bytes, steps: tuple[str, ...]) -> None:
        try:
            self.send(packed)
            replies = self.read_replies(len(steps))
        except LinkTimeout as exc:
            self.close()
            raise ConnectTimeout(f"setting up the connection to {self.node.name} timed out", self.node.name) from exc
        except (LinkError, ProtocolError) as exc:
            self.close()
            raise ConnectError(f"setting up the connection to {self.node.name} failed: {exc}", self.node.name) from exc
        refused = self.settings.refusal(steps, replies, self.node.name)
        if refused is not None:
            self.close()
            raise refused

    def check_health(self) -> bool:
        """``PING`` an idle connection (``health_check_interval``): True if it answered ``PONG`` in time."""
        try:
            reply = self.request(PING)
        except (LinkError, LinkTimeout, ProtocolError):
            return False
        return reply == b"PONG" or reply == "PONG"

    def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.close()
            self.reader.abandon()

    def is_stale(self) -> Any:
        """True when an idle connection has something to read: the server closed it, or sent junk.

        Bytes already read past the last reply (a server that answered one command twice) make it stale
        too: they would pass for the next answer. Truthy when stale (the poll's event list: no bool() call).
        """
        stream = self.stream
        if stream is None or self.reader.parser.has_data():
            return True
        input_waiting = stream.input_waiting  # a bound method in a slot: fetch, then call (see _read_more)
        return input_waiting(0)

    # --- requests --------------------------------------------------------------------------------

    def set_read_timeout(self, timeout: float | None) -> None:
        """Change how long a read may wait (``None``: forever). Blocking commands use it, then restore."""
        if self.stream is not None:
            self.stream.set_read_timeout(timeout)

    def send(self, data: bytes) -> None:
        try:
            sendall = self.stream.sendall  # type: ignore[union-attr]  # see _read_more
            sendall(data)
        except (TimeoutError, BlockingIOError) as exc:
            raise WriteError(f"writing to {self.node.name} timed out", self.node.name) from exc
        except (OSError, AttributeError) as exc:
            raise WriteError(f"writing to {self.node.name} failed: {exc}", self.node.name) from exc

    def request(self, data: bytes) -> Any:
        """Send one packed command and read its reply."""
        self.send(data)
        return self.read_reply()

    def request_readonly(self, data: bytes) -> Any:
        """Like :meth:`request`, but first switch this connection to replica reads (``READONLY``)."""
        self.send(READONLY + data)
        first = self.read_reply()
        reply = self.read_reply()
        if isinstance(first, ResponseError):
            return first
        self.readonly = True
        return reply

    def read_replies(self, count: int) -> list:
        """Read ``count`` replies (a pipeline's). On failure the exception carries ``.replies``, those read."""
        replies: list = []
        reader = self.reader
        try:
            if reader.parser.has_data():
                reader.drain(replies, count)
            while len(replies) < count:
                replies.append(self._read_more())
                reader.drain(replies, count)
        except Exception as exc:
            exc.replies = replies  # type: ignore[attr-defined]
            raise
        return replies

    def read_reply(self) -> Any:
        reader = self.reader
        parser = reader.parser
        if parser.has_data():
            try:
                reply = parser.gets()
            except Exception as exc:
                return reader.failed(exc)
            if reply is not INCOMPLETE:
                return reply
        else:
            reader.at_boundary = True  # a clean boundary: a big bulk string may skip hiredis's copy
        return self._read_more()

    def _read_more(self) -> Any:
        # Each recv waits at most socket_timeout, and once a reply has started, the rest of it must
        # arrive within one more socket_timeout: a server trickling bytes is cut off in bounded time.
        stream = self.stream
        if stream is None:
            raise ReadError(f"connection to {self.node.name} is closed", self.node.name)
        reader = self.reader
        timeout = self.settings.socket_timeout
        deadline = None
        # The stream's methods are bound methods kept in slots: calling one as ``stream.recv_into(...)`` takes
        # the interpreter's unspecialised method lookup every time; fetching it as an attribute first does not.
        recv_into = stream.recv_into
        while True:
            try:
                n = recv_into(reader.buffer)
            except (TimeoutError, BlockingIOError) as exc:
                raise ReadTimeout(f"no reply from {self.node.name} within {timeout}s", self.node.name) from exc
            except OSError as exc:
                raise ReadError(f"reading from {self.node.name} failed: {exc}", self.node.name) from exc
            if n == 0:
                raise ReadError(f"{self.node.name} closed the connection before replying in full", self.node.name)
            reply = reader.received(n)
            if reply is not INCOMPLETE:
                return reply
            if timeout is not None:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + timeout
                elif now > deadline:
                    raise ReadTimeout(f"reply from {self.node.name} did not complete within {timeout}s", self.node.name)
