"""A dedicated asyncio connection in push mode, for one pub/sub link.

Rules it keeps:

1. Opening (connect, TLS, AUTH) is :class:`AsyncConnection`'s, request and reply. Once open, every reply
   the node sends is handed to ``on_reply`` as it is parsed, in order: a subscriber's replies are pushes and
   confirmations, not answers owed to waiting futures. ``on_reply`` raising ProtocolError ends the link, and
   nothing parsed after that reply is delivered.
2. ``send`` writes at once; it raises :class:`ConnectError`-family errors when the connection is gone.
3. Whatever ends the connection (the node, a protocol error, ``close``) calls ``on_lost`` exactly once.
4. Reading can be paused while the caller's queue is full, so a subscriber nobody reads cannot grow without
   bound: the kernel's buffers then hold the node back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConnectError
from ..settings import ConnectionSettings
from ..slotmap import Node
from .connection import AsyncConnection

__all__ = ["SubscriberConnection"]


class SubscriberConnection(AsyncConnection):
    """``await open()``, then ``send(data)``; replies go to ``on_reply(reply)``, the end to ``on_lost()``."""

    def __init__(
        self,
        node: Node,
        settings: ConnectionSettings,
        on_reply: Callable[[Any], None],
        on_lost: Callable[[], None],
    ) -> None:
        super().__init__(node, settings, timeout=None)  # link health is the subscriber's (link_health.py)
        self._on_reply = on_reply
        self._on_lost = on_lost
        self._paused = False

    def send(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or self.closed is not None:
            raise ConnectError(f"connection to {self.node.name} is closed", self.node.name)
        transport.write(data)

    def _deliver(self, reply: Any) -> None:
        if self.closed is not None:  # parsed in the same read as the reply that ended the link
            return
        if self._owed:  # the AUTH of open()
            super()._deliver(reply)
        else:
            self._on_reply(reply)

    def _abandon(self, why: BaseException) -> None:
        first = self.closed is None
        super()._abandon(why)
        if first:
            self._on_lost()

    def pause(self, paused: bool) -> None:
        """Stop (or resume) reading from the node."""
        transport = self._transport
        if transport is None or paused == self._paused:
            return
        self._paused = paused
        if paused:
            transport.pause_reading()
        else:
            transport.resume_reading()
