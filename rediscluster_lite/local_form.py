"""Forming a local cluster: node dirs and configs, booting the processes, then slots, meetings, replicas.

It forms the cluster itself, the way ``redis-cli --cluster create`` does: distinct config epochs,
``CLUSTER ADDSLOTSRANGE`` on the masters, ``CLUSTER MEET``, ``CLUSTER REPLICATE``; then it waits until every
node says ``cluster_state:ok``, every node returns the same ``CLUSTER SLOTS`` and every replica is linked and
in sync.

Rules this module keeps:

* A node's config file is mode 0600: it is the only place the password is written (never a command line).
* A booting node counts as up only when the process that answers PING on its port is its own process.
* With free ports (no ``base_port``) a node whose port was taken meanwhile moves to another one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .fanout import info_fields
from .local_errors import CommandError, LauncherError, NodeUnreachable
from .local_procs import BUS_OFFSET, Node, pick_port, port_free, quote, spawn, tail
from .local_wait import Waits
from .slotmap import SLOTS

__all__ = ["Formation", "split_slots"]


def split_slots(masters: int) -> list[tuple[int, int]]:
    """Split 0..16383 evenly, exactly like ``redis-cli --cluster create`` (3 -> 0-5460, 5461-10922, ...)."""
    per = SLOTS / masters
    ranges, first, cursor = [], 0, 0.0
    for i in range(masters):
        last = round(cursor + per - 1)
        if last > SLOTS - 1 or i == masters - 1:
            last = SLOTS - 1
        ranges.append((first, last))
        first = last + 1
        cursor += per
    return ranges


class Formation(Waits):
    """The forming half of :class:`~rediscluster_lite.local.LocalCluster`: from nothing to a formed cluster."""

    n_masters: int
    base_port: int | None
    node_timeout_ms: int
    appendonly: bool
    tls: bool
    persistent: bool
    extra_config: dict[str, str]
    data_dir: Path | None
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    redis_server: str | None
    redis_version: tuple[int, int, int] | None
    _data_dir_arg: Path | None

    # ------------------------------------------------------------------ dirs and configs

    def _make_data_dir(self) -> None:
        if self._data_dir_arg is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="rediscluster-lite-"))
            return
        d = self._data_dir_arg.resolve()
        d.mkdir(parents=True, exist_ok=True)
        leftovers = sorted(d.glob("node-*/nodes.conf"))
        if leftovers:
            # Old nodes.conf files would make the nodes rejoin their old cluster: refuse rather than delete.
            raise LauncherError(f"{d} already holds a cluster ({leftovers[0]}); use an empty data_dir")
        self.data_dir = d

    def _plan_ports(self) -> list[int]:
        m, r = self.n_masters, self.replicas_per_master
        taken: set[int] = set()
        ports: list[int] = []
        for i in range(m * (r + 1)):
            if self.base_port is None:
                p = pick_port(self.host, taken)
            else:
                p = self.base_port + i if i < m else self.base_port + 100 + (i - m)
                for q in (p, p + BUS_OFFSET):
                    if not port_free(self.host, q, reuse=True):
                        raise LauncherError(f"port {self.host}:{q} is in use; choose another base_port")
            taken.add(p)
            ports.append(p)
        return ports

    def _plan_nodes(self) -> None:
        assert self.data_dir is not None
        m = self.n_masters
        for i, p in enumerate(self._plan_ports()):
            # replica k (k = i - m) belongs to master k % m: with base_port 6300, 6400 -> 6300, 6401 -> 6301
            shard = i if i < m else (i - m) % m
            d = self.data_dir / f"node-{p}"
            d.mkdir()
            role = "master" if i < m else "replica"
            self.nodes.append(Node(host=self.host, port=p, dir=d, index=i, role=role, shard=shard, tls=self.tls))

    def _config(self, n: Node) -> list[tuple[str, str]]:
        assert self.redis_version is not None
        conf: list[tuple[str, str]] = [
            ("bind", n.host),
            ("protected-mode", "no"),
            ("daemonize", "no"),
            ("dir", quote(str(n.dir))),
            ("logfile", quote(str(n.log_file))),
            ("loglevel", "notice"),
            ("save", '""'),
            ("dbfilename", "dump.rdb"),
            ("appendonly", "yes" if self.appendonly else "no"),
            ("cluster-enabled", "yes"),
            ("cluster-config-file", "nodes.conf"),
            ("cluster-node-timeout", str(self.node_timeout_ms)),
            ("cluster-require-full-coverage", "yes" if self.require_full_coverage else "no"),
            # Predictable chaos: a replica may always take over, and replicas never migrate.
            ("cluster-replica-validity-factor", "0"),
            ("cluster-migration-barrier", "999"),
            # Full syncs straight over the socket, without the default 5 s wait for more replicas.
            ("repl-diskless-sync", "yes"),
            ("repl-diskless-sync-delay", "0"),
        ]
        if self.redis_version >= (7, 0, 0):
            conf += [("enable-debug-command", "local"), ("shutdown-timeout", "3")]
        conf += self._port_config(n)
        if self._password is not None:
            conf += [("requirepass", quote(self._password)), ("masterauth", quote(self._password))]
        return conf + list(self.extra_config.items())

    def _port_config(self, n: Node) -> list[tuple[str, str]]:
        if not self.tls:
            return [("port", str(n.port))]
        return [
            ("port", "0"),
            ("tls-port", str(n.port)),
            ("tls-cert-file", quote(str(self.cert_file))),
            ("tls-key-file", quote(str(self.key_file))),
            ("tls-ca-cert-file", quote(str(self.ca_file))),
            ("tls-cluster", "yes"),
            ("tls-replication", "yes"),
            ("tls-auth-clients", "optional"),
        ]

    def _write_config(self, n: Node) -> None:
        text = "# written by rediscluster_lite.local\n" + "".join(f"{k} {v}\n" for k, v in self._config(n))
        fd = os.open(n.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    def _write_state(self) -> None:
        """cluster.json in the data dir: ports, pids and dirs, for people (and the CLI) to inspect."""
        if self.data_dir is None:
            return
        state = {
            "masters": self.n_masters,
            "replicas_per_master": self.replicas_per_master,
            "host": self.host,
            "tls": self.tls,
            "auth": self._password is not None,
            "ca_file": str(self.ca_file) if self.ca_file else None,
            "launcher_pid": os.getpid(),
            "nodes": [
                {
                    "port": n.port,
                    "pid": n.pid,
                    "dir": str(n.dir),
                    "role": n.role,
                    "shard": n.shard,
                    "node_id": n.node_id,
                }
                for n in self.nodes
            ],
        }
        with contextlib.suppress(OSError):
            (self.data_dir / "cluster.json").write_text(json.dumps(state, indent=2) + "\n")

    # ------------------------------------------------------------------ booting

    def _spawn(self, n: Node) -> None:
        assert self.redis_server is not None
        spawn(n, self.redis_server, self.persistent)

    def _boot_failure(self, n: Node) -> str:
        return self._redact((tail(n.log_file) + "\n" + tail(n.dir / "stdout.log")).strip())

    def _await_boot(self, n: Node, deadline: float, may_move: bool) -> None:
        """Wait until the node's own process answers PING. If its port was taken meanwhile, move it."""
        moves = 0
        while True:
            assert n._proc is not None
            if n._proc.poll() is not None:
                log = self._boot_failure(n)
                if may_move and "in use" in log and moves < 5:
                    moves += 1
                    self._move_port(n)
                    continue
                raise LauncherError(
                    f"redis-server for {n.addr} exited with status {n._proc.returncode} at startup"
                    f" (logs in {n.dir}):\n{log}"
                )
            if self._answers_as_itself(n):
                return
            if time.monotonic() > deadline:
                raise LauncherError(f"{n.addr} did not answer PING in time (logs in {n.dir})")
            time.sleep(0.02)

    def _answers_as_itself(self, n: Node) -> bool:
        """Does the node's own process answer PING (not another process that holds its port)?"""
        assert n._proc is not None
        try:
            if self._call(n, "PING", timeout=1.0) == "PONG":
                info = info_fields(self._call(n, "INFO", "server", timeout=2.0))
                if info.get("process_id") == str(n._proc.pid):
                    return True
                # Another process answers on our port: ours will fail to bind and exit shortly.
                self._drop_conns(n)
        except CommandError as e:
            if e.code not in ("LOADING", "NOAUTH", "WRONGPASS", "BUSY"):
                raise
        except NodeUnreachable:
            pass
        return False

    def _move_port(self, n: Node) -> None:
        assert self.data_dir is not None
        p = pick_port(self.host, {x.port for x in self.nodes})
        old_dir = n.dir
        n.port, n.dir = p, self.data_dir / f"node-{p}"
        n.dir.mkdir()
        shutil.rmtree(old_dir, ignore_errors=True)
        self._write_config(n)
        self._spawn(n)

    # ------------------------------------------------------------------ forming

    def _form(self, deadline: float) -> None:
        nodes, m = self.nodes, self.n_masters
        self._assign_ids_and_slots()
        # Gossip paces itself by the node timeout: form with a short one, then restore the configured one
        # (the config files hold the configured value, so restarts use it).
        fast = min(self.node_timeout_ms, 1000)
        if fast != self.node_timeout_ms:
            self._set_node_timeout(fast)
        # Every pair meets directly (one direction suffices) instead of waiting for gossip to spread them.
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                self._call(a, "CLUSTER", "MEET", b.host, b.port)
        self._wait(deadline, self._handshake_problem, "nodes did not all meet")
        if nodes[m:]:
            self._replicate(deadline)
        self._wait(deadline, lambda: self._stability_problem(expect_replicas=True), "cluster did not converge")
        if fast != self.node_timeout_ms:
            self._set_node_timeout(self.node_timeout_ms)

    def _assign_ids_and_slots(self) -> None:
        masters = self.nodes[: self.n_masters]
        for n in self.nodes:
            n.node_id = self._call(n, "CLUSTER", "MYID")
        # Distinct epochs up front (as redis-cli does) spare the cluster its epoch-collision dance.
        for i, n in enumerate(self.nodes):
            self._call(n, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for n, (lo, hi) in zip(masters, split_slots(self.n_masters), strict=True):
            if self.redis_version and self.redis_version >= (7, 0, 0):
                self._call(n, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
            else:
                self._call(n, "CLUSTER", "ADDSLOTS", *range(lo, hi + 1))

    def _set_node_timeout(self, ms: int) -> None:
        for n in self.nodes:
            self._call(n, "CONFIG", "SET", "cluster-node-timeout", ms)

    def _replicate(self, deadline: float) -> None:
        masters = self.nodes[: self.n_masters]
        for n in self.nodes[self.n_masters :]:
            self._call(n, "CLUSTER", "REPLICATE", masters[n.shard].node_id)
        self._wait(deadline, self._link_problem, "replicas did not sync")
        # Redis 7 leaves a replica out of CLUSTER SLOTS while its replication offset is 0, and on an
        # idle master the offset only moves with the PING it sends every 10 s. A FLUSHALL of the (new,
        # empty) masters puts a first command into the replication stream, so it moves at once.
        for n in masters:
            self._call(n, "FLUSHALL")

    def _link_problem(self) -> str | None:
        for n in self.nodes[self.n_masters :]:
            rep = info_fields(self._call(n, "INFO", "replication", timeout=2.0))
            if rep.get("master_link_status") != "up":
                return f"replica {n.addr} has no master link yet"
        return None

    def _handshake_problem(self) -> str | None:
        want = len(self.nodes)
        for n in self.nodes:
            view = self._nodes_of(n)
            if len(view) != want:
                return f"{n.addr} knows {len(view)} of {want} nodes"
            bad = [e for e in view.values() if e.flags & {"handshake", "noaddr"}]
            if bad:
                return f"{n.addr} still in handshake with {len(bad)} nodes"
        return None
