"""The asyncio loops that carry out the core's generators: ``_sync/drive.py``'s loops, with ``await``.

Each loop sends the generator the outcome of the effect it yielded and returns what the generator returns.
The loops decide nothing: every ``if`` about the cluster is in the generator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

from ..effects import EXEC, FORCE_REFRESH, KEYS, PIN, REQUEST, RUN
from ..router import REFRESH, SEND, SEND_BATCH, SLEEP
from .topology import AsyncTopology

__all__ = ["drive_route", "drive_batch", "drive_keys", "drive_scan", "drive_transaction"]

Steps = Generator[tuple, Any, Any]


async def _wait(effect: tuple, topology: AsyncTopology) -> None:
    """The effects every generator kind may yield besides its sends."""
    kind = effect[0]
    if kind == SLEEP:
        await asyncio.sleep(effect[1])
    elif kind == REFRESH:
        await topology.refresh(effect[1])
    elif kind == FORCE_REFRESH:
        await topology.refresh(effect[1], force=True)
    else:  # pragma: no cover - a generator yielded an effect this loop does not carry out
        raise AssertionError(f"unknown effect {effect!r}")


async def drive_route(steps: Steps, send: Callable, topology: AsyncTopology, packed: bytes, block: Any) -> Any:
    """:func:`~rediscluster_lite.router.route`: one command's ``SEND``s of the frame ``packed``."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration as done:
            return done.value
        if effect[0] == SEND:
            outcome = await send(effect[1], packed, effect[2], effect[3], block)
        else:
            outcome = await _wait(effect, topology)


async def drive_batch(steps: Steps, send_batch: Callable, topology: AsyncTopology, packed: Any) -> Any:
    """``route_batch`` and ``fanout_plan``: ``SEND_BATCH`` of the frames ``packed``."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration as done:
            return done.value
        if effect[0] == SEND_BATCH:
            outcome = await send_batch(effect[1], effect[2], effect[3], packed)
        else:
            outcome = await _wait(effect, topology)


async def drive_keys(steps: Steps, effect: tuple, run: Callable, run_batch: Callable) -> Any:
    """``mget_plan`` and ``split_plan``, whose first ``effect`` the caller already took (so the plan's argument
    checks ran at call time, before any await): ``RUN`` and ``RUN_BATCH``, each a whole routed command or batch."""
    while True:
        if effect[0] == RUN:
            outcome = await run(effect[1], effect[2], effect[3])
        else:  # RUN_BATCH
            outcome = await run_batch(effect[1], effect[2], effect[3])
        try:
            effect = steps.send(outcome)
        except StopIteration as done:
            return done.value


async def drive_scan(steps: Steps, send: Callable, topology: AsyncTopology) -> AsyncIterator:
    """``scan_plan``: ``REQUEST``s, and the ``KEYS`` yielded to the caller."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration:
            return
        kind = effect[0]
        if kind == KEYS:
            for key in effect[1]:
                yield key
            outcome = None
        elif kind == REQUEST:
            outcome = await send(effect[1], effect[2], False, False)
        else:
            outcome = await _wait(effect, topology)


async def drive_transaction(steps: Steps, pin: Callable, execute: Callable | None, topology: AsyncTopology) -> Any:
    """``exec_plan`` and ``pin_plan``: ``PIN`` and ``EXEC``."""
    outcome = None
    while True:
        try:
            effect = steps.send(outcome)
        except StopIteration as done:
            return done.value
        kind = effect[0]
        if kind == PIN:
            outcome = await pin(effect[1])
        elif kind == EXEC:
            outcome = await execute(effect[1])  # type: ignore[misc]
        else:
            outcome = await _wait(effect, topology)
