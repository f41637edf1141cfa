"""A real Redis Cluster on loopback, started from ``redis-server`` processes: :class:`LocalCluster`.

The integration tests (through ``pytest_plugin.py``), the CLI and the demo use this module. It is the
launcher's facade; the work is done, one job per module, by

* :mod:`~rediscluster_lite.local_procs`: the binary, free ports, spawning, killing, pids, cleanup at exit;
* :mod:`~rediscluster_lite.local_tls`: the throwaway CA and certificate of a TLS cluster;
* :mod:`~rediscluster_lite.local_nodes`: talking to the nodes, and the live view (``masters()``...);
* :mod:`~rediscluster_lite.local_wait`: waiting for convergence, a failover, a rejoin;
* :mod:`~rediscluster_lite.local_form`: dirs, configs, booting, then slots, meetings and replicas;
* :mod:`~rediscluster_lite.local_chaos`: kill, stop, pause, resume, restart of single nodes.

:class:`LocalCluster` stacks the classes of the last four: ``NodeLink`` (talk, view) <- ``Waits`` <-
``Formation`` <- ``Chaos`` <- ``LocalCluster`` (arguments, ``start``, ``close``); each layer calls only the
layers below it.

Rules the launcher keeps:

* It talks to nodes with the tooling's own RESP probe (:mod:`~rediscluster_lite.probe`), never with the
  client under test: a bug in the client must not be able to hide behind a bug in its own test cluster.
* Every process it starts is killed and reaped by ``close()``; ``close()`` also runs from ``atexit`` and on
  SIGTERM/SIGHUP (both installed by the first ``start()``, not at import), and on Linux the nodes get
  ``PR_SET_PDEATHSIG`` so that even a SIGKILLed test run leaves no ``redis-server`` behind.
* The password (``password=``) goes only into the node config files (mode 0600) and the AUTH frame: it is
  never on a command line, in a ``repr()`` or in an error message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path

from .local_chaos import Chaos
from .local_errors import CommandError, LauncherError, NodeTimeout, NodeUnreachable, RedisServerNotFound
from .local_nodes import NodeRef as NodeRef  # noqa: F401  (kept importable from here, as before the split)
from .local_procs import (
    BUS_OFFSET,
    ENV_REDIS_SERVER,
    Node,
    find_redis_server,
    kill_now,
    register,
    server_version,
    unregister,
)
from .local_tls import make_tls_files

__all__ = [
    "LocalCluster",
    "Node",
    "LauncherError",
    "RedisServerNotFound",
    "CommandError",
    "NodeUnreachable",
    "NodeTimeout",
    "find_redis_server",
    "ENV_REDIS_SERVER",
]


def _check_arguments(masters: int, replicas_per_master: int, base_port: int | None, password: str | None) -> None:
    if masters < 1:
        raise ValueError("masters must be >= 1")
    if replicas_per_master < 0:
        raise ValueError("replicas_per_master must be >= 0")
    if base_port is not None:
        if masters > 100:
            raise ValueError("with base_port, at most 100 masters (replicas start at base_port+100)")
        top = base_port + 100 + masters * replicas_per_master
        if base_port < 1 or top + BUS_OFFSET > 65535:
            raise ValueError(f"base_port {base_port}: ports and their +{BUS_OFFSET} bus ports must fit")
    if password is not None and not password:
        raise ValueError("password must be non-empty (or None)")


class LocalCluster(Chaos):
    """A Redis Cluster of real ``redis-server`` processes on loopback.

    ``with LocalCluster() as cluster:`` starts 3 masters and 3 replicas on free ports and stops them all on
    exit. With ``base_port=6300`` masters use 6300.. and replicas 6400.. (the classic layout).

    Failover timing follows ``node_timeout_ms`` (1000 ms: a killed master's replica takes over in about
    2-3 s). Nodes run with ``cluster-replica-validity-factor 0`` (a replica may always take over) and
    ``cluster-migration-barrier 999`` (replicas never wander to another master), so chaos tests are
    predictable.
    """

    def __init__(
        self,
        masters: int = 3,
        replicas_per_master: int = 1,
        base_port: int | None = None,
        data_dir: str | os.PathLike | None = None,
        node_timeout_ms: int = 1000,
        appendonly: bool = False,
        tls: bool = False,
        password: str | None = None,
        host: str = "127.0.0.1",
        redis_server: str | os.PathLike | None = None,
        *,
        keep: bool = False,
        require_full_coverage: bool = True,
        start_timeout: float = 60.0,
        persistent: bool = False,
        extra_config: dict[str, str] | None = None,
    ) -> None:
        _check_arguments(masters, replicas_per_master, base_port, password)
        self.n_masters = masters
        self.replicas_per_master = replicas_per_master
        self.base_port = base_port
        self.node_timeout_ms = node_timeout_ms
        self.appendonly = appendonly
        self.tls = tls
        self.host = host
        self.keep = keep or persistent or data_dir is not None
        self.require_full_coverage = require_full_coverage
        self.start_timeout = start_timeout
        # persistent: the nodes outlive this Python process (CLI `cluster up`): no PDEATHSIG, no atexit kill.
        self.persistent = persistent
        self.extra_config = dict(extra_config or {})
        self._password = password
        self._redis_server_arg = redis_server
        self._data_dir_arg = Path(data_dir) if data_dir is not None else None
        self._init_state()

    def _init_state(self) -> None:
        """What start() fills in, and the runtime state of a new cluster."""
        self.nodes: list[Node] = []
        self.data_dir: Path | None = None
        self.ca_file: Path | None = None
        self.cert_file: Path | None = None
        self.key_file: Path | None = None
        self.redis_server: str | None = None
        self.redis_version: tuple[int, int, int] | None = None
        self.start_seconds: float | None = None  # how long start() took
        self._state = "new"  # new -> started -> closed
        self._init_link()
        self._timers: dict[int, threading.Timer] = {}
        self._ssl_context: ssl.SSLContext | None = None
        self._no_chaos: str | None = None  # set by the pytest plugin on the shared session cluster

    # ------------------------------------------------------------------ public properties

    @property
    def password(self) -> str | None:
        return self._password

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(n.host, n.port) for n in self.nodes]

    def __repr__(self) -> str:
        ports = ",".join(str(p) for p in self.ports) or "-"
        extra = (" tls" if self.tls else "") + (" auth" if self._password else "")
        return (
            f"<LocalCluster {self.n_masters}x{self.replicas_per_master} {self.host} ports={ports} {self._state}{extra}>"
        )

    def __enter__(self) -> LocalCluster:
        if self._state == "new":
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSLContext that verifies the nodes' certificates against this cluster's throwaway CA."""
        if not self.tls or self.ca_file is None:
            raise LauncherError("not a TLS cluster (start it with tls=True)")
        return ssl.create_default_context(cafile=str(self.ca_file))

    # ------------------------------------------------------------------ start / close

    def start(self) -> LocalCluster:
        """Start the processes, form the cluster and wait until it is fully ready. Returns self."""
        with self._lock:
            if self._state != "new":
                raise LauncherError(f"cannot start a cluster that is {self._state}")
            self._state = "started"
        t0 = time.monotonic()
        deadline = t0 + self.start_timeout
        if not self.persistent:
            register(self)
        try:
            self._prepare()
            self._boot_all(deadline)
            self._form(deadline)
            self._write_state()
            self._snapshot()
        except BaseException:
            self.close()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _prepare(self) -> None:
        """The binary, its version, the data dir and (for TLS) the certificates."""
        self.redis_server = find_redis_server(self._redis_server_arg)
        self.redis_version = server_version(self.redis_server)
        if self.redis_version < (6, 0, 0):
            raise LauncherError(f"redis-server {self.redis_version} is too old: Redis >= 6.0 is needed")
        self._make_data_dir()
        if self.tls:
            assert self.data_dir is not None
            self.ca_file, self.cert_file, self.key_file = make_tls_files(self.data_dir / "tls", self.host)
            self._ssl_context = self.client_ssl_context()

    def _boot_all(self, deadline: float) -> None:
        self._plan_nodes()
        for n in self.nodes:
            self._write_config(n)
            self._spawn(n)
        for n in self.nodes:
            self._await_boot(n, deadline, may_move=self.base_port is None)
        self._write_state()

    def close(self) -> None:
        """Kill every process this cluster started, reap them, and remove the temp dir. Idempotent."""
        with self._lock:
            if self._state == "closed":
                return
            self._state = "closed"
            self._cancel_timers()
            self._close_conns()
        self._kill_all_now()
        deadline = time.monotonic() + 10  # shared: a stuck node is waited for once, not once per node
        for n in self.nodes:
            n._paused = False
            if n._proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    n._proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        unregister(self)
        if self.data_dir is not None and not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _kill_all_now(self) -> None:
        # Lock-free and quick: also called from the signal handler.
        kill_now(self.nodes)
