"""The launcher's processes: finding ``redis-server``, free ports, starting, reaping and killing nodes.

Rules this module keeps:

* Every process started is reaped by its cluster's ``close()``. Clusters that are started (and not
  ``persistent``) are in a registry that an ``atexit`` handler and a SIGTERM/SIGHUP handler close; both are
  installed by the first :func:`register`, never at import, so importing the launcher changes nothing.
* On Linux a node gets ``PR_SET_PDEATHSIG``: even a SIGKILLed test run leaves no ``redis-server`` behind.
* A pid is only signalled while it is known to be ours (:func:`pid_running` treats a zombie as gone).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import attrs

from .local_errors import LauncherError, RedisServerNotFound

__all__ = [
    "ENV_REDIS_SERVER",
    "INSTALL_HINT",
    "BUS_OFFSET",
    "Node",
    "find_redis_server",
    "server_version",
    "port_free",
    "pick_port",
    "spawn",
    "kill_now",
    "pid_running",
    "register",
    "unregister",
    "is_registered",
]

ENV_REDIS_SERVER = "REDISCLUSTER_LITE_REDIS_SERVER"
BUS_OFFSET = 10000  # redis' default cluster bus port is the client port + 10000

INSTALL_HINT = (
    "install it with `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), "
    f"or point {ENV_REDIS_SERVER} at a redis-server binary"
)


@attrs.define(eq=False, repr=False)
class Node:
    """One ``redis-server`` process of a :class:`~rediscluster_lite.local.LocalCluster`.

    ``role`` and ``shard`` describe the node as the cluster was formed (``shard`` is the index of the master
    it was formed with); after a failover ask the cluster (``cluster.masters()``, ``cluster.role_of(node)``).
    ``port`` is the port clients connect to (the TLS port on a TLS cluster).
    """

    host: str
    port: int
    dir: Path
    index: int
    role: str
    shard: int
    tls: bool = False
    node_id: str = ""
    pid: int | None = None  # of the last process started for this node; kept after it exits
    _proc: subprocess.Popen | None = None
    _paused: bool = False

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def bus_port(self) -> int:
        return self.port + BUS_OFFSET

    @property
    def config_file(self) -> Path:
        return self.dir / "redis.conf"

    @property
    def log_file(self) -> Path:
        return self.dir / "redis.log"

    @property
    def paused(self) -> bool:
        return self._paused

    def is_alive(self) -> bool:
        """True while the process runs (a paused process is alive, just not answering)."""
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:
        state = "paused" if self._paused else "alive" if self.is_alive() else "down"
        return f"<Node {self.addr} {self.role} shard={self.shard} pid={self.pid} {state}>"


# --------------------------------------------------------------------------------------------- the binary


def find_redis_server(explicit: str | os.PathLike | None = None) -> str:
    """The ``redis-server`` to run: ``explicit``, else ``$REDISCLUSTER_LITE_REDIS_SERVER``, else PATH."""
    for source, value in (("redis_server=", explicit), (ENV_REDIS_SERVER, os.environ.get(ENV_REDIS_SERVER))):
        if value:
            found = shutil.which(str(value))
            if found is None:
                raise RedisServerNotFound(f"{source} {str(value)!r} is not an executable redis-server; {INSTALL_HINT}")
            return found
    found = shutil.which("redis-server")
    if found is None:
        raise RedisServerNotFound(f"redis-server was not found on PATH; {INSTALL_HINT}")
    return found


def server_version(path: str) -> tuple[int, int, int]:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise LauncherError(f"could not run {path} --version: {e}") from e
    m = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise LauncherError(f"{path} does not look like redis-server (--version said {out.strip()!r})")
    return int(m[1]), int(m[2]), int(m[3])


# --------------------------------------------------------------------------------------------- ports


def port_free(host: str, port: int, reuse: bool = False) -> bool:
    """Can we bind host:port? ``reuse=True`` binds like redis does (SO_REUSEADDR), so that connections
    left in TIME_WAIT by a node that just died do not count; without it they do, which only makes a
    freshly picked port more certainly free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _port_range() -> tuple[int, int]:
    """A range where both a port and port+10000 stay below the kernel's ephemeral range."""
    lo_eph = 32768
    with contextlib.suppress(OSError, ValueError):
        lo_eph = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    lo, hi = 10000, lo_eph - BUS_OFFSET - 1
    if hi - lo < 1000:  # odd ephemeral range: fall back to a high range and rely on the bind check
        lo, hi = 30000, 55000
    return lo, hi


def pick_port(host: str, taken: set[int]) -> int:
    """A random free port whose bus port (+10000) is free too, clear of ``taken`` and their bus ports."""
    lo, hi = _port_range()
    for _ in range(500):
        p = random.randint(lo, hi)
        if p in taken or p + BUS_OFFSET in taken or p - BUS_OFFSET in taken:
            continue
        if port_free(host, p) and port_free(host, p + BUS_OFFSET):
            return p
    raise LauncherError(f"no free port pair (port, port+{BUS_OFFSET}) found on {host} in {lo}..{hi}")


# --------------------------------------------------------------------------------------------- processes


def quote(value: str) -> str:
    """A redis.conf string literal (sdssplitargs syntax)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# PR_SET_PDEATHSIG: the kernel SIGKILLs the node when the thread that started it dies, so a SIGKILLed
# pytest cannot leave servers behind. Looked up before any fork (ctypes in a forked child is fragile).
_prctl = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError, AttributeError):
        _prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _prctl is not None:
        _prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 == PR_SET_PDEATHSIG


def spawn(n: Node, redis_server: str, persistent: bool) -> None:
    """Start ``redis-server`` on the node's config file; its output goes to ``stdout.log`` in its dir.

    A ``persistent`` node outlives this Python process (no PDEATHSIG)."""
    guard = (
        not persistent
        and _prctl is not None
        and threading.current_thread() is threading.main_thread()  # PDEATHSIG follows the thread
    )
    with open(n.dir / "stdout.log", "ab") as out:
        proc = subprocess.Popen(
            [redis_server, str(n.config_file)],
            cwd=n.dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            close_fds=True,
            start_new_session=True,  # a terminal's Ctrl-C reaches us, not the nodes; we stop them
            preexec_fn=_die_with_parent if guard else None,
        )
    n._proc, n.pid, n._paused = proc, proc.pid, False


def kill_now(nodes: Iterable[Node], timeout: float = 5.0) -> None:
    """SIGKILL every node still running, then reap them. Lock-free and quick: the signal handler calls it
    too. SIGKILL works on stopped (paused) processes as well."""
    procs = [n._proc for n in nodes if n._proc is not None and n._proc.returncode is None]
    for p in procs:
        with contextlib.suppress(OSError):
            p.kill()
    # One deadline for all: killed together, they die together, and a stuck one costs `timeout` once,
    # not once per node (an exit after SIGINT/SIGTERM waits for this).
    deadline = time.monotonic() + timeout
    for p in procs:
        with contextlib.suppress(Exception):
            p.wait(timeout=max(0.0, deadline - time.monotonic()))


def pid_running(pid: int | None) -> bool:
    """Is ``pid`` a live process? A zombie (dead, waiting for its parent to reap it) counts as gone."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --------------------------------------------------------------------------------------------- cleanup


class Closable(Protocol):
    """What the registry needs of a cluster."""

    data_dir: Path | None
    keep: bool

    def close(self) -> None: ...

    def _kill_all_now(self) -> None: ...


# Every started, not yet closed cluster. atexit and the signal handler close them.
_LIVE: set[Any] = set()
_LIVE_LOCK = threading.Lock()
_HANDLED_SIGNALS: dict[int, Any] = {}
_atexit_installed = False


def register(cluster: Closable) -> None:
    """Close ``cluster`` at exit and on SIGTERM/SIGHUP; the first call installs the handlers."""
    global _atexit_installed
    with _LIVE_LOCK:
        _LIVE.add(cluster)
        if not _atexit_installed:
            atexit.register(_close_all)
            _atexit_installed = True
    _install_signal_handlers()


def unregister(cluster: Closable) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(cluster)


def is_registered(cluster: Closable) -> bool:
    with _LIVE_LOCK:
        return cluster in _LIVE


def _close_all() -> None:
    with _LIVE_LOCK:
        clusters = list(_LIVE)
    for c in clusters:
        with contextlib.suppress(Exception):
            c.close()


def _on_fatal_signal(signum: int, frame: Any) -> None:
    # Kill the nodes without taking any lock (the interrupted code may hold it), then let the signal do
    # what it would have done without us.
    for c in list(_LIVE):
        c._kill_all_now()
        if c.data_dir is not None and not c.keep:
            shutil.rmtree(c.data_dir, ignore_errors=True)
    signal.signal(signum, _HANDLED_SIGNALS.get(signum, signal.SIG_DFL))
    os.kill(os.getpid(), signum)


def _install_signal_handlers() -> None:
    """On SIGTERM/SIGHUP (which skip atexit), kill our nodes first. Leaves any handler someone set alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None or sig in _HANDLED_SIGNALS:
            continue
        current = signal.getsignal(sig)
        if current in (signal.SIG_DFL, None):
            _HANDLED_SIGNALS[sig] = signal.SIG_DFL
            signal.signal(sig, _on_fatal_signal)
