"""Cluster pipelines: queue commands, send them grouped by node in one write each, read in bulk.

Commands go to the nodes that own their slots; every node's batch is written before any reply is read,
so the masters work in parallel. Redirected (MOVED/ASK/TRYAGAIN) commands are retried alone at their
new owner; the other results are kept. Results come back in call order. Queueing and the assembly of
results are ``pipeline_queue``'s; this module sends.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..batch import command_name_of, raise_batch_error
from ..pipeline_queue import PipelineQueue
from .link import ClusterLink, HasLink, link_of

__all__ = ["ClusterPipeline", "command_name_of", "raise_batch_error"]


class ClusterPipeline(PipelineQueue):
    """Returned by :meth:`ClusterClient.pipeline`. Typed methods and ``execute_command`` queue and
    return the pipeline (so calls chain); :meth:`execute` sends everything and returns the results.

    Not atomic: use ``client.pipeline(transaction=True)`` for MULTI/EXEC on one slot.
    """

    def __init__(self, client: ClusterLink | HasLink) -> None:
        super().__init__()
        self._link = link_of(client)

    def __enter__(self) -> ClusterPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()

    def _route_of(self, args: Sequence, readonly: bool | None) -> tuple[int | None, bool]:
        return self._link.route_of(args, readonly)

    def execute(self, raise_on_error: bool = True) -> list:
        """Send everything; results in call order.

        With ``raise_on_error`` (the default) the first failed command raises, its message naming its
        position; otherwise each failed command's exception stands in its place. A connection lost after
        sending leaves :class:`MaybeAppliedError` in place of each write it may have applied.
        """
        if not self._queued:
            return []
        packed, slots, readonly, finish, splits = self.take()
        results = self._link.run_batch(packed, slots, readonly)
        return self.results(results, packed, finish, splits, raise_on_error)
