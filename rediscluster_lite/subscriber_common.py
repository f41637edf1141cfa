"""What the blocking and the asyncio subscriber share: the views of what is subscribed, the queue of messages
for the caller, and the bookkeeping of a reply or a health check. No I/O here, and no clock: ``now`` comes in.

Rules it keeps:

1. The caller's queue holds messages (dicts) and error values (:class:`ReplyDecodeError`), in arrival order;
   an error value is raised to the caller when its turn comes, so later messages are not lost with it.
2. A message of a channel with a handler goes to the handler, never to the caller; confirmations are dropped
   when the caller ignores them.
3. A ``MOVED`` met by a subscribe is handed back to the shell (:meth:`SubscriberCommon._accept`), which patches
   the client's slot map the way its topology does (blocking or awaited).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .errors import ConnectionError, ProtocolError, ReplyDecodeError, TimeoutError
from .link_health import LinkHealth
from .pubsub_core import CHANNEL, CONFIRMATIONS, MOVED, PATTERN, SHARD, Handler, PubSubCore
from .resp import pack_command
from .slotmap import Node

__all__ = ["SubscriberCommon", "link_check_interval"]

DEFAULT_LINK_CHECK = 30.0  # seconds of silence before a PING, when neither the subscriber nor the client says


def link_check_interval(settings: Any, asked: Any) -> float | None:
    """The subscriber's ``health_check_interval``: as asked (``None`` or 0: off); not given (``...``): the
    client's ``health_check_interval`` if it has one, else 30 s."""
    if asked is not ...:
        return asked
    return getattr(settings, "health_check_interval", None) or DEFAULT_LINK_CHECK


_LINK_ERRORS = (ConnectionError, TimeoutError, ProtocolError)


class SubscriberCommon:
    """Base of ``PubSub`` (blocking) and ``AsyncPubSub``: the shell sets ``_core``, ``_health``, ``_conns``."""

    _core: PubSubCore
    _health: LinkHealth
    _conns: dict[str, Any]  # link -> its open connection (anything with a ``node``)
    _queue: deque[Any]
    ignore_subscribe_messages: bool

    @property
    def health_check_interval(self) -> float | None:
        """Seconds of silence after which a link is sent a ``PING`` (``None``: never)."""
        return self._health.interval

    @health_check_interval.setter
    def health_check_interval(self, seconds: float | None) -> None:
        self._health.interval = seconds or None

    def __repr__(self) -> str:
        links = ", ".join(f"{link}={conn.node.name}" for link, conn in self._conns.items())
        return f"<{type(self).__name__} {self._core!r} links=[{links}]>"

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

    # --- the shells' shared steps ------------------------------------------------------------------------

    def _take(self, ignore: bool) -> tuple[dict | None, Handler | None]:
        """The next queued message for the caller, or for its handler: ``(message, handler)``; ``(None, None)``
        when the queue is empty. Raises a queued error value."""
        queue = self._queue
        while queue:
            item = queue.popleft()
            if isinstance(item, BaseException):
                raise item
            if ignore and item["type"] in CONFIRMATIONS:
                continue
            return item, self._core.handler_for(item)
        return None, None

    def _due_links(self, now: float) -> list[str]:
        """Health checks (PINGs queued for silent links) and the links to drop now: lost, or left empty."""
        lost, to_ping = self._health.check(list(self._conns), now)
        for link in to_ping:
            self._core.queue_ping(link)  # silent for a while: make it say something
        return lost + [link for link in self._core.idle_links() if link not in lost]

    def _next_wake(self) -> float:
        return self._health.next_check(list(self._conns), self._core.next_due())

    def _reusable(self, link: str, node: Node) -> Any:
        """The open connection of ``link`` if it goes to ``node``; one to another node is closed first."""
        conn = self._conns.get(link)
        if conn is not None and conn.node != node:
            self._close_link(link)
            conn = None
        return conn

    def _send_planned(self, link: str, conn: Any, commands: list, now: float) -> None:
        """Write the core's commands for ``link``; a failed write loses the link (the core plans again)."""
        try:
            conn.send(b"".join([pack_command(argv) for argv in commands]))
        except _LINK_ERRORS:
            self._lose(link, now)
            return
        self._health.asked(link, now)

    def _close_link(self, link: str) -> None:
        raise NotImplementedError

    def _lose(self, link: str, now: float) -> None:
        raise NotImplementedError

    def _accept(self, link: str, reply: object, now: float) -> tuple | None:
        """One reply read on ``link``, through the core. Returns a ``(MOVED, slot, node)`` effect for the shell
        to carry out, else None. Raises ProtocolError when the link must be dropped."""
        if isinstance(reply, ReplyDecodeError):  # not valid text: the message is lost, the stream is in step
            self._queue.append(reply)
            return None
        item, effect = self._core.on_reply(link, reply, now)
        if item is not None:
            self._queue.append(item)
        if effect is not None and effect[0] == MOVED:
            return effect
        return None
