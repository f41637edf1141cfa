"""A MULTI/EXEC transaction's queue and slot discipline, and what its replies mean: pure, for both shells.

Every key must hash to one slot (use a ``{hash tag}``): a key of another slot raises ``CrossSlotError`` when
it is queued, before any I/O. Between ``watch()`` and ``multi()`` commands run at once (the shell's part);
after ``multi()`` they are queued here, and the shell runs them with ``transaction.exec_plan``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .api import CommandsMixin
from .batch import command_name_of, raise_batch_error
from .commands import slot_of_keys
from .errors import CrossSlotError
from .resp import pack_command

__all__ = ["TransactionQueue", "MULTI", "EXEC", "UNWATCH", "exec_frames"]

MULTI = pack_command((b"MULTI",))
EXEC = pack_command((b"EXEC",))
UNWATCH = pack_command((b"UNWATCH",))
_ASKING = pack_command((b"ASKING",))


def exec_frames(packed: list[bytes], asking: bool) -> tuple[bytes, int]:
    """``[ASKING,] MULTI, the queue, EXEC`` as one write, and how many replies it gets."""
    head = [_ASKING, MULTI] if asking else [MULTI]
    return b"".join([*head, *packed, EXEC]), len(packed) + len(head) + 1


class TransactionQueue(CommandsMixin):
    """The slot discipline and the queue of a MULTI/EXEC transaction; a shell subclass supplies
    ``_do_packed`` (queue, or run at once while watching), ``execute_command``, WATCH and EXEC."""

    queues_commands = True

    def __init__(self) -> None:
        self._slot: int | None = None
        self._packed: list[bytes] = []
        self._convert: list[Callable | None] = []
        self._watching = False
        self._queueing = True  # False between watch() and multi(): commands run at once
        self._pinned: Any = None  # the shell's held connection

    def __len__(self) -> int:
        return len(self._packed)

    def __repr__(self) -> str:
        state = "watching" if self._watching else "idle"
        return f"<{type(self).__name__} slot={self._slot} {len(self._packed)} queued {state}>"

    # --- slot discipline ---------------------------------------------------------------------------

    def _claim(self, slot: int | None) -> None:
        if slot is None:
            return
        if self._slot is None:
            self._slot = slot
        elif slot != self._slot:
            raise CrossSlotError(
                f"a transaction runs on one slot: this key is in slot {slot}, the transaction's keys in "
                f"slot {self._slot}; put them under one {{hash tag}}",
                (self._slot, slot),
            )

    # --- the CommandsMixin contract ----------------------------------------------------------------

    def _do(self, args: tuple, slot: int | None, convert: Callable | None) -> Any:
        return self._do_packed(pack_command(args), slot, convert)  # TypeError for a bad argument, before any I/O

    def _do_packed(self, packed: bytes, slot: int | None, convert: Callable | None) -> Any:
        raise NotImplementedError  # the shell's: queue, or run at once while watching

    def _queue_packed(self, packed: bytes, convert: Callable | None) -> TransactionQueue:
        self._packed.append(packed)
        self._convert.append(convert)
        return self

    def _framed(self, entry: tuple[bytes, int, bool, Callable | None]) -> Any:
        packed, slot, _, convert = entry
        return self._do_packed(packed, slot, convert)

    def _multi_keyed(self, args: tuple, keys: Sequence, readonly: bool, convert: Callable | None = None) -> Any:
        return self._do(args, slot_of_keys(keys, "transaction"), convert)

    def _keyless(self, args: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        return self._do(args, None, convert)

    def _split_by_slot(self, command: bytes, args: Sequence, step: int, readonly: bool, combine: Callable) -> Any:
        # Atomic means one command here: every key must share the transaction's slot.
        keys = list(args[::step])
        return self._do((command, *args), slot_of_keys(keys, "transaction"), _single_combine(combine, len(keys)))

    def _blocking(
        self, args: tuple, keys: Sequence, readonly: bool, block: float, convert: Callable | None = None
    ) -> Any:
        # Inside MULTI a blocking command does not block: Redis runs it with a zero timeout.
        return self._do(args, slot_of_keys(keys, "transaction"), convert)

    def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Any:
        raise TypeError(f"{command_name_of(pack_command(args))} goes to many nodes; it cannot be part of a transaction")

    def multi(self) -> None:
        """Start queueing (after watch())."""
        if self._packed:
            raise ValueError("multi() must come before the commands it queues")
        self._queueing = True

    @staticmethod
    def _results(replies: list, converts: list, packed: list[bytes], raise_on_error: bool) -> list:
        out = [
            reply if convert is None or isinstance(reply, BaseException) else convert(reply)
            for reply, convert in zip(replies, converts)
        ]
        if raise_on_error:
            for index, reply in enumerate(out):
                if isinstance(reply, BaseException):
                    raise_batch_error(out, index, command_name_of(packed[index]))
        return out


def _single_combine(combine: Callable, count: int) -> Callable:
    """The reply of one command holding every key, through the combiner written for per-slot parts."""
    parts = [(None, list(range(count)), ())]
    return lambda reply: combine(parts, [reply], count)
