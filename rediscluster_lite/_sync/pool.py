"""Connections to one node: reused last-in-first-out, capped, safe across threads and ``fork()``.

The fast path (an idle connection is there) is one ``list.pop()``, atomic under the GIL. The lock is
taken only to open a new connection slot, to wait for one, or to hand one to a waiter. Connections are
opened *after* the lock is released, so one slow node never blocks the pool's other users.

An idle connection is never handed out when the server closed it or sent something unasked (``is_stale``:
one poll, no round trip). With a ``health_check_interval``, one idle that long must also answer a ``PING``
first (redis-py's meaning), which catches a peer that vanished without closing; one that fails is dropped
and the next idle (or a new) connection is taken, so the caller's command goes out only on a live link.
"""

from __future__ import annotations

import threading
import time

from ..errors import PoolTimeout
from ..slotmap import Node
from .connection import Connection, ConnectionSettings

__all__ = ["NodePool"]


class NodePool:
    __slots__ = (
        "node",
        "settings",
        "max_connections",
        "wait_timeout",
        "generation",
        "_idle",
        "_open",
        "_waiters",
        "_cond",
        "_closed",
        "health",
    )

    def __init__(
        self, node: Node, settings: ConnectionSettings, max_connections: int = 64, wait_timeout: float = 2.0
    ) -> None:
        self.node = node
        self.settings = settings
        self.max_connections = max_connections
        self.wait_timeout = wait_timeout
        self.generation = 0  # bumped after fork: older connections belong to the parent
        self._idle: list[Connection] = []
        self._open = 0  # connections counted against max_connections (idle + in use)
        self._waiters = 0
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self.health = settings.health_check_interval  # None: no PING before use

    def __repr__(self) -> str:
        return f"<NodePool {self.node.name} open={self._open} idle={len(self._idle)} max={self.max_connections}>"

    def acquire(self) -> Connection:
        """An open connection, idle-checked. Raises ConnectError/ConnectTimeout/PoolTimeout."""
        idle = self._idle
        health = self.health
        while idle:
            try:
                conn = idle.pop()
            except IndexError:
                break
            if not conn.is_stale() and (health is None or _answers(conn, health)):
                return conn
            self.discard(conn)  # the server closed it while idle, or it did not answer: never send on it
        while True:
            conn = self._acquire_slow()
            if health is None or _answers(conn, health):  # a new connection is fresh: no PING
                return conn
            self.discard(conn)

    def _acquire_slow(self) -> Connection:
        deadline = None
        with self._cond:
            while True:
                if self._idle:
                    conn = self._idle.pop()
                    if not conn.is_stale():
                        return conn  # the health PING, if due, is sent by acquire(), outside the lock
                    conn.close()
                    self._open -= 1
                    continue
                if self._open < self.max_connections:
                    self._open += 1
                    break
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.wait_timeout
                if now >= deadline:
                    raise PoolTimeout(
                        f"all {self.max_connections} connections to {self.node.name} are in use "
                        f"(waited {self.wait_timeout}s); raise max_connections_per_node",
                        self.node.name,
                    )
                self._waiters += 1
                try:
                    self._cond.wait(deadline - now)
                finally:
                    self._waiters -= 1
        conn = Connection(self.node, self.settings, self.generation)
        try:
            conn.open()
        except BaseException:
            self._forget()
            raise
        return conn

    def release(self, conn: Connection) -> None:
        """Give back a healthy connection (one whose last reply was read in full)."""
        if conn.generation != self.generation or self._closed:
            self.discard(conn)
            return
        if self.health is not None:
            conn.idle_since = time.monotonic()
        self._idle.append(conn)
        if self._waiters:
            with self._cond:
                self._cond.notify()

    def discard(self, conn: Connection) -> None:
        """Close a connection that failed or is no longer wanted, and free its slot."""
        conn.close()
        if conn.generation == self.generation:
            self._forget()

    def _forget(self) -> None:
        with self._cond:
            self._open -= 1
            self._cond.notify()

    def close(self) -> None:
        self._closed = True
        with self._cond:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            conn.close()

    def reset_after_fork(self) -> None:
        """In a forked child: drop the parent's sockets and locks without touching the parent's state.

        Closing the child's copy of a file descriptor does not affect the parent's connection.
        """
        self.generation += 1
        for conn in self._idle:
            conn.close()
        self._idle = []
        self._open = 0
        self._waiters = 0
        self._cond = threading.Condition(threading.Lock())


def _answers(conn: Connection, interval: float) -> bool:
    """True if ``conn`` was idle less than ``interval`` seconds, or answers a ``PING`` now."""
    now = time.monotonic()
    if now - conn.idle_since < interval:
        return True
    conn.idle_since = now
    return conn.check_health()
