"""Bitmaps and HyperLogLogs: SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP/BITFIELD, PFADD/PFCOUNT/PFMERGE.

Each method only builds the argument tuple and names its key(s); the shell's doors (``base.Doors``) route it,
do the I/O and apply the reply conversion. Rules kept here:

* ``bitop``, ``pfcount`` and ``pfmerge`` name several keys: they must share one slot (``CrossSlotError``).
* ``bitfield`` returns a ``BitFieldOperation`` builder, as redis-py's does; its ``execute()`` sends one BITFIELD
  through the client's door, so it returns what the client's methods return (a coroutine on the asyncio
  client, the pipeline in a pipeline).
* Argument mistakes redis-py catches (a lone ``start``/``end``, a bit other than 0/1) are ``DataError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import DataError
from . import replies
from .base import Doors, Key

# How ``execute_command`` converts this family's replies, by command name (redis-py's callbacks that need
# no options).
REPLIES: dict[str, Callable[[Any], Any]] = {"PFMERGE": replies.ok}

BitfieldOffset = int | str


class BitFieldOperation:
    """Several BITFIELD sub-operations on one key, sent together by ``execute()`` (redis-py's builder)."""

    def __init__(self, client: Doors, key: Key, default_overflow: str | None = None) -> None:
        self.client = client
        self.key = key
        self._default_overflow = default_overflow
        self.operations: list[tuple[Any, ...]] = []
        self._last_overflow = "WRAP"
        self.reset()

    def reset(self) -> None:
        """Forget the operations given so far (``execute`` does this too)."""
        self.operations = []
        self._last_overflow = "WRAP"
        self.overflow(self._default_overflow or self._last_overflow)

    def overflow(self, overflow: str) -> BitFieldOperation:
        """WRAP, SAT or FAIL for the ``incrby`` operations after this one (sent only when it changes)."""
        overflow = overflow.upper()
        if overflow != self._last_overflow:
            self._last_overflow = overflow
            self.operations.append((b"OVERFLOW", overflow))
        return self

    def incrby(
        self, fmt: str, offset: BitfieldOffset, increment: int, overflow: str | None = None
    ) -> BitFieldOperation:
        if overflow is not None:
            self.overflow(overflow)
        self.operations.append((b"INCRBY", fmt, offset, increment))
        return self

    def get(self, fmt: str, offset: BitfieldOffset) -> BitFieldOperation:
        self.operations.append((b"GET", fmt, offset))
        return self

    def set(self, fmt: str, offset: BitfieldOffset, value: int) -> BitFieldOperation:
        self.operations.append((b"SET", fmt, offset, value))
        return self

    @property
    def command(self) -> list[Any]:
        """The BITFIELD argv the operations make."""
        return [b"BITFIELD", self.key, *[word for op in self.operations for word in op]]

    def execute(self) -> Any:
        """Send them as one BITFIELD: a list of integers (``None`` for an ``incrby`` that FAIL stopped)."""
        command = self.command
        self.reset()
        return self.client._keyed(tuple(command), self.key, False)


def _range(start: int | None, end: int | None, mode: str | None) -> list[Any]:
    args: list[Any] = [] if start is None else [start]
    if end is not None:
        args.append(end)
    if mode is not None:
        args.append(mode)
    return args


class BitmapCommands(Doors):
    def setbit(self, name: Key, offset: int, value: int) -> int:
        return self._keyed((b"SETBIT", name, offset, 1 if value else 0), name, False)

    def getbit(self, name: Key, offset: int) -> int:
        return self._keyed((b"GETBIT", name, offset), name, True)

    def bitcount(self, key: Key, start: int | None = None, end: int | None = None, mode: str | None = None) -> int:
        """Set bits in the value (between bytes, or with ``mode="BIT"`` bits, ``start`` and ``end``)."""
        if (start is None) != (end is None):
            raise DataError("bitcount(): start and end must both be given")
        return self._keyed((b"BITCOUNT", key, *_range(start, end, mode)), key, True)

    def bitpos(
        self, key: Key, bit: int, start: int | None = None, end: int | None = None, mode: str | None = None
    ) -> int:
        """Position of the first ``bit`` (0 or 1), searching from ``start`` to ``end``."""
        if bit not in (0, 1):
            raise DataError("bitpos(): bit must be 0 or 1")
        if start is None and end is not None:
            raise DataError("bitpos(): end needs start")
        return self._keyed((b"BITPOS", key, bit, *_range(start, end, mode)), key, True)

    def bitop(self, operation: str, dest: Key, *keys: Key) -> int:
        """AND/OR/XOR/NOT of ``keys`` into ``dest``: the length of the result (all keys in one slot)."""
        return self._multi_keyed((b"BITOP", operation, dest, *keys), (dest, *keys), False)

    def bitfield(self, key: Key, default_overflow: str | None = None) -> BitFieldOperation:
        """A builder: chain ``get``/``set``/``incrby``/``overflow``, then ``execute()``."""
        return BitFieldOperation(self, key, default_overflow=default_overflow)

    def bitfield_ro(
        self,
        key: Key,
        encoding: str,
        offset: BitfieldOffset,
        items: Sequence[tuple[str, BitfieldOffset]] | None = None,
    ) -> list[int]:
        """The field at ``encoding``/``offset``, then one per pair of ``items``."""
        args: list[Any] = [b"BITFIELD_RO", key, b"GET", encoding, offset]
        for more_encoding, more_offset in items or ():
            args += [b"GET", more_encoding, more_offset]
        return self._keyed(tuple(args), key, True)

    def pfadd(self, name: Key, *values: Any) -> int:
        return self._keyed((b"PFADD", name, *values), name, False)

    def pfcount(self, *sources: Key) -> int:
        """Estimated distinct elements of the union of ``sources`` (all in one slot)."""
        return self._multi_keyed((b"PFCOUNT", *sources), sources, True)

    def pfmerge(self, dest: Key, *sources: Key) -> bool:
        return self._multi_keyed((b"PFMERGE", dest, *sources), (dest, *sources), False, replies.ok)
