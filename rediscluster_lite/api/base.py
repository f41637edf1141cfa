"""The doors every command family goes through, and the small argument helpers they share.

A command method never does I/O: it builds an argv, names its keys and its reply conversion, and hands them to
one of these doors; each client shell (sync, asyncio, pipeline, transaction) implements the doors. What a door
returns (a value, a coroutine, the pipeline itself) is what the command method returns."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..resp import pack_keyed

Key = bytes | str | int | float | memoryview


class Doors:
    """The shell supplies ``_framed``, ``_multi_keyed``, ``_keyless`` and the others below."""

    def _framed(self, entry: tuple[bytes, int, bool, Callable | None]) -> Any:
        # A single-key command already framed by resp.pack_key/pack_key_value: (packed, slot, readonly,
        # convert). GET and SET come this way directly, skipping the args tuple and the shape checks of _keyed.
        raise NotImplementedError

    def _keyed(self, args: tuple, key: Any, readonly: bool, convert: Callable | None = None) -> Any:
        # Every other single-key command: its argv, and the key it is routed by.
        return self._framed(pack_keyed(args, key, readonly, convert))

    def _multi_keyed(self, args: tuple, keys: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        raise NotImplementedError

    def _keyless(self, args: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        raise NotImplementedError

    def _split_by_slot(self, command: bytes, args: Sequence[Any], step: int, readonly: bool, combine: Callable) -> Any:
        raise NotImplementedError

    def _blocking(
        self, args: tuple, keys: Sequence, readonly: bool, block: float, convert: Callable | None = None
    ) -> Any:
        raise NotImplementedError

    def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Any:
        raise NotImplementedError

    def _cursor_iter(self, page: Callable[[int], Any], items: Callable[[Any], Iterable]) -> Any:
        # HSCAN/SSCAN-style walks: ``page(cursor)`` is a command method giving (next cursor, page); yields
        # ``items(page)`` until the cursor is 0 again (an iterator, or an async iterator on asyncio's client).
        raise NotImplementedError


def expire_flags(nx: bool, xx: bool, gt: bool, lt: bool) -> list[bytes]:
    return [f for f, on in ((b"NX", nx), (b"XX", xx), (b"GT", gt), (b"LT", lt)) if on]


def flatten(first: Any, rest: tuple) -> list:
    if isinstance(first, (bytes, str, int, float, memoryview)):
        return [first, *rest]
    return [*first, *rest]
