"""Multi-key commands across slots: split the keys by slot, and put the replies back together.

Pure code. ``split`` turns ``MGET k1 k2 k3`` into one command per slot (keys keep their relative order);
the ``combine_*`` functions rebuild the single answer the caller expects. Not atomic across slots: each
per-slot command is atomic on its own node, nothing more.

The fallback plans, for a batch of such parts that came back with failures:

* a part stuck on a migrating slot (``TRYAGAIN``, see :func:`stuck_on_migration`) of a command in
  ``PER_KEY_FALLBACK`` is sent again one key at a time (:func:`per_key_batch`), each key following its
  own ASK; any other failure raises, naming the part;
* ``mget`` sends a key alone in its slot as ``GET``, which answers ``WRONGTYPE`` where ``MGET`` says nil:
  that error reads as ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

from .batch import raise_batch_error, raise_first_failure
from .effects import RUN, RUN_BATCH
from .errors import ResponseError, TooManyRedirects
from .keyslot import key_slot
from .resp import command_head, pack_command, pack_key
from .router import any_error

__all__ = [
    "group_by_slot",
    "split",
    "combine_in_order",
    "combine_sum",
    "combine_all_ok",
    "PER_KEY_FALLBACK",
    "stuck_on_migration",
    "per_key_batch",
    "per_key_retries",
    "mget_grouped",
    "mget_retries",
    "in_key_order",
    "mget_plan",
    "split_plan",
]

Plan = Generator[tuple, Any, Any]
_GET = command_head(b"GET", 2)  # mget of keys alone in their slots sends GETs

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


def per_key_batch(command: bytes, keys: Sequence[Any], readonly: bool) -> tuple[list[bytes], list[int], list[bool]]:
    """``command`` once per key, as a batch: ``(frames, slots, readonly flags)``."""
    return [pack_command((command, key)) for key in keys], [key_slot(key) for key in keys], [readonly] * len(keys)


def per_key_retries(command: bytes, replies: list) -> list[int]:
    """The failed parts of a split ``command`` to send again one key at a time (in order); raises the
    first failure that is not a part stuck on a migration, or of a command that has no per-key form."""
    merge = PER_KEY_FALLBACK.get(command)
    retries = []
    for index, reply in enumerate(replies):
        if isinstance(reply, BaseException):
            if merge is None or not stuck_on_migration(reply):
                raise_batch_error(replies, index, command.decode())
            retries.append(index)
    return retries


def mget_grouped(keys: Sequence[Any], frames: Sequence[bytes], slots: Sequence[int]) -> tuple[list, list, list]:
    """Keys that share a slot go in one MGET between them (atomic on their node); a key alone in its
    slot keeps its GET frame. Returns ``(frames, slots, groups)``, ``groups[i]`` the key positions of
    command ``i``."""
    by_slot = group_by_slot(slots)
    groups = list(by_slot.values())
    frames = [frames[g[0]] if len(g) == 1 else pack_command((b"MGET", *[keys[i] for i in g])) for g in groups]
    return frames, list(by_slot), groups


def mget_retries(replies: list, groups: list[list[int]] | None) -> list[int]:
    """mget's failures: a GET's ``WRONGTYPE`` becomes ``None`` in ``replies``; returns the commands (shared
    MGETs stuck on a migration) to send again one key at a time; raises any other failure."""
    retries = []
    for index, reply in enumerate(replies):
        if not isinstance(reply, BaseException):
            continue
        if isinstance(reply, ResponseError) and reply.code == "WRONGTYPE":
            replies[index] = None  # only a GET says this: MGET reads another type as nil
        elif groups is not None and len(groups[index]) > 1 and stuck_on_migration(reply):
            retries.append(index)
        else:
            raise_batch_error(replies, index, "MGET")
    return retries


def in_key_order(count: int, groups: list[list[int]], replies: list) -> list:
    """The value of each of ``count`` keys, from one reply per group (a GET's value, or an MGET's list)."""
    values: list[Any] = [None] * count
    for group, reply in zip(groups, replies):
        if len(group) == 1:
            values[group[0]] = reply
        else:
            for position, value in zip(group, reply):
                values[position] = value
    return values


# --- the plans: the whole of a cross-slot command, as generators of RUN / RUN_BATCH effects -----------------


def split_plan(command: bytes, args: Sequence, step: int, readonly: bool, combine: Callable) -> Plan:
    """``command`` over ``args`` (``step`` arguments a key) split by slot, sent as one batch (or one routed
    command when all keys share a slot), parts stuck on a migration sent again one key at a time, and the
    replies combined into the one answer."""
    if not args:
        raise ValueError(f"{command.decode()} needs at least one key")
    parts = split(command, args, step)
    if len(parts) == 1:
        slot, _, argv = parts[0]
        reply = yield (RUN, pack_command(argv), slot, readonly)
        if isinstance(reply, BaseException) and not isinstance(reply, TooManyRedirects):
            raise reply
        replies = [reply]
    else:
        slots, _, argvs = zip(*parts)
        replies = yield (RUN_BATCH, list(map(pack_command, argvs)), slots, [readonly] * len(parts))
    if any_error(replies):  # at C speed: usually none
        for index in per_key_retries(command, replies):
            replies[index] = yield from _one_key_each(command, parts[index][2][1:], readonly)
    return combine(parts, replies, len(args) // step)


def mget_plan(keys: Sequence) -> Plan:
    """``mget`` across slots. A key alone in its slot (the usual case for keys from anywhere) goes as a GET
    framed on the single-key fast path: no per-slot argv, no one-key MGET arrays to parse. Keys that share
    a slot go in one MGET between them (:func:`mget_grouped`); failures follow :func:`mget_retries`."""
    if not keys:
        raise ValueError("MGET needs at least one key")
    frames, slots, _, _ = zip(*[pack_key(_GET, key, True, None) for key in keys])
    groups: list[list[int]] | None = None
    if len(set(slots)) < len(slots):
        frames, slots, groups = mget_grouped(keys, frames, slots)
    replies = yield (RUN_BATCH, frames, slots, (True,) * len(slots))
    if any_error(replies):  # at C speed: usually none
        for index in mget_retries(replies, groups):
            replies[index] = yield from _one_key_each(b"MGET", [keys[i] for i in groups[index]], True)  # type: ignore[index]
    return replies if groups is None else in_key_order(len(keys), groups, replies)


def _one_key_each(command: bytes, keys: Sequence, readonly: bool) -> Plan:
    """``command`` once per key, merged (for a slot mid-migration: each key follows its own ASK)."""
    replies = yield (RUN_BATCH, *per_key_batch(command, keys, readonly))
    raise_first_failure(replies, command.decode())
    return PER_KEY_FALLBACK[command](replies)
