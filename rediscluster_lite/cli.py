"""``rediscluster-lite`` (also ``python -m rediscluster_lite``): a local cluster in one command, and tools
to look at any cluster.

    rediscluster-lite cluster up [--masters 3 --replicas 1 --base-port 6300 --data-dir DIR]
    rediscluster-lite cluster status [--json]        rediscluster-lite cluster down
    rediscluster-lite info HOST:PORT [--json]        rediscluster-lite nodes HOST:PORT [--json]
    rediscluster-lite slot KEY [--startup HOST:PORT] [--json]
    rediscluster-lite monitor [HOST:PORT] [--interval 1] [--count N]
    rediscluster-lite demo [--base-port 6300]

Rules: exit 0 on success, 1 on a failure (one line on stderr saying why), 2 on a usage error; output goes
through :class:`~rediscluster_lite.cli_output.Printer`, which uses rich on a terminal and plain aligned text
otherwise (pipes, files, tests), so scripts never have to strip colour codes. The nodes are asked through
:mod:`~rediscluster_lite.monitor` (inspection) and :mod:`~rediscluster_lite.local` (the launcher), never
through the client, except by ``slot``, which shows the client's own slot map.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .cli_output import PROG, Printer, fail, seconds
from .errors import RedisClusterError
from .keyslot import hashed_part, key_slot
from .local import LauncherError, LocalCluster
from .local_procs import pid_running
from .monitor import (
    ClusterView,
    Connections,
    InspectError,
    NodeConn,
    NodeEntry,
    fetch_view,
    ordered_nodes,
    parse_info,
    ranges_text,
    run_monitor,
    slot_count,
)
from .slotmap import SLOTS, parse_address

__all__ = ["main", "Printer", "CliError", "DEFAULT_DATA_DIR", "ENV_DATA_DIR", "load_recorded", "pid_running"]

DEFAULT_DATA_DIR = ".local-cluster"
ENV_DATA_DIR = "REDISCLUSTER_LITE_DATA_DIR"


class CliError(Exception):
    """A failure to report as one line on stderr, with an exit code (1 by default, 2 for usage)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------------------------- recorded cluster


@dataclass
class Recorded:
    """A cluster started by ``cluster up``, as its ``cluster.json`` describes it."""

    data_dir: Path
    host: str
    nodes: list[dict[str, Any]]
    tls: bool = False

    @property
    def seeds(self) -> list[str]:
        return [f"{self.host}:{n['port']}" for n in self.nodes]


def data_dir_of(args: argparse.Namespace) -> Path:
    value = getattr(args, "data_dir", None) or os.environ.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR
    return Path(value).expanduser().resolve()


def load_recorded(data_dir: Path) -> Recorded:
    """Read ``DIR/cluster.json`` (written by the launcher). Raises :class:`CliError` when there is none."""
    path = data_dir / "cluster.json"
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(f"no cluster recorded in {data_dir} (start one with `{PROG} cluster up`)") from None
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read {path}: {e}") from None
    try:
        return Recorded(data_dir, state["host"], list(state["nodes"]), bool(state.get("tls")))
    except (KeyError, TypeError) as e:
        raise CliError(f"{path} is not a cluster record (missing {e})") from None


def _reap(pid: int) -> None:
    # When `cluster up` ran in this very process (tests), the nodes are our children: reap them.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _node_pids(host: str, node: dict[str, Any]) -> set[int]:
    """The pids that are really this node's redis-server: never signal a pid that was since reused."""
    node_dir = Path(node["dir"]).resolve()
    pids: set[int] = set()
    conn = NodeConn(host, int(node["port"]), timeout=1.0)
    try:
        info = parse_info(conn.call("INFO", "server"))
        config = info.get("config_file")
        if config and Path(config).resolve().parent == node_dir and info.get("process_id", "").isdigit():
            pids.add(int(info["process_id"]))
    except InspectError:
        pass  # down, or paused: fall back to the recorded pid
    finally:
        conn.close()
    pid = node.get("pid")
    if pid and pid_running(pid):
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd")).resolve()
        except OSError:
            cwd = None  # no /proc: only the node's own answer above can vouch for a pid
        if cwd == node_dir:
            pids.add(int(pid))
    return pids


def _wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        for p in pids:
            _reap(p)
        left = {p for p in pids if pid_running(p)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _remove_cluster_files(data_dir: Path, node_dirs: Sequence[Path | str]) -> None:
    """Remove what the launcher wrote (node dirs, cluster.json), then the data dir if nothing else is left."""
    import shutil

    for d in node_dirs:
        d = Path(d).resolve()
        if d.parent == data_dir and d.name.startswith("node-"):  # never wander outside the data dir
            shutil.rmtree(d, ignore_errors=True)
    with contextlib.suppress(OSError):
        (data_dir / "cluster.json").unlink()
    with contextlib.suppress(OSError):
        data_dir.rmdir()


# --------------------------------------------------------------------------------------------- commands


def cmd_cluster_up(args: argparse.Namespace, p: Printer) -> int:
    data_dir = data_dir_of(args)
    if (data_dir / "cluster.json").exists():
        rec = load_recorded(data_dir)
        running = [n for n in rec.nodes if pid_running(n.get("pid"))]
        if running:
            ports = ",".join(str(n["port"]) for n in running)
            raise CliError(
                f"a cluster is already running from {data_dir} (ports {ports}); `{PROG} cluster down` stops it"
            )
        raise CliError(f"{data_dir} holds a stopped cluster; `{PROG} cluster down` removes it")
    existed = data_dir.exists()
    try:
        cluster = LocalCluster(
            masters=args.masters,
            replicas_per_master=args.replicas,
            base_port=None if args.free_ports else args.base_port,
            data_dir=data_dir,
            node_timeout_ms=args.node_timeout,
            appendonly=args.appendonly,
            persistent=True,  # the nodes outlive this command; `cluster down` stops them
        )
    except ValueError as e:  # a port range that does not fit, and the like
        raise CliError(str(e), code=2) from None
    try:
        with p.status("starting redis-server processes and forming the cluster..."):
            cluster.start()
    except BaseException:
        # start() has already killed whatever it started; leave no half-made record behind either.
        _remove_cluster_files(data_dir, [n.dir for n in cluster.nodes])
        if not existed:
            with contextlib.suppress(OSError):
                data_dir.rmdir()
        raise
    n = len(cluster.nodes)
    p.segments(
        ("Started ", None),
        (f"{n} redis-server nodes", "bold green"),
        f" ({args.masters} masters, {args.replicas} replica{'s' if args.replicas != 1 else ''} each)"
        f" in {seconds(cluster.start_seconds or 0)}; data in {data_dir}",
    )
    p.line()
    _print_nodes(p, fetch_view([n.addr for n in cluster.nodes]), with_ids=False)
    p.line()
    suffix = "" if getattr(args, "data_dir", None) is None else f" --data-dir {args.data_dir}"
    startup = ", ".join(f'"{n.addr}"' for n in cluster.nodes[: args.masters])
    p.line(f"connect:  ClusterClient([{startup}])")
    p.line(f"inspect:  {PROG} cluster status{suffix}   |   {PROG} monitor{suffix}")
    p.line(f"stop:     {PROG} cluster down{suffix}")
    return 0


def cmd_cluster_down(args: argparse.Namespace, p: Printer) -> int:
    data_dir = data_dir_of(args)
    rec = load_recorded(data_dir)
    pids: set[int] = set()
    for node in rec.nodes:
        pids |= _node_pids(rec.host, node)
    t0 = time.monotonic()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # redis shuts down cleanly on SIGTERM
    left = _wait_gone(pids, 10.0)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    left = _wait_gone(left, 5.0)
    if left:
        raise CliError(f"could not stop pids {sorted(left)}; the record in {data_dir} is kept")
    _remove_cluster_files(data_dir, [n["dir"] for n in rec.nodes])
    already = len(rec.nodes) - len(pids)
    note = f" ({already} already stopped)" if already > 0 else ""
    p.line(
        f"Stopped {len(pids)} redis-server nodes{note} in {seconds(time.monotonic() - t0)}; removed {data_dir}",
        style="bold",
    )
    return 0


def cmd_cluster_status(args: argparse.Namespace, p: Printer) -> int:
    data_dir = data_dir_of(args)
    rec = load_recorded(data_dir)
    alive = {int(n["port"]): pid_running(n.get("pid")) for n in rec.nodes}
    view, problem, nodes = _recorded_nodes_status(rec, alive)
    running = sum(alive.values())
    state = view.state if view else "unknown"
    if running < len(rec.nodes):
        problem = f"{len(rec.nodes) - running} of {len(rec.nodes)} recorded nodes are not running"
    elif problem is None and state != "ok":
        problem = f"the cluster says cluster_state:{state}"
    if args.json:
        p.json(
            {
                "data_dir": str(data_dir),
                "healthy": problem is None,
                "cluster_state": state,
                "running": running,
                "nodes": nodes,
            }
        )
    else:
        p.segments(
            ("cluster_state:", None),
            (state, "bold green" if state == "ok" else "bold red"),
            f"  {running}/{len(rec.nodes)} nodes running  data in {data_dir}",
        )
        _print_status_table(p, nodes)
    if problem:
        raise CliError(problem)
    return 0


def _recorded_nodes_status(
    rec: Recorded, alive: dict[int, bool]
) -> tuple[ClusterView | None, str | None, list[dict[str, Any]]]:
    """Ask the running recorded nodes: the cluster's view (or why there is none), and one dict per node."""
    view = None
    problem = None
    conns = Connections(timeout=1.0)
    try:
        if any(alive.values()) and not rec.tls:
            try:
                view = fetch_view([f"{rec.host}:{port}" for port, up in alive.items() if up], conns)
            except InspectError as e:
                problem = str(e)
        entries = {e.port: e for e in view.entries} if view else {}
        order = {e.port: i for i, e in enumerate(ordered_nodes(view.entries))} if view else {}
        records = sorted(rec.nodes, key=lambda n: order.get(int(n["port"]), len(order)))
        nodes = [_node_status(rec, node, alive[int(node["port"])], view, entries, conns) for node in records]
    finally:
        conns.close()
    return view, problem, nodes


def _node_status(
    rec: Recorded,
    node: dict[str, Any],
    running: bool,
    view: ClusterView | None,
    entries: dict[int, NodeEntry],
    conns: Connections,
) -> dict[str, Any]:
    """One recorded node as ``cluster status`` reports it (its process, and what the cluster says of it)."""
    port = int(node["port"])
    e = entries.get(port)
    master = view.by_id(e.master_id) if view and e else None
    keys = None
    if running and e is not None:
        with contextlib.suppress(InspectError):
            keys = int(conns.get(rec.host, port).call("DBSIZE"))
    return {
        "address": f"{rec.host}:{port}",
        "port": port,
        "pid": node.get("pid"),
        "running": running,
        "role": e.role if e else None,
        "master": master.addr if master else None,
        "slot_ranges": [list(r) for r in e.slots] if e else [],
        "slots": slot_count(e.slots) if e else 0,
        "keys": keys,
        "health": e.health if e else None,
    }


def _print_status_table(p: Printer, nodes: list[dict[str, Any]]) -> None:
    rows = []
    for n in nodes:
        where = (
            ranges_text([tuple(r) for r in n["slot_ranges"]])
            if n["role"] == "master"
            else f"of {n['master']}"
            if n["master"]
            else None
        )
        rows.append(
            [
                n["address"],
                str(n["pid"] or "-"),
                "running" if n["running"] else "stopped",
                n["role"] or "-",
                where or "-",
                "-" if n["keys"] is None else str(n["keys"]),
                n["health"] or "-",
            ]
        )
    styles = [None if n["running"] and n["health"] == "ok" else "red" for n in nodes]
    p.table(["NODE", "PID", "PROCESS", "ROLE", "SLOTS / MASTER", "KEYS", "HEALTH"], rows, styles=styles)


def _seeds(args: argparse.Namespace, given: str | None) -> list[str]:
    """The addresses to ask: the one given (validated), else the nodes of the recorded local cluster."""
    if given:
        seeds = [s.strip() for s in given.split(",") if s.strip()]
        for s in seeds:
            try:
                parse_address(s)
            except (TypeError, ValueError):
                raise CliError(f"bad address {s!r}: expected HOST:PORT", code=2) from None
        return seeds
    data_dir = data_dir_of(args)
    if not (data_dir / "cluster.json").exists():
        raise CliError(f"no HOST:PORT given and no cluster recorded in {data_dir}", code=2)
    return load_recorded(data_dir).seeds


def cmd_info(args: argparse.Namespace, p: Printer) -> int:
    conns = Connections()
    try:
        view = fetch_view(_seeds(args, args.address), conns)
        masters = [_master_summary(view, m, conns) for m in view.masters() if not (m.health == "fail" and not m.slots)]
    finally:
        conns.close()
    total = sum(m["keys"] or 0 for m in masters)
    covered = view.covered()
    if args.json:
        p.json(
            {
                "source": view.source,
                "cluster_state": view.state,
                "masters": masters,
                "keys": total,
                "slots_covered": covered,
                "keys_per_slot": round(total / SLOTS, 2),
            }
        )
        return 0
    _print_info(p, view, masters, total, covered)
    return 0


def _master_summary(view: ClusterView, m: NodeEntry, conns: Connections) -> dict[str, Any]:
    """One shard for ``info``: its master's keys (or why they are unknown), slots and replicas.

    (A dead master whose slots went to its replica is history, not a shard: the caller leaves it out.)"""
    keys, error = None, None
    try:
        keys = int(conns.get(m.host, m.port).call("DBSIZE"))
    except InspectError as e:
        error = str(e)
    return {
        "address": m.addr,
        "id": m.node_id,
        "keys": keys,
        "slots": slot_count(m.slots),
        "slot_ranges": [list(r) for r in m.slots],
        "replicas": [r.addr for r in view.replicas_of(m)],
        "health": m.health,
        "error": error,
    }


def _print_info(p: Printer, view: ClusterView, masters: list[dict[str, Any]], total: int, covered: int) -> None:
    rows = [
        [
            m["address"],
            m["id"][:8],
            "?" if m["keys"] is None else str(m["keys"]),
            str(m["slots"]),
            ranges_text([tuple(r) for r in m["slot_ranges"]]),
            f"{len(m['replicas'])}  {' '.join(m['replicas'])}".rstrip(),
        ]
        for m in masters
    ]
    p.table(["MASTER", "ID", "KEYS", "SLOTS", "RANGES", "REPLICAS"], rows)
    ok = covered == SLOTS and view.state == "ok"
    p.segments(
        ("[OK]" if ok else "[!!]", "bold green" if ok else "bold red"),
        f" {total} keys in {len(masters)} masters; {covered}/{SLOTS} slots covered; cluster_state:{view.state}",
    )
    p.line(f"{total / SLOTS:.2f} keys per slot on average.")
    for m in masters:
        if m["error"]:
            p.line(f"warning: {m['error']}", style="yellow")


def _print_nodes(p: Printer, view: Any, with_ids: bool = True) -> None:
    rows, styles = [], []
    for e in ordered_nodes(view.entries):
        master = view.by_id(e.master_id)
        me = " (asked)" if e.addr == view.source and with_ids else ""
        row = [e.addr + me]
        if with_ids:
            row.append(e.node_id[:8])
        row += [
            e.role,
            ranges_text(e.slots) if e.role == "master" else f"of {master.addr if master else e.master_id}",
            e.link,
            e.health,
        ]
        if with_ids:
            row.append(str(e.config_epoch))
        rows.append(row)
        styles.append("red" if e.health != "ok" else "bold" if e.role == "master" else None)
    columns = ["NODE", "ID", "ROLE", "SLOTS / MASTER", "LINK", "HEALTH", "EPOCH"]
    if not with_ids:
        columns = [c for c in columns if c not in ("ID", "EPOCH")]
    p.table(columns, rows, styles=styles)


def cmd_nodes(args: argparse.Namespace, p: Printer) -> int:
    view = fetch_view(_seeds(args, args.address))
    if args.json:
        nodes = []
        for e in ordered_nodes(view.entries):
            d = e.as_dict()
            master = view.by_id(e.master_id)
            d["master"] = master.addr if master else None
            nodes.append(d)
        p.json({"source": view.source, "cluster_state": view.state, "nodes": nodes})
        return 0
    _print_nodes(p, view)
    p.line(f"cluster_state:{view.state}  {len(view.entries)} nodes  {view.covered()}/{SLOTS} slots covered")
    return 0


def cmd_slot(args: argparse.Namespace, p: Printer) -> int:
    key: str = args.key
    slot = key_slot(key)
    tag = hashed_part(key)
    tag_text = tag.decode(errors="replace") if tag != key.encode() else None
    given = args.startup
    recorded = (data_dir_of(args) / "cluster.json").exists()
    result: dict[str, Any] = {"key": key, "slot": slot, "hash_tag": tag_text, "master": None, "replicas": []}
    if given or recorded:
        from ._sync.client import ClusterClient

        # The client's own slot map: `slot` shows where this library would send the key.
        with ClusterClient(_seeds(args, given), connect_timeout=2.0, socket_timeout=2.0) as client:
            shard = client.slot_map.slots[slot]
            if shard is None:
                raise CliError(f"slot {slot} is not served by any node")
            result["master"] = shard.master.name
            result["master_id"] = shard.master.node_id
            result["replicas"] = [r.name for r in shard.replicas]
    if args.json:
        p.json(result)
        return 0
    hashed = f'hash tag "{tag_text}"' if tag_text is not None else "the whole key is hashed"
    rows = [["key", key], ["slot", f"{slot}   ({hashed}; CRC16 mod {SLOTS})"]]
    if result["master"]:
        node_id = result.get("master_id")
        rows.append(["master", result["master"] + (f"   (id {node_id[:8]})" if node_id else "")])
        rows.append(["replicas", " ".join(result["replicas"]) or "-"])
    else:
        rows.append(["owner", f"unknown: no cluster given (--startup HOST:PORT) or recorded in {data_dir_of(args)}"])
    for name, value in rows:
        p.segments((f"{name:<9}", "bold"), value)
    return 0


def cmd_demo(args: argparse.Namespace, p: Printer) -> int:
    from .demo import run_demo

    return run_demo(base_port=args.base_port, out=p.out)


def cmd_monitor(args: argparse.Namespace, p: Printer) -> int:
    return run_monitor(_seeds(args, args.address), interval=args.interval, count=args.count, out=p.out)


# --------------------------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other failure (argparse would print the whole usage block first).
        fail(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(2)


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def _non_negative_int(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {n}")
    return n


def _positive_float(value: str) -> float:
    x = float(value)
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return x


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="A local Redis Cluster in one command, and tools to look at any cluster.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_cluster_commands(sub)  # the order here is the order of `--help`
    _add_inspect_commands(sub)
    _add_demo_and_monitor(sub)
    return parser


def _data_dir_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"where `cluster up` records the cluster (default: ${ENV_DATA_DIR} or ./{DEFAULT_DATA_DIR})",
    )


def _add_cluster_commands(sub: Any) -> None:
    """``cluster up|down|status``: a local cluster that keeps running."""
    cluster = sub.add_parser("cluster", help="start, inspect or stop a local cluster that keeps running")
    csub = cluster.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    cluster.set_defaults(func=lambda a, p: _usage(cluster))
    up = csub.add_parser("up", help="start redis-server nodes and form a cluster; they keep running")
    up.add_argument("--masters", type=_positive_int, default=3, help="number of masters (default 3)")
    up.add_argument("--replicas", type=_non_negative_int, default=1, help="replicas per master (default 1)")
    up.add_argument("--base-port", type=int, default=6300, help="masters at PORT.., replicas at PORT+100.. (6300)")
    up.add_argument("--free-ports", action="store_true", help="pick free ports instead of --base-port")
    up.add_argument("--appendonly", action="store_true", help="turn on the AOF (data survives restarts)")
    up.add_argument("--node-timeout", type=_positive_int, default=2000, metavar="MS", help="cluster-node-timeout")
    _data_dir_arg(up)
    up.set_defaults(func=cmd_cluster_up)
    down = csub.add_parser("down", help="stop the recorded cluster's nodes and remove its data dir")
    _data_dir_arg(down)
    down.set_defaults(func=cmd_cluster_down)
    status = csub.add_parser("status", help="processes, roles and slots of the recorded cluster")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    _data_dir_arg(status)
    status.set_defaults(func=cmd_cluster_status)


def _add_inspect_commands(sub: Any) -> None:
    """``info``, ``nodes`` and ``slot``: one look at any cluster."""
    info = sub.add_parser("info", help="per master: keys, slots, replicas (like redis-cli --cluster info)")
    info.add_argument("address", nargs="?", metavar="HOST:PORT", help="any node (default: the recorded cluster)")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    _data_dir_arg(info)
    info.set_defaults(func=cmd_info)

    nodes = sub.add_parser("nodes", help="every node: role, slot ranges, link state")
    nodes.add_argument("address", nargs="?", metavar="HOST:PORT", help="any node (default: the recorded cluster)")
    nodes.add_argument("--json", action="store_true", help="machine-readable output")
    _data_dir_arg(nodes)
    nodes.set_defaults(func=cmd_nodes)

    slot = sub.add_parser("slot", help="a key's hash slot, and the master and replicas serving it")
    slot.add_argument("key", metavar="KEY")
    slot.add_argument("--startup", metavar="HOST:PORT", help="a node of the cluster (default: the recorded cluster)")
    slot.add_argument("--json", action="store_true", help="machine-readable output")
    _data_dir_arg(slot)
    slot.set_defaults(func=cmd_slot)


def _add_demo_and_monitor(sub: Any) -> None:
    """``demo`` (a throwaway cluster, narrated) and ``monitor`` (a live view of any cluster)."""
    demo = sub.add_parser("demo", help="the narrated failover walk-through on a throwaway 6-node cluster")
    demo.add_argument(
        "--base-port", type=int, default=None, help="masters at PORT.., replicas at PORT+100.. (default: free ports)"
    )
    demo.set_defaults(func=cmd_demo)

    mon = sub.add_parser("monitor", help="a live view of every node: role, keys, ops/s, memory, link")
    mon.add_argument("address", nargs="?", metavar="HOST:PORT", help="any node (default: the recorded cluster)")
    mon.add_argument("--interval", type=_positive_float, default=1.0, metavar="SECONDS", help="refresh period (1)")
    mon.add_argument("--count", type=_positive_int, default=None, metavar="N", help="print N snapshots and exit")
    _data_dir_arg(mon)
    mon.set_defaults(func=cmd_monitor)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already reported
        return e.code if isinstance(e.code, int) else 0
    func: Callable[[argparse.Namespace, Printer], int] | None = getattr(args, "func", None)
    if func is None:
        return _usage(parser)
    printer = Printer()
    try:
        return func(args, printer)
    except CliError as e:
        fail(str(e))
        return e.code
    except (LauncherError, InspectError, RedisClusterError) as e:
        fail(str(e))
        return 1
    except OSError as e:
        fail(f"{type(e).__name__}: {e}")
        return 1
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    finally:
        printer.flush()
