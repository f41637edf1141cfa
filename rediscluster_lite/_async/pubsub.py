"""The asyncio subscriber: dedicated push-mode connections, the core's decisions carried out with ``await``.

Every decision (which node, which commands, what a reply means, when to retry) is in ``pubsub_core``, the
bookkeeping shared with the blocking subscriber in ``subscriber_common``. This module connects, sends, waits
and patches the client's slot map when the core asks. Replies are parsed as they arrive (the event loop reads
every link); ``get_message`` hands them out in order.

Rules it keeps:

1. Reading stops while ``max_queued`` messages wait for the caller, and resumes when half of them are taken:
   memory stays bounded when nobody reads.
2. Reconnections, resubscriptions and health PINGs happen inside :meth:`AsyncPubSub.get_message` (and so inside
   ``listen()``), one at a time (a lock), whichever task calls it.
3. A handler may be a plain function or a coroutine function (it is awaited).
4. Bound to its client's event loop, like the client.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from ..errors import ClientClosedError, ConnectionError, ProtocolError, TimeoutError
from ..link_health import LinkHealth
from ..pubsub_core import CHANNEL, PATTERN, SHARD, Handler, PubSubCore
from ..slotmap import Node, parse_address
from ..subscriber_common import SubscriberCommon, link_check_interval
from .subscriber import SubscriberConnection

if TYPE_CHECKING:
    from .topology import AsyncTopology

__all__ = ["AsyncPubSub"]

_LISTEN_SLICE = 1.0  # listen() wakes this often to notice that nothing is subscribed any more
_LINK_ERRORS = (ConnectionError, TimeoutError, ProtocolError)
_monotonic = time.monotonic


class AsyncPubSub(SubscriberCommon):
    """A subscriber to classic channels, patterns and sharded channels, for asyncio (``client.pubsub()``).

    The blocking :class:`~rediscluster_lite.PubSub`'s model and options, with coroutines: ``await
    p.subscribe(...)``, ``await p.get_message(timeout=...)``, ``async for message in p.listen()``, ``async with``
    and ``await p.aclose()``.
    """

    def __init__(
        self,
        topology: AsyncTopology,
        *,
        node: Node | tuple[str, int] | str | None = None,
        ignore_subscribe_messages: bool = False,
        health_check_interval: float | None | EllipsisType = ...,
        max_queued: int = 10_000,
    ) -> None:
        if type(max_queued) is not int or max_queued < 2:
            raise ValueError(f"max_queued must be an int >= 2, got {max_queued!r}")
        self._topology = topology
        self._settings = topology.settings
        preferred = Node(*parse_address(node)) if node is not None else None
        self._core = PubSubCore(self._settings.encoding, node=preferred)
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self._health = LinkHealth(
            self._settings.socket_timeout, link_check_interval(self._settings, health_check_interval)
        )
        self._conns: dict[str, SubscriberConnection] = {}
        self._queue: deque[Any] = deque()
        self._max_queued = max_queued
        self._paused = False
        self._moves: list[tuple] = []  # MOVED effects met in callbacks, carried out by the next _maintain
        self._waiters: list[asyncio.Future] = []
        self._busy: asyncio.Lock | None = None
        self._closed = False

    async def __aenter__(self) -> AsyncPubSub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection of this subscriber. It may not be used afterwards; a waiting
        ``get_message`` raises ClientClosedError."""
        self._closed = True
        for link in list(self._conns):
            self._close_link(link)
        self._queue.clear()
        self._wake()
        await asyncio.sleep(0)  # let the transports finish closing

    reset = close = aclose  # redis-py's asyncio PubSub has these names too

    # --- subscribing --------------------------------------------------------------------------------------

    async def subscribe(self, *channels: Any, **handlers: Handler) -> None:
        """Classic ``SUBSCRIBE``; ``name=handler`` sends that channel's messages to ``handler`` instead."""
        await self._intent(lambda: self._core.subscribe(CHANNEL, channels, handlers))

    async def psubscribe(self, *patterns: Any, **handlers: Handler) -> None:
        """Classic ``PSUBSCRIBE`` (glob-style patterns), on the same connection as :meth:`subscribe`."""
        await self._intent(lambda: self._core.subscribe(PATTERN, patterns, handlers))

    async def ssubscribe(self, *channels: Any, **handlers: Handler) -> None:
        """Sharded ``SSUBSCRIBE``: each channel on the master owning its slot, one command per slot."""
        await self._intent(lambda: self._core.subscribe(SHARD, channels, handlers))

    async def unsubscribe(self, *channels: Any) -> None:
        """Classic ``UNSUBSCRIBE`` of ``channels``, or of every classic channel if none is given."""
        await self._intent(lambda: self._core.unsubscribe(CHANNEL, channels))

    async def punsubscribe(self, *patterns: Any) -> None:
        await self._intent(lambda: self._core.unsubscribe(PATTERN, patterns))

    async def sunsubscribe(self, *channels: Any) -> None:
        """Sharded ``SUNSUBSCRIBE`` of ``channels``, or of every sharded channel if none is given."""
        await self._intent(lambda: self._core.unsubscribe(SHARD, channels))

    async def _intent(self, change: Callable[[], None]) -> None:
        await self._ready()
        change()
        await self._flush(_monotonic())

    async def _ready(self) -> None:
        if self._closed:
            raise ClientClosedError("this PubSub is closed")
        topology = self._topology
        topology.bind()
        if not topology.refreshes:
            await topology.refresh("startup", force=True, raise_on_failure=True)
        if self._busy is None:
            self._busy = asyncio.Lock()

    # --- receiving ------------------------------------------------------------------------------------------

    async def get_message(self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0) -> dict | None:
        """The next message, waiting up to ``timeout`` seconds (``None``: until one comes); ``None`` if none.

        The blocking subscriber's message dicts, handlers and rules (see ``PubSub.get_message``).
        """
        await self._ready()
        ignore = ignore_subscribe_messages or self.ignore_subscribe_messages
        deadline = None if timeout is None else _monotonic() + max(timeout, 0.0)
        while True:
            item, handler = self._take(ignore)
            self._resume_if_room()
            if handler is not None:
                outcome = handler(item)
                if inspect.isawaitable(outcome):
                    await outcome
                continue
            if item is not None:
                return item
            if self._closed:
                raise ClientClosedError("this PubSub is closed")
            now = _monotonic()
            await self._maintain(now)
            if self._queue:
                continue
            remaining = float("inf") if deadline is None else deadline - now
            await self._wait(max(min(remaining, self._next_wake() - now), 0.0))
            if not self._queue and deadline is not None and _monotonic() >= deadline:
                return None

    async def listen(self) -> AsyncIterator[dict]:
        """Yield messages while anything is subscribed (``async for message in p.listen()``)."""
        while self.subscribed:
            message = await self.get_message(timeout=_LISTEN_SLICE)
            if message is not None:
                yield message

    async def _wait(self, seconds: float) -> None:
        """Until a reply or a lost link wakes us, or ``seconds`` pass (0: one turn of the loop)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiters.append(waiter)
        timer = None if seconds == float("inf") else loop.call_later(seconds, _wake_one, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            _wake_one(waiter)

    # --- the loop's parts ------------------------------------------------------------------------------------

    async def _maintain(self, now: float) -> None:
        """Health checks, MOVED replies to follow, then whatever the core has due."""
        for link in self._due_links(now):
            self._lose(link, now)
        moves, self._moves = self._moves, []
        for _, slot, node in moves:
            await self._topology.apply_moved(slot, node)
        await self._flush(now)

    async def _flush(self, now: float) -> None:
        async with self._busy:  # type: ignore[union-attr]
            core, topology = self._core, self._topology
            if core.wants_refresh(now):
                await topology.refresh(core.refresh_reason or "pubsub")  # single-flight, rate-limited
            for link, node, commands in core.plan(now, topology.slot_map, random):
                conn = self._reusable(link, node)
                if conn is None:
                    conn = await self._open(link, node, now)
                    if conn is None:
                        continue
                self._send_planned(link, conn, commands, now)

    async def _open(self, link: str, node: Node, now: float) -> SubscriberConnection | None:
        conn = SubscriberConnection(
            node, self._settings, lambda reply: self._on_reply(link, reply), lambda: self._on_lost(link, conn)
        )
        try:
            await conn.open()  # an AUTH refusal (ResponseError) is the caller's: retrying cannot fix it
        except _LINK_ERRORS:
            self._topology.mark_down(node)
            self._core.link_lost(link, now)
            return None
        if self._closed:
            conn.close()
            return None
        self._conns[link] = conn
        self._health.opened(link, now)
        if self._paused:
            conn.pause(True)
        return conn

    def _close_link(self, link: str) -> None:
        conn = self._conns.pop(link, None)  # popped first: its on_lost then knows it was ours to close
        self._health.forget(link)
        if conn is not None:
            conn.close()

    def _lose(self, link: str, now: float) -> None:
        self._close_link(link)
        self._core.link_lost(link, now)

    # --- callbacks from the connections (inside the event loop's read) ----------------------------------------

    def _on_reply(self, link: str, reply: Any) -> None:
        now = _monotonic()
        self._health.heard(link, now)
        moved = self._accept(link, reply, now)  # ProtocolError: the connection drops itself (then _on_lost)
        if moved is not None:
            self._moves.append(moved)
        self._health.settled(link, now, bool(self._core.pending.get(link)))
        if len(self._queue) >= self._max_queued and not self._paused:
            self._pause(True)
        self._wake()

    def _on_lost(self, link: str, conn: SubscriberConnection) -> None:
        if self._conns.get(link) is not conn:
            return  # closed by us, or an old connection of the link
        del self._conns[link]
        self._health.forget(link)
        self._core.link_lost(link, _monotonic())
        self._wake()

    def _pause(self, paused: bool) -> None:
        self._paused = paused
        for conn in self._conns.values():
            conn.pause(paused)

    def _resume_if_room(self) -> None:
        if self._paused and len(self._queue) <= self._max_queued // 2:
            self._pause(False)


def _wake_one(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)
