"""Reply conversions shared by the command families, following redis-py's (protocol 2) conventions."""

from __future__ import annotations

from typing import Any


def ok(reply: Any) -> bool | None:
    if reply is None:
        return None
    return reply == b"OK" or reply == "OK"


def as_bool(reply: Any) -> bool:
    return bool(reply)


def pairs_to_dict(reply: Any) -> dict:
    if isinstance(reply, dict):
        return reply
    it = iter(reply or ())
    return dict(zip(it, it))


def to_set(reply: Any) -> set:
    return set(reply or ())


def float_or_none(reply: Any) -> float | None:
    return None if reply is None else float(reply)


def with_scores(reply: Any) -> list[tuple[Any, float]]:
    it = iter(reply or ())
    return [(member, float(score)) for member, score in zip(it, it)]


def tuple_or_none(reply: Any) -> tuple | None:
    return None if reply is None else tuple(reply)


def zpop(reply: Any) -> tuple | None:
    return None if reply is None else (reply[0], reply[1], float(reply[2]))


def pong(reply: Any) -> bool:
    return reply == b"PONG" or reply == "PONG"


def bool_list(reply: Any) -> list[bool]:
    return [bool(x) for x in reply]
