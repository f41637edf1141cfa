"""A scripted stream for shell tests: no socket, no thread, no sleep (the idea of httpcore's mock backend).

``MockStream`` plays a script of inbound chunks to ``recv_into`` and records what was sent. A chunk is
bytes (delivered as is, split across reads if the caller's buffer is smaller), an exception instance
(raised by that ``recv_into``: ``TimeoutError()``, ``ConnectionResetError()``), or ``EOF`` (the peer closed).
When the script runs out, ``recv_into`` raises ``TimeoutError`` as a kernel read timeout would.

``MockNetwork`` is a stream opener for ``ConnectionSettings(stream_opener=...)``: each connection opened to a
node takes the next script queued for that node, and the network keeps every stream it made.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any

from rediscluster_lite.errors import ConnectError

__all__ = ["EOF", "MockStream", "MockNetwork"]

EOF = object()


class MockStream:
    def __init__(self, script: Iterable[Any] = (), *, fd: int = 1000) -> None:
        self.script: deque[Any] = deque(script)
        self.sent: list[bytes] = []
        self.closed = False
        self.read_timeout: Any = "default"
        self.idle_input = False  # what input_waiting() says
        self.reads = 0
        self._fd = fd

    def push(self, *chunks: Any) -> None:
        self.script.extend(chunks)

    def recv_into(self, buffer: Any) -> int:
        self.reads += 1
        if self.closed:
            raise OSError(9, "Bad file descriptor")
        if not self.script:
            raise TimeoutError("timed out")
        chunk = self.script.popleft()
        if chunk is EOF:
            return 0
        if isinstance(chunk, BaseException):
            raise chunk
        n = min(len(chunk), len(buffer))
        buffer[:n] = chunk[:n]
        if n < len(chunk):
            self.script.appendleft(chunk[n:])
        return n

    def sendall(self, data: bytes) -> None:
        if self.closed:
            raise OSError(9, "Bad file descriptor")
        self.sent.append(bytes(data))

    def input_waiting(self, timeout_ms: int) -> bool:
        return self.idle_input or bool(self.script and self.script[0] is EOF)

    def set_read_timeout(self, timeout: float | None) -> None:
        self.read_timeout = timeout

    def pending(self) -> int:
        return 0

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        self.closed = True


class MockNetwork:
    """Opens MockStreams: ``network.script(node_name, chunk, ...)`` queues the script of the next connection."""

    def __init__(self) -> None:
        self.scripts: dict[str, deque[list[Any]]] = defaultdict(deque)
        self.opened: list[tuple[str, MockStream]] = []
        self.refuse: set[str] = set()

    def script(self, node: str, *chunks: Any) -> None:
        self.scripts[node].append(list(chunks))

    def __call__(self, node: Any, settings: Any) -> MockStream:
        if node.name in self.refuse:
            raise ConnectError(f"cannot connect to {node.name}: refused (scripted)", node.name)
        queued = self.scripts[node.name]
        stream = MockStream(queued.popleft() if queued else (), fd=1000 + len(self.opened))
        self.opened.append((node.name, stream))
        return stream

    def streams(self, node: str) -> list[MockStream]:
        return [s for name, s in self.opened if name == node]
