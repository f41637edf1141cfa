"""RESP on the wire: pack commands to bytes, and the reader that turns bytes into values.

Pure code: nothing here touches a socket. Error replies become :class:`ResponseError` *values*
(hiredis's ``replyError=`` hook), so ``MOVED``/``ASK``/``TRYAGAIN`` are data the router inspects,
never exceptions whose ``except`` order could confuse anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hiredis

from .errors import ProtocolError, ResponseError
from .keyslot import crc16_raw, encode_key, key_slot

__all__ = [
    "ASKING",
    "INCOMPLETE",
    "READONLY",
    "ReaderProtocolError",
    "new_reader",
    "pack_command",
    "pack_commands",
    "pack_keyed",
]

_pack = hiredis.pack_command
ReaderProtocolError = hiredis.ProtocolError

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
# %-format (which parses its format string on every call). The pieces: a command's header (the ``*N`` count
# and the command's own bulk string), cached per command name; a bulk string's ``$len`` line, from a table
# for the usual lengths; and the CRLFs between. A key or value longer than the tables, or a header cache
# that is full, falls back to the %-format, which gives the same bytes.
_TABLE_LENGTHS = 1024
_BULK_HEADER = tuple(b"$%d\r\n" % n for n in range(_TABLE_LENGTHS))  # "$5\r\n"
_AFTER_BULK = tuple(b"\r\n$%d\r\n" % n for n in range(_TABLE_LENGTHS))  # ends one bulk, starts the next
_CRLF = b"\r\n"
_HEAD2: dict[bytes, bytes] = {}  # b"GET" -> b"*2\r\n$3\r\nGET\r\n"
_HEAD3: dict[bytes, bytes] = {}
_HEADS_MAX = 256  # command names come from this library's own methods; the cap is a guard, not a limit
_FRAME2 = b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
_FRAME3 = b"*3\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
_join = b"".join


def pack_keyed(args: tuple, key: Any, readonly: bool, convert: Any) -> tuple[bytes, int, bool, Any]:
    """``(pack_command(args), key_slot(key), readonly, convert)`` for a command whose key is ``args[1]``.

    The hot path of every single-key command. The common shapes, ``(COMMAND, key)`` and ``(COMMAND, key,
    value)`` with a str or bytes key and a bytes, str or int value, are framed here, the key encoded once
    for both frame and slot; anything else takes the general path. ``readonly`` and ``convert`` pass through
    so a pipeline can queue the result as is (one tuple per command, built once).
    """
    kind = type(key)
    if kind is str:
        k = key.encode()
    elif kind is bytes:
        k = key
    else:
        return pack_command(args), key_slot(key), readonly, convert
    slot = crc16_raw(k, 0) & 0x3FFF if 123 not in k else key_slot(k)  # 123: "{", a hash tag
    if args[1] is key:
        n = len(args)
        if n == 2:
            try:
                return _join((_HEAD2[args[0]], _BULK_HEADER[len(k)], k, _CRLF)), slot, readonly, convert
            except LookupError:  # a command not seen yet, or a long key
                return _frame2(args[0], k), slot, readonly, convert
        if n == 3:
            command, _, value = args
            if type(value) is not bytes:
                kind = type(value)
                if kind is str:
                    value = value.encode()
                elif kind is int:
                    value = b"%d" % value
                else:
                    return pack_command(args), slot, readonly, convert
            try:
                frame = _join((_HEAD3[command], _BULK_HEADER[len(k)], k, _AFTER_BULK[len(value)], value, _CRLF))
            except LookupError:
                frame = _frame3(command, k, value)
            return frame, slot, readonly, convert
    return pack_command(args), slot, readonly, convert


def _frame2(command: bytes, key: bytes) -> bytes:
    if len(_HEAD2) < _HEADS_MAX and type(command) is bytes:
        _HEAD2[command] = b"*2\r\n$%d\r\n%b\r\n" % (len(command), command)
    return _FRAME2 % (len(command), command, len(key), key)


def _frame3(command: bytes, key: bytes, value: bytes) -> bytes:
    if len(_HEAD3) < _HEADS_MAX and type(command) is bytes:
        _HEAD3[command] = b"*3\r\n$%d\r\n%b\r\n" % (len(command), command)
    return _FRAME3 % (len(command), command, len(key), key, len(value), value)


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


class _Incomplete:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INCOMPLETE"


# What a reader's gets() returns while no whole reply is buffered. Not hiredis's default False: a reply can
# never be this object, so ``list.extend(iter(reader.gets, INCOMPLETE))`` drains every buffered reply at C
# speed (with False as the sentinel, an integer reply 0 would compare equal and end the drain).
INCOMPLETE: Any = _Incomplete()


def new_reader(encoding: str | None = None) -> hiredis.Reader:
    """A hiredis reader whose error replies are ResponseError values (not raised); ``gets()`` returns
    :data:`INCOMPLETE` while no whole reply is buffered."""
    if encoding:
        return hiredis.Reader(replyError=ResponseError, encoding=encoding, errors="strict", notEnoughData=INCOMPLETE)
    return hiredis.Reader(replyError=ResponseError, notEnoughData=INCOMPLETE)


def protocol_error(exc: Exception, node: str) -> ProtocolError:
    """Translate hiredis's parser error into the library's, naming the node."""
    return ProtocolError(f"invalid reply from {node}: {exc}")
