"""RESP on the wire, outbound: pack commands to bytes. (Bytes back into replies: ``reader.py``.)

Pure code: nothing here touches a socket. Bad arguments are a ``TypeError`` naming the argument, before
anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hiredis

from .keyslot import crc16_raw, encode_key, key_slot
from .reader import INCOMPLETE, new_reader  # re-exported: replies the library builds itself

__all__ = [
    "ASKING",
    "INCOMPLETE",
    "READONLY",
    "new_reader",
    "command_head",
    "pack_command",
    "pack_commands",
    "pack_key",
    "pack_key_value",
    "pack_keyed",
]

_pack = hiredis.pack_command

ASKING = _pack((b"ASKING",))
READONLY = _pack((b"READONLY",))


def pack_command(args: Sequence[Any]) -> bytes:
    """Encode one command. Arguments may be bytes, str (UTF-8), int, float, bytearray or memoryview.

    Raises ``TypeError`` naming the offending argument before anything is sent.
    """
    for arg in args:
        kind = type(arg)
        if kind is not bytes and kind is not str and kind is not int:
            return _pack(_coerce(args))
    return _pack(args if type(args) is tuple else tuple(args))


# The hot-path frames are glued from pieces: one bytes.join of a tuple costs less than half of a bytes
# %-format (which parses its format string on every call). The pieces: a command's head (the ``*N`` count
# and the command's own bulk string, see command_head); a bulk string's ``$len`` line, from a table for the
# usual lengths; and the CRLFs between.
_TABLE_LENGTHS = 1024
_BULK_HEADER = tuple(b"$%d\r\n" % n for n in range(_TABLE_LENGTHS))  # "$5\r\n"
_AFTER_BULK = tuple(b"\r\n$%d\r\n" % n for n in range(_TABLE_LENGTHS))  # ends one bulk, starts the next
_CRLF = b"\r\n"
_join = b"".join


def command_head(command: bytes, arity: int) -> bytes:
    """The start of every frame of ``arity`` arguments led by ``command``: ``*2\r\n$3\r\nGET\r\n``."""
    return b"*%d\r\n$%d\r\n%b\r\n" % (arity, len(command), command)


def pack_key(head: bytes, key: Any, readonly: bool, convert: Any) -> tuple[bytes, int, bool, Any]:
    """``(frame, slot, readonly, convert)`` of ``(COMMAND, key)``, where ``head`` is ``command_head(COMMAND, 2)``.

    The hot path of single-key commands such as GET: a str or bytes key is encoded once, for both the
    frame and the slot. Any other key takes hiredis's packer (the same bytes, or a TypeError naming the
    argument). ``readonly`` and ``convert`` pass through so a pipeline queues the tuple as it is.
    """
    kind = type(key)
    if kind is str:
        k = key.encode()
    elif kind is bytes:
        k = key
    else:
        return pack_command((_command_of(head), key)), key_slot(key), readonly, convert
    try:
        frame = _join((head, _BULK_HEADER[len(k)], k, _CRLF))
    except IndexError:  # a key longer than the table
        frame = _join((head, b"$%d\r\n" % len(k), k, _CRLF))
    return frame, crc16_raw(k, 0) & 0x3FFF if 123 not in k else key_slot(k), readonly, convert  # 123: "{"


def pack_key_value(head: bytes, key: Any, value: Any, readonly: bool, convert: Any) -> tuple[bytes, int, bool, Any]:
    """:func:`pack_key` for ``(COMMAND, key, value)`` (``head`` from ``command_head(COMMAND, 3)``), such as
    SET. A bytes, str or int value is framed here; any other takes hiredis's packer."""
    kind = type(key)
    if kind is str:
        k = key.encode()
    elif kind is bytes:
        k = key
    else:
        return pack_command((_command_of(head), key, value)), key_slot(key), readonly, convert
    slot = crc16_raw(k, 0) & 0x3FFF if 123 not in k else key_slot(k)
    kind = type(value)
    if kind is not bytes:
        if kind is str:
            value = value.encode()
        elif kind is int:
            value = b"%d" % value
        else:
            return pack_command((_command_of(head), k, value)), slot, readonly, convert
    try:
        frame = _join((head, _BULK_HEADER[len(k)], k, _AFTER_BULK[len(value)], value, _CRLF))
    except IndexError:  # a key or value longer than the tables
        frame = _join((head, b"$%d\r\n" % len(k), k, b"\r\n$%d\r\n" % len(value), value, _CRLF))
    return frame, slot, readonly, convert


def _command_of(head: bytes) -> bytes:
    return head.split(b"\r\n", 3)[2]


_HEAD2: dict[Any, bytes] = {}  # command -> command_head(command, 2)
_HEAD3: dict[Any, bytes] = {}  # command -> command_head(command, 3)
_HEADS_MAX = 256  # command names come from this library's own methods; the cap is a guard, not a limit


def pack_keyed(args: tuple, key: Any, readonly: bool, convert: Any) -> tuple[bytes, int, bool, Any]:
    """``(pack_command(args), key_slot(key), readonly, convert)`` for a command whose key is ``args[1]``.

    ``(COMMAND, key)`` and ``(COMMAND, key, value)`` go to :func:`pack_key` / :func:`pack_key_value` with a
    cached head; anything else takes the general path.
    """
    n = len(args)
    if n == 2:
        if args[1] is key:
            head = _HEAD2.get(args[0])
            if head is not None:
                return pack_key(head, key, readonly, convert)
            return _first_of_its_name(args, key, readonly, convert)
    elif n == 3 and args[1] is key:
        head = _HEAD3.get(args[0])
        if head is not None:
            return pack_key_value(head, key, args[2], readonly, convert)
        return _first_of_its_name(args, key, readonly, convert)
    return pack_command(args), key_slot(key), readonly, convert


def _first_of_its_name(args: tuple, key: Any, readonly: bool, convert: Any) -> tuple[bytes, int, bool, Any]:
    # A command name not seen yet: cache its head (bytes names only, up to the cap) and pack it.
    heads = _HEAD2 if len(args) == 2 else _HEAD3
    if type(args[0]) is bytes and len(heads) < _HEADS_MAX:
        heads[args[0]] = command_head(args[0], len(args))
        return pack_keyed(args, key, readonly, convert)
    return pack_command(args), key_slot(key), readonly, convert


def pack_commands(commands: Sequence[Sequence[Any]]) -> bytes:
    """Encode several commands into one buffer, for a single write."""
    return b"".join([pack_command(c) for c in commands])


def _coerce(args: Sequence[Any]) -> tuple:
    # Anything but exact bytes/str/int. Subclasses (IntEnum, numpy floats) are encoded by value with the
    # same encode_key() the slot hash uses, so the key on the wire is the key that was hashed.
    out = []
    for index, arg in enumerate(args):
        kind = type(arg)
        if kind is bytes or kind is str or kind is int or kind is float:
            out.append(arg)
            continue
        try:
            out.append(encode_key(arg))
        except TypeError:
            raise TypeError(
                f"argument {index} of {_name(args)} is of type {kind.__name__}; "
                "expected bytes, str, int, float, bytearray or memoryview"
            ) from None
    return tuple(out)


def _name(args: Sequence[Any]) -> str:
    first = args[0] if args else b"?"
    if isinstance(first, (bytes, bytearray)):
        first = bytes(first).decode("utf-8", "replace")
    return repr(str(first).upper())
