"""The replies of a batch of commands: which ones to drop, which failure to raise, and how to name it.

Pure code shared by pipelines, ``mget`` and the fallbacks of multi-key commands. Rules:

* every ``ASKING`` written before a command has its own reply; only the commands' replies are kept, but
  a refused ``ASKING`` stands in for its command's reply (it explains the failure better);
* a failure is raised naming its position and command, and which other commands may have applied.
"""

from __future__ import annotations

from typing import Any

from .errors import MaybeAppliedError, ResponseError
from .resp import ASKING, READONLY

__all__ = [
    "node_batch",
    "node_batch_replies",
    "drop_asking_replies",
    "after_asking",
    "command_name_of",
    "raise_batch_error",
    "raise_first_failure",
]


def node_batch(indexes: list[int], packed: list[bytes], asking: set, readonly_first: bool) -> tuple[bytes, int]:
    """One node's part of a batch as one write: ``(data, replies expected)``. ``READONLY`` first when the
    connection must be switched to replica reads; ``ASKING`` before each command in ``asking``."""
    if asking:
        chunks = []
        for i in indexes:
            if i in asking:
                chunks.append(ASKING)
            chunks.append(packed[i])
        data = b"".join(chunks)
        expected = len(chunks)
    else:
        data = b"".join([packed[i] for i in indexes])
        expected = len(indexes)
    if readonly_first:
        return READONLY + data, expected + 1
    return data, expected


def node_batch_replies(raw: list, indexes: list[int], asking: set, readonly_first: bool) -> list:
    """The commands' own replies among ``raw`` (what :func:`node_batch`'s write got back)."""
    if readonly_first:
        raw = raw[1:]
    if asking:
        raw = drop_asking_replies(indexes, asking, raw)
    return raw


def drop_asking_replies(indexes: list[int], asking: set[int], raw: list) -> list:
    """``raw`` = the replies of ``indexes``' commands, each of those in ``asking`` preceded by ASKING's."""
    out = []
    position = 0
    for i in indexes:
        if i in asking:
            asking_reply = raw[position]
            position += 1
            out.append(asking_reply if isinstance(asking_reply, BaseException) else raw[position])
        else:
            out.append(raw[position])
        position += 1
    return out


def after_asking(asking_reply: Any, reply: Any) -> Any:
    """The outcome of one command sent after ``ASKING``: a refused ASKING wins."""
    return asking_reply if isinstance(asking_reply, ResponseError) else reply


def command_name_of(packed: bytes) -> str:
    """``b"*2\\r\\n$3\\r\\nGET\\r\\n..."`` -> ``"GET"`` (for messages only)."""
    try:
        return packed.split(b"\r\n", 3)[2].decode("utf-8", "replace").upper()
    except IndexError:
        return "?"


def raise_batch_error(results: list, index: int, name: str) -> None:
    """Raise the failure at ``index``, saying which command it was and which others may have applied."""
    error = results[index]
    maybe = [i for i, r in enumerate(results) if isinstance(r, MaybeAppliedError)]
    where = f"command #{index} ({name.upper()}) of {len(results)}"
    if isinstance(error, ResponseError) and type(error) is ResponseError:
        wrapped = ResponseError(f"{error.message} ({where})")
        wrapped.index = index  # type: ignore[attr-defined]
        raise wrapped from None
    error.index = index
    error.maybe_applied = maybe
    if maybe:
        error.args = (f"{error.args[0]} ({where}; may have been applied: commands {maybe})", *error.args[1:])
    else:
        error.args = (f"{error.args[0]} ({where})", *error.args[1:])
    raise error


def raise_first_failure(results: list, name: str) -> None:
    """Raise the first exception among ``results`` (as :func:`raise_batch_error`), if any."""
    for index, reply in enumerate(results):
        if isinstance(reply, BaseException):
            raise_batch_error(results, index, name)
