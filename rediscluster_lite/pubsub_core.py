"""Pub/sub bookkeeping, sans-I/O: where each subscription belongs, and what each reply on a subscriber means.

Rules (what the servers do, checked against Redis 7.0, and what we do about it):

1. Classic channels and patterns live on one *link* (:data:`CLASSIC`), on any node: the cluster bus carries every
   ``PUBLISH`` to every node. The link goes to the ``node=`` the caller chose, else to a master picked at random.
   When it is lost, everything on it is resubscribed on a live master, avoiding the node that just failed.
2. A sharded channel lives on the master owning ``key_slot(channel)``; one link per node, keyed by the node's
   ``host:port``. Channels of different slots go in separate ``SSUBSCRIBE`` commands: the server answers a
   cross-slot one with ``CROSSSLOT``.
3. Replies on a link come in command order. A (un)subscribe command naming N channels gets N confirmations or
   one error reply, so an error reply belongs to the oldest command still waiting on that link (``pending``).
4. A sharded channel leaves its node, and is placed again after a backoff that grows with consecutive failures
   (reset by a confirmation), when:

   * its link is lost (the node died or stopped answering): refresh the map, go to the slot's owner;
   * ``SSUBSCRIBE`` is answered ``MOVED slot host:port``: go where it says (mid-migration, two nodes may send
     each other's way for a moment; the backoff spaces that out);
   * the server pushes an ``sunsubscribe`` nobody asked for: the slot moved away (``CLUSTER SETSLOT ... NODE``
     on the old owner). Refresh the map and place it again. The push is not shown to the caller;
   * the answer is ``TRYAGAIN``, ``CLUSTERDOWN``, ``LOADING``, ``MASTERDOWN`` or ``ASK``: retry later.

5. Any other error reply to a subscribe (``NOPERM``, an unknown command on an old server) drops those names and
   is raised to the caller: retrying could not help.
6. Pub/sub keeps no history: what is published while a subscription is being moved is lost. A second
   confirmation (``subscribe``/``ssubscribe``) for a channel tells the caller that such a gap may have happened.

Names are kept in the form the server echoes them: ``bytes``, or ``str`` with ``decode_responses``. Nothing
here touches a socket or reads the clock: the shell (``_sync/pubsub.py``) passes ``now`` in.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .errors import ProtocolError, ResponseError
from .keyslot import encode_key, key_slot
from .router import parse_redirect
from .slotmap import Node, SlotMap

__all__ = [
    "CLASSIC",
    "CHANNEL",
    "PATTERN",
    "SHARD",
    "MOVED",
    "CONFIRMATIONS",
    "MESSAGE_TYPES",
    "PubSubCore",
    "parse_message",
]

CLASSIC = "classic"  # the link of classic channels and patterns; sharded links are named "host:port"
CHANNEL, PATTERN, SHARD = "channel", "pattern", "shard"
MOVED = "moved"  # effect: (MOVED, slot, node): the shell patches the client's slot map

_SUBSCRIBE = {CHANNEL: b"SUBSCRIBE", PATTERN: b"PSUBSCRIBE", SHARD: b"SSUBSCRIBE"}
_UNSUBSCRIBE = {CHANNEL: b"UNSUBSCRIBE", PATTERN: b"PUNSUBSCRIBE", SHARD: b"SUNSUBSCRIBE"}
# the reply type each command's confirmations carry
_REPLY_TYPE = {
    b"SUBSCRIBE": "subscribe",
    b"PSUBSCRIBE": "psubscribe",
    b"SSUBSCRIBE": "ssubscribe",
    b"UNSUBSCRIBE": "unsubscribe",
    b"PUNSUBSCRIBE": "punsubscribe",
    b"SUNSUBSCRIBE": "sunsubscribe",
    b"PING": "pong",
}
_KIND_OF = {
    "subscribe": CHANNEL,
    "psubscribe": PATTERN,
    "ssubscribe": SHARD,
    "unsubscribe": CHANNEL,
    "punsubscribe": PATTERN,
    "sunsubscribe": SHARD,
}
CONFIRMATIONS = frozenset(_KIND_OF)
MESSAGE_TYPES = frozenset(("message", "pmessage", "smessage"))
_SUBSCRIBES = frozenset(("subscribe", "psubscribe", "ssubscribe"))
# Error codes that say "not here, not now", never "not allowed": the subscription is placed again later.
_RETRYABLE = frozenset(("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN"))

Handler = Callable[[dict], Any]
Effect = tuple


def parse_message(reply: list) -> dict[str, Any]:
    """A pub/sub push (RESP2 array) -> ``{"type", "pattern", "channel", "data"}``, as redis-py shapes it.

    ``type`` is always ``str``; the others are what the server sent (``bytes``, or ``str`` when decoding).
    Raises :class:`ProtocolError` for anything that is not a pub/sub push.
    """
    if not isinstance(reply, list) or not reply:
        raise ProtocolError(f"unexpected reply on a pub/sub connection: {reply!r:.200}")
    kind = reply[0]
    if isinstance(kind, bytes):
        kind = kind.decode("ascii", "replace")
    if not isinstance(kind, str):
        raise ProtocolError(f"unexpected reply on a pub/sub connection: {reply!r:.200}")
    kind = kind.lower()
    if kind == "pmessage" and len(reply) == 4:
        return {"type": kind, "pattern": reply[1], "channel": reply[2], "data": reply[3]}
    if (kind in MESSAGE_TYPES or kind in CONFIRMATIONS) and len(reply) == 3:
        return {"type": kind, "pattern": None, "channel": reply[1], "data": reply[2]}
    if kind == "pong" and len(reply) == 2:
        return {"type": kind, "pattern": None, "channel": None, "data": reply[1]}
    raise ProtocolError(f"unexpected reply on a pub/sub connection: {reply!r:.200}")


class _Pending:
    """One command sent on a link whose confirmations have not all arrived."""

    __slots__ = ("reply_type", "names", "remaining")

    def __init__(self, reply_type: str, names: tuple) -> None:
        self.reply_type = reply_type
        self.names = names
        self.remaining = list(names)  # a list: ``SUBSCRIBE a a`` is confirmed twice

    def take(self, reply_type: str, name: Any) -> bool:
        if reply_type != self.reply_type:
            return False
        try:
            self.remaining.remove(name)
        except ValueError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<pending {self.reply_type} {self.remaining!r}>"


class PubSubCore:
    """Everything a subscriber knows, and every decision it makes. Not thread-safe (neither is its shell).

    The shell's cycle: the caller's intents (:meth:`subscribe`, :meth:`unsubscribe`) change what is *wanted*;
    :meth:`plan` says which commands to send on which link (and to which node to connect it); every reply read
    goes through :meth:`on_reply`; a link that failed is reported with :meth:`link_lost`.
    """

    def __init__(
        self,
        encoding: str | None = None,
        *,
        node: Node | None = None,
        backoff_base: float = 0.05,
        backoff_cap: float = 0.5,
    ) -> None:
        self.encoding = encoding
        self.preferred = node
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # name -> handler (or None), per kind: what the caller asked for, whatever the links' state
        self.wanted: dict[str, dict[Any, Handler | None]] = {CHANNEL: {}, PATTERN: {}, SHARD: {}}
        # the classic link: the node it is (being) connected to, or None while it waits for a retry
        self.classic_node: Node | None = None
        self.classic_failures = 0
        self.classic_due = 0.0
        self.classic_avoid: Node | None = None
        # sharded channels: placed on a link (subscribed or on the way), or homeless until a due time
        self.placed: dict[Any, str] = {}
        self.per_link: dict[str, int] = {}  # sharded link -> how many channels are placed on it
        self.homeless: dict[Any, float] = {}
        self.failures: dict[Any, int] = {}
        self.redirect: dict[Any, Node] = {}
        self.link_nodes: dict[str, Node] = {}
        # per link: commands waiting for confirmations, and commands not sent yet
        self.pending: dict[str, deque[_Pending]] = {}
        self.outbox: dict[str, list[tuple]] = {}
        # why the shell should refresh the slot map before placing channels again (None: no need)
        self.refresh_reason: str | None = None

    def __repr__(self) -> str:
        w = self.wanted
        return (
            f"<PubSubCore channels={len(w[CHANNEL])} patterns={len(w[PATTERN])} shard={len(w[SHARD])} "
            f"placed={len(self.placed)} homeless={len(self.homeless)} classic={self.classic_node}>"
        )

    # --- names ---------------------------------------------------------------------------------------

    def norm(self, name: Any) -> Any:
        """The form the server echoes ``name`` in: bytes, or str when decoding."""
        if self.encoding is None:
            return encode_key(name)
        if isinstance(name, str):
            return name
        return encode_key(name).decode(self.encoding)

    # --- what the caller wants -----------------------------------------------------------------------

    @property
    def subscribed(self) -> bool:
        """Anything wanted, or confirmations still to come (``listen()`` runs until both are done)."""
        if any(self.wanted.values()):
            return True
        return any(p.reply_type != "pong" for queue in self.pending.values() for p in queue)

    def subscribe(self, kind: str, names: Iterable[Any], handlers: dict[Any, Handler] | None = None) -> None:
        wanted = self.wanted[kind]
        added = []
        for raw in names:
            name = self.norm(raw)
            wanted[name] = None
            added.append(name)
        for raw, handler in (handlers or {}).items():
            name = self.norm(raw)
            wanted[name] = handler
            added.append(name)
        if not added:
            raise ValueError("give at least one channel or pattern")
        if kind != SHARD:
            if self.classic_node is not None:
                self._queue(CLASSIC, _SUBSCRIBE[kind], added)
            # else the link's (re)connection subscribes everything wanted
            return
        by_link: dict[str, list] = {}
        for name in dict.fromkeys(added):
            link = self.placed.get(name)
            if link is not None:
                by_link.setdefault(link, []).append(name)  # asked again: the server confirms again
            elif name not in self.homeless:
                self.homeless[name] = 0.0
        for link, again in by_link.items():
            self._queue_by_slot(link, b"SSUBSCRIBE", again)

    def unsubscribe(self, kind: str, names: Iterable[Any]) -> None:
        """Drop ``names`` (all of this kind if none): wanted no more, and unsubscribed where they are."""
        wanted = self.wanted[kind]
        chosen = [self.norm(n) for n in names] or list(wanted)
        for name in chosen:
            wanted.pop(name, None)
        if kind != SHARD:
            if self.classic_node is not None and chosen:
                self._queue(CLASSIC, _UNSUBSCRIBE[kind], chosen)
            return
        by_link: dict[str, list] = {}
        for name in dict.fromkeys(chosen):
            self.homeless.pop(name, None)
            self.failures.pop(name, None)
            self.redirect.pop(name, None)
            link = self._unplace(name)
            if link is not None:
                by_link.setdefault(link, []).append(name)
        for link, gone in by_link.items():
            self._queue_by_slot(link, b"SUNSUBSCRIBE", gone)

    def queue_ping(self, link: str) -> None:
        """A health check: the answer (or its absence) tells whether the link still works."""
        self._queue(link, b"PING", [])

    def handler_for(self, message: dict) -> Handler | None:
        kind = message["type"]
        if kind == "message":
            return self.wanted[CHANNEL].get(message["channel"])
        if kind == "pmessage":
            return self.wanted[PATTERN].get(message["pattern"])
        if kind == "smessage":
            return self.wanted[SHARD].get(message["channel"])
        return None

    # --- planning --------------------------------------------------------------------------------------

    def backoff(self, failures: int) -> float:
        """The first retry after a failure is immediate; then 50 ms, 100 ms ... up to ``backoff_cap``."""
        if failures <= 1:
            return 0.0
        return min(self.backoff_cap, self.backoff_base * (2 ** (failures - 2)))

    def next_due(self) -> float:
        """When :meth:`plan` will next have something to do by itself (``inf``: never)."""
        due = min(self.homeless.values(), default=float("inf"))
        if self.classic_node is None and (self.wanted[CHANNEL] or self.wanted[PATTERN]):
            due = min(due, self.classic_due)
        return due

    def wants_refresh(self, now: float) -> bool:
        """A placement is due and the last failure said the map may be stale."""
        return self.refresh_reason is not None and self.next_due() <= now

    def pick_classic_node(self, slot_map: SlotMap, rng: random.Random | Any = random) -> Node | None:
        """The caller's node unless it just failed; else a random master, not the one that just failed."""
        if self.preferred is not None and self.preferred != self.classic_avoid:
            return self.preferred
        masters = list(slot_map.masters)
        choices = [m for m in masters if m != self.classic_avoid] or masters
        if not choices:
            return self.preferred
        return rng.choice(choices)

    def owner(self, slot_map: SlotMap, name: Any) -> Node | None:
        """Where a sharded channel belongs now: where a MOVED sent it, else its slot's master in the map."""
        node = self.redirect.pop(name, None)
        if node is not None:
            return node
        shard = slot_map.slots[key_slot(name)]
        return None if shard is None else shard.master

    def plan(self, now: float, slot_map: SlotMap, rng: random.Random | Any = random) -> list[tuple[str, Node, list]]:
        """What to send now: ``[(link, node, [argv, ...]), ...]``; connect ``link`` to ``node`` first if needed.

        The commands are recorded as pending: the shell must send them, or report :meth:`link_lost`.
        """
        placed_any = False
        fresh: dict[str, list[tuple]] = {}
        # the classic link, (re)connected: everything wanted, in two commands
        if self.classic_node is None and (self.wanted[CHANNEL] or self.wanted[PATTERN]) and now >= self.classic_due:
            node = self.pick_classic_node(slot_map, rng)
            if node is None:
                self._classic_retry(now)
            else:
                placed_any = True
                self.classic_node = node
                commands = fresh.setdefault(CLASSIC, [])
                for kind in (CHANNEL, PATTERN):
                    if self.wanted[kind]:
                        commands.append((_SUBSCRIBE[kind], *self.wanted[kind]))
                self.outbox.pop(CLASSIC, None)  # anything queued before is covered by the above
        # homeless sharded channels whose time has come
        if self.homeless:
            due = [name for name, when in self.homeless.items() if when <= now]
            if due:
                placed_any = True
            by_link: dict[str, list] = {}
            for name in due:
                node = self.owner(slot_map, name)
                del self.homeless[name]
                if node is None:  # slot not covered (yet): the map will say later
                    self._retry_later(name, now)
                    self.refresh_reason = self.refresh_reason or "pubsub: slot not covered"
                    continue
                self._place(name, node.name)
                self.link_nodes[node.name] = node
                by_link.setdefault(node.name, []).append(name)
            for link, names in by_link.items():
                self._queue_by_slot(link, b"SSUBSCRIBE", names)
        if placed_any:
            self.refresh_reason = None if not self.homeless else self.refresh_reason
        for link, commands in self.outbox.items():
            fresh.setdefault(link, []).extend(commands)
        self.outbox = {}
        out = []
        for link, commands in fresh.items():
            if not commands:
                continue
            node = self.classic_node if link == CLASSIC else self.link_nodes.get(link)
            if node is None:  # its link was lost after they were queued: nothing to do there
                continue
            queue = self.pending.setdefault(link, deque())
            for argv in commands:
                queue.append(_Pending(_REPLY_TYPE[argv[0]], tuple(argv[1:]) or (None,)))
            out.append((link, node, commands))
        return out

    def _place(self, name: Any, link: str) -> None:
        self.placed[name] = link
        self.per_link[link] = self.per_link.get(link, 0) + 1

    def _unplace(self, name: Any) -> str | None:
        link = self.placed.pop(name, None)
        if link is not None:
            left = self.per_link[link] - 1
            if left:
                self.per_link[link] = left
            else:
                del self.per_link[link]
        return link

    def idle_links(self) -> list[str]:
        """Sharded links with no channel placed and nothing in flight: their connections can be closed."""
        return [
            link
            for link in self.link_nodes
            if link not in self.per_link and not self.pending.get(link) and not self.outbox.get(link)
        ]

    def _queue(self, link: str, verb: bytes, names: list) -> None:
        self.outbox.setdefault(link, []).append((verb, *names))

    def _queue_by_slot(self, link: str, verb: bytes, names: list) -> None:
        by_slot: dict[int, list] = {}
        for name in names:
            by_slot.setdefault(key_slot(name), []).append(name)
        for group in by_slot.values():
            self._queue(link, verb, group)

    def _retry_later(self, name: Any, now: float) -> None:
        failures = self.failures.get(name, 0) + 1
        self.failures[name] = failures
        self.homeless[name] = now + self.backoff(failures)

    def _classic_retry(self, now: float) -> None:
        self.classic_failures += 1
        self.classic_due = now + self.backoff(self.classic_failures)

    # --- events from the shell ---------------------------------------------------------------------------

    def link_lost(self, link: str, now: float) -> None:
        """The link failed (connect, write, read, timeout, garbage): move what was on it elsewhere."""
        self.pending.pop(link, None)
        self.outbox.pop(link, None)
        if link == CLASSIC:
            self.classic_avoid = self.classic_node
            self.classic_node = None
            self._classic_retry(now)
            self.refresh_reason = self.refresh_reason or "pubsub: classic link lost"
            return
        self.link_nodes.pop(link, None)
        moved = [name for name, at in self.placed.items() if at == link]
        for name in moved:
            self._unplace(name)
            self.redirect.pop(name, None)
            self._retry_later(name, now)
        if moved:
            self.refresh_reason = self.refresh_reason or f"pubsub: lost {link}"

    def on_reply(self, link: str, reply: Any, now: float) -> tuple[Any, Effect | None]:
        """One reply read on ``link`` -> (what to give the caller or ``None``, an effect or ``None``).

        What to give the caller is a message dict, or a :class:`ResponseError` to raise. Raises
        :class:`ProtocolError` when the reply makes no sense on a subscriber: the link is out of step.
        """
        if isinstance(reply, ResponseError):
            return self._on_error(link, reply, now)
        if reply == b"PONG" or reply == "PONG":  # PING on a link not (yet) subscribed to anything
            self._take_pong(link)
            return None, None
        message = parse_message(reply)
        kind = message["type"]
        if kind in MESSAGE_TYPES:
            return message, None
        if kind == "pong":
            self._take_pong(link)
            return None, None
        return self._on_confirmation(link, message, now)

    def _take_pong(self, link: str) -> None:
        queue = self.pending.get(link)
        if not queue:
            return
        for pending in queue:
            if pending.reply_type == "pong":
                queue.remove(pending)
                return

    def _on_confirmation(self, link: str, message: dict, now: float) -> tuple[Any, Effect | None]:
        kind, name = message["type"], message["channel"]
        queue = self.pending.get(link)
        head = queue[0] if queue else None
        solicited = head is not None and head.take(kind, name)
        if solicited and not head.remaining:  # type: ignore[union-attr]
            queue.popleft()  # type: ignore[union-attr]
        if kind in _SUBSCRIBES and solicited:
            if kind == "ssubscribe":
                self.failures.pop(name, None)
            else:
                self.classic_failures = 0
                self.classic_avoid = None
        if kind == "sunsubscribe" and not solicited:
            # The server dropped it: its slot moved away from this node. Ours to fix, not the caller's news.
            if name in self.wanted[SHARD] and self.placed.get(name) == link:
                self._unplace(name)
                self._retry_later(name, now)
                self.refresh_reason = f"pubsub: slot {key_slot(name)} left {link}"
            return None, None
        return message, None

    def _on_error(self, link: str, error: ResponseError, now: float) -> tuple[Any, Effect | None]:
        queue = self.pending.get(link)
        head = queue.popleft() if queue else None
        if head is None:
            return error, None
        code = error.code
        if head.reply_type == "pong":
            return None, None  # a refused health check (ACL): the link answered, so it is alive
        if head.reply_type not in _SUBSCRIBES:
            # An unsubscribe refused with MOVED & co: the slot left, and the subscription with it.
            return (None if code in _RETRYABLE else error), None
        kind = _KIND_OF[head.reply_type]
        if kind != SHARD:
            for name in head.names:
                self.wanted[kind].pop(name, None)
            return error, None
        names = [name for name in dict.fromkeys(head.names) if self.placed.get(name) == link]
        if code in _RETRYABLE:
            effect = None
            if code == "MOVED":
                slot, node = parse_redirect(error.message)
                if key_slot(head.names[0]) != slot:
                    # Not this command's answer: an earlier command was taken as answered by a push that
                    # looked like its confirmation. Leave this one waiting for its own replies.
                    queue.appendleft(head)  # type: ignore[union-attr]
                    return None, None
                effect = (MOVED, slot, node)
            for name in names:
                self._unplace(name)
                if effect is not None:
                    self.redirect[name] = effect[2]
                self._retry_later(name, now)
            if effect is None and names:
                self.refresh_reason = f"pubsub: {code}"
            return None, effect
        for name in names:  # refused for good: retrying cannot help
            self._unplace(name)
            self.wanted[SHARD].pop(name, None)
            self.failures.pop(name, None)
        return error, None
