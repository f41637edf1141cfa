"""Multi-key commands across slots: split the keys by slot, and put the replies back together.

Pure code. ``split`` turns ``MGET k1 k2 k3`` into one command per slot (keys keep their relative order);
the ``combine_*`` functions rebuild the single answer the caller expects. Not atomic across slots: each
per-slot command is atomic on its own node, nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .keyslot import key_slot

__all__ = ["split", "combine_in_order", "combine_sum", "combine_all_ok", "PER_KEY_FALLBACK", "stuck_on_migration"]

# One part: (slot, positions of its keys in the caller's key list, the argv to send)
Part = tuple[int, list[int], tuple]


def split(command: bytes, args: Sequence[Any], step: int = 1) -> list[Part]:
    """Group ``args`` (keys, or key/value pairs with ``step=2``) by the slot of each key."""
    if step > 1 and len(args) % step:
        raise ValueError(f"{command.decode()} takes keys and values in groups of {step}")
    groups: dict[int, tuple[list[int], list[Any]]] = {}
    for position in range(0, len(args), step):
        slot = key_slot(args[position])
        group = groups.get(slot)
        if group is None:
            group = groups[slot] = ([], [command])
        group[0].append(position // step)
        group[1].extend(args[position : position + step])
    return [(slot, positions, tuple(argv)) for slot, (positions, argv) in groups.items()]


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
