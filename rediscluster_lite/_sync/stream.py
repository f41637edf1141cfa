"""The transport seam: what a blocking connection needs from the bytes under it, and the socket that gives it.

A :class:`Connection <rediscluster_lite._sync.connection.Connection>` talks only to a *stream*: an object with

* ``recv_into(buffer) -> int`` (0 at end of stream) and ``sendall(data)``: attributes that are the socket's own
  bound C methods for :class:`SocketStream`, so the seam costs no Python call on the hot path;
* ``input_waiting(0)`` truthy when something arrived while idle (the peer closed, or sent unasked bytes):
  for plain TCP, ``poll.poll`` itself;
* ``set_read_timeout(seconds | None)``, ``pending() -> int`` (bytes decrypted but unread: TLS),
  ``fileno()`` and ``close()``.

Failures are the builtins a socket raises (``TimeoutError``/``BlockingIOError`` for a timeout, ``OSError``);
the connection translates them. A stream opener ``(node, settings) -> stream`` makes one; tests pass scripted
streams through ``ConnectionSettings(stream_opener=...)``.
"""

from __future__ import annotations

import select
import socket
import ssl as _ssl
import struct
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConnectError, ConnectTimeout
from ..slotmap import Node

if TYPE_CHECKING:
    from .connection import ConnectionSettings

__all__ = ["Stream", "SocketStream", "open_socket_stream"]


class Stream(Protocol):
    recv_into: Any
    sendall: Any

    input_waiting: Any

    def set_read_timeout(self, timeout: float | None) -> None: ...
    def pending(self) -> int: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...


def _timeval(timeout: float | None) -> bytes:
    if timeout is None:
        return struct.pack("ll", 0, 0)  # 0: wait forever
    seconds = int(timeout)
    return struct.pack("ll", seconds, int((timeout - seconds) * 1_000_000))


class SocketStream:
    """A connected TCP (or TLS) socket as a stream.

    Plain TCP uses a blocking socket with SO_RCVTIMEO/SO_SNDTIMEO instead of Python's timeout mode: that
    mode makes every wait cost three syscalls (recv -> EAGAIN, poll, recv), a kernel timeout one. A timeout
    then surfaces as ``BlockingIOError``. TLS sockets keep Python's timeout mode (the SSL layer needs it).
    """

    __slots__ = ("sock", "recv_into", "sendall", "input_waiting", "_poller", "_tls", "_timeout")

    def __init__(self, sock: socket.socket, timeout: float | None) -> None:
        self.sock = sock
        self.recv_into = sock.recv_into
        self.sendall = sock.sendall
        self._tls = isinstance(sock, _ssl.SSLSocket)
        self._timeout = timeout
        if self._tls:
            sock.settimeout(timeout)
        else:
            sock.settimeout(None)
            if timeout is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(timeout))
        self._poller = select.poll()
        self._poller.register(sock.fileno(), select.POLLIN)
        self.input_waiting = self._tls_input_waiting if self._tls else self._poller.poll

    def fileno(self) -> int:
        return self.sock.fileno()

    def pending(self) -> int:
        return self.sock.pending() if self._tls else 0  # type: ignore[attr-defined]

    def set_read_timeout(self, timeout: float | None) -> None:
        if self._tls:
            self.sock.settimeout(timeout)
        else:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))

    def _tls_input_waiting(self, timeout_ms: int) -> bool:
        """TLS may deliver session tickets while idle: a readable TLS socket is drained without blocking
        first, and only real bytes or EOF count."""
        if not self._poller.poll(timeout_ms):
            return False
        sock = self.sock
        sock.setblocking(False)
        try:
            sock.recv(1)
        except (_ssl.SSLWantReadError, BlockingIOError):
            return False  # only TLS records (tickets): still good
        except OSError:
            return True
        finally:
            try:
                sock.settimeout(self._timeout)
            except OSError:
                pass
        return True  # EOF (b"") or unsolicited bytes: either way, not safe to reuse

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def open_socket_stream(node: Node, settings: ConnectionSettings) -> SocketStream:
    """Connect to ``node`` (TCP_NODELAY, TLS when the settings have a context). Nothing is sent.

    Raises ConnectError or ConnectTimeout naming the node.
    """
    name = node.name
    try:
        sock = socket.create_connection((node.host, node.port), timeout=settings.connect_timeout)
    except TimeoutError as exc:
        raise ConnectTimeout(f"connecting to {name} timed out after {settings.connect_timeout}s", name) from exc
    except OSError as exc:
        raise ConnectError(f"cannot connect to {name}: {exc.strerror or exc}", name) from exc
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if settings.ssl_context is not None:
            sock = settings.ssl_context.wrap_socket(sock, server_hostname=node.host)
        return SocketStream(sock, settings.socket_timeout)
    except TimeoutError as exc:
        sock.close()
        raise ConnectTimeout(f"TLS handshake with {name} timed out", name) from exc
    except (OSError, _ssl.SSLError) as exc:
        sock.close()
        raise ConnectError(f"cannot set up the connection to {name}: {exc}", name) from exc
