"""One multiplexed asyncio connection to one node: the commands of many tasks in flight, replies in order.

Rules it keeps:

1. Commands queued during one turn of the event loop go out in one write. A command joins the reply
   queue only when its bytes are written, so a task cancelled before the write sends nothing.
2. Replies are handed out in the order the commands were written. A task cancelled after the write keeps
   its place: its reply is read and dropped, and no other caller can receive it.
3. Owed replies must keep coming: nothing received for ``timeout`` seconds while replies are owed, or the
   oldest owed reply not complete ``2 * timeout`` after it became the oldest, drops the connection; every
   waiting caller then fails with :class:`ReadTimeout` (a frozen node costs each caller about one
   timeout), and a late reply can reach nobody because the connection is gone.
4. Any failure closes the connection and fails every waiting caller: a command already written with a
   :class:`ReadError`-family error (it may have been applied: the router decides), one not yet written with
   :class:`ConnectError` (nothing was sent). Closing the client fails them with :class:`ClientClosedError`.
5. Bytes are the :class:`~rediscluster_lite.reader.ReplyReader`'s: it owns the receive buffer (this is an
   ``asyncio.BufferedProtocol``), the size limits and the translation of parser failures. Over TLS the buffer
   is handed out as a memoryview (asyncio's TLS transport slices it; a bytearray slice would be a copy).
"""

from __future__ import annotations

import asyncio
import copy
import ssl as _ssl
import time
from collections import deque
from typing import Any

from ..errors import (
    ClientClosedError,
    ConnectError,
    ConnectTimeout,
    ProtocolError,
    ReadError,
    ReadTimeout,
    RedisClusterError,
    TimeoutError,
)
from ..reader import INCOMPLETE, ReplyReader
from ..settings import ConnectionSettings
from ..slotmap import Node

__all__ = ["AsyncConnection"]

_monotonic = time.monotonic


class _Many:
    """A queue entry owed several replies (ASKING + command, READONLY + command, a node's batch)."""

    __slots__ = ("future", "count", "replies")

    def __init__(self, future: asyncio.Future, count: int) -> None:
        self.future = future
        self.count = count
        self.replies: list = []


class AsyncConnection(asyncio.BufferedProtocol):
    """Open with :meth:`open`; :meth:`request` returns a future of the reply (or of a list of ``count``)."""

    def __init__(self, node: Node, settings: ConnectionSettings, timeout: float | None = None) -> None:
        self.node = node
        self.settings = settings
        self.timeout = settings.socket_timeout if timeout is None else timeout
        self.reader = ReplyReader(node.name, settings.reply_limits, settings.encoding)
        self.readonly = False
        self.closed: BaseException | None = None  # why it closed, once it has
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.Transport | None = None
        self._owed: deque[Any] = deque()  # futures (one reply) and _Many entries, in write order
        self._out: list[bytes] = []
        self._out_entries: list[Any] = []
        self._flush_handle: asyncio.Handle | None = None
        self._flush_now = self._flush  # bound once: call_soon takes it every turn a command is queued
        self._timer: asyncio.TimerHandle | None = None
        self._heard = 0.0  # when bytes last came
        self._head_since = 0.0  # when the oldest owed reply became the oldest
        if settings.ssl_context is not None:
            self.get_buffer = self._get_buffer_view  # type: ignore[method-assign]

    def __repr__(self) -> str:
        state = "open" if self.closed is None and self._transport is not None else "closed"
        return f"<AsyncConnection {self.node.name} {state} owed={len(self._owed)}>"

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing owed."""
        return not self._owed and not self._out

    # --- open / close ------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, then the set-up (AUTH, CLIENT SETNAME) in one write. Raises ConnectError/ConnectTimeout
        (nothing of a caller's sent) or ResponseError (the node refused the set-up)."""
        s, name = self.settings, self.node.name
        self._loop = loop = asyncio.get_running_loop()
        kwargs: dict[str, Any] = {}
        if s.ssl_context is not None:
            kwargs = {"ssl": s.ssl_context, "server_hostname": self.node.host}
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: self, self.node.host, self.node.port, **kwargs), s.connect_timeout
            )
        except asyncio.TimeoutError as exc:
            timed_out = ConnectTimeout(f"connecting to {name} timed out after {s.connect_timeout}s", name)
            self._abandon(timed_out)  # a connection made after all is closed at once (connection_made)
            raise timed_out from exc
        except (OSError, _ssl.SSLError) as exc:
            raise ConnectError(f"cannot connect to {name}: {getattr(exc, 'strerror', None) or exc}", name) from exc
        self._heard = _monotonic()
        if s.setup is not None:
            await self._set_up(*s.setup)

    async def _set_up(self, packed: bytes, steps: tuple[str, ...]) -> None:
        # AUTH and CLIENT SETNAME in one write. A set-up lost in transit is a failed connect: nothing of any
        # caller's was sent, so the router may try again even for a write.
        name = self.node.name
        try:
            replies = await self.request(packed, len(steps), many=True)
        except TimeoutError as exc:
            self.close()
            raise ConnectTimeout(f"setting up the connection to {name} timed out", name) from exc
        except RedisClusterError as exc:
            self.close()
            if isinstance(exc, ConnectError):
                raise
            raise ConnectError(f"setting up the connection to {name} failed: {exc}", name) from exc
        refused = self.settings.refusal(steps, replies, name)
        if refused is not None:
            self.close()
            raise refused

    def quiet_for(self, now: float) -> float:
        """Seconds since anything was sent or received, or 0 while a reply is owed."""
        return 0.0 if self._owed or self._out else now - self._heard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.closed is not None:  # given up on (timed out) while connecting
            transport.close()
            return
        self._transport = transport  # type: ignore[assignment]

    def close(self, why: BaseException | None = None) -> None:
        """Close, failing every waiting caller (``why``: the error they get; default ClientClosedError)."""
        self._abandon(why or ClientClosedError(f"the connection to {self.node.name} was closed"))

    def _abandon(self, why: BaseException) -> None:
        if self.closed is not None:
            return
        self.closed = why
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()
        if self._timer is not None:
            self._timer.cancel()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self.reader.abandon()
        owed, self._owed = self._owed, deque()
        for entry in owed:
            _fail(entry, why)
        unsent, self._out_entries, self._out = self._out_entries, [], []
        not_sent = (
            why if isinstance(why, ClientClosedError) else ConnectError(f"{why} (command not sent)", self.node.name)
        )
        for entry in unsent:
            _fail(entry, not_sent)

    def connection_lost(self, exc: Exception | None) -> None:
        name = self.node.name
        self._abandon(ReadError(f"{name} closed the connection" + (f": {exc}" if exc else ""), name))

    # --- requests ------------------------------------------------------------------------------------

    def request(self, data: bytes, count: int = 1, many: bool = False) -> asyncio.Future:
        """Queue ``data`` (``count`` commands) for this turn's write; a future of the reply, or of the list
        of replies when ``count`` > 1 or ``many``. Error replies are ResponseError values; transport failures
        are raised."""
        loop = self._loop
        future = loop.create_future()  # type: ignore[union-attr]
        if self.closed is not None:
            future.set_exception(ConnectError(f"connection to {self.node.name} is closed", self.node.name))
            return future
        self._out.append(data)
        self._out_entries.append(_Many(future, count) if many or count != 1 else future)
        if self._flush_handle is None:
            self._flush_handle = loop.call_soon(self._flush_now)  # type: ignore[union-attr]
        return future

    def _flush(self) -> None:
        self._flush_handle = None
        out, entries = self._out, self._out_entries
        transport = self._transport
        if transport is None or self.closed is not None:
            self._out, self._out_entries = [], []
            for entry in entries:
                _fail(entry, ConnectError(f"connection to {self.node.name} is closed", self.node.name))
            return
        owed = self._owed
        was_idle = not owed
        if len(entries) == 1:  # the usual turn of a lone caller: no lists to build, the queues reused
            entry = entries[0]
            data = out[0]
            out.clear()
            entries.clear()
            if (entry if type(entry) is not _Many else entry.future).cancelled():
                return
            owed.append(entry)
            transport.write(data)
        else:
            self._out, self._out_entries = [], []
            chunks = []
            for data, entry in zip(out, entries):
                if (entry if type(entry) is not _Many else entry.future).cancelled():
                    continue  # cancelled before the write: nothing is sent, nothing is owed
                chunks.append(data)
                owed.append(entry)
            if not chunks:
                return
            transport.write(b"".join(chunks))
        if was_idle:
            self._head_since = self._heard = _monotonic()
            if self._timer is None and self.timeout is not None:
                self._timer = self._loop.call_later(self.timeout, self._check_time)  # type: ignore[union-attr]

    # --- replies ---------------------------------------------------------------------------------------

    def get_buffer(self, sizehint: int) -> Any:
        return self.reader.buffer

    def _get_buffer_view(self, sizehint: int) -> Any:
        # asyncio's TLS transport fills the buffer in pieces through ``buf[offset:]``: a slice of a bytearray
        # is a copy, so every piece after the first would be lost (zeros). A memoryview slices in place.
        buffer = self.reader.buffer
        return buffer if type(buffer) is memoryview else memoryview(buffer)

    def buffer_updated(self, nbytes: int) -> None:
        reader = self.reader
        try:
            reply = reader.received(nbytes)
            if reply is INCOMPLETE:
                self._heard = _monotonic()
                return
            self._deliver(reply)
            if reader.parser.has_data():
                replies: list = []
                # Parse everything buffered: a reply past the owed ones is refused by _deliver.
                reader.drain(replies, 1 << 62)
                for reply in replies:
                    self._deliver(reply)
        except ProtocolError as exc:
            self._abandon(exc)
            return
        if self._owed:  # idle now: the next write starts the clocks afresh (_flush)
            self._heard = self._head_since = _monotonic()

    def _deliver(self, reply: Any) -> None:
        owed = self._owed
        if not owed:
            raise ProtocolError(f"{self.node.name} sent a reply to no command")
        entry = owed[0]
        if type(entry) is _Many:
            entry.replies.append(reply)
            if len(entry.replies) < entry.count:
                return
            owed.popleft()
            future, reply = entry.future, entry.replies
        else:
            owed.popleft()
            future = entry
        if not future.done():  # a cancelled caller's reply is dropped here
            future.set_result(reply)

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost fails whoever still waits

    def _check_time(self) -> None:
        self._timer = None
        if self.closed is not None or not self._owed or self.timeout is None:
            return
        now = _monotonic()
        name = self.node.name
        if now - self._heard >= self.timeout:
            self._abandon(ReadTimeout(f"no reply from {name} within {self.timeout}s", name))
        elif now - self._head_since >= 2 * self.timeout:
            self._abandon(ReadTimeout(f"reply from {name} did not complete within {2 * self.timeout}s", name))
        else:
            wake = min(self._heard + self.timeout, self._head_since + 2 * self.timeout)
            self._timer = self._loop.call_later(max(wake - now, 0.001), self._check_time)  # type: ignore[union-attr]


def _fail(entry: Any, error: BaseException) -> None:
    future = entry if type(entry) is not _Many else entry.future
    if not future.done():
        if type(entry) is _Many and entry.replies:
            error = _with_replies(error, entry.replies)
        future.set_exception(error)


def _with_replies(error: BaseException, replies: list) -> BaseException:
    # A batch that broke part-way: the replies read before the failure go with the error, as in sync.
    # (Only the oldest entry can have some; the error itself is shared by every entry: copy it.)
    error = copy.copy(error)
    error.replies = list(replies)  # type: ignore[attr-defined]
    return error
