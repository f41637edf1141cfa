"""Chaos on a local cluster: kill, stop, pause, resume and restart single nodes.

Rules this module keeps:

* Chaos is refused on a cluster that is not started, and on the pytest plugin's shared session cluster.
* Before a node goes down the launcher records who owns what, so ``wait_for_failover`` knows what the
  dead master owned; the node's pooled connections are dropped.
* A node keeps its dir and ``nodes.conf`` through kill and stop, so ``restart`` brings back the same node
  id; ``restart`` returns only once the node has rejoined (see :meth:`Waits._rejoin_problem`).
* A timed pause resumes from a timer thread, and only the very process that was paused.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time

from .local_errors import LauncherError
from .local_form import Formation
from .local_nodes import NodeRef
from .local_procs import Node, port_free

__all__ = ["Chaos"]


class Chaos(Formation):
    """The chaos half of :class:`~rediscluster_lite.local.LocalCluster`."""

    _no_chaos: str | None  # set by the pytest plugin on the shared session cluster
    _timers: dict[int, threading.Timer]

    def _chaos(self, node: NodeRef) -> Node:
        if self._no_chaos:
            raise LauncherError(self._no_chaos)
        if self._state != "started":
            raise LauncherError(f"the cluster is {self._state}")
        return self.node(node)

    def _cancel_timer(self, n: Node) -> None:
        with self._lock:
            t = self._timers.pop(n.port, None)
        if t is not None:
            t.cancel()

    def _cancel_timers(self) -> None:
        with self._lock:
            for t in self._timers.values():
                t.cancel()
            self._timers.clear()

    def kill(self, node: NodeRef) -> None:
        """SIGKILL the node and reap it. Its dir and nodes.conf stay, so :meth:`restart` can bring it back."""
        n = self._chaos(node)
        self._snapshot()
        self._cancel_timer(n)
        if n._proc is not None and n.is_alive():
            n._proc.kill()
            n._proc.wait()
        n._paused = False
        self._drop_conns(n)

    def stop(self, node: NodeRef, timeout: float = 15.0) -> None:
        """Stop the node cleanly (SIGTERM: redis flushes the AOF and exits); SIGKILL if it takes too long."""
        n = self._chaos(node)
        self._snapshot()
        self._cancel_timer(n)
        self._drop_conns(n)
        p = n._proc
        if p is None or not n.is_alive():
            return
        p.terminate()
        if n._paused:
            p.send_signal(signal.SIGCONT)  # a stopped process only acts on SIGTERM once it runs again
            n._paused = False
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def restart(self, node: NodeRef, timeout: float = 30.0) -> None:
        """Start the node again from its own dir and nodes.conf (stopping it first if it runs), so it keeps
        its node id and rejoins with the role the cluster gives it. Waits until it answers PING and has
        rejoined: the running nodes no longer flag it as failed and agree with it on CLUSTER SLOTS, and it
        says ``cluster_state:ok`` (unless no running node does). A replica also waits for its master link.
        """
        n = self._chaos(node)
        if n.is_alive():
            self.stop(n)
        self._drop_conns(n)
        deadline = time.monotonic() + timeout
        for q in (n.port, n.bus_port):
            if not port_free(n.host, q, reuse=True):
                time.sleep(0.2)  # give the kernel a moment to release the old socket
                if not port_free(n.host, q, reuse=True):
                    raise LauncherError(f"cannot restart {n.addr}: port {q} is now in use by another process")
        self._spawn(n)
        self._await_boot(n, deadline, may_move=False)
        self._write_state()
        self._wait(deadline, lambda: self._rejoin_problem(n), f"{n.addr} did not rejoin")

    def pause(self, node: NodeRef, seconds: float | None) -> None:
        """SIGSTOP the node: it keeps its sockets but answers nothing. It gets SIGCONT after ``seconds``
        (from a timer thread; this call returns at once), or at :meth:`resume` when ``seconds`` is None.
        """
        n = self._chaos(node)
        if n._proc is None or not n.is_alive():
            raise LauncherError(f"{n.addr} is not running")
        self._snapshot()
        self._cancel_timer(n)
        self._drop_conns(n)
        n._proc.send_signal(signal.SIGSTOP)
        n._paused = True
        if seconds is not None:
            t = threading.Timer(seconds, self._resume_from_timer, args=(n, n._proc))
            t.daemon = True
            with self._lock:
                self._timers[n.port] = t
            t.start()

    def _resume_from_timer(self, n: Node, proc: subprocess.Popen) -> None:
        with self._lock:
            self._timers.pop(n.port, None)
            if n._proc is proc and proc.returncode is None and self._state == "started":
                with contextlib.suppress(OSError):
                    proc.send_signal(signal.SIGCONT)
                n._paused = False

    def resume(self, node: NodeRef) -> None:
        """SIGCONT a paused node now."""
        n = self.node(node)
        self._cancel_timer(n)
        if n._proc is not None and n.is_alive():
            n._proc.send_signal(signal.SIGCONT)
        n._paused = False
