"""Looking at a running cluster from outside: per-node connections, cluster views, and the
``rediscluster-lite monitor`` live view.

The CLI's ``info``, ``nodes``, ``status`` and ``monitor`` commands (and the demo's "which node served this
read?" measurement) talk to each node directly with :class:`NodeConn`, never through
:class:`~rediscluster_lite.ClusterClient`: an inspection tool must show what the nodes say, not what the
client believes, or a client bug could hide behind its own report.

Rules this module keeps: every failure to reach or ask a node is an :class:`InspectError` of one line;
``CLUSTER NODES`` is parsed by the tooling's one parser (:mod:`rediscluster_lite.probe`); output goes through
:class:`~rediscluster_lite.cli_output.Printer`.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import hiredis

from .cli_output import Printer
from .fanout import info_fields
from .probe import NodeEntry, RespProbe, parse_cluster_nodes, slot_count
from .slotmap import SLOTS, format_address, parse_address

__all__ = [
    "InspectError",
    "NodeConn",
    "NodeEntry",
    "ClusterView",
    "parse_info",
    "parse_cluster_nodes",
    "fetch_view",
    "ranges_text",
    "slot_count",
    "ordered_nodes",
    "Monitor",
    "run_monitor",
]


class InspectError(RuntimeError):
    """A node could not be reached or refused a command. The message is one line, fit for stderr."""


# --------------------------------------------------------------------------------------------- I/O


class NodeConn:
    """One blocking connection to one node, opened on first use and reopened after a failure.

    ``sent`` counts the commands sent, so that the monitor can subtract its own commands from a node's
    ``total_commands_processed`` and report only other clients' traffic.
    """

    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.addr = format_address(host, port)
        self.sent = 0
        self._probe: RespProbe | None = None

    def call(self, *args: str | int | bytes) -> Any:
        """Send one command; return the decoded reply. Raises :class:`InspectError` on any failure."""
        name = " ".join(str(a) for a in args[:2]).upper()
        try:
            if self._probe is None:
                self._probe = RespProbe(self.host, self.port, self.timeout)
            self.sent += 1
            reply = self._probe.call(args, self.timeout, errors="replace")
        except TimeoutError:
            self.close()
            raise InspectError(f"{self.addr} did not answer {name} within {self.timeout:g} s") from None
        except OSError as e:
            self.close()
            raise InspectError(f"cannot reach {self.addr}: {e.strerror or e}") from None
        except hiredis.ProtocolError as e:
            self.close()
            raise InspectError(f"{self.addr}: {name}: not a RESP reply ({e})") from None
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            if "cluster support disabled" in message:
                raise InspectError(f"{self.addr} is not a cluster node (cluster-enabled is no)")
            raise InspectError(f"{self.addr}: {name}: {message}")
        return reply

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None


class Connections:
    """Reusable :class:`NodeConn` objects by address (the monitor polls the same nodes every second)."""

    def __init__(self, timeout: float = 2.0) -> None:
        self.timeout = timeout
        self._conns: dict[str, NodeConn] = {}

    def get(self, host: str, port: int) -> NodeConn:
        addr = format_address(host, port)
        conn = self._conns.get(addr)
        if conn is None:
            conn = self._conns[addr] = NodeConn(host, port, self.timeout)
        return conn

    def close(self) -> None:
        for c in self._conns.values():
            c.close()
        self._conns.clear()


# --------------------------------------------------------------------------------------------- parsing


parse_info = info_fields  # kept under this name: the CLI imports it from here


def info_keys(info: dict[str, str]) -> int:
    """Total keys from ``INFO keyspace`` fields (``db0:keys=3,expires=0,avg_ttl=0``)."""
    total = 0
    for k, v in info.items():
        if k.startswith("db") and k[2:].isdigit():
            for part in v.split(","):
                name, _, n = part.partition("=")
                if name == "keys" and n.isdigit():
                    total += int(n)
    return total


def ranges_text(ranges: Sequence[tuple[int, int]]) -> str:
    """``((0, 5460), (6000, 6000))`` -> ``"0-5460,6000"``."""
    return ",".join(f"{lo}-{hi}" if hi != lo else str(lo) for lo, hi in ranges) or "-"


def ordered_nodes(entries: Iterable[NodeEntry]) -> list[NodeEntry]:
    """Masters by first slot, each followed by its replicas: the order people read a cluster in."""
    entries = list(entries)
    masters = sorted(
        (e for e in entries if e.role == "master"), key=lambda e: (e.slots[0][0] if e.slots else SLOTS, e.port)
    )
    out: list[NodeEntry] = []
    for m in masters:
        out.append(m)
        out.extend(sorted((e for e in entries if e.master_id == m.node_id), key=lambda e: e.port))
    out.extend(sorted((e for e in entries if e not in out), key=lambda e: e.port))
    return out


@dataclass
class ClusterView:
    """What one reachable node says about the cluster."""

    source: str  # the node that answered
    entries: list[NodeEntry]
    cluster_info: dict[str, str]

    @property
    def state(self) -> str:
        return self.cluster_info.get("cluster_state", "?")

    def by_id(self, node_id: str | None) -> NodeEntry | None:
        for e in self.entries:
            if e.node_id == node_id:
                return e
        return None

    def masters(self) -> list[NodeEntry]:
        return [e for e in ordered_nodes(self.entries) if e.role == "master"]

    def replicas_of(self, master: NodeEntry) -> list[NodeEntry]:
        return sorted((e for e in self.entries if e.master_id == master.node_id), key=lambda e: e.port)

    def covered(self) -> int:
        return sum(slot_count(e.slots) for e in self.entries if e.role == "master")


def fetch_view(seeds: Sequence[str | tuple[str, int]], conns: Connections | None = None) -> ClusterView:
    """Ask the seeds in turn for ``CLUSTER NODES`` and ``CLUSTER INFO``; the first that answers wins.

    Raises :class:`InspectError` (one line, naming each seed's failure) when none answers.
    """
    own = conns is None
    conns = conns or Connections()
    errors = []
    try:
        for seed in seeds:
            host, port = parse_address(seed)
            conn = conns.get(host, port)
            try:
                nodes_text = conn.call("CLUSTER", "NODES")
                info = parse_info(conn.call("CLUSTER", "INFO"))
            except InspectError as e:
                errors.append(str(e))
                continue
            return ClusterView(conn.addr, parse_cluster_nodes(nodes_text, host), info)
    finally:
        if own:
            conns.close()
    if len(errors) == 1:
        raise InspectError(errors[0])
    raise InspectError("no node answered: " + "; ".join(errors or ["no address given"]))


# --------------------------------------------------------------------------------------------- monitor


@dataclass
class NodeStats:
    """One row of the monitor."""

    entry: NodeEntry
    master_addr: str | None
    reachable: bool
    keys: int | None = None
    ops: float | None = None
    memory: str | None = None
    memory_bytes: int | None = None
    clients: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "address": e.addr,
            "id": e.node_id,
            "role": e.role,
            "master": self.master_addr,
            "slots": slot_count(e.slots),
            "slot_ranges": [list(r) for r in e.slots],
            "health": e.health,
            "link": e.link,
            "reachable": self.reachable,
            "keys": self.keys,
            "ops_per_sec": self.ops,
            "used_memory": self.memory_bytes,
            "used_memory_human": self.memory,
            "connected_clients": self.clients,
            "error": self.error,
        }


@dataclass
class Snapshot:
    at: datetime.datetime
    view: ClusterView
    rows: list[NodeStats] = field(default_factory=list)


class Monitor:
    """Polls every node of a cluster. ops/s is the change in ``total_commands_processed`` between two
    polls, minus the monitor's own commands, divided by the time between them (the first poll shows the
    server's ``instantaneous_ops_per_sec``, which has no previous sample to compare with).
    """

    def __init__(self, seeds: Sequence[str | tuple[str, int]], timeout: float = 1.0) -> None:
        self.seeds = list(seeds)
        self.conns = Connections(timeout)
        # addr -> (monotonic time, total_commands_processed, commands we had sent before that INFO)
        self._last: dict[str, tuple[float, int, int]] = {}
        self._entries: list[NodeEntry] = []

    def poll(self) -> Snapshot:
        # Ask the nodes seen last time first: after a failover the original seed may be the dead one.
        known = [e.addr for e in self._entries if e.port]
        view = fetch_view(list(dict.fromkeys(self.seeds + known)), self.conns)
        self._entries = view.entries
        snap = Snapshot(datetime.datetime.now(), view)
        for e in ordered_nodes(view.entries):
            master = view.by_id(e.master_id)
            row = NodeStats(e, master.addr if master else None, reachable=False)
            snap.rows.append(row)
            if e.port == 0 or "noaddr" in e.flags:
                row.error = "no address"
                continue
            conn = self.conns.get(e.host, e.port)
            sent_before = conn.sent
            try:
                info = parse_info(conn.call("INFO"))
            except InspectError as err:
                row.error = str(err)
                self._last.pop(e.addr, None)
                continue
            now = time.monotonic()
            row.reachable = True
            row.keys = info_keys(info)
            row.memory = info.get("used_memory_human")
            with contextlib.suppress(ValueError):
                row.memory_bytes = int(info.get("used_memory", ""))
                row.clients = int(info.get("connected_clients", ""))
            total = int(info.get("total_commands_processed", "0") or 0)
            prev = self._last.get(e.addr)
            if prev is not None and now > prev[0]:
                others = total - prev[1] - (sent_before - prev[2])
                row.ops = max(0, others) / (now - prev[0])
            else:
                with contextlib.suppress(ValueError):
                    row.ops = float(info.get("instantaneous_ops_per_sec", ""))
            self._last[e.addr] = (now, total, sent_before)
        return snap

    def close(self) -> None:
        self.conns.close()


MONITOR_COLUMNS = ["NODE", "ROLE", "SLOTS / MASTER", "KEYS", "OPS/S", "MEMORY", "CLIENTS", "LINK", "HEALTH"]


def snapshot_rows(snap: Snapshot) -> list[list[str]]:
    rows = []
    for r in snap.rows:
        e = r.entry
        where = ranges_text(e.slots) if e.role == "master" else f"of {r.master_addr or '?'}"
        health = e.health if r.reachable or e.health != "ok" else "unreachable"
        rows.append(
            [
                e.addr,
                e.role,
                where,
                "-" if r.keys is None else str(r.keys),
                "-" if r.ops is None else f"{r.ops:.0f}",
                r.memory or "-",
                "-" if r.clients is None else str(r.clients),
                e.link,
                health,
            ]
        )
    return rows


def snapshot_header(snap: Snapshot) -> str:
    v = snap.view
    masters = sum(1 for e in v.entries if e.role == "master" and e.slots)
    return (
        f"{snap.at:%H:%M:%S}  cluster_state:{v.state}  {len(v.entries)} nodes, {masters} masters with slots,"
        f" {v.covered()}/{SLOTS} slots  (asked {v.source})"
    )


def run_monitor(
    seeds: Sequence[str | tuple[str, int]],
    interval: float = 1.0,
    count: int | None = None,
    out: TextIO | None = None,
) -> int:
    """Show every node, refreshed every ``interval`` s: a live table on a terminal (rich), else one
    printed snapshot per interval. With ``count``, print that many snapshots and return. Returns 0.

    Raises :class:`InspectError` when no seed answers at the first poll; later polls that fail are shown
    as such and the monitor keeps trying (a cluster in the middle of a failover is what people watch).
    """
    printer = Printer(out)
    mon = Monitor(seeds)
    try:
        snap = mon.poll()  # fail fast (exit 1, one line) when nothing answers at all
        if printer.rich and count is None:
            _live(printer, mon, snap, interval)
            return 0
        shown = 0
        while True:
            printer.line(snapshot_header(snap), style="bold")
            printer.table(MONITOR_COLUMNS, snapshot_rows(snap))
            shown += 1
            if count is not None and shown >= count:
                return 0
            printer.line("")
            printer.flush()
            time.sleep(interval)
            snap = _poll_or_report(mon, printer)
    finally:
        mon.close()


def _poll_or_report(mon: Monitor, printer: Printer) -> Snapshot:
    while True:
        try:
            return mon.poll()
        except InspectError as e:
            printer.line(f"{datetime.datetime.now():%H:%M:%S}  {e}", style="red")
            printer.flush()
            time.sleep(1.0)


def _live(printer: Printer, mon: Monitor, snap: Snapshot, interval: float) -> None:
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    def render(s: Snapshot, problem: str | None = None) -> Any:
        header = Text(snapshot_header(s), style="bold")
        parts = [header, printer.rich_table(MONITOR_COLUMNS, snapshot_rows(s), styles=_row_styles(s))]
        if problem:
            parts.append(Text(problem, style="red"))
        parts.append(Text(f"refreshing every {interval:g} s; Ctrl-C to quit", style="dim"))
        return Group(*parts)

    with Live(render(snap), console=printer.console, refresh_per_second=4, transient=False) as live:
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(interval)
                try:
                    snap = mon.poll()
                    live.update(render(snap))
                except InspectError as e:
                    live.update(render(snap, f"{datetime.datetime.now():%H:%M:%S}  {e}"))


def _row_styles(snap: Snapshot) -> list[str | None]:
    styles: list[str | None] = []
    for r in snap.rows:
        if not r.reachable or r.entry.health != "ok":
            styles.append("red")
        elif r.entry.role == "master":
            styles.append("bold")
        else:
            styles.append(None)
    return styles
