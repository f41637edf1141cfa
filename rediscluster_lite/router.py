"""The one place that decides where a command goes and what to do when that fails.

Rules (the Redis Cluster specification's, plus our safety rules):

1. A keyed command goes to the master of its slot; a read-only one may go to the nodes its
   :class:`ReadFrom` mode lists, best first. A keyless command goes to a master chosen by the topology.
2. ``MOVED slot host:port``: the slot has a new owner. Patch the map (the topology also schedules a full
   refresh) and resend to the new owner. Counts against ``max_redirects``.
3. ``ASK slot host:port``: the slot is migrating; this one key is already there. Send ``ASKING`` and the
   command to that node, once; the map is left alone. Counts against ``max_redirects``.
   A redirect goes only where the state allows (``check_redirect``: ``address_remap``, ``allowed_hosts``):
   to a host the map does not name, only after a refresh names it; else :class:`NodeNotAllowedError`.
4. ``TRYAGAIN`` (multi-key command mid-migration): back off, resend to the same node.
   ``CLUSTERDOWN``: back off, refresh, resend. Both count against ``max_retries``.
5. The connection failed: if nothing can have reached the server (connect failed), or the command is safe
   to repeat (read-only), mark the node down, try the next candidate or refresh and back off, within
   ``max_retries``. Otherwise raise :class:`MaybeAppliedError`: never send a write twice.
6. No free pooled connection (``PoolTimeout``): raised at once; nothing was sent.
7. A read timeout is final for that node: a frozen node must cost the caller about one timeout, not
   several; a read moves on to the next candidate if its mode offers one.
8. Any other error reply is the caller's: raise it as :class:`ResponseError`.

``route`` is a generator that yields effects for the I/O shell to carry out and receives their outcome.
Effects are small named tuples whose first field is their kind (an :class:`EffectKind`), so a shell
dispatches on ``effect[0]`` and reads the rest by name:

* ``Send(SEND, node, asking, replica_read)`` -> the reply (``ResponseError`` values included), or the
  transport exception instance;
* ``Sleep(SLEEP, seconds)`` -> ``None``;
* ``Refresh(REFRESH, reason)`` -> ``None`` (the shell refreshes the slot map, single-flight and rate-limited);
* ``SendBatch(SEND_BATCH, plan, asking, replica_nodes)`` (from :func:`route_batch` only) -> per node, the
  outcome of each command sent.

It returns the final reply or raises. It never touches a socket, a clock or a thread. The budgets are one
immutable :class:`RetryPolicy`; what one command spent of them, and why, is its :class:`Attempt` (its
``history`` goes into the error raised when a budget runs out).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator, Sequence
from typing import Any, NamedTuple, Protocol

from attrs import frozen

from .errors import (
    ClusterDownError,
    ConnectError,
    MaybeAppliedError,
    PoolTimeout,
    ProtocolError,
    RedisClusterError,
    ReplyDecodeError,
    ResponseError,
    SlotNotCoveredError,
    TimeoutError,
    TooManyRedirects,
)
from .readfrom import ReadFrom, read_candidates
from .slotmap import Node, Shard, SlotMap

__all__ = [
    "EffectKind",
    "Send",
    "Sleep",
    "Refresh",
    "SendBatch",
    "SEND",
    "SLEEP",
    "REFRESH",
    "SEND_BATCH",
    "Attempt",
    "route_batch",
    "RoutingState",
    "RetryPolicy",
    "route",
    "direct_target",
    "direct_read",
    "parse_redirect",
    "any_error",
]


class EffectKind(enum.IntEnum):
    SEND = 0
    SLEEP = 1
    REFRESH = 2
    SEND_BATCH = 3


SEND, SLEEP, REFRESH, SEND_BATCH = EffectKind


class Send(NamedTuple):
    kind: EffectKind
    node: Node
    asking: bool
    replica_read: bool


class Sleep(NamedTuple):
    kind: EffectKind
    seconds: float


class Refresh(NamedTuple):
    kind: EffectKind
    reason: str


class SendBatch(NamedTuple):
    kind: EffectKind
    plan: dict  # Node -> list of command indexes, in send order
    asking: set  # indexes to precede with ASKING
    replica_nodes: set  # nodes read from as replicas (READONLY first)


Effect = Send | Sleep | Refresh | SendBatch
Route = Generator[Effect, Any, Any]


class RoutingState(Protocol):
    """What the router reads and records; the sync (later async) topology provides it."""

    slot_map: SlotMap
    read_from: ReadFrom

    def next_turn(self) -> int: ...
    def is_down(self, node: Node) -> bool: ...
    def mark_down(self, node: Node) -> None: ...
    def move_slot(self, slot: int, node: Node) -> bool: ...
    def keyless_shard(self) -> Shard: ...
    def check_redirect(
        self, code: str, source: Node | None, announced: Node, refreshed: bool
    ) -> Node | RedisClusterError | None: ...


@frozen
class RetryPolicy:
    """The budgets and the backoff, one immutable value per client (``attrs.evolve`` makes another).

    ``max_redirects`` bounds MOVED/ASK per command, ``max_retries`` the TRYAGAIN/CLUSTERDOWN/transport retries;
    what a command has spent is counted by its :class:`Attempt`, never by the caller.
    """

    max_redirects: int = 8
    max_retries: int = 3
    backoff_base: float = 0.05
    backoff_cap: float = 0.5
    backoff_fn: Callable[[int], float] | None = None  # seconds before retry n (from ``retry.Retry``)
    retry_on: tuple[type[BaseException], ...] | None = None  # None: every error the rules retry

    def __attrs_post_init__(self) -> None:
        if self.max_redirects < 0 or self.max_retries < 0:
            raise ValueError("max_redirects and max_retries must be >= 0")

    def backoff(self, attempt: int) -> float:
        if self.backoff_fn is not None:
            return self.backoff_fn(attempt)
        return min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))

    def retries(self, kind: type[BaseException]) -> bool:
        """Whether an error of this class may be retried at all (it only narrows rules 4 and 5)."""
        return self.retry_on is None or issubclass(kind, self.retry_on)


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
    return shard, _read_order(state, mode, shard)


def _read_order(state: RoutingState, mode: ReadFrom, shard: Shard) -> list[Node]:
    """The read mode's candidates for ``shard`` (one turn of its rotation), nodes marked down last."""
    return _down_last(state, read_candidates(mode, shard, state.next_turn()))


def _down_last(state: RoutingState, nodes: Sequence[Node]) -> list[Node]:
    # Nodes that failed recently go last, not away: if all are down, still try them in order.
    up = [n for n in nodes if not state.is_down(n)]
    if len(up) < len(nodes):
        up.extend(n for n in nodes if state.is_down(n))
    return up


def direct_target(state: RoutingState, slot: int | None, readonly: bool) -> Node | None:
    """Rule 1 for the common case (a keyed command for the master), cheap enough for the hot path.

    ``None`` means: let :func:`route` decide. A shell may send to the returned node first and hand
    :func:`route` the outcome as ``first``, so a healthy command never builds a generator.
    """
    if slot is None or (readonly and state.read_from is not ReadFrom.PRIMARY):
        return None
    shard = state.slot_map.slots[slot]
    return None if shard is None else shard.master


def direct_read(state: RoutingState, slot: int) -> tuple[Node, bool, tuple[Shard, Sequence[Node]]] | None:
    """Rule 1 for a keyed read under a read mode other than PRIMARY, without a generator:
    ``(node, replica_read, resume)`` where ``node`` is the mode's first candidate for the slot's shard.

    If that attempt fails, the shell hands :func:`route` its outcome as ``first`` and ``resume``, so the
    router goes on with the shard's next candidates. ``None`` (the slot is uncovered, the mode has no
    candidate, or the first one is marked down): let :func:`route` decide.
    """
    shard = state.slot_map.slots[slot]
    if shard is None:
        return None
    order = read_candidates(state.read_from, shard, state.next_turn())
    if not order:
        return None
    node = order[0]
    if state.is_down(node):
        return None
    return node, node != shard.master, (shard, order)


# Verdicts of Attempt.handle(): what one outcome means for one command.
DONE, AGAIN, WAIT, FAIL = 0, 1, 2, 3


class Attempt:
    """One command's routing state across tries: where to send it next, and what each outcome means.

    Shared by :func:`route` (one command) and :func:`route_batch` (pipelines), so every rule in the
    module docstring is written once.
    """

    __slots__ = (
        "slot",
        "readonly",
        "repeatable",
        "queue",
        "shard",
        "asking",
        "redirects",
        "retries",
        "history",
        "refreshed_uncovered",
    )

    def __init__(self, slot: int | None, readonly: bool, repeatable: bool) -> None:
        self.slot = slot
        self.readonly = readonly
        self.repeatable = repeatable
        self.queue: list[Node] = []
        self.shard: Shard | None = None
        self.asking = False
        self.redirects = self.retries = 0
        self.history: list[tuple[str, str, str]] = []
        self.refreshed_uncovered = False

    def resume(self, shard: Shard, queue: list[Node]) -> Attempt:
        """Continue a command that a batch's first round already sent to ``shard``'s first candidate:
        ``queue`` holds the candidates after it (a read moves on to them before any refresh)."""
        self.shard = shard
        self.queue = queue
        return self

    def pick(self, state: RoutingState) -> tuple[Node, bool, bool] | None:
        """``(node, asking, replica_read)`` for the next send, or ``None``: refresh the map first."""
        if not self.queue:
            self.asking = False
            try:
                self.shard, self.queue = _targets(state, self.slot, self.readonly)
            except LookupError:
                if self.refreshed_uncovered:
                    raise SlotNotCoveredError(
                        f"no node serves slot {self.slot} (the cluster may be resharding or down)", self.slot
                    ) from None
                self.refreshed_uncovered = True
                return None
            if not self.queue:
                # Replica-only reads on a shard with no known replica: the map may be a MOVED patch or
                # older than a new replica. Ask once more before giving up.
                if not self.refreshed_uncovered:
                    self.refreshed_uncovered = True
                    return None
                raise ClusterDownError(
                    f"slot {self.slot}: read mode {state.read_from.value!r} found no node to read from "
                    "(the shard has no replicas)"
                )
        node = self.queue.pop(0)
        asking = self.asking
        return node, asking, not asking and self.shard is not None and node != self.shard.master

    def _redirect(self, state: RoutingState, policy: RetryPolicy, node: Node, code: str, message: str) -> tuple:
        """Rules 2 and 3: the verdict on a ``MOVED`` or ``ASK`` from ``node``."""
        self.redirects += 1
        history = self.history
        new_slot, announced = parse_redirect(message)
        history.append((code, node.name, announced.name))
        if self.redirects > policy.max_redirects:
            return FAIL, TooManyRedirects(_budget_message(self.slot, history), tuple(history))
        # A host the map does not name costs one refresh; still unnamed after it, the redirect fails.
        target = state.check_redirect(code, node, announced, _redirected_before(history, announced.name))
        if target is None:
            self.queue = []
            return WAIT, (0.0, True)
        if isinstance(target, RedisClusterError):
            return FAIL, target
        if code == "MOVED":
            state.move_slot(new_slot, announced)  # check_redirect named it: no refresh needed
            self.queue = []
        else:
            self.queue = [target]
            self.asking = True
        return AGAIN, None

    def handle(self, state: RoutingState, policy: RetryPolicy, node: Node, outcome: Any) -> tuple[int, Any]:
        """Judge one outcome: ``(DONE, reply)``, ``(AGAIN, None)``, ``(WAIT, (delay, refresh))``, ``(FAIL, exc)``.

        An error raised because a budget ran out carries this command's ``history`` (oldest first)."""
        if not isinstance(outcome, BaseException):
            return DONE, outcome
        if isinstance(outcome, ResponseError):
            code = outcome.code
            if code == "MOVED" or code == "ASK":
                return self._redirect(state, policy, node, code, outcome.message)
            if code == "TRYAGAIN" or code == "CLUSTERDOWN":
                return self._busy(policy, node, code, outcome.message)
            return FAIL, outcome
        if isinstance(outcome, (PoolTimeout, ReplyDecodeError)):
            # PoolTimeout: local congestion, nothing was sent. ReplyDecodeError: the reply arrived whole
            # (the command ran) but is not valid text for decode_responses. Neither is the node's fault.
            return FAIL, outcome
        return self._transport(state, policy, node, outcome)

    def _busy(self, policy: RetryPolicy, node: Node, code: str, message: str) -> tuple[int, Any]:
        """Rule 4: TRYAGAIN resends to the same node, CLUSTERDOWN after a refresh; both after a backoff."""
        self.retries += 1
        history = self.history
        history.append((code, node.name, message))
        if self.retries > policy.max_retries or (code == "CLUSTERDOWN" and not policy.retries(ClusterDownError)):
            if code == "CLUSTERDOWN":
                error = ClusterDownError(f"{message} (from {node.name}, after {self.retries - 1} retries)")
                error.history = tuple(history)
                return FAIL, error
            return FAIL, TooManyRedirects(_budget_message(self.slot, history), tuple(history))
        if code == "CLUSTERDOWN":
            self.queue = []
            return WAIT, (policy.backoff(self.retries), True)
        self.queue = [node]  # same node; ``asking`` is kept for a key being imported
        return WAIT, (policy.backoff(self.retries), False)

    def _transport(self, state: RoutingState, policy: RetryPolicy, node: Node, outcome: Exception) -> tuple[int, Any]:
        """Rules 5 and 7: ConnectError, WriteError, ReadError, a timeout, or a protocol error."""
        history = self.history
        history.append((type(outcome).__name__, node.name, str(outcome)))
        state.mark_down(node)
        nothing_sent = isinstance(outcome, ConnectError)
        if not nothing_sent and not self.repeatable:
            error = MaybeAppliedError(
                f"the connection to {node.name} failed after the command was sent ({outcome}); "
                "it may have been applied, so it was not sent again",
                node.name,
            )
            error.__cause__ = outcome
            error.history = tuple(history)
            return FAIL, error
        if not policy.retries(type(outcome)):
            return FAIL, outcome
        if isinstance(outcome, (TimeoutError, ProtocolError)) and not nothing_sent:
            return (AGAIN, None) if self.queue else (FAIL, outcome)
        if self.queue:
            return AGAIN, None  # a read with another candidate: try it now
        self.retries += 1
        if self.retries > policy.max_retries:
            return FAIL, outcome
        if isinstance(outcome, TimeoutError) and any(kind == "ConnectTimeout" for kind, _, _ in history[:-1]):
            return FAIL, outcome  # a second connect timeout: an unreachable host costs two timeouts, not five
        return WAIT, (policy.backoff(self.retries), True)


def route(
    state: RoutingState,
    policy: RetryPolicy,
    slot: int | None,
    readonly: bool,
    repeatable: bool,
    first: tuple[Node, Any] | None = None,
    resume: tuple[Shard, list[Node]] | None = None,
) -> Route:
    """Drive one command to its reply; see the module docstring for the rules.

    ``first`` is ``(node, outcome)`` of an attempt the shell already made (see :func:`direct_target`);
    it stands for the first ``SEND`` when the router would have chosen the same node. With ``resume``
    (from :func:`direct_read`), ``first`` was a read sent to its shard's first candidate, and the
    command goes on with the candidates in ``resume``.
    """
    attempt = Attempt(slot, readonly, repeatable)
    if resume is not None and first is not None:
        shard, order = resume  # the candidates after the one tried first, nodes marked down last
        attempt.resume(shard, _down_last(state, order[1:]))
    else:
        resume = None
    while True:
        if resume is not None:
            (node, outcome), resume = first, None  # type: ignore[misc]
        else:
            target = attempt.pick(state)
            if target is None:
                yield Refresh(REFRESH, f"slot {slot} uncovered")
                continue
            node, asking, replica_read = target
            if first is not None and first[0] == node:
                outcome = first[1]
            else:
                outcome = yield Send(SEND, node, asking, replica_read)
        first = None
        verdict, payload = attempt.handle(state, policy, node, outcome)
        if verdict == DONE:
            return payload
        if verdict == FAIL:
            raise payload
        if verdict == WAIT:
            delay, refresh = payload
            yield Sleep(SLEEP, delay)
            if refresh:
                yield Refresh(REFRESH, f"{node.name}: {type(outcome).__name__}")


def any_error(outcomes: Sequence[Any]) -> bool:
    """Whether any outcome is an exception instance: one C-speed pass over the distinct types."""
    return any(issubclass(kind, BaseException) for kind in set(map(type, outcomes)))


def route_batch(
    state: RoutingState, policy: RetryPolicy, slots: Sequence[int | None], readonly: Sequence[bool]
) -> Route:
    """Drive many commands at once (a pipeline): each follows the same rules as :func:`route`.

    Command ``i`` has key slot ``slots[i]`` (``None``: keyless) and is read-only (so also safe to resend)
    when ``readonly[i]``. Yields ``SendBatch(SEND_BATCH, plan, asking, replica_nodes)``: ``plan`` maps each
    node to the indexes of the commands to send it, in order; ``asking`` is the set of indexes to precede
    with ``ASKING``; ``replica_nodes`` the nodes read from as replicas (``READONLY``). Receives, for each
    node, the list of outcomes in the same order (a reply, or the transport error for commands whose reply
    never came). Only commands that were redirected or failed are sent again. Returns the list of
    results, an exception instance in place of each command that failed.
    """
    batch = _Batch(state, slots, readonly)
    plan, replica_nodes = batch.first_plan()
    asking: set[int] = set()
    pending = list(batch.attempts)
    while True:
        waiting = batch.place(pending, plan, asking, replica_nodes)
        if not plan:
            if waiting:
                yield Refresh(REFRESH, "uncovered slots in a batch")
                pending = waiting
                continue
            return batch.results
        outcomes = yield SendBatch(SEND_BATCH, plan, asking, replica_nodes)
        pending = list(waiting)  # the uncovered ones go again after the refresh, with the failed ones
        delay, refresh = batch.judge(policy, plan, outcomes, pending)
        plan, asking, replica_nodes = {}, set(), set()
        if not pending:
            return batch.results
        if delay:
            yield Sleep(SLEEP, delay)
        if refresh or waiting:
            yield Refresh(REFRESH, "batch retry")


class _Batch:
    """One batch's commands: their results so far, and an :class:`Attempt` for each that needs one.

    A command gets its Attempt only when the common case does not fit it (keyless, uncovered, or after a
    failure), so a healthy pipeline builds none.
    """

    __slots__ = ("state", "slots", "readonly", "results", "attempts", "slot_map", "resume_at")

    def __init__(self, state: RoutingState, slots: Sequence[int | None], readonly: Sequence[bool]) -> None:
        self.state = state
        self.slots = slots
        self.readonly = readonly
        self.results: list[Any] = [None] * len(slots)
        self.attempts: dict[int, Attempt] = {}
        self.slot_map = state.slot_map
        # shard position -> (shard, the candidates after the one a read went to) in the first round
        self.resume_at: dict[int, tuple[Shard, list[Node]]] = {}

    def first_plan(self) -> tuple[dict[Node, list[int]], set[Node]]:
        """Round one, the common case inline: keyed commands grouped by their slot's shard (two list
        lookups a command), sent to its master, or for reads under a read mode to the mode's first
        candidate of that shard (one rotation turn per shard per batch). Everything else gets an Attempt."""
        slots, readonly, slot_map = self.slots, self.readonly, self.slot_map
        shards, index = slot_map.shards, slot_map.shard_index
        mode = self.state.read_from
        # Plain loops here: map() over a bound __getitem__/__setitem__ measured slower than the bytecode it saves.
        groups: list[list[int]] = [[] for _ in range(len(shards) + 1)]  # the last collects uncovered slots
        reads: list[list[int]] = [[] for _ in range(len(shards) + 1)]
        if None not in slots and (mode is ReadFrom.PRIMARY or not any(readonly) or all(readonly)):
            # One kind only: all to the masters' groups, or (every command a read under a read mode) all
            # to the reads' groups.
            target = groups if mode is ReadFrom.PRIMARY or not readonly or not readonly[0] else reads
            appends = [group.append for group in target]
            for i, slot in enumerate(slots):
                appends[index[slot]](i)
        elif None not in slots:  # reads and writes mixed, under a read mode: reads are grouped apart
            to_groups = [group.append for group in groups]
            to_reads = [group.append for group in reads]
            for i, slot in enumerate(slots):
                (to_reads if readonly[i] else to_groups)[index[slot]](i)
        else:  # keyless commands take the general route; reads under a read mode are grouped apart
            routed = mode is not ReadFrom.PRIMARY
            for i, slot in enumerate(slots):
                if slot is None:
                    groups[-1].append(i)
                else:
                    (reads if routed and readonly[i] else groups)[index[slot]].append(i)
        plan: dict[Node, list[int]] = {}
        replica_nodes: set[Node] = set()
        for position, (shard, indexes, read_indexes) in enumerate(zip(shards, groups, reads)):
            if indexes:
                plan.setdefault(shard.master, []).extend(indexes)
            if read_indexes:
                self._plan_reads(position, shard, mode, read_indexes, plan, replica_nodes)
        for i in groups[-1] + reads[-1]:
            self.attempts[i] = Attempt(slots[i], readonly[i], readonly[i])
        return plan, replica_nodes

    def _plan_reads(
        self, position: int, shard: Shard, mode: ReadFrom, indexes: list[int], plan: dict, replica_nodes: set
    ) -> None:
        order = _read_order(self.state, mode, shard)
        if not order:  # e.g. REPLICA on a shard without replicas: each command decides alone
            for i in indexes:
                self.attempts[i] = Attempt(self.slots[i], True, True)
            return
        node = order[0]
        plan.setdefault(node, []).extend(indexes)
        if node != shard.master:
            replica_nodes.add(node)
        self.resume_at[position] = (shard, order[1:])

    def place(self, pending: list[int], plan: dict, asking: set, replica_nodes: set) -> list[int]:
        """Add each pending command to ``plan`` where its Attempt says; returns those whose slot is
        uncovered (placed again after a refresh). A command that cannot be placed gets its error."""
        waiting = []
        for i in pending:
            try:
                target = self.attempts[i].pick(self.state)
            except RedisClusterError as exc:
                self.results[i] = exc
                continue
            if target is None:
                waiting.append(i)
                continue
            node, ask, replica_read = target
            plan.setdefault(node, []).append(i)
            if ask:
                asking.add(i)
            if replica_read:
                replica_nodes.add(node)
        return waiting

    def judge(self, policy: RetryPolicy, plan: dict, outcomes: dict, pending: list[int]) -> tuple[float, bool]:
        """Record each node's outcomes; failed commands whose Attempt says so go on ``pending``.
        Returns the backoff to sleep before the next round and whether to refresh first."""
        results, delay, refresh = self.results, 0.0, False
        for node, indexes in plan.items():
            replies = outcomes[node]
            # The common case, at C speed: no reply of this node is an error or a redirect.
            if not any_error(replies):
                for i, reply in zip(indexes, replies):
                    results[i] = reply
                continue
            for i, outcome in zip(indexes, replies):
                if not isinstance(outcome, BaseException):
                    results[i] = outcome
                    continue
                verdict, payload = self._attempt(i).handle(self.state, policy, node, outcome)
                if verdict == DONE or verdict == FAIL:
                    results[i] = payload
                else:
                    pending.append(i)
                    if verdict == WAIT:
                        delay = max(delay, payload[0])
                        refresh = refresh or payload[1]
        return delay, refresh

    def _attempt(self, i: int) -> Attempt:
        """Command ``i``'s Attempt, made on its first failure (a read resumes after its first candidate)."""
        attempt = self.attempts.get(i)
        if attempt is None:
            slot, readonly = self.slots[i], self.readonly[i]
            attempt = self.attempts[i] = Attempt(slot, readonly, readonly)
            if readonly and self.state.read_from is not ReadFrom.PRIMARY:
                resumed = self.resume_at.get(self.slot_map.shard_index[slot])
                if resumed is not None:
                    attempt.resume(resumed[0], list(resumed[1]))
        return attempt


def _redirected_before(history: list[tuple[str, str, str]], name: str) -> bool:
    """Whether an earlier redirect of this command named ``name`` (so the map was refreshed for it)."""
    return any(dst == name and (kind == "MOVED" or kind == "ASK") for kind, _, dst in history[:-1])


def _budget_message(slot: int | None, history: list[tuple[str, str, str]]) -> str:
    steps = "; ".join(f"{kind} {src} -> {dst}" for kind, src, dst in history[-6:])
    return f"slot {slot}: gave up after {len(history)} redirects/retries ({steps})"
