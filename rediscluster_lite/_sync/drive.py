"""The blocking loops that carry out the core's generators: one short loop per generator kind.

Each loop sends the generator the outcome of the effect it yielded (see :mod:`rediscluster_lite.router`
and :mod:`rediscluster_lite.effects`) and returns what the generator returns. The loops decide nothing:
every ``if`` about the cluster is in the generator. An asyncio shell writes the same loops with ``await``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from ..effects import EXEC, FORCE_REFRESH, KEYS, PIN, REQUEST, RUN
from ..router import REFRESH, SEND, SEND_BATCH, SLEEP
from .topology import Topology

__all__ = ["drive_route", "drive_batch", "drive_scan", "drive_transaction", "drive_keys"]

Steps = Generator[tuple, Any, Any]


def _wait(effect: tuple, topology: Topology) -> None:
    """The effects every generator kind may yield besides its sends."""
    kind = effect[0]
    if kind == SLEEP:
        time.sleep(effect[1])
    elif kind == REFRESH:
        topology.refresh(effect[1])
    elif kind == FORCE_REFRESH:
        topology.refresh(effect[1], force=True)
    else:  # pragma: no cover - a generator yielded an effect this loop does not carry out
        raise AssertionError(f"unknown effect {effect!r}")


def drive_route(steps: Steps, send: Callable, topology: Topology, packed: bytes, block: Any) -> Any:
    """:func:`~rediscluster_lite.router.route`: one command's ``SEND``s of the frame ``packed``."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration as done:
            return done.value
        if effect[0] == SEND:
            outcome = send(effect[1], packed, effect[2], effect[3], block)
        else:
            outcome = _wait(effect, topology)


def drive_batch(steps: Steps, send_batch: Callable, topology: Topology, packed: Any) -> Any:
    """:func:`~rediscluster_lite.router.route_batch` and :func:`~rediscluster_lite.fanout.fanout_plan`:
    ``SEND_BATCH`` of the frames ``packed``."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration as done:
            return done.value
        if effect[0] == SEND_BATCH:
            outcome = send_batch(effect[1], effect[2], effect[3], packed)
        else:
            outcome = _wait(effect, topology)


def drive_scan(steps: Steps, send: Callable, topology: Topology) -> Iterator:
    """:func:`~rediscluster_lite.scan.scan_plan`: ``REQUEST``s, and the ``KEYS`` yielded to the caller."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration:
            return
        kind = effect[0]
        if kind == KEYS:
            yield from effect[1]
            outcome = None
        elif kind == REQUEST:
            outcome = send(effect[1], effect[2], False, False)
        else:
            outcome = _wait(effect, topology)


def drive_transaction(steps: Steps, pin: Callable, execute: Callable, topology: Topology) -> Any:
    """:func:`~rediscluster_lite.transaction.exec_plan` and ``pin_plan``: ``PIN`` and ``EXEC``."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration as done:
            return done.value
        kind = effect[0]
        if kind == PIN:
            outcome = pin(effect[1])
        elif kind == EXEC:
            outcome = execute(effect[1])
        else:
            outcome = _wait(effect, topology)


def drive_keys(steps: Steps, run: Callable, run_batch: Callable) -> Any:
    """:func:`~rediscluster_lite.multikey.split_plan` and ``mget_plan``: ``RUN`` and ``RUN_BATCH``, each a
    whole routed command or batch (whose own generators run inside ``run``/``run_batch``)."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration as done:
            return done.value
        if effect[0] == RUN:
            outcome = run(effect[1], effect[2], effect[3])
        else:  # RUN_BATCH
            outcome = run_batch(effect[1], effect[2], effect[3])
