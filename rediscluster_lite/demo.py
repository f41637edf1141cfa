"""The classic Redis Cluster walk-through, narrated: ``rediscluster-lite demo`` (``./scripts/demo``).

Six real ``redis-server`` processes; three keys on three masters; replica reads; SIGKILL a master and time
the failover; the same client object keeps working; kill the promoted node too and watch the cluster go
down; restart both and see that the roles stayed. Importable: ``run_demo()`` returns the exit code.

Every claim the narration makes is measured, not assumed: which node served a read comes from the
nodes' own ``INFO commandstats`` (the ``cmdstat_get`` call counter, read before and after the read over
the launcher's separate connections), roles come from ``CLUSTER NODES``, timings from the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from .cli_output import Printer, fail, seconds
from .errors import ClusterDownError, RedisClusterError
from .errors import ConnectionError as ClientConnectionError
from .local import LauncherError, LocalCluster, Node
from .local_procs import pid_running
from .monitor import fetch_view, ranges_text

__all__ = ["run_demo", "DemoFailed", "STEPS", "KEYS"]

KEYS = {"key_01": b"value-01", "key_02": b"value-02", "key_03": b"value-03"}
NEW_VALUE = b"value-01 (written after the failover)"
STEPS = (
    "Start a cluster",
    "Write key_01..key_03",
    "Read them in replica_preferred mode",
    "Kill the master of key_01",
    "Read key_01 again through the same client",
    "Kill the promoted node",
    "Restart both killed nodes",
    "Read again",
    "Tear down",
)


class DemoFailed(Exception):
    """The cluster or the client did not behave as the walk-through expects."""


def run_demo(base_port: int | None = None, out: TextIO | None = None, node_timeout_ms: int = 1000) -> int:
    """Run the walk-through, printing to ``out`` (stdout). Returns 0, or 1 after a one-line reason on stderr."""
    demo = Walkthrough(Printer(out), base_port, node_timeout_ms)
    try:
        demo.run()
    except (DemoFailed, LauncherError, RedisClusterError, OSError, ValueError) as e:
        where = f" at step {demo.step_no} ({STEPS[demo.step_no - 1]})" if demo.step_no else ""
        demo.p.flush()
        fail(f"demo failed{where}: {e}")
        return 1
    except KeyboardInterrupt:
        demo.p.flush()
        fail("demo interrupted; every node it started has been stopped")
        return 130
    return 0


def _calls(stat: str) -> int:
    """``calls=3,usec=12,...`` -> 3 (executed calls; redirected or rejected ones are counted apart)."""
    for part in stat.split(","):
        name, _, value = part.partition("=")
        if name == "calls":
            return int(value)
    return 0


def _short(e: BaseException, limit: int = 110) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Walkthrough:
    """One run of the demo. ``step_no`` says how far it got (for the failure message)."""

    def __init__(self, printer: Printer, base_port: int | None, node_timeout_ms: int) -> None:
        self.p = printer
        self.base_port = base_port
        self.node_timeout_ms = node_timeout_ms
        self.step_no = 0
        self.timings: list[tuple[str, float]] = []
        self.cluster: LocalCluster | None = None
        self.client: Any = None
        self._step_started = 0.0

    # ------------------------------------------------------------------ narration

    def step(self, detail: str = "") -> None:
        self.step_no += 1
        self._step_started = time.monotonic()
        self.p.line()
        self.p.segments(
            (f"[{self.step_no}/{len(STEPS)}] ", "bold cyan"),
            (STEPS[self.step_no - 1], "bold"),
            (f": {detail}" if detail else "", None),
        )
        self.p.flush()

    def say(self, *parts: str | tuple[str, str | None]) -> None:
        self.p.segments(*parts, indent=6)
        self.p.flush()

    def timed(self, label: str, seconds_: float) -> str:
        self.timings.append((label, seconds_))
        return seconds(seconds_)

    def node_label(self, n: Node) -> str:
        assert self.cluster is not None
        role = self.cluster.role_of(n)
        if role == "replica":
            masters = [m for m in self.cluster.masters() if n in self.cluster.replicas_of(m)]
            return f"replica of {masters[0].addr}" if masters else "replica"
        return role

    def served_text(self, served: list[Node]) -> str:
        return ", ".join(f"{n.addr}, now a {self.node_label(n)}," for n in served).rstrip(",") or "no node (?)"

    # ------------------------------------------------------------------ measuring

    def get_calls(self) -> dict[int, int]:
        """``cmdstat_get`` calls per running node (port -> count), over the launcher's own connections."""
        assert self.cluster is not None
        counts = {}
        for n in self.cluster.nodes:
            if not n.is_alive() or n.paused:
                continue
            try:
                stats = self.cluster.info(n, "commandstats")
            except LauncherError:
                continue
            counts[n.port] = _calls(stats.get("cmdstat_get", ""))
        return counts

    def measured_read(self, key: str) -> tuple[Any, list[Node], float]:
        """``client.get(key)``, and the nodes whose GET counter went up meanwhile: where it really ran."""
        assert self.cluster is not None
        before = self.get_calls()
        t0 = time.monotonic()
        value = self.client.get(key)
        took = time.monotonic() - t0
        after = self.get_calls()
        served = [self.cluster.node(port) for port, c in after.items() if c > before.get(port, 0)]
        return value, served, took

    def expect_error(self, call: Callable[[], Any], what: str) -> tuple[BaseException, float]:
        t0 = time.monotonic()
        try:
            value = call()
        except (ClusterDownError, ClientConnectionError, RedisClusterError) as e:
            return e, time.monotonic() - t0
        raise DemoFailed(f"{what} returned {value!r} although a shard has no node left")

    # ------------------------------------------------------------------ the walk-through

    def run(self) -> None:
        t_all = time.monotonic()
        self.p.segments(
            ("rediscluster_lite demo", "bold magenta"),
            ": the classic Redis Cluster walk-through, on real redis-server processes",
        )
        try:
            self.start()
            self.write()
            self.read_from_replicas()
            old, promoted = self.failover()
            self.read_after_failover(promoted)
            self.cluster_down(promoted)
            self.restart(old, promoted)
            self.read_again(old, promoted)
        finally:
            self.tear_down()
        self.summary(time.monotonic() - t_all)

    def start(self) -> None:
        self.step("3 masters, 1 replica each, appendonly yes (data survives restarts)")
        cluster = self.cluster = LocalCluster(
            masters=3,
            replicas_per_master=1,
            base_port=self.base_port,
            appendonly=True,
            node_timeout_ms=self.node_timeout_ms,
        )
        with self.p.status("starting 6 redis-server processes and forming the cluster..."):
            cluster.start()
        view = fetch_view([n.addr for n in cluster.nodes])  # what the nodes themselves say
        rows = []
        for m in view.masters():
            reps = " ".join(r.addr for r in view.replicas_of(m))
            rows.append([m.addr, ranges_text(m.slots), reps, str(cluster.node(m.port).pid)])
        self.p.table(["MASTER", "SLOTS", "REPLICA", "PID"], rows, indent=6)
        version = ".".join(map(str, cluster.redis_version or ()))
        took = self.timed("cluster start (6 nodes, formed, replicas in sync)", cluster.start_seconds or 0.0)
        self.say(
            ("cluster_state:ok", "green"),
            f" in {took}: redis-server {version}, cluster-node-timeout {self.node_timeout_ms} ms,"
            f" data in {cluster.data_dir}",
        )
        from ._sync.client import ClusterClient

        self.client = ClusterClient(cluster.startup_nodes, read_from="replica_preferred")
        self.say('client = ClusterClient(<the 6 nodes>, read_from="replica_preferred")')

    def write(self) -> None:
        assert self.cluster is not None
        self.step("writes always go to the slot's master")
        rows = []
        for key, value in KEYS.items():
            t0 = time.monotonic()
            ok = self.client.set(key, value)
            took = time.monotonic() - t0
            slot = self.client.key_slot(key)
            owner = self.cluster.master_of_slot(slot)  # asked of the nodes, not the client
            stored = self.cluster.command(owner, "GET", key, decode=False)
            if ok is not True or stored != value:
                raise DemoFailed(f"SET {key} returned {ok!r}; its master {owner.addr} holds {stored!r}")
            if self.client.node_for(key).port != owner.port:
                raise DemoFailed(f"the client thinks {key} lives on {self.client.node_for(key)}, not {owner.addr}")
            rows.append([key, str(slot), owner.addr, f"GET there -> {stored!r}", seconds(took)])
        self.p.table(["KEY", "SLOT", "MASTER (owns the slot)", "CHECKED ON THAT NODE", "SET TOOK"], rows, indent=6)
        masters = {r[2] for r in rows}
        self.say(f"{len(KEYS)} keys on {len(masters)} different masters (the slot is CRC16(key) mod 16384)")

    def read_from_replicas(self) -> None:
        assert self.cluster is not None
        self.step("which node really served each GET (INFO commandstats, before/after)")
        rows = []
        for key, value in KEYS.items():
            got, served, took = self.measured_read(key)
            if got != value:
                raise DemoFailed(f"GET {key} returned {got!r}, expected {value!r}")
            where = ", ".join(n.addr for n in served) or "?"
            role = ", ".join(self.node_label(n) for n in served) or "?"
            rows.append([key, repr(got), where, role, seconds(took)])
        self.p.table(["KEY", "VALUE", "SERVED BY (measured)", "ROLE", "TOOK"], rows, indent=6)
        replicas = sum("replica" in r[3] for r in rows)
        self.say(f"{replicas} of {len(rows)} reads were served by a replica")

    def failover(self) -> tuple[Node, Node]:
        assert self.cluster is not None
        cluster = self.cluster
        old = cluster.master_of_slot(self.client.key_slot("key_01"))
        (replica,) = cluster.replicas_of(old)
        self.step(f"SIGKILL {old.addr} and time the failover")
        pid = old.pid
        t0 = time.monotonic()
        cluster.kill(old)
        self.say(f"killed {old.addr} (pid {pid}), master of key_01; waiting for its replica {replica.addr}")
        with self.p.status(f"waiting for {replica.addr} to take over..."):
            promoted = cluster.wait_for_failover(old, timeout=60)
        took = self.timed("failover (SIGKILL -> replica promoted, cluster_state:ok)", time.monotonic() - t0)
        if promoted.port != replica.port:
            raise DemoFailed(f"{promoted.addr} took over, not {old.addr}'s replica {replica.addr}")
        self.say(
            (promoted.addr, "bold"),
            " (its replica) was promoted to master: ",
            (f"failover took {took}", "bold green"),
            " (every live node agrees, cluster_state:ok)",
        )
        return old, promoted

    def read_after_failover(self, promoted: Node) -> None:
        self.step("no restart, no reconfiguration")
        got, served, took = self.measured_read("key_01")
        if got != KEYS["key_01"]:
            raise DemoFailed(f"GET key_01 returned {got!r} after the failover, expected {KEYS['key_01']!r}")
        self.say(
            f"client.get('key_01') -> {got!r} in ",
            (self.timed("first read after the failover", took), "bold"),
            f", served by {self.served_text(served)} (measured)",
        )
        t0 = time.monotonic()
        ok = self.client.set("key_01", NEW_VALUE)
        took = time.monotonic() - t0
        master = self.client.node_for("key_01")
        if ok is not True or master.port != promoted.port:
            raise DemoFailed(f"SET key_01 after the failover returned {ok!r}; client says master is {master}")
        self.say(
            f"client.set('key_01', ...) -> True in {self.timed('first write after the failover', took)};"
            f" the client found the dead master, reloaded its slot map and now sends key_01 to {master}"
        )

    def cluster_down(self, promoted: Node) -> None:
        assert self.cluster is not None
        self.step(f"SIGKILL {promoted.addr}; key_01's slots have no node left")
        pid = promoted.pid
        t_kill = time.monotonic()
        self.cluster.kill(promoted)
        self.say(f"killed {promoted.addr} (pid {pid})")
        err, took = self.expect_error(lambda: self.client.get("key_01"), "client.get('key_01')")
        self.say(
            "client.get('key_01') raised ",
            (type(err).__name__, "bold red"),
            f" after {self.timed('error for a key of the dead shard', took)}: {_short(err)}",
        )
        with self.p.status("waiting for the other nodes to mark the cluster down..."):
            self.cluster.wait_for_state("fail", timeout=60)
        self.say(
            "every live node says ",
            ("cluster_state:fail", "bold red"),
            f" {self.timed('cluster_state:fail reached (after the kill)', time.monotonic() - t_kill)}"
            " after the kill (cluster-require-full-coverage yes: one lost shard stops them all)",
        )
        err, took = self.expect_error(lambda: self.client.get("key_02"), "client.get('key_02')")
        if not isinstance(err, ClusterDownError):
            raise DemoFailed(f"expected ClusterDownError for key_02 (its nodes are up), got {type(err).__name__}")
        self.say(
            "client.get('key_02'), whose nodes are alive, raised ",
            (type(err).__name__, "bold red"),
            f" after {self.timed('ClusterDownError for a live shard', took)}: {_short(err)}",
        )

    def restart(self, old: Node, promoted: Node) -> None:
        assert self.cluster is not None
        cluster = self.cluster
        self.step("same data dir and nodes.conf; the cluster decides their roles")
        t0 = time.monotonic()
        with self.p.status(f"restarting {promoted.addr}..."):
            cluster.restart(promoted)
        self.say(f"{promoted.addr} is back (pid {promoted.pid}) after {seconds(time.monotonic() - t0)}")
        t1 = time.monotonic()
        with self.p.status(f"restarting {old.addr}..."):
            cluster.restart(old)
            cluster.wait_for_state("ok", timeout=60)
        self.say(f"{old.addr} is back (pid {old.pid}) after {seconds(time.monotonic() - t1)}")
        self.timed("both restarted, cluster_state:ok", time.monotonic() - t0)
        rows = [
            [promoted.addr, "replica", self.node_label(promoted)],
            [old.addr, "master", self.node_label(old)],
        ]
        self.p.table(["NODE", "ROLE AT START", "ROLE NOW"], rows, indent=6)
        if cluster.role_of(promoted) != "master" or old not in cluster.replicas_of(promoted):
            raise DemoFailed(f"roles did not stay: {rows[0][2]!r} / {rows[1][2]!r}")
        self.say(
            ("the new roles stayed", "bold green"),
            f": {old.addr}, the old master, came back as a replica of the node that replaced it",
        )

    def read_again(self, old: Node, promoted: Node) -> None:
        self.step("the same client object, after the cluster-down")
        deadline = time.monotonic() + 30
        t0 = time.monotonic()
        errors = 0
        while True:
            try:
                got, served, took = self.measured_read("key_01")
                break
            except (ClusterDownError, ClientConnectionError) as e:
                errors += 1
                if time.monotonic() > deadline:
                    raise DemoFailed(f"key_01 still unreadable 30 s after the restart: {_short(e)}") from e
                time.sleep(0.1)
        if got != NEW_VALUE:
            raise DemoFailed(f"GET key_01 returned {got!r}, expected {NEW_VALUE!r}")
        retry = f" after {errors} failed attempt(s)" if errors else ""
        self.say(
            f"client.get('key_01') -> {got!r}{retry} in ",
            (self.timed("first read after the restarts", time.monotonic() - t0), "bold"),
        )
        self.say(
            f"served by {self.served_text(served)} (measured): the value written after the failover survived"
            " both restarts (appendonly)"
        )
        self.read_from_rejoined_replica(old, promoted)
        rows = []
        for key in ("key_02", "key_03"):
            got, served, took = self.measured_read(key)
            if got != KEYS[key]:
                raise DemoFailed(f"GET {key} returned {got!r}, expected {KEYS[key]!r}")
            rows.append([key, repr(got), ", ".join(n.addr for n in served) or "?", seconds(took)])
        self.p.table(["KEY", "VALUE", "SERVED BY (measured)", "TOOK"], rows, indent=6)

    def read_from_rejoined_replica(self, old: Node, promoted: Node) -> None:
        """Show the old master serving reads as a replica. Redis 7 leaves a replica out of CLUSTER SLOTS
        while the replication offset it reports is 0, and a restarted idle master's offset only moves
        with a write (or its 10 s replication ping): one write, then wait until the replica has it."""
        assert self.cluster is not None
        cluster = self.cluster
        t0 = time.monotonic()
        self.client.set("key_01", NEW_VALUE)  # the same value: only the replication offset moves
        target = int(cluster.info(promoted, "replication").get("master_repl_offset", "0"))

        def listed() -> bool:
            offset = int(cluster.info(old, "replication").get("slave_repl_offset", "0") or 0)
            slots = cluster.command(promoted, "CLUSTER", "SLOTS")
            return offset >= target and any(r[1] == old.port for row in slots for r in row[3:])

        with self.p.status(f"waiting for CLUSTER SLOTS to list {old.addr} as a replica..."):
            while not listed():
                if time.monotonic() - t0 > 20:
                    self.say(f"{old.addr} is still not listed in CLUSTER SLOTS; reads stay on the master")
                    return
                time.sleep(0.05)
        self.client.refresh_slots()  # rather than wait for the client's own refresh (every 5 s)
        got, served, took = self.measured_read("key_01")
        if got != NEW_VALUE:
            raise DemoFailed(f"GET key_01 from the replica returned {got!r}, expected {NEW_VALUE!r}")
        self.say(
            f"CLUSTER SLOTS lists {old.addr} as a replica {seconds(time.monotonic() - t0)} after one more write"
            " (Redis 7 leaves out a replica until its replication offset moves)"
        )
        self.say(
            "after client.refresh_slots(), client.get('key_01') is served by ",
            (self.served_text(served), "bold"),
            " (measured)",
        )

    def tear_down(self) -> None:
        if self.client is not None:
            self.client.close()
        cluster = self.cluster
        if cluster is None:
            return
        if self.step_no < len(STEPS) - 1:  # a failure: stop everything quietly, the error says the rest
            cluster.close()
            return
        self.step("stop every node, remove the data dir")
        pids = [n.pid for n in cluster.nodes]
        t0 = time.monotonic()
        cluster.close()
        took = time.monotonic() - t0
        left = [p for p in pids if pid_running(p)]
        if left:
            raise DemoFailed(f"redis-server pids {left} still running after close()")
        self.say(f"stopped {len(pids)} redis-server processes in {self.timed('tear down', took)}; nothing left running")

    def summary(self, total: float) -> None:
        self.p.line()
        self.p.line("Timings", style="bold")
        self.p.table(["WHAT", "TOOK"], [[label, seconds(s)] for label, s in self.timings], indent=2)
        self.p.segments(("Done", "bold green"), f": the whole walk-through took {seconds(total)}.")
