"""Drive the core's generators (transaction, fan-out, scan) with scripted outcomes: no sockets.

``Script`` answers each effect from a queue of outcomes per effect kind (RESP bytes, parsed with the
library's own reader, or exception instances, handed over as values as the shell does), records every
effect, and on a refresh installs the next slot map it was given, as a real refresh would.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from rediscluster_lite.effects import EXEC, FORCE_REFRESH, KEYS, PIN, REQUEST
from rediscluster_lite.readfrom import ReadFrom
from rediscluster_lite.resp import INCOMPLETE, new_reader
from rediscluster_lite.router import REFRESH, SEND_BATCH, SLEEP
from rediscluster_lite.slotmap import Node, Shard, SlotMap

M1 = Node("10.0.0.1", 7000)
R1 = Node("10.0.0.2", 7001)  # M1's replica, promoted when M1 fails over
M2 = Node("10.0.0.4", 7003)
R2 = Node("10.0.0.5", 7004)
NEW = Node("10.0.0.9", 7009)  # a node no map knows yet


def two_shards() -> SlotMap:
    return SlotMap.from_ranges([(0, 8191, Shard(M1, (R1,))), (8192, 16383, Shard(M2, (R2,)))])


def after_failover() -> SlotMap:
    """M1 died; its replica R1 now serves slots 0-8191."""
    return SlotMap.from_ranges([(0, 8191, Shard(R1, ())), (8192, 16383, Shard(M2, (R2,)))])


def uncovered_first_half() -> SlotMap:
    return SlotMap.from_ranges([(8192, 16383, Shard(M2, (R2,)))])


def replies(data: bytes) -> list:
    """Every reply in ``data``, as the client's connection reads them."""
    reader = new_reader()
    reader.feed(data)
    return list(iter(reader.gets, INCOMPLETE))


def reply(data: bytes) -> Any:
    (one,) = replies(data)
    return one


class FakeState:
    """A RoutingState that records what the core asked of it."""

    def __init__(self, slot_map: SlotMap | None = None, refreshed: list[SlotMap] | None = None) -> None:
        self.slot_map = slot_map if slot_map is not None else two_shards()
        self.read_from = ReadFrom.PRIMARY
        self.refreshed = list(refreshed or [])  # the maps successive refreshes load
        self.marked: list[Node] = []
        self.moved: list[tuple[int, Node]] = []

    def next_turn(self) -> int:
        return 0

    def is_down(self, node: Node) -> bool:
        return node in self.marked

    def mark_down(self, node: Node) -> None:
        self.marked.append(node)

    def move_slot(self, slot: int, node: Node) -> bool:
        self.moved.append((slot, node))
        self.slot_map = self.slot_map.with_moved(slot, node)
        return True

    def keyless_shard(self) -> Shard:
        return self.slot_map.shards[0]

    def check_redirect(self, code: str, source: Node | None, announced: Node, refreshed: bool) -> Node:
        return announced  # every redirect is followed here; test_redirect_check.py tests the rule

    def refresh(self) -> None:
        if self.refreshed:
            self.slot_map = self.refreshed.pop(0)


class Script:
    """Runs a generator to its end. ``outcomes[kind]`` is the queue of answers to effects of that kind
    (bytes are parsed; a callable is called with the effect). Keys yielded with ``KEYS`` are collected."""

    def __init__(self, state: FakeState, **outcomes: list) -> None:
        self.state = state
        self.outcomes = {kind: list(queue) for kind, queue in outcomes.items()}
        self.effects: list[tuple] = []
        self.keys: list = []

    def answer(self, effect: tuple) -> Any:
        kind = effect[0]
        if kind in (REFRESH, FORCE_REFRESH):
            self.state.refresh()
            return None
        if kind == SLEEP:
            return None
        if kind == KEYS:
            self.keys.extend(effect[1])
            return None
        name = {PIN: "pin", EXEC: "exec", REQUEST: "request", SEND_BATCH: "batch"}[kind]
        queue = self.outcomes[name]
        assert queue, f"no scripted outcome left for {effect!r}"
        outcome = queue.pop(0)
        if callable(outcome) and not isinstance(outcome, BaseException):
            return outcome(effect)
        if isinstance(outcome, bytes):
            return replies(outcome) if kind == EXEC else reply(outcome)
        return outcome

    def run(self, steps: Generator) -> Any:
        outcome = None
        while True:
            try:
                effect = steps.send(outcome)
            except StopIteration as done:
                return done.value
            self.effects.append(effect)
            outcome = self.answer(effect)

    def of(self, kind: int) -> list[tuple]:
        return [e for e in self.effects if e[0] == kind]

    @property
    def kinds(self) -> list[int]:
        return [e[0] for e in self.effects]
