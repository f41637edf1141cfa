"""The asyncio pipeline: ``pipeline_queue``'s queue, sent with ``await``.

Commands go to the nodes that own their slots, every node's batch written in the same turn of the event
loop; redirected commands are retried alone at their new owner (the core's ``route_batch``); results come
back in call order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..commands import check_command, route_with
from ..pipeline_queue import PipelineQueue
from ..resp import pack_command

__all__ = ["AsyncPipeline"]

_UNROUTED = object()  # execute_command queued before the command table was loaded: routed in execute()


class AsyncPipeline(PipelineQueue):
    """Returned by :meth:`AsyncClusterClient.pipeline`. Typed methods queue and return the pipeline (so
    calls chain, without ``await``); ``await pipe.execute()`` sends everything and returns the results.
    Not atomic."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._client = client
        self._unrouted = False

    async def __aenter__(self) -> AsyncPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._unrouted = False

    def execute_command(self, *args: Any, readonly: bool | None = None) -> AsyncPipeline:
        check_command(args)
        table = self._client._topology._commands
        if table is not None:
            slot, readonly = route_with(table, args, readonly)
            return self._queue(args, slot, readonly, None)
        self._append((pack_command(args), _UNROUTED, (args, readonly), None))
        self._unrouted = True
        return self

    def _route_of(self, args: Sequence, readonly: bool | None) -> tuple[int | None, bool]:
        raise AssertionError("unreachable: execute_command routes by itself")  # pragma: no cover

    async def execute(self, raise_on_error: bool = True) -> list:
        """Send everything; results in call order (see the blocking pipeline's ``execute``)."""
        if not self._queued:
            return []
        if self._unrouted:
            await self._route_queued()
        packed, slots, readonly, finish, splits = self.take()
        results = await self._client._run_batch(packed, slots, readonly)
        return self.results(results, packed, finish, splits, raise_on_error)

    async def _route_queued(self) -> None:
        self._client._topology.bind()
        table = await self._client._topology.commands()
        for index, (packed, slot, readonly, finish) in enumerate(self._queued):
            if slot is _UNROUTED:
                args, wanted = readonly
                self._queued[index] = (packed, *route_with(table, args, wanted), finish)
        self._unrouted = False
