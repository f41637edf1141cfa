"""The guarded reply reader: bytes in, replies (or library errors) out. Sans-I/O: it never touches a socket.

The rules it keeps:

* It owns the buffer the shell reads into (``buffer``, like ``asyncio.BufferedProtocol.get_buffer``); the
  shell writes ``n`` bytes there and calls :meth:`ReplyReader.received`. Tests feed bytes with :meth:`feed`.
* Sizes: a reply over ``max_reply_bytes`` is refused with ``ProtocolError`` as soon as that is known, from
  its header when the header says so (hiredis allocates a list for an aggregate header before any element
  arrives: ``*4294967295`` would cost 32 GiB), else from the bytes received.
* Memory: a reply costs about its own size. hiredis keeps a reply's bytes in its buffer and then copies them
  into the value (twice the size); a large top-level bulk string (a GET of a big value) therefore bypasses
  hiredis and is read straight into the bytes object it becomes.
* Errors: hiredis's parser error, ``MemoryError`` and any other builtin become ``ProtocolError`` naming the
  node (the one translation, :meth:`ReplyReader.failed`). A reply that is not valid text under the chosen
  encoding was consumed whole, so it is a :class:`ReplyDecodeError` *value* and the stream stays in step.
* Error replies (``-ERR ...``) are :class:`ResponseError` values, never raised: the router inspects them.
"""

from __future__ import annotations

import io
import re
from itertools import islice
from typing import Any

import hiredis

from .errors import ProtocolError, ReplyDecodeError, ResponseError

__all__ = ["INCOMPLETE", "ReplyLimits", "ReplyReader", "new_reader"]

BUFFER_SIZE = 65536
# A top-level bulk string at least this long is read straight into its own bytes object. Below it,
# hiredis's copy is cheaper than the bookkeeping.
BIG_BULK_BYTES = 1 << 20


class _Incomplete:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INCOMPLETE"


# What gets() returns while no whole reply is buffered. Not hiredis's default False: a reply can never be
# this object, so ``list.extend(iter(reader.gets, INCOMPLETE))`` drains every buffered reply at C speed
# (with False as the sentinel, an integer reply 0 would compare equal and end the drain).
INCOMPLETE: Any = _Incomplete()


def new_reader(encoding: str | None = None) -> hiredis.Reader:
    """A bare hiredis reader whose error replies are ResponseError values (not raised); ``gets()`` returns
    :data:`INCOMPLETE` while no whole reply is buffered. Unguarded: for replies the library built itself."""
    if encoding:
        return hiredis.Reader(replyError=ResponseError, encoding=encoding, errors="strict", notEnoughData=INCOMPLETE)
    return hiredis.Reader(replyError=ResponseError, notEnoughData=INCOMPLETE)


# Every digit becomes b"0", every header type byte that announces a count or length b"$", every other
# byte b".": "a header with N digits" is then a plain substring search (digits inside values don't match).
_HEADER_SHAPE = bytes(0x30 if 0x30 <= b <= 0x39 else 0x24 if b in b"*%~>|$!=" else 0x2E for b in range(256))
_TAIL = 24  # bytes kept from each chunk, so a size header cut between two chunks is still seen whole


class ReplyLimits:
    """The size rules of one client, computed once: ``max_reply_bytes`` and how to spot a dangerous header."""

    __slots__ = ("max_reply_bytes", "huge_header", "digit_run", "shortest")

    def __init__(self, max_reply_bytes: int = 1 << 30) -> None:
        if type(max_reply_bytes) is not int or max_reply_bytes < 1:
            raise ValueError(f"max_reply_bytes must be a positive int, got {max_reply_bytes!r}")
        self.max_reply_bytes = max_reply_bytes
        # A header (aggregate count or bulk length) with as many digits as the largest size max_reply_bytes
        # could hold (3 bytes an element at least): rare enough to check precisely with a regex.
        digits = len(str(max(max_reply_bytes // 3, 1)))
        self.huge_header = re.compile(rb"([*%%~>|$!=])([0-9]{%d,})\r\n" % digits)
        self.digit_run = b"$" + b"0" * digits  # what such a header looks like through _HEADER_SHAPE
        self.shortest = digits + 3  # the shortest dangerous header: type byte, digits, CRLF

    def check(self, chunk: Any, n: int, tail: bytes, node: str) -> None:
        """Raise ProtocolError if ``chunk[:n]`` (after ``tail``, the end of the chunk before) announces a
        reply over the limit. ~2 instructions a byte: the regex runs only where a header could be."""
        huge = self.huge_header
        # (find(), not `in`: bytes.__contains__ first tries the needle as an int, raising TypeError.)
        maybe = n >= self.shortest and chunk[:n].translate(_HEADER_SHAPE).find(self.digit_run) >= 0
        if tail:
            tail += bytes(chunk[:_TAIL])
            if tail.translate(_HEADER_SHAPE).find(self.digit_run) < 0:
                tail = b""
        found = (maybe and huge.search(chunk, 0, n)) or (tail and huge.search(tail))
        if found:
            size = int(found.group(2)) * (1 if found.group(1) in b"$!=" else 3)
            if size > self.max_reply_bytes:
                raise ProtocolError(
                    f"{node} announced a reply over max_reply_bytes ({self.max_reply_bytes}): {found.group(0)[:-2]!r}"
                )


class ReplyReader:
    """Replies of one connection. The shell reads into :attr:`buffer`, then calls :meth:`received`.

    Hot paths may call the hiredis reader directly (``parser.has_data()``, ``parser.gets()``: a method call
    on a C object is cheaper than one through a bound method kept in a slot); anything they raise goes
    through :meth:`failed`. Set :attr:`at_boundary` when a new reply starts at a clean boundary
    (nothing buffered, nothing half-parsed): only then may a big bulk string bypass hiredis.
    """

    __slots__ = (
        "node",
        "limits",
        "encoding",
        "buffer",
        "parser",
        "_own",
        "_tail",
        "_quick",
        "_total",
        "at_boundary",
        "_big",
    )

    def __init__(self, node: str, limits: ReplyLimits, encoding: str | None = None) -> None:
        self.node = node
        self.limits = limits
        self.encoding = encoding
        self._own = bytearray(BUFFER_SIZE)
        self.buffer: Any = self._own  # where the next bytes go
        self._reset_hiredis()
        self._tail = b""
        self._quick = (limits.max_reply_bytes, limits.shortest, limits.digit_run)  # received() reads these
        self._total = 0  # bytes received since the last whole reply
        # Set by the shell when the next bytes start a new reply and nothing is buffered or half-parsed:
        # only then may a big bulk string bypass hiredis.
        self.at_boundary = False
        self._big: _BigBulk | None = None

    def __repr__(self) -> str:
        return f"<ReplyReader {self.node} buffered={self.has_data()}>"

    def _reset_hiredis(self) -> None:
        self.parser = new_reader(self.encoding)

    def has_data(self) -> bool:
        """Bytes received and not yet parsed (hot paths call ``parser.has_data()`` directly)."""
        return self.parser.has_data()

    def abandon(self) -> None:
        """The connection is gone: free a big value half read (it may be hundreds of megabytes)."""
        if self._big is not None:
            self._big = None
            self.buffer = self._own

    def feed(self, data: bytes) -> Any:
        """Push bytes (tests, mock streams): the first whole reply they finish, or :data:`INCOMPLETE`."""
        first = INCOMPLETE
        view = memoryview(data)
        while view:
            n = min(len(view), len(self.buffer))
            self.buffer[:n] = view[:n]
            view = view[n:]
            reply = self.received(n)
            if first is INCOMPLETE:
                first = reply
        return first

    def received(self, n: int) -> Any:
        """``n`` bytes were written into :attr:`buffer`: guard them, parse, and return one whole reply or
        :data:`INCOMPLETE`. Raises ProtocolError (the connection is then out of step and must be dropped)."""
        if self._big is not None:
            return self._big_received(n)
        buf = self.buffer
        limit, shortest, digit_run = self._quick
        total = self._total + n
        if total > limit:
            raise ProtocolError(f"reply from {self.node} exceeds max_reply_bytes ({limit})")
        # The cheap half of limits.check() inline (this runs once per read): a chunk without a header type
        # byte followed by that many digits, and no header cut off before it, cannot announce too much.
        tail = self._tail
        if tail or (n >= shortest and buf[:n].translate(_HEADER_SHAPE).find(digit_run) >= 0):
            self.limits.check(buf, n, tail, self.node)
        hiredis_reader = self.parser
        hiredis_reader.feed(buf, 0, n)
        try:
            reply = hiredis_reader.gets()
        except Exception as exc:  # every parser failure becomes the library's
            reply = self.failed(exc)
        if reply is INCOMPLETE:
            self._total = total
            self._tail = bytes(buf[max(0, n - _TAIL) : n])  # the start of a header the next chunk may finish
            if self.at_boundary:
                self.at_boundary = False
                if buf[0] == 36:  # 36: "$", a bulk string starting this reply
                    return self._maybe_big(n)
            return reply
        self._total = 0
        if self.at_boundary:
            # One reply was wanted: bytes left over make the connection stale anyway.
            self.at_boundary = False
            if tail:
                self._tail = b""
        elif hiredis_reader.has_data():
            # Bytes after this reply (a pipeline's next replies) may end in a header cut by the chunk's end.
            self._tail = bytes(buf[max(0, n - _TAIL) : n])
        elif tail:
            self._tail = b""
        return reply

    def failed(self, exc: BaseException) -> Any:
        """The one translation of a parser failure: a ReplyDecodeError value (the reply was consumed whole,
        the stream is in step) or a raised ProtocolError (out of step)."""
        if isinstance(exc, UnicodeDecodeError):
            error = ReplyDecodeError(f"reply from {self.node} is not valid {self.encoding}: {exc}")
            error.__cause__ = exc
            return error
        if isinstance(exc, MemoryError):
            raise ProtocolError(f"reply from {self.node} needs more memory than this process has") from exc
        if isinstance(exc, ProtocolError):
            raise exc
        raise ProtocolError(f"invalid reply from {self.node}: {exc}") from exc

    def drain(self, replies: list, count: int) -> None:
        """Append buffered whole replies to ``replies`` until it holds ``count``, at C speed; never parses
        past that, so unsolicited bytes stay visible to :meth:`has_data` instead of hiding in a half-parsed
        reply."""
        gets = self.parser.gets
        while len(replies) < count:
            try:
                replies.extend(islice(iter(gets, INCOMPLETE), count - len(replies)))
                break
            except Exception as exc:  # translated; a decode error is a value: go on after it
                replies.append(self.failed(exc))
        if self._tail and not self.parser.has_data():
            self._tail = b""  # everything was parsed: no header can be cut at the end of the last chunk

    # --- a big bulk string, read straight into its value -------------------------------------------------

    def _maybe_big(self, n: int) -> Any:
        buf = self.buffer
        end = buf.find(b"\r\n", 0, min(n, 24))
        if end < 0:
            return INCOMPLETE  # the header itself is cut: leave it to hiredis
        length = int(buf[1:end])
        if length < BIG_BULK_BYTES or length > self.limits.max_reply_bytes:
            return INCOMPLETE  # small: hiredis's; too big: the byte count refuses it
        # hiredis holds nothing but this reply's first bytes: start afresh without it.
        self._reset_hiredis()
        self._big = big = _BigBulk(length)
        got = n - end - 2
        big.view[:got] = buf[end + 2 : n]
        big.filled = got
        self.buffer = big.view[got:]
        return INCOMPLETE

    def _big_received(self, n: int) -> Any:
        big = self._big
        assert big is not None
        big.filled += n
        if big.filled < big.size:
            self.buffer = big.view[big.filled :]
            return INCOMPLETE
        self._big = None
        self.buffer = self._own
        self._total = 0
        self._tail = b""
        value = big.value(self.node)
        if self.encoding:
            try:
                return value.decode(self.encoding)
            except UnicodeDecodeError as exc:
                return self.failed(exc)
        return value


class _BigBulk:
    """A bulk string's payload and CRLF, written in place. BytesIO hands over its buffer as the bytes
    object without a copy when nothing else holds it (CPython; elsewhere it copies once)."""

    __slots__ = ("length", "size", "filled", "io", "view")

    def __init__(self, length: int) -> None:
        self.length = length
        self.size = length + 2
        self.filled = 0
        self.io = io.BytesIO()
        self.io.seek(self.size - 1)
        self.io.write(b"\0")  # sizes the buffer once, exactly
        self.view = self.io.getbuffer()

    def value(self, node: str) -> bytes:
        crlf = bytes(self.view[self.length : self.size])
        self.view.release()
        if crlf != b"\r\n":
            raise ProtocolError(f"invalid reply from {node}: a bulk string of {self.length} bytes not ended by CRLF")
        try:
            self.io.truncate(self.length)
            value = self.io.getvalue()
        except BufferError:  # someone still holds a view of the buffer: pay for one copy
            value = self.io.getvalue()[: self.length]
        self.io = None  # type: ignore[assignment]
        return value
