"""The one place that decides where a command goes and what to do when that fails.

Rules (the Redis Cluster specification's, plus our safety rules):

1. A keyed command goes to the master of its slot; a read-only one may go to the nodes its
   :class:`ReadFrom` mode lists, best first. A keyless command goes to a master chosen by the topology.
2. ``MOVED slot host:port``: the slot has a new owner. Patch the map (the topology also schedules a full
   refresh) and resend to the new owner. Counts against ``max_redirects``.
3. ``ASK slot host:port``: the slot is migrating; this one key is already there. Send ``ASKING`` and the
   command to that node, once; the map is left alone. Counts against ``max_redirects``.
4. ``TRYAGAIN`` (multi-key command mid-migration): back off, resend to the same node.
   ``CLUSTERDOWN``: back off, refresh, resend. Both count against ``max_retries``.
5. The connection failed: if nothing can have reached the server (connect failed), or the command is safe
   to repeat (read-only), mark the node down, try the next candidate or refresh and back off, within
   ``max_retries``. Otherwise raise :class:`MaybeAppliedError`: never send a write twice.
6. No free pooled connection (``PoolTimeout``): raised at once; nothing was sent.
7. A read timeout is final for that node: a frozen node must cost the caller about one timeout, not
   several; a read moves on to the next candidate if its mode offers one.
8. Any other error reply is the caller's: raise it as :class:`ResponseError`.

``route`` is a generator that yields effects for the I/O shell to carry out and receives their outcome:

* ``(SEND, node, asking, replica_read)`` -> the reply (``ResponseError`` values included), or the
  transport exception instance;
* ``(SLEEP, seconds)`` -> ``None``;
* ``(REFRESH, reason)`` -> ``None`` (the shell refreshes the slot map, single-flight and rate-limited).

It returns the final reply or raises. It never touches a socket, a clock or a thread.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

from .errors import (
    ClusterDownError,
    ConnectError,
    MaybeAppliedError,
    PoolTimeout,
    ProtocolError,
    ReadTimeout,
    ResponseError,
    SlotNotCoveredError,
    TimeoutError,
    TooManyRedirects,
)
from .readfrom import ReadFrom, read_candidates
from .slotmap import Node, Shard, SlotMap

__all__ = ["SEND", "SLEEP", "REFRESH", "RoutingState", "RetryPolicy", "route", "direct_target", "parse_redirect"]

SEND, SLEEP, REFRESH = 0, 1, 2

Effect = tuple
Route = Generator[Effect, Any, Any]


class RoutingState(Protocol):
    """What the router reads and records; the sync (later async) topology provides it."""

    slot_map: SlotMap
    read_from: ReadFrom

    def next_turn(self) -> int: ...
    def is_down(self, node: Node) -> bool: ...
    def mark_down(self, node: Node) -> None: ...
    def apply_moved(self, slot: int, node: Node) -> None: ...
    def keyless_shard(self) -> Shard: ...


class RetryPolicy:
    """Budgets and backoff. Plain attributes: read on every retry, never on the happy path."""

    __slots__ = ("max_redirects", "max_retries", "backoff_base", "backoff_cap")

    def __init__(
        self, max_redirects: int = 8, max_retries: int = 3, backoff_base: float = 0.05, backoff_cap: float = 0.5
    ) -> None:
        self.max_redirects = max_redirects
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))


def parse_redirect(message: str) -> tuple[int, Node]:
    """``"MOVED 3999 127.0.0.1:6381"`` -> ``(3999, Node("127.0.0.1", 6381))``."""
    try:
        _, slot, address = message.split(" ", 2)
        host, _, port = address.rpartition(":")
        return int(slot), Node(host.strip("[]"), int(port))
    except ValueError:
        raise ProtocolError(f"malformed redirect reply: {message!r:.200}") from None


def _targets(state: RoutingState, slot: int | None, readonly: bool) -> tuple[Shard, list[Node]]:
    shard = state.slot_map.slots[slot] if slot is not None else state.keyless_shard()
    if shard is None:
        raise LookupError
    mode = state.read_from
    if not readonly or mode is ReadFrom.PRIMARY:
        return shard, [shard.master]
    nodes = read_candidates(mode, shard, state.next_turn())
    # Nodes that failed recently go last, not away: if all are down, still try them in order.
    up = [n for n in nodes if not state.is_down(n)]
    if len(up) < len(nodes):
        up.extend(n for n in nodes if state.is_down(n))
    return shard, up


def direct_target(state: RoutingState, slot: int | None, readonly: bool) -> Node | None:
    """Rule 1 for the common case (a keyed command for the master), cheap enough for the hot path.

    ``None`` means: let :func:`route` decide. A shell may send to the returned node first and hand
    :func:`route` the outcome as ``first``, so a healthy command never builds a generator.
    """
    if slot is None or (readonly and state.read_from is not ReadFrom.PRIMARY):
        return None
    shard = state.slot_map.slots[slot]
    return None if shard is None else shard.master


def route(
    state: RoutingState,
    policy: RetryPolicy,
    slot: int | None,
    readonly: bool,
    repeatable: bool,
    first: tuple[Node, Any] | None = None,
) -> Route:
    """Drive one command to its reply; see the module docstring for the rules.

    ``first`` is ``(node, outcome)`` of an attempt the shell already made (see :func:`direct_target`);
    it stands for the first ``SEND`` when the router would have chosen the same node.
    """
    history: list[tuple[str, str, str]] = []
    redirects = retries = 0
    refreshed_uncovered = False
    queue: list[Node] = []
    shard: Shard | None = None
    asking = False
    while True:
        if not queue:
            asking = False
            try:
                shard, queue = _targets(state, slot, readonly)
            except LookupError:
                if refreshed_uncovered:
                    raise SlotNotCoveredError(
                        f"no node serves slot {slot} (the cluster may be resharding or down)", slot
                    ) from None
                refreshed_uncovered = True
                yield (REFRESH, f"slot {slot} uncovered")
                continue
            if not queue:
                raise ClusterDownError(
                    f"slot {slot}: read mode {state.read_from.value!r} found no node to read from "
                    "(the shard has no replicas)"
                )
        node = queue.pop(0)
        if first is not None and first[0] == node:
            outcome = first[1]
        else:
            outcome = yield (SEND, node, asking, not asking and shard is not None and node != shard.master)
        first = None

        if not isinstance(outcome, BaseException):
            return outcome

        if isinstance(outcome, ResponseError):
            code = outcome.code
            if code == "MOVED" or code == "ASK":
                redirects += 1
                new_slot, target = parse_redirect(outcome.message)
                history.append((code, node.name, target.name))
                if redirects > policy.max_redirects:
                    raise TooManyRedirects(_budget_message(slot, history), tuple(history))
                if code == "MOVED":
                    state.apply_moved(new_slot, target)
                    queue = []
                else:
                    queue = [target]
                    asking = True
                continue
            if code == "TRYAGAIN" or code == "CLUSTERDOWN":
                retries += 1
                history.append((code, node.name, outcome.message))
                if retries > policy.max_retries:
                    if code == "CLUSTERDOWN":
                        raise ClusterDownError(f"{outcome.message} (from {node.name}, after {retries - 1} retries)")
                    raise TooManyRedirects(_budget_message(slot, history), tuple(history))
                yield (SLEEP, policy.backoff(retries))
                if code == "CLUSTERDOWN":
                    yield (REFRESH, outcome.message)
                    queue = []
                else:
                    queue = [node]  # same node; ``asking`` is kept for a key being imported
                continue
            raise outcome

        if isinstance(outcome, PoolTimeout):
            raise outcome  # local congestion, nothing was sent: not the node's fault, not worth a retry
        # A transport failure: ConnectError, WriteError, ReadError, a timeout, or a protocol error.
        history.append((type(outcome).__name__, node.name, str(outcome)))
        state.mark_down(node)
        nothing_sent = isinstance(outcome, ConnectError)
        if not nothing_sent and not repeatable:
            raise MaybeAppliedError(
                f"the connection to {node.name} failed after the command was sent ({outcome}); "
                "it may have been applied, so it was not sent again",
                node.name,
            ) from outcome
        if isinstance(outcome, (ReadTimeout, ProtocolError)) or (
            isinstance(outcome, TimeoutError) and not nothing_sent
        ):
            if queue:
                continue
            raise outcome
        if queue:
            continue  # a read with another candidate: try it now
        retries += 1
        if retries > policy.max_retries:
            raise outcome
        yield (REFRESH, f"{node.name}: {type(outcome).__name__}")
        yield (SLEEP, policy.backoff(retries))


def _budget_message(slot: int | None, history: list[tuple[str, str, str]]) -> str:
    steps = "; ".join(f"{kind} {src} -> {dst}" for kind, src, dst in history[-6:])
    return f"slot {slot}: gave up after {len(history)} redirects/retries ({steps})"
