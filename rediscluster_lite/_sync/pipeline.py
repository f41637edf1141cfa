"""Cluster pipelines: queue commands, send them grouped by node in one write each, read in bulk.

Commands go to the nodes that own their slots; every node's batch is written before any reply is read,
so the masters work in parallel. Redirected (MOVED/ASK/TRYAGAIN) commands are retried alone at their
new owner; the other results are kept. Results come back in call order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import compress
from typing import Any

from ..api import CommandsMixin
from ..batch import command_name_of, raise_batch_error
from ..commands import slot_of_keys
from ..multikey import split
from ..resp import pack_command, pack_keyed
from ..router import any_error
from .link import ClusterLink, HasLink, link_of

__all__ = ["ClusterPipeline", "command_name_of", "raise_batch_error"]


class ClusterPipeline(CommandsMixin):
    """Returned by :meth:`ClusterClient.pipeline`. Typed methods and ``execute_command`` queue and
    return the pipeline (so calls chain); :meth:`execute` sends everything and returns the results.

    Not atomic: use ``client.pipeline(transaction=True)`` for MULTI/EXEC on one slot.
    """

    queues_commands = True  # a Script sends its body (EVAL) when queued: NOSCRIPT can't be handled mid-batch

    def __init__(self, client: ClusterLink | HasLink) -> None:
        self._link = link_of(client)
        # One (packed, slot, readonly, finish) per command sent: queueing is the hot path, so one append;
        # execute() transposes the list at C speed. ``finish`` is the reply converter, or a _Split that
        # combines the next len(parts) replies, or _PART for those.
        self._queued: list[tuple[bytes, int | None, bool, Any]] = []
        self._append = self._queued.append
        self._splits = 0  # split calls queued: without any, results map one to one onto calls

    def __len__(self) -> int:
        return sum(1 for entry in self._queued if entry[3] is not _PART)

    def __enter__(self) -> ClusterPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()

    def __repr__(self) -> str:
        return f"<ClusterPipeline {len(self)} queued>"

    def reset(self) -> None:
        """Forget every queued command."""
        self._queued = []
        self._append = self._queued.append
        self._splits = 0

    # --- queueing (the CommandsMixin contract) -----------------------------------------------------

    def _keyed(self, args: tuple, key: Any, readonly: bool, convert: Callable | None = None) -> Any:
        # What the mixin's _keyed does, minus one call per queued command.
        self._append(pack_keyed(args, key, readonly, convert))
        return self

    def _framed(self, entry: tuple[bytes, int, bool, Callable | None]) -> Any:
        self._append(entry)
        return self

    def _queue(self, args: tuple, slot: int | None, readonly: bool, convert: Callable | None) -> ClusterPipeline:
        self._append((pack_command(args), slot, readonly, convert))
        return self

    def _multi_keyed(self, args: tuple, keys: Sequence, readonly: bool, convert: Callable | None = None) -> Any:
        return self._queue(args, slot_of_keys(keys, args[0].decode()), readonly, convert)

    def _keyless(self, args: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        return self._queue(args, None, readonly, convert)

    def _split_by_slot(self, command: bytes, args: Sequence, step: int, readonly: bool, combine: Callable) -> Any:
        if not args:
            raise ValueError(f"{command.decode()} needs at least one key")
        parts = split(command, args, step)
        finish: Any = _Split(parts, combine, len(args) // step)
        for slot, _, argv in parts:
            self._append((pack_command(argv), slot, readonly, finish))
            finish = _PART
        self._splits += 1
        return self

    def _blocking(
        self, args: tuple, keys: Sequence, readonly: bool, block: float, convert: Callable | None = None
    ) -> Any:
        # Queued like any command; the pipeline's reads keep the socket timeout (keep blocks short).
        return self._queue(args, slot_of_keys(keys, args[0].decode()), readonly, convert)

    def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Any:
        raise TypeError(
            f"{command_name_of(pack_command(args))} goes to many nodes; call it on the client, not a pipeline"
        )

    def execute_command(self, *args: Any, readonly: bool | None = None) -> ClusterPipeline:
        slot, readonly = self._link.route_of(args, readonly)
        return self._queue(args, slot, readonly, None)

    # --- running -----------------------------------------------------------------------------------

    def execute(self, raise_on_error: bool = True) -> list:
        """Send everything; results in call order.

        With ``raise_on_error`` (the default) the first failed command raises, its message naming its
        position; otherwise each failed command's exception stands in its place. A connection lost after
        sending leaves :class:`MaybeAppliedError` in place of each write it may have applied.
        """
        if not self._queued:
            return []
        splits = self._splits
        packed, slots, readonly, finish = zip(*self._queued)
        self.reset()
        results = self._link.run_batch(packed, slots, readonly)
        if not splits:
            # One result per command. The scans below run at C speed: which results are errors
            # (usually none), and which commands have a converter (``compress`` keeps the truthy ones).
            failed = any_error(results)
            for i in compress(range(len(finish)), finish):
                reply = results[i]
                if not failed or not isinstance(reply, BaseException):
                    results[i] = finish[i](reply)
            if failed and raise_on_error:
                for index, reply in enumerate(results):
                    if isinstance(reply, BaseException):
                        raise_batch_error(results, index, command_name_of(packed[index]))
            return results
        out = []
        append = out.append
        for i, (reply, how) in enumerate(zip(results, finish)):
            if how is None:
                append(reply)
            elif how is _PART:
                continue
            elif type(how) is _Split:
                replies = results[i : i + len(how.parts)]
                failed = next((r for r in replies if isinstance(r, BaseException)), None)
                append(failed if failed is not None else how.combine(how.parts, replies, how.count))
            else:
                append(reply if isinstance(reply, BaseException) else how(reply))
        if raise_on_error:
            for index, reply in enumerate(out):
                if isinstance(reply, BaseException):
                    starts = [i for i, how in enumerate(finish) if how is not _PART]
                    raise_batch_error(out, index, command_name_of(packed[starts[index]]))
        return out


class _Split:
    """A multi-key call split by slot: its parts' replies are combined into one result."""

    __slots__ = ("parts", "combine", "count")

    def __init__(self, parts: list, combine: Callable, count: int) -> None:
        self.parts = parts
        self.combine = combine
        self.count = count


_PART = object()  # marks the 2nd..nth command of a split call
