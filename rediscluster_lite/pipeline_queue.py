"""A pipeline's queue and the assembly of its results: pure code, shared by the blocking and asyncio shells.

Queueing is the hot path: one tuple append per command, ``(packed, slot, readonly, finish)``, where
``finish`` is the reply converter, a :class:`_Split` that combines the next ``len(parts)`` replies (a
multi-key call split by slot), or ``_PART`` for those. The shell sends the batch and hands the outcomes to
:meth:`PipelineQueue.results`, which puts them back in call order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import compress
from typing import Any

from .api import CommandsMixin
from .batch import command_name_of, raise_batch_error
from .commands import slot_of_keys
from .multikey import split
from .resp import pack_command, pack_keyed
from .router import any_error

__all__ = ["PipelineQueue"]


class PipelineQueue(CommandsMixin):
    """Typed methods and ``execute_command`` queue and return the pipeline (so calls chain). A shell
    subclass supplies ``_route_of(args, readonly) -> (slot, readonly)`` and ``execute()``."""

    queues_commands = True  # a Script sends its body (EVAL) when queued: NOSCRIPT can't be handled mid-batch

    def __init__(self) -> None:
        self._queued: list[tuple[bytes, int | None, bool, Any]] = []
        self._append = self._queued.append
        self._splits = 0  # split calls queued: without any, results map one to one onto calls

    def __len__(self) -> int:
        return sum(1 for entry in self._queued if entry[3] is not _PART)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self)} queued>"

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

    def _queue(self, args: tuple, slot: int | None, readonly: bool, convert: Callable | None) -> PipelineQueue:
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

    def execute_command(self, *args: Any, readonly: bool | None = None) -> PipelineQueue:
        slot, readonly = self._route_of(args, readonly)
        return self._queue(args, slot, readonly, None)

    def _route_of(self, args: Sequence, readonly: bool | None) -> tuple[int | None, bool]:
        raise NotImplementedError

    def take(self) -> tuple[tuple, tuple, tuple, tuple, int]:
        """Empty the queue: ``(packed, slots, readonly, finish, splits)`` for the shell to send."""
        splits = self._splits
        packed, slots, readonly, finish = zip(*self._queued)
        self.reset()
        return packed, slots, readonly, finish, splits

    @staticmethod
    def results(results: list, packed: tuple, finish: tuple, splits: int, raise_on_error: bool) -> list:
        """The outcomes of :meth:`take`'s batch, in call order. With ``raise_on_error`` the first failed
        command raises, its message naming its position; otherwise each failure stands in its place."""
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
