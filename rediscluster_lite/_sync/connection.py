"""One blocking connection to one node: open (TCP_NODELAY, TLS, AUTH), send bytes, read replies.

Any failure leaves the connection unusable; the caller must close it and never return it to a pool,
so nobody can read a reply meant for someone else.
"""

from __future__ import annotations

import re
import select
import socket
import ssl as _ssl
import struct
import time
from typing import Any

from ..errors import (
    ConnectError,
    ConnectTimeout,
    ProtocolError,
    ReadError,
    ReadTimeout,
    ReplyDecodeError,
    ResponseError,
    WriteError,
)
from ..resp import INCOMPLETE, READONLY, ReaderProtocolError, new_reader, pack_command
from ..slotmap import Node

__all__ = ["ConnectionSettings", "Connection"]

_BUFFER_SIZE = 65536


def _use_kernel_timeouts(sock: socket.socket, timeout: float | None) -> None:
    """Blocking socket + SO_RCVTIMEO/SO_SNDTIMEO instead of Python's timeout mode.

    Python's timeout mode makes every wait cost three syscalls (recv -> EAGAIN, poll, recv); a
    blocking socket with a kernel timeout costs one. A timeout then surfaces as EAGAIN
    (``BlockingIOError``), which the readers translate to ReadTimeout/WriteError.
    """
    sock.settimeout(None)
    if timeout is None:
        return
    seconds = int(timeout)
    tv = struct.pack("ll", seconds, int((timeout - seconds) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


# Every digit becomes b"0", every header type byte that announces a count or length b"$", every other
# byte b".": "a header with N digits" is then a plain substring search (digits inside values don't match).
_HEADER_SHAPE = bytes(0x30 if 0x30 <= b <= 0x39 else 0x24 if b in b"*%~>|$!=" else 0x2E for b in range(256))


class ConnectionSettings:
    """What every connection of one client shares. The password is kept out of ``repr``."""

    __slots__ = (
        "username",
        "_password",
        "ssl_context",
        "connect_timeout",
        "socket_timeout",
        "max_reply_bytes",
        "huge_count",
        "read_limits",
        "encoding",
    )

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        ssl_context: _ssl.SSLContext | None = None,
        connect_timeout: float | None = 2.0,
        socket_timeout: float | None = 5.0,
        max_reply_bytes: int = 1 << 30,
        encoding: str | None = None,
    ) -> None:
        self.username = username
        self._password = password
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout
        self.socket_timeout = socket_timeout
        self.max_reply_bytes = max_reply_bytes
        # A RESP header (aggregate count or bulk length) with as many digits as the largest size that
        # max_reply_bytes could hold (3 bytes an element at least): rare enough to check precisely.
        digits = len(str(max(max_reply_bytes // 3, 1)))
        self.huge_count = re.compile(rb"([*%%~>|$!=])([0-9]{%d,})\r\n" % digits)
        digit_run = b"$" + b"0" * digits  # what such a header looks like through _HEADER_SHAPE
        # What _read_more needs, in one attribute: it runs once per reply.
        self.read_limits = (max_reply_bytes, self.huge_count, digit_run, digits + 3, socket_timeout)
        self.encoding = encoding

    def auth_command(self) -> bytes | None:
        if self.username:
            # A user without a password (ACL ``nopass``) accepts any password, so send an empty one.
            return pack_command((b"AUTH", self.username, self._password or b""))
        if self._password is None:
            return None
        return pack_command((b"AUTH", self._password))

    def __repr__(self) -> str:
        secret = "'***'" if self._password is not None else "None"
        return (
            f"ConnectionSettings(username={self.username!r}, password={secret}, "
            f"ssl={self.ssl_context is not None}, connect_timeout={self.connect_timeout}, "
            f"socket_timeout={self.socket_timeout})"
        )


class Connection:
    __slots__ = ("node", "sock", "reader", "readonly", "generation", "settings", "_buf", "_poller", "__weakref__")

    def __init__(self, node: Node, settings: ConnectionSettings, generation: int = 0) -> None:
        self.node = node
        self.settings = settings
        self.generation = generation
        self.readonly = False
        self.sock: socket.socket | None = None
        self.reader = new_reader(settings.encoding)
        self._buf = bytearray(_BUFFER_SIZE)
        self._poller: select.poll | None = None

    def __repr__(self) -> str:
        state = "open" if self.sock is not None else "closed"
        return f"<Connection {self.node.name} {state}{' readonly' if self.readonly else ''}>"

    # --- open / close ----------------------------------------------------------------------------

    def open(self) -> None:
        """Connect and authenticate. Raises ConnectError/ConnectTimeout (nothing sent) or ResponseError."""
        s = self.settings
        name = self.node.name
        try:
            sock = socket.create_connection((self.node.host, self.node.port), timeout=s.connect_timeout)
        except TimeoutError as exc:
            raise ConnectTimeout(f"connecting to {name} timed out after {s.connect_timeout}s", name) from exc
        except OSError as exc:
            raise ConnectError(f"cannot connect to {name}: {exc.strerror or exc}", name) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if s.ssl_context is not None:
                sock = s.ssl_context.wrap_socket(sock, server_hostname=self.node.host)
                sock.settimeout(s.socket_timeout)
            else:
                _use_kernel_timeouts(sock, s.socket_timeout)
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeout(f"TLS handshake with {name} timed out", name) from exc
        except (OSError, _ssl.SSLError) as exc:
            sock.close()
            raise ConnectError(f"cannot set up the connection to {name}: {exc}", name) from exc
        self.sock = sock
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        self._poller = poller
        auth = s.auth_command()
        if auth is not None:
            try:
                reply = self.request(auth)
            except Exception:
                self.close()
                raise
            if isinstance(reply, ResponseError):
                self.close()
                # The server's text never contains the password; ours must not either.
                raise ResponseError(f"{reply.message} (authenticating to {name})")

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self._poller = None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def is_stale(self) -> bool:
        """True when an idle connection has something to read: the server closed it, or sent junk.

        One ``poll(0)`` syscall. TLS may legitimately deliver session tickets while idle, so for TLS a
        readable socket is drained without blocking first. Bytes already read past the last reply (a
        server that answered one command twice) make it stale too: they would pass for the next answer.
        """
        if self._poller is None or self.reader.has_data():
            return True
        if not self._poller.poll(0):
            return False
        if isinstance(self.sock, _ssl.SSLSocket):
            return self._tls_idle_read_closed()
        return True

    def _tls_idle_read_closed(self) -> bool:
        sock = self.sock
        assert sock is not None
        sock.setblocking(False)
        try:
            sock.recv(1)
        except (_ssl.SSLWantReadError, BlockingIOError):
            return False  # only TLS records (tickets): still good
        except OSError:
            return True
        finally:
            try:
                sock.settimeout(self.settings.socket_timeout)  # TLS sockets keep Python's timeout mode
            except OSError:
                pass
        return True  # EOF (b"") or unsolicited bytes: either way, not safe to reuse

    # --- requests --------------------------------------------------------------------------------

    def set_read_timeout(self, timeout: float | None) -> None:
        """Change how long a read may wait (``None``: forever). Blocking commands use it, then restore."""
        sock = self.sock
        if sock is None:
            return
        if isinstance(sock, _ssl.SSLSocket):
            sock.settimeout(timeout)
            return
        seconds = int(timeout) if timeout is not None else 0
        micros = int((timeout - seconds) * 1_000_000) if timeout is not None else 0
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", seconds, micros))

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)  # type: ignore[union-attr]
        except (TimeoutError, BlockingIOError) as exc:
            raise WriteError(f"writing to {self.node.name} timed out", self.node.name) from exc
        except (OSError, AttributeError) as exc:
            raise WriteError(f"writing to {self.node.name} failed: {exc}", self.node.name) from exc

    def request(self, data: bytes) -> Any:
        """Send one packed command and read its reply."""
        self.send(data)
        return self.read_reply()

    def request_readonly(self, data: bytes) -> Any:
        """Like :meth:`request`, but first switch this connection to replica reads (``READONLY``)."""
        self.send(READONLY + data)
        first = self.read_reply()
        reply = self.read_reply()
        if isinstance(first, ResponseError):
            return first
        self.readonly = True
        return reply

    def read_replies(self, count: int) -> list:
        """Read ``count`` replies (a pipeline's). On failure the exception carries ``.replies``, those read."""
        replies: list = []
        extend = replies.extend
        gets = self.reader.gets
        try:
            while len(replies) < count:
                try:
                    extend(iter(gets, INCOMPLETE))  # every reply already buffered, at C speed
                except UnicodeDecodeError as exc:
                    replies.append(self._decode_error(exc))  # that reply was consumed: go on after it
                    continue
                if len(replies) < count:
                    replies.append(self._read_more())
            if len(replies) > count:
                # More replies than commands sent: the stream is out of step. Keep the answers in order and
                # drop the connection (the caller discards it on this error).
                del replies[count:]
                raise ProtocolError(f"{self.node.name} sent more replies than it was sent commands")
        except ReaderProtocolError as exc:
            error = ProtocolError(f"invalid reply from {self.node.name}: {exc}")
            error.replies = replies  # type: ignore[attr-defined]
            raise error from exc
        except Exception as exc:
            exc.replies = replies  # type: ignore[attr-defined]
            raise
        return replies

    def read_reply(self) -> Any:
        reader = self.reader
        try:
            reply = reader.gets()
        except ReaderProtocolError as exc:
            raise ProtocolError(f"invalid reply from {self.node.name}: {exc}") from exc
        except UnicodeDecodeError as exc:
            return self._decode_error(exc)
        if reply is not INCOMPLETE:
            return reply
        return self._read_more()

    def _decode_error(self, exc: UnicodeDecodeError) -> ReplyDecodeError:
        # hiredis has consumed the whole reply: the stream is still in step, so this is a value.
        error = ReplyDecodeError(f"reply from {self.node.name} is not valid {self.settings.encoding}: {exc}")
        error.__cause__ = exc
        return error

    def _read_more(self) -> Any:
        # Each recv waits at most socket_timeout, and once a reply has started, the rest of it must
        # arrive within one more socket_timeout: a server trickling bytes is cut off in bounded time.
        sock = self.sock
        if sock is None:
            raise ReadError(f"connection to {self.node.name} is closed", self.node.name)
        reader, buf = self.reader, self._buf
        # shortest: a dangerous header's length (type byte, digits, CRLF)
        limit, huge_count, digit_run, shortest, timeout = self.settings.read_limits
        total = 0
        tail = b""
        deadline = None
        while True:
            try:
                n = sock.recv_into(buf)
            except (TimeoutError, BlockingIOError) as exc:
                raise ReadTimeout(f"no reply from {self.node.name} within {timeout}s", self.node.name) from exc
            except OSError as exc:
                raise ReadError(f"reading from {self.node.name} failed: {exc}", self.node.name) from exc
            if n == 0:
                raise ReadError(f"{self.node.name} closed the connection before replying in full", self.node.name)
            total += n
            if total > limit:
                raise ProtocolError(f"reply from {self.node.name} exceeds max_reply_bytes ({limit})")
            # hiredis allocates a list for an array header before any element arrives: a 14-byte
            # "*4294967295" would cost 32 GiB. Refuse sizes that max_reply_bytes could never hold, and
            # bulk lengths over it, as soon as their header is seen.
            # The regex costs ~25 instructions a byte; translate + substring search costs ~2, so it runs
            # only when the bytes hold a header type byte and as many digits as a dangerous header's (values
            # full of digits, like counters or timestamps, don't trigger it). A chunk shorter than
            # such a header cannot hold one whole; one cut between two chunks is found through ``tail``.
            # (find(), not `in`: bytes.__contains__ first tries the needle as an int, raising TypeError.)
            huge = (
                n >= shortest and buf[:n].translate(_HEADER_SHAPE).find(digit_run) >= 0 and huge_count.search(buf, 0, n)
            ) or (tail and huge_count.search(tail + bytes(buf[:24])))
            if huge:
                size = int(huge.group(2)) * (1 if huge.group(1) in b"$!=" else 3)
                if size > limit:
                    raise ProtocolError(
                        f"{self.node.name} announced a reply over max_reply_bytes ({limit}): {huge.group(0)[:-2]!r}"
                    )
            reader.feed(buf, 0, n)
            try:
                reply = reader.gets()
            except MemoryError as exc:
                raise ProtocolError(f"reply from {self.node.name} announced more elements than memory holds") from exc
            except ReaderProtocolError as exc:
                raise ProtocolError(f"invalid reply from {self.node.name}: {exc}") from exc
            except UnicodeDecodeError as exc:
                return self._decode_error(exc)
            if reply is not INCOMPLETE:
                return reply
            tail = bytes(buf[max(0, n - 24) : n])  # the start of a header the next chunk may finish
            if timeout is not None:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + timeout
                elif now > deadline:
                    raise ReadTimeout(f"reply from {self.node.name} did not complete within {timeout}s", self.node.name)
