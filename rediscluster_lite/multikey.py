"""Multi-key commands across slots: split the keys by slot, and put the replies back together.

Pure code. ``split`` turns ``MGET k1 k2 k3`` into one command per slot (keys keep their relative order);
the ``combine_*`` functions rebuild the single answer the caller expects. Not atomic across slots: each
per-slot command is atomic on its own node, nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .keyslot import key_slot

__all__ = [
    "group_by_slot",
    "split",
    "combine_in_order",
    "combine_sum",
    "combine_all_ok",
    "PER_KEY_FALLBACK",
    "stuck_on_migration",
]

# One part: (slot, positions of its keys in the caller's key list, the argv to send)
Part = tuple[int, list[int], tuple]


def group_by_slot(slots: Iterable[int]) -> dict[int, list[int]]:
    """``{slot: positions}``: the positions of equal slots together, slots in first-seen order."""
    groups: dict[int, list[int]] = {}
    for position, slot in enumerate(slots):
        group = groups.get(slot)
        if group is None:
            groups[slot] = [position]
        else:
            group.append(position)
    return groups


def split(command: bytes, args: Sequence[Any], step: int = 1) -> list[Part]:
    """Group ``args`` (keys, or key/value pairs with ``step=2``) by the slot of each key."""
    if step > 1 and len(args) % step:
        raise ValueError(f"{command.decode()} takes keys and values in groups of {step}")
    parts = []
    for slot, positions in group_by_slot([key_slot(key) for key in args[::step]]).items():
        argv = [command]
        for position in positions:
            argv += args[position * step : position * step + step]
        parts.append((slot, positions, tuple(argv)))
    return parts


def combine_in_order(parts: list[Part], replies: list[Any], count: int) -> list:
    """MGET: each part's list of values back at its keys' positions."""
    out: list[Any] = [None] * count
    for (_, positions, _), reply in zip(parts, replies):
        for position, value in zip(positions, reply):
            out[position] = value
    return out


def combine_sum(parts: list[Part], replies: list[Any], count: int) -> int:
    """DEL/UNLINK/EXISTS/TOUCH: the counts add up."""
    return sum(replies)


def combine_all_ok(parts: list[Part], replies: list[Any], count: int) -> bool:
    """MSET: true when every part said OK."""
    return all(r == b"OK" or r == "OK" for r in replies)


def _concat(replies: list[Any]) -> list:
    return [value for reply in replies for value in reply]


# While a slot migrates, a multi-key command whose keys are split between the two nodes gets TRYAGAIN
# until the migration ends. For these commands, one key at a time means the same thing (each follows its
# own ASK), so the client falls back to that instead of failing. MSET is left out: within one slot it is
# atomic, and a caller who tagged keys together may count on that.
PER_KEY_FALLBACK: dict[bytes, Any] = {
    b"MGET": _concat,
    b"DEL": sum,
    b"UNLINK": sum,
    b"EXISTS": sum,
    b"TOUCH": sum,
}


def stuck_on_migration(error: BaseException) -> bool:
    """True for a failure caused by TRYAGAIN (a multi-key command on a slot being migrated)."""
    code = getattr(error, "code", None)
    if code == "TRYAGAIN":
        return True
    return any(entry[0] == "TRYAGAIN" for entry in getattr(error, "history", ()))
