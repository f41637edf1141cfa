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
from types import EllipsisType
from typing import Any

from ..errors import ClientClosedError, ConnectionError, ProtocolError, TimeoutError
from ..link_health import LinkHealth
from ..pubsub_core import CHANNEL, PATTERN, SHARD, Handler, PubSubCore
from ..reader import INCOMPLETE
from ..slotmap import Node, parse_address
from ..subscriber_common import SubscriberCommon, link_check_interval
from .connection import Connection
from .link import ClusterLink, HasLink, link_of

__all__ = ["PubSub"]

_LISTEN_SLICE = 1.0  # listen() wakes this often to notice that nothing is subscribed any more
_MAX_POLL_MS = 3_600_000
_LINK_ERRORS = (ConnectionError, TimeoutError, ProtocolError)


class PubSub(SubscriberCommon):
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
        health_check_interval: float | None | EllipsisType = ...,
    ) -> None:
        self._topology = link_of(client).topology
        self._settings = self._topology.settings
        preferred = Node(*parse_address(node)) if node is not None else None
        self._core = PubSubCore(self._settings.encoding, node=preferred)
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self._health = LinkHealth(
            self._settings.socket_timeout, link_check_interval(self._settings, health_check_interval)
        )
        self._conns: dict[str, Connection] = {}
        self._fds: dict[int, str] = {}
        self._poller = select.poll()
        self._queue: deque[Any] = deque()
        self._closed = False

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
            item, handler = self._take(ignore)
            if handler is not None:
                handler(item)
                continue
            if item is not None:
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

    def _maintain(self, now: float) -> None:
        """Health checks, then whatever the core has due (reconnections, resubscriptions)."""
        for link in self._due_links(now):
            self._lose(link, now)
        self._flush(now)

    def _flush(self, now: float) -> None:
        core = self._core
        if core.wants_refresh(now):
            # Single-flight and rate-limited by the topology; a failure leaves the old map in place.
            self._topology.refresh(core.refresh_reason or "pubsub")
        for link, node, commands in core.plan(now, self._topology.slot_map, random):
            conn = self._reusable(link, node)
            if conn is None:
                conn = self._open(link, node, now)
                if conn is None:
                    continue
            self._send_planned(link, conn, commands, now)

    def _open(self, link: str, node: Node, now: float) -> Connection | None:
        conn = Connection(node, self._settings)
        try:
            conn.open()  # an AUTH refusal (ResponseError) is the caller's: retrying cannot fix it
        except _LINK_ERRORS:
            self._topology.mark_down(node)
            self._core.link_lost(link, now)
            return None
        self._conns[link] = conn
        fd = conn.stream.fileno()  # type: ignore[union-attr]
        self._fds[fd] = link
        self._poller.register(fd, select.POLLIN)
        self._health.opened(link, now)
        return conn

    def _close_link(self, link: str) -> None:
        conn = self._conns.pop(link, None)
        self._health.forget(link)
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
        if conn is None or conn.stream is None:
            return
        stream, reader = conn.stream, conn.reader
        while True:
            try:
                n = stream.recv_into(reader.buffer)
            except (BlockingIOError, _ssl.SSLWantReadError):
                return  # TLS: a partial record; poll says when the rest is here
            except OSError:  # includes the kernel timeout, and TimeoutError on TLS sockets
                self._lose(link, now)
                return
            if n == 0:
                self._lose(link, now)
                return
            self._health.heard(link, now)
            try:
                reply = reader.received(n)  # sizes guarded, parser errors translated
                if reply is not INCOMPLETE and not self._deliver(link, reply, now):
                    return
                if not self._drain(link, conn, now):
                    return
            except ProtocolError:
                self._lose(link, now)  # garbage or an oversized reply: start afresh on a new connection
                return
            # TLS decrypts whole records: bytes may wait inside the SSL object where poll() cannot see them.
            if not stream.pending():
                return

    def _drain(self, link: str, conn: Connection, now: float) -> bool:
        """Hand every complete reply to the core. False if the link was lost on the way."""
        replies: list = []
        while True:
            conn.reader.drain(replies, 1)  # one at a time: a reply can close this link
            if not replies:
                self._health.settled(link, now, bool(self._core.pending.get(link)))
                return True
            if not self._deliver(link, replies.pop(), now):
                return False

    def _deliver(self, link: str, reply: object, now: float) -> bool:
        """One reply to the core (a ReplyDecodeError value goes to the caller). False if the link was lost."""
        try:
            moved = self._accept(link, reply, now)
        except ProtocolError:
            self._lose(link, now)
            return False
        if moved is not None:
            self._topology.apply_moved(moved[1], moved[2])
        return True
