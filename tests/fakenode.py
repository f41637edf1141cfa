"""A scripted fake Redis node: a real TCP server on a free loopback port, served from a thread.

It reads RESP commands and answers each with scripted *raw bytes*, so a test can send exactly what a
real (or hostile) server would: a ``-MOVED``, a reply cut mid-way, garbage, a huge bulk length, a reply
trickled byte by byte, or nothing at all. It records every command it received, with the id of the
connection it came on, so tests can assert what reached the wire (and what did not). A command is
recorded as soon as it is read, before it is answered; ``wait_for()`` waits on the records (never sleep
and hope), and ``ended`` tells which connections have been read to their end.

    with FakeNode() as a, FakeNode() as b:
        a.serve_slots([(0, 16383, a)])                  # CLUSTER SLOTS: a owns everything
        a.on("GET", moved(1234, b))                     # every GET on a -> MOVED to b
        b.on("GET", [Cut(b"$5\\r\\nhel"), bulk("hello")])  # first GET on b is cut, then "hello"
        ...
        assert b.commands("GET") == [[b"GET", b"k"], [b"GET", b"k"]]

Scripts are keyed by command name (``"GET"``) or name and subcommand (``"CLUSTER SLOTS"``); the more
specific key wins. A script is one action (used for every such command), a list of actions (used in
order; the last one repeats), or a callable ``(argv, node) -> action``. An action is ``bytes`` (sent as
is) or one of the classes below. Commands with no script get ``-ERR unknown command``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import hiredis

__all__ = [
    "FakeNode",
    "Reply",
    "Cut",
    "Silent",
    "Trickle",
    "Delayed",
    "Flood",
    "Close",
    "encode",
    "bulk",
    "error",
    "moved",
    "ask",
    "slots_reply",
    "OK",
    "PONG",
]


# --- RESP encoding of scripted replies ----------------------------------------------------------------


class _Error(str):
    """Marks a str to be encoded as a RESP error (``-...``)."""


def encode(value: Any) -> bytes:
    """A Python value as RESP2 bytes: int -> ``:``, bytes/str -> bulk, None -> null, list -> array."""
    if isinstance(value, _Error):
        return b"-" + value.encode() + b"\r\n"
    if isinstance(value, bool):
        raise TypeError("no RESP2 boolean")
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, (bytes, bytearray)):
        return b"$%d\r\n%s\r\n" % (len(value), bytes(value))
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, (list, tuple)):
        return b"*%d\r\n" % len(value) + b"".join(encode(v) for v in value)
    raise TypeError(f"cannot encode {value!r}")


def bulk(value: bytes | str) -> bytes:
    return encode(value)


def error(message: str) -> bytes:
    return encode(_Error(message))


def moved(slot: int, node: FakeNode | str) -> bytes:
    return error(f"MOVED {slot} {node if isinstance(node, str) else node.address}")


def ask(slot: int, node: FakeNode | str) -> bytes:
    return error(f"ASK {slot} {node if isinstance(node, str) else node.address}")


OK = b"+OK\r\n"
PONG = b"+PONG\r\n"


def slots_reply(ranges: Iterable[tuple[int, int, Any] | tuple[int, int, Any, Sequence[Any]]]) -> bytes:
    """A Redis 7 shaped ``CLUSTER SLOTS`` reply. Each range is ``(start, end, master[, replicas])``;
    a node is a :class:`FakeNode` or a ``(host, port)`` pair."""

    def node_entry(node: Any) -> list:
        host, port = (node.host, node.port) if isinstance(node, FakeNode) else node
        return [host, port, f"{port:040x}", []]

    out = []
    for item in ranges:
        start, end, master = item[:3]
        replicas = item[3] if len(item) > 3 else ()
        out.append([start, end, node_entry(master), *(node_entry(r) for r in replicas)])
    return encode(out)


# --- actions -------------------------------------------------------------------------------------------


class Reply:
    """Send ``data`` in one write."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def run(self, conn: _Conn) -> bool:
        conn.send(self.data)
        return True


class Cut(Reply):
    """Send ``data`` (typically part of a reply), then close the connection."""

    def run(self, conn: _Conn) -> bool:
        conn.send(self.data)
        return False


class Close(Reply):
    """Close the connection without answering."""

    def __init__(self) -> None:
        super().__init__(b"")

    def run(self, conn: _Conn) -> bool:
        return False


class Silent(Reply):
    """Answer nothing; keep the connection open and keep reading."""

    def __init__(self) -> None:
        super().__init__(b"")

    def run(self, conn: _Conn) -> bool:
        return True


class Delayed(Reply):
    """Send ``first``, wait ``delay`` seconds (in a background thread, so later commands on the same
    connection are still read and recorded), then send ``rest``: a frozen node that wakes up.
    ``done`` is set once ``rest`` has been handed to the kernel (or the node stopped first)."""

    def __init__(self, first: bytes, delay: float, rest: bytes) -> None:
        super().__init__(first + rest)
        self.first, self.delay, self.rest = first, delay, rest
        self.done = threading.Event()

    def run(self, conn: _Conn) -> bool:
        conn.send(self.first)

        def later() -> None:
            try:
                if not conn.node._stop.wait(self.delay):
                    conn.send(self.rest)
            finally:
                self.done.set()

        conn.node._spawn(later)
        return True


class Trickle(Reply):
    """Send ``data`` ``chunk`` bytes at a time, ``interval`` seconds apart (until the peer leaves)."""

    def __init__(self, data: bytes, interval: float = 0.05, chunk: int = 1) -> None:
        super().__init__(data)
        self.interval, self.chunk = interval, chunk

    def run(self, conn: _Conn) -> bool:
        for i in range(0, len(self.data), self.chunk):
            if not conn.send(self.data[i : i + self.chunk]) or conn.node._stop.wait(self.interval):
                return False
        return True


class Flood(Reply):
    """Send ``header``, then ``filler`` repeatedly, up to ``total`` bytes, or until the peer closes.
    ``sent`` records how many bytes the kernel accepted."""

    def __init__(self, header: bytes, total: int, filler: bytes = b"x" * 65536) -> None:
        super().__init__(header)
        self.header, self.total, self.filler = header, total, filler
        self.sent = 0

    def run(self, conn: _Conn) -> bool:
        if not conn.send(self.header):
            return False
        self.sent = len(self.header)
        while self.sent < self.total and not conn.node._stop.is_set():
            if not conn.send(self.filler):
                return False
            self.sent += len(self.filler)
        return True


Action = bytes | Reply
Script = Action | list | Callable[[list, "FakeNode"], Action]


# --- the server ------------------------------------------------------------------------------------------


class _Conn:
    def __init__(self, node: FakeNode, sock: socket.socket, conn_id: int) -> None:
        self.node, self.sock, self.id = node, sock, conn_id
        self._send_lock = threading.Lock()

    def send(self, data: bytes) -> bool:
        if not data:
            return True
        try:
            with self._send_lock:
                self.sock.sendall(data)
            self.node.bytes_sent += len(data)
            return True
        except OSError:
            return False


class FakeNode:
    """A scripted Redis node on ``127.0.0.1:<free port>``. Use as a context manager or call ``close()``."""

    def __init__(self, scripts: dict[str, Script] | None = None, *, name: str = "") -> None:
        self.name = name
        self.host = "127.0.0.1"
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.address = f"{self.host}:{self.port}"
        self.scripts: dict[str, Script] = {}
        self._positions: dict[str, int] = {}
        self.received: list[tuple[int, list[bytes]]] = []  # (connection id, argv), in arrival order
        self.connections = 0  # connections accepted so far
        self.ended: set[int] = set()  # ids of the connections read to their end (or given up)
        self.bytes_sent = 0
        # Reentrant, so that a wait_for() predicate may call commands().
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # notified per command recorded, connection ended
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        for key, script in (scripts or {}).items():
            self.on(key, script)
        self._accepter = threading.Thread(target=self._accept_loop, name=f"fakenode-{self.port}", daemon=True)
        self._accepter.start()

    def __repr__(self) -> str:
        return f"<FakeNode {self.name or ''}{self.address}>"

    # --- scripting ----------------------------------------------------------------------------------

    def on(self, command: str, script: Script) -> FakeNode:
        """Script the answer to ``command`` (``"GET"`` or ``"CLUSTER SLOTS"``); replaces any earlier one."""
        key = " ".join(command.upper().split())
        with self._lock:
            self.scripts[key] = script
            self._positions[key] = 0
        return self

    def serve_slots(self, ranges: Iterable[tuple]) -> FakeNode:
        """Answer ``CLUSTER SLOTS`` with these ranges (see :func:`slots_reply`)."""
        return self.on("CLUSTER SLOTS", slots_reply(list(ranges)))

    def _action_for(self, argv: list[bytes]) -> Action:
        name = argv[0].decode("utf-8", "replace").upper()
        keys = []
        if len(argv) > 1:
            keys.append(f"{name} {argv[1].decode('utf-8', 'replace').upper()}")
        keys.append(name)
        with self._lock:
            for key in keys:
                if key in self.scripts:
                    script = self.scripts[key]
                    if isinstance(script, list):
                        i = self._positions[key]
                        self._positions[key] = i + 1
                        return script[min(i, len(script) - 1)]
                    break
            else:
                return error(f"ERR unknown command '{name}', with args beginning with: ")
        if callable(script) and not isinstance(script, Reply):
            return script(argv, self)
        return script

    # --- records ------------------------------------------------------------------------------------

    def commands(self, name: str | None = None) -> list[list[bytes]]:
        """The commands received (argv lists), optionally only those named ``name``."""
        want = name.upper().encode() if name else None
        with self._lock:
            return [argv for _, argv in self.received if want is None or argv[0].upper() == want]

    def names(self) -> list[str]:
        """The received command names, upper-case, in order (``["CLUSTER", "GET"]``)."""
        return [argv[0].decode().upper() for argv in self.commands()]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` is true, re-checked whenever a command is recorded or a connection
        ends; returns its last value (false on timeout). Wait on this, never on a fixed sleep."""
        with self._changed:
            return bool(self._changed.wait_for(predicate, timeout))

    def alive_threads(self) -> list[threading.Thread]:
        """The node's own threads (accepting, serving, delayed sends) still running."""
        with self._lock:
            threads = [self._accepter, *self._threads]
        return [t for t in threads if t.is_alive()]

    # --- serving ------------------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                conn_id = self.connections
                self._socks.append(sock)
            self._spawn(self._serve, _Conn(self, sock, conn_id))

    def _serve(self, conn: _Conn) -> None:
        reader = hiredis.Reader()
        sock = conn.sock
        sock.settimeout(0.05)
        try:
            while not self._stop.is_set():
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                reader.feed(data)
                while True:
                    try:
                        argv = reader.gets()
                    except hiredis.ProtocolError:
                        return
                    if argv is False:
                        break
                    if not isinstance(argv, list) or not argv:
                        continue
                    with self._changed:
                        self.received.append((conn.id, argv))
                        self._changed.notify_all()
                    action = self._action_for(argv)
                    if isinstance(action, (bytes, bytearray)):
                        action = Reply(bytes(action))
                    if not action.run(conn):
                        return
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            with self._changed:
                self.ended.add(conn.id)
                self._changed.notify_all()

    def close(self) -> None:
        """Stop serving: close the listener and every connection, and wait for the threads."""
        self._stop.set()
        self._listener.close()
        self._accepter.join(timeout=5)
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FakeNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
