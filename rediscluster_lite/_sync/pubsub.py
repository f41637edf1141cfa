"""The blocking subscriber: dedicated connections, one poll over all of them, and the core's decisions carried out.

Every decision (which node, which commands, what a reply means, when to retry) is in ``pubsub_core``; this
module connects, sends, polls, reads and refreshes the client's slot map when the core asks.
"""

from __future__ import annotations

import math
import random
import select
import ssl as _ssl
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import (
    ClientClosedError,
    ConnectionError,
    ProtocolError,
    ReplyDecodeError,
    TimeoutError,
)
from ..pubsub_core import CHANNEL, CONFIRMATIONS, MOVED, PATTERN, SHARD, Handler, PubSubCore
from ..resp import INCOMPLETE, ReaderProtocolError, pack_command
from ..slotmap import Node, parse_address
from .connection import Connection
from .link import ClusterLink, HasLink, link_of

__all__ = ["PubSub"]

_BUFFER_SIZE = 65536
_LISTEN_SLICE = 1.0  # listen() wakes this often to notice that nothing is subscribed any more
_MAX_POLL_MS = 3_600_000
_TAIL = 24  # bytes kept from each read, so a size header split across two reads is still seen whole
_LINK_ERRORS = (ConnectionError, TimeoutError, ProtocolError)


class PubSub:
    """A subscriber to classic channels, patterns and sharded channels of one cluster.

    Classic subscriptions share one dedicated connection to one node (``node=``, else a random master): the
    cluster bus carries every ``PUBLISH`` to every node. Sharded subscriptions use one dedicated connection per
    master owning their slots. None of these connections come from, or go back to, the client's pools.

    When a node dies, a slot moves, or a node answers ``MOVED``, the subscriptions on it are made again where
    they now belong, during :meth:`get_message`/:meth:`listen`; messages published in between are lost.
    ``health_check_interval`` (seconds) sends a ``PING`` on a link that has been silent that long, so a node
    that stops answering without closing the connection is noticed too (``None`` turns it off).

    Not thread-safe: use one ``PubSub`` from one thread at a time.
    """

    def __init__(
        self,
        client: ClusterLink | HasLink,
        *,
        node: Node | tuple[str, int] | str | None = None,
        ignore_subscribe_messages: bool = False,
        health_check_interval: float | None = 30.0,
    ) -> None:
        self._topology = link_of(client).topology
        self._settings = self._topology.settings
        preferred = Node(*parse_address(node)) if node is not None else None
        self._core = PubSubCore(self._settings.encoding, node=preferred)
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self.health_check_interval = health_check_interval
        self._conns: dict[str, Connection] = {}
        self._fds: dict[int, str] = {}
        self._poller = select.poll()
        self._queue: deque[Any] = deque()
        self._buf = bytearray(_BUFFER_SIZE)
        self._last_read: dict[str, float] = {}
        # link -> when it last had to answer and has not yet (reset by each read while answers are due)
        self._awaiting: dict[str, float] = {}
        self._partial: dict[str, int] = {}
        self._tail: dict[str, bytes] = {}
        self._closed = False

    def __repr__(self) -> str:
        links = ", ".join(f"{link}={conn.node.name}" for link, conn in self._conns.items())
        return f"<PubSub {self._core!r} links=[{links}]>"

    def __enter__(self) -> PubSub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection of this subscriber. It may not be used afterwards."""
        self._closed = True
        for link in list(self._conns):
            self._close_link(link)
        self._queue.clear()

    reset = close  # redis-py's name

    # --- what is subscribed ------------------------------------------------------------------------------

    @property
    def channels(self) -> dict[Any, Handler | None]:
        """Classic channels asked for -> their handler (or ``None``)."""
        return dict(self._core.wanted[CHANNEL])

    @property
    def patterns(self) -> dict[Any, Handler | None]:
        return dict(self._core.wanted[PATTERN])

    @property
    def shard_channels(self) -> dict[Any, Handler | None]:
        return dict(self._core.wanted[SHARD])

    @property
    def subscribed(self) -> bool:
        """True while anything is subscribed, or confirmations of an (un)subscribe are still to come."""
        return self._core.subscribed or any(m["type"] in CONFIRMATIONS for m in self._queue if isinstance(m, dict))

    @property
    def node(self) -> Node | None:
        """The node of the classic subscriptions' connection (``None`` when it has none yet)."""
        return self._core.classic_node

    @property
    def connections(self) -> dict[str, str]:
        """Open connections: ``"classic"`` or the sharded node's ``host:port`` -> the node's ``host:port``."""
        return {link: conn.node.name for link, conn in self._conns.items()}

    @property
    def shard_nodes(self) -> dict[Any, str]:
        """Sharded channel -> ``host:port`` of the node it is subscribed on (or being subscribed on)."""
        return dict(self._core.placed)

    # --- subscribing --------------------------------------------------------------------------------------

    def subscribe(self, *channels: Any, **handlers: Handler) -> None:
        """Classic ``SUBSCRIBE``. ``name=handler`` keyword arguments call ``handler(message)`` instead of
        returning that channel's messages from :meth:`get_message`."""
        self._intent(lambda: self._core.subscribe(CHANNEL, channels, handlers))

    def psubscribe(self, *patterns: Any, **handlers: Handler) -> None:
        """Classic ``PSUBSCRIBE`` (glob-style patterns), on the same connection as :meth:`subscribe`."""
        self._intent(lambda: self._core.subscribe(PATTERN, patterns, handlers))

    def ssubscribe(self, *channels: Any, **handlers: Handler) -> None:
        """Sharded ``SSUBSCRIBE``: each channel on the master owning its slot, one command per slot."""
        self._intent(lambda: self._core.subscribe(SHARD, channels, handlers))

    def unsubscribe(self, *channels: Any) -> None:
        """Classic ``UNSUBSCRIBE`` of ``channels``, or of every classic channel if none is given."""
        self._intent(lambda: self._core.unsubscribe(CHANNEL, channels))

    def punsubscribe(self, *patterns: Any) -> None:
        self._intent(lambda: self._core.unsubscribe(PATTERN, patterns))

    def sunsubscribe(self, *channels: Any) -> None:
        """Sharded ``SUNSUBSCRIBE`` of ``channels``, or of every sharded channel if none is given."""
        self._intent(lambda: self._core.unsubscribe(SHARD, channels))

    def _intent(self, change: Callable[[], None]) -> None:
        if self._closed:
            raise ClientClosedError("this PubSub is closed")
        change()
        self._flush(time.monotonic())

    # --- receiving ------------------------------------------------------------------------------------------

    def get_message(self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0) -> dict | None:
        """The next message, waiting up to ``timeout`` seconds (``None``: until one comes); ``None`` if none.

        A message is a dict: ``type`` (``message``, ``pmessage``, ``smessage``, or a confirmation such as
        ``subscribe``), ``pattern``, ``channel``, ``data``. Confirmations are skipped when
        ``ignore_subscribe_messages`` is set (here or on the ``PubSub``); messages of a channel with a handler
        go to the handler. Resubscribing after a failure happens in here, so the wait can exceed ``timeout`` by
        a reconnection (bounded by the client's ``connect_timeout`` and ``socket_timeout``).
        """
        if self._closed:
            raise ClientClosedError("this PubSub is closed")
        ignore = ignore_subscribe_messages or self.ignore_subscribe_messages
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        while True:
            while self._queue:
                item = self._queue.popleft()
                if isinstance(item, BaseException):
                    raise item
                kind = item["type"]
                if ignore and kind in CONFIRMATIONS:
                    continue
                handler = self._core.handler_for(item)
                if handler is not None:
                    handler(item)
                    continue
                return item
            now = time.monotonic()
            self._maintain(now)
            if self._queue:
                continue
            remaining = float("inf") if deadline is None else deadline - now
            wake = min(remaining, self._next_wake() - now)
            self._wait_and_read(max(wake, 0.0))
            if not self._queue and deadline is not None and time.monotonic() >= deadline:
                return None

    def listen(self) -> Iterator[dict]:
        """Yield messages while anything is subscribed (redis-py's ``listen``)."""
        while self.subscribed:
            message = self.get_message(timeout=_LISTEN_SLICE)
            if message is not None:
                yield message

    # --- the loop's parts ------------------------------------------------------------------------------------

    def _next_wake(self) -> float:
        wake = self._core.next_due()
        limit = self._settings.socket_timeout
        interval = self.health_check_interval
        for link in self._conns:
            waiting = self._awaiting.get(link)
            if waiting is not None:
                if limit is not None:
                    wake = min(wake, waiting + limit)
            elif interval:
                wake = min(wake, self._last_read.get(link, 0.0) + interval)
        return wake

    def _maintain(self, now: float) -> None:
        """Health checks, then whatever the core has due (reconnections, resubscriptions)."""
        # Every command on a link (a subscribe, a PING) must see a reply within socket_timeout: a node that
        # hangs, or a network that drops packets silently, is then treated like a closed connection.
        limit = self._settings.socket_timeout
        interval = self.health_check_interval
        for link in list(self._conns):
            waiting = self._awaiting.get(link)
            if waiting is not None:
                if limit is not None and now - waiting > limit:
                    self._lose(link, now)
            elif interval and now - self._last_read.get(link, now) >= interval:
                self._core.queue_ping(link)  # silent for a while: make it say something
        for link in self._core.idle_links():  # every channel left that node (unsubscribed, or moved away)
            self._lose(link, now)
        self._flush(now)

    def _flush(self, now: float) -> None:
        core = self._core
        if core.wants_refresh(now):
            # Single-flight and rate-limited by the topology; a failure leaves the old map in place.
            self._topology.refresh(core.refresh_reason or "pubsub")
        for link, node, commands in core.plan(now, self._topology.slot_map, random):
            conn = self._conns.get(link)
            if conn is not None and conn.node != node:
                self._close_link(link)
                conn = None
            if conn is None:
                conn = self._open(link, node, now)
                if conn is None:
                    continue
            try:
                conn.send(b"".join([pack_command(argv) for argv in commands]))
            except _LINK_ERRORS:
                self._lose(link, now)
                continue
            self._awaiting.setdefault(link, now)

    def _open(self, link: str, node: Node, now: float) -> Connection | None:
        conn = Connection(node, self._settings)
        try:
            conn.open()  # an AUTH refusal (ResponseError) is the caller's: retrying cannot fix it
        except _LINK_ERRORS:
            self._topology.mark_down(node)
            self._core.link_lost(link, now)
            return None
        self._conns[link] = conn
        fd = conn.sock.fileno()  # type: ignore[union-attr]
        self._fds[fd] = link
        self._poller.register(fd, select.POLLIN)
        self._last_read[link] = now
        return conn

    def _close_link(self, link: str) -> None:
        conn = self._conns.pop(link, None)
        self._last_read.pop(link, None)
        self._awaiting.pop(link, None)
        self._partial.pop(link, None)
        self._tail.pop(link, None)
        if conn is None:
            return
        for fd, name in list(self._fds.items()):
            if name == link:
                del self._fds[fd]
                try:
                    self._poller.unregister(fd)
                except (KeyError, ValueError):
                    pass
        conn.close()

    def _lose(self, link: str, now: float) -> None:
        self._close_link(link)
        self._core.link_lost(link, now)

    def _wait_and_read(self, wait: float) -> None:
        if not self._fds:
            if wait > 0:
                time.sleep(min(wait, _LISTEN_SLICE))  # nothing to watch: just let the time pass
            return
        # poll() takes milliseconds: round up, so a short wait is not a busy loop of zero-length polls.
        ms = -1 if wait == float("inf") else min(math.ceil(wait * 1000), _MAX_POLL_MS)
        try:
            events = self._poller.poll(ms)
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for exotic platforms
            return
        now = time.monotonic()
        for fd, _ in events:
            link = self._fds.get(fd)
            if link is not None:
                self._read(link, now)

    def _read(self, link: str, now: float) -> None:
        conn = self._conns.get(link)
        if conn is None or conn.sock is None:
            return
        sock = conn.sock
        while True:
            try:
                n = sock.recv_into(self._buf)
            except (BlockingIOError, _ssl.SSLWantReadError):
                return  # TLS: a partial record; poll says when the rest is here
            except OSError:  # includes the kernel timeout, and TimeoutError on TLS sockets
                self._lose(link, now)
                return
            if n == 0:
                self._lose(link, now)
                return
            self._last_read[link] = now
            try:
                self._feed(link, conn, n)
            except ProtocolError:
                self._lose(link, now)  # garbage or an oversized reply: start afresh on a new connection
                return
            if not self._drain(link, conn, now):
                return
            # TLS decrypts whole records: bytes may wait inside the SSL object where poll() cannot see them.
            if not (isinstance(sock, _ssl.SSLSocket) and sock.pending()):
                return

    def _feed(self, link: str, conn: Connection, n: int) -> None:
        """Feed ``n`` bytes to the reader, refusing sizes over ``max_reply_bytes`` before hiredis allocates."""
        settings = self._settings
        limit = settings.max_reply_bytes
        buf = self._buf
        tail = self._tail.get(link, b"")
        huge = settings.huge_count.search(buf, 0, n) or (tail and settings.huge_count.search(tail + bytes(buf[:_TAIL])))
        self._tail[link] = bytes(buf[max(0, n - _TAIL) : n])
        if huge:
            size = int(huge.group(2)) * (1 if huge.group(1) in b"$!=" else 3)
            if size > limit:
                raise ProtocolError(f"{conn.node.name} announced a reply over max_reply_bytes ({limit})")
        partial = self._partial.get(link, 0) + n
        if partial > limit:
            raise ProtocolError(f"reply from {conn.node.name} exceeds max_reply_bytes ({limit})")
        self._partial[link] = partial
        conn.reader.feed(buf, 0, n)

    def _drain(self, link: str, conn: Connection, now: float) -> bool:
        """Hand every complete reply to the core. False if the link was lost on the way."""
        reader, core = conn.reader, self._core
        while True:
            try:
                reply = reader.gets()
            except ReaderProtocolError:
                self._lose(link, now)
                return False
            except UnicodeDecodeError as exc:
                # hiredis consumed the whole reply: the stream is in step; the caller hears of the lost message.
                error = ReplyDecodeError(f"a message from {conn.node.name} is not valid {self._settings.encoding}")
                error.__cause__ = exc
                self._queue.append(error)
                continue
            if reply is INCOMPLETE:
                if not reader.has_data():
                    self._partial[link] = 0
                if core.pending.get(link):
                    self._awaiting[link] = now  # it spoke: give the rest of the answers a new timeout
                else:
                    self._awaiting.pop(link, None)
                return True
            try:
                item, effect = core.on_reply(link, reply, now)
            except ProtocolError:
                self._lose(link, now)
                return False
            if effect is not None and effect[0] == MOVED:
                self._topology.apply_moved(effect[1], effect[2])
            if item is not None:
                self._queue.append(item)
