"""Waiting for a local cluster: convergence, a failover, a node's rejoin, a cluster state.

Rules this module keeps:

* Every wait polls (every 50 ms) a *problem* function that returns ``None`` when the condition holds, or a
  sentence saying what is still wrong; on timeout the last sentence is the error. A launcher error while
  polling (a node still restarting) is a problem to wait out, not a failure.
* Nothing is assumed from timing: every condition is read from the nodes (``CLUSTER INFO``,
  ``CLUSTER SLOTS``, ``CLUSTER NODES``, ``INFO replication``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from .fanout import info_fields
from .local_errors import LauncherError
from .local_nodes import NodeLink, NodeRef
from .local_procs import Node
from .slotmap import SLOTS

__all__ = ["Waits", "slot_table", "POLL"]

POLL = 0.05  # seconds between polls while waiting for the cluster to converge
_FAILED = frozenset({"fail", "fail?", "handshake", "noaddr"})

SlotRow = tuple[int, int, str, frozenset[str]]


def slot_table(reply: list) -> tuple[SlotRow, ...]:
    """CLUSTER SLOTS, normalised so that the answers of two nodes compare equal when they agree."""
    rows = []
    for row in reply:
        start, end, master = row[0], row[1], row[2]
        replicas = frozenset(r[2] for r in row[3:])
        rows.append((int(start), int(end), master[2], replicas))
    return tuple(sorted(rows, key=lambda r: r[0]))


class Waits(NodeLink):
    """The waiting half of :class:`~rediscluster_lite.local.LocalCluster`."""

    host: str
    replicas_per_master: int
    require_full_coverage: bool

    def _wait(self, deadline: float, problem: Callable[[], str | None], what: str) -> None:
        last = "?"
        while True:
            try:
                p = problem()
            except LauncherError as e:  # a node still restarting, a reply error mid-reconfiguration...
                p = str(e)
            if p is None:
                return
            last = p
            if time.monotonic() > deadline:
                raise LauncherError(f"{what} in time: {last}")
            time.sleep(POLL)

    def _cluster_state(self, n: Node) -> str | None:
        return info_fields(self._call(n, "CLUSTER", "INFO", timeout=2.0)).get("cluster_state")

    def _replica_sync_problem(self, n: Node) -> str | None:
        rep = info_fields(self._call(n, "INFO", "replication", timeout=2.0))
        if rep.get("master_link_status") != "up" or rep.get("master_sync_in_progress") != "0":
            return f"replica {n.addr} is not in sync with its master yet"
        return None

    # ------------------------------------------------------------------ convergence

    def _stability_problem(self, expect_replicas: bool = False) -> str | None:
        live = self._reachable()
        if not live:
            return "no node is running"
        tables = {}
        for n in live:
            state = self._cluster_state(n)
            if state != "ok":
                return f"{n.addr} says cluster_state:{state}"
            tables[n.port] = slot_table(self._call(n, "CLUSTER", "SLOTS", timeout=2.0))
        first = tables[live[0].port]
        for port, t in tables.items():
            if t != first:
                return f"{self.host}:{port} disagrees with {live[0].addr} on CLUSTER SLOTS"
        if sum(hi - lo + 1 for lo, hi, _, _ in first) != SLOTS and self.require_full_coverage:
            return "not all slots are covered"
        for row in first:
            problem = self._shard_problem(row, live, expect_replicas)
            if problem:
                return problem
        return None

    def _shard_problem(self, row: SlotRow, live: list[Node], expect_replicas: bool) -> str | None:
        """One CLUSTER SLOTS row: enough replicas listed, the live ones in sync and online at the master."""
        _lo, _hi, master_id, replica_ids = row
        if expect_replicas and len(replica_ids) < self.replicas_per_master:
            return f"master {master_id[:8]} has {len(replica_ids)} replicas in CLUSTER SLOTS"
        master = self._by_id(master_id)
        if master is None or master not in live:
            return None
        online = 0
        for rid in replica_ids:
            r = self._by_id(rid)
            if r is None or r not in live:
                continue
            problem = self._replica_sync_problem(r)
            if problem:
                return problem
            online += 1
        minfo = info_fields(self._call(master, "INFO", "replication", timeout=2.0))
        states = [v for k, v in minfo.items() if re.fullmatch(r"slave\d+", k)]
        if sum("state=online" in s for s in states) < online:
            return f"master {master.addr} does not list all its replicas as online yet"
        return None

    def wait_for_stable(self, timeout: float = 30.0) -> None:
        """Wait until every running node says ok, all agree on CLUSTER SLOTS and live replicas are in sync."""
        self._wait(time.monotonic() + timeout, self._stability_problem, f"cluster not stable after {timeout}s")

    def wait_for_state(self, state: str = "ok", timeout: float = 30.0) -> None:
        """Wait until every running (not paused) node reports ``cluster_state:<state>``."""
        if state not in ("ok", "fail"):
            raise ValueError("state must be 'ok' or 'fail'")

        def problem() -> str | None:
            live = self._reachable()
            if not live:
                return "no node is running"
            for n in live:
                got = self._cluster_state(n)
                if got != state:
                    return f"{n.addr} says cluster_state:{got}"
            return None

        self._wait(time.monotonic() + timeout, problem, f"cluster_state:{state} not reached after {timeout}s")

    # ------------------------------------------------------------------ failover

    def wait_for_failover(self, old_master: NodeRef, timeout: float = 30.0) -> Node:
        """Wait until another node (normally a former replica of ``old_master``) is a master owning all of
        ``old_master``'s slots, as seen from every running node, and those nodes say ``cluster_state:ok``.
        Returns the promoted node.
        """
        old = self.node(old_master)
        slots = self._known_slots.get(old.node_id)
        if not slots:
            raise LauncherError(f"{old.addr} was not seen as a master owning slots")
        candidates = {nid for nid, mid in self._known_master.items() if mid == old.node_id}
        found: list[Node] = []

        def problem() -> str | None:
            return self._failover_problem(old, slots, candidates, found)

        self._wait(time.monotonic() + timeout, problem, f"no failover of {old.addr} after {timeout}s")
        self._snapshot()
        return found[0]

    def _failover_problem(
        self, old: Node, slots: tuple[tuple[int, int], ...], candidates: set[str], found: list[Node]
    ) -> str | None:
        """Has one live node other than ``old`` taken all of its slots? On success ``found`` holds it."""
        live = self._reachable()
        if not live:
            return "no node is running"
        owner_ids: set[str] = set()
        for n in live:
            if n is old:
                continue  # a demoted old master may lag behind; the others decide
            owners = {
                e.node_id
                for e in self._nodes_of(n).values()
                for lo, hi in slots
                if "master" in e.flags and "fail" not in e.flags and any(a <= lo and hi <= b for a, b in e.slots)
            }
            if len(owners) != 1:
                return f"{n.addr} does not yet see one live owner of {old.addr}'s slots"
            owner_ids |= owners
            state = self._cluster_state(n)
            if state != "ok":
                return f"{n.addr} says cluster_state:{state}"
        if len(owner_ids) != 1:
            return "nodes disagree on who took over"
        (owner,) = owner_ids
        if owner == old.node_id:
            return f"{old.addr} still owns its slots"
        if candidates and owner not in candidates:
            return f"slots went to {owner[:8]}, not a replica of {old.addr}"
        promoted = self._by_id(owner)
        if promoted is None:
            return "slots went to a node this launcher does not know"
        found[:] = [promoted]
        return None

    # ------------------------------------------------------------------ rejoin

    def _rejoin_problem(self, n: Node) -> str | None:
        """Is a restarted node back: out of handshake, not flagged by its peers, agreeing on the slot owners,
        ``cluster_state:ok`` when its peers are, and (a replica) in sync with its master?"""
        own_view = self._nodes_of(n)
        if any(e.flags & {"handshake", "noaddr"} for e in own_view.values()):
            return f"{n.addr} is still in handshake"
        own_owners = [(lo, hi, m) for lo, hi, m, _ in slot_table(self._call(n, "CLUSTER", "SLOTS", timeout=2.0))]
        any_ok = False
        for peer in self._reachable():
            if peer is n:
                continue
            e = self._nodes_of(peer).get(n.node_id)
            if e is None or e.flags & _FAILED:
                return f"{peer.addr} still sees {n.addr} as failed"
            peer_owners = [(lo, hi, m) for lo, hi, m, _ in slot_table(self._call(peer, "CLUSTER", "SLOTS"))]
            if peer_owners != own_owners:
                return f"{n.addr} and {peer.addr} disagree on the slot owners"
            any_ok |= info_fields(self._call(peer, "CLUSTER", "INFO")).get("cluster_state") == "ok"
        if any_ok and info_fields(self._call(n, "CLUSTER", "INFO")).get("cluster_state") != "ok":
            return f"{n.addr} does not say cluster_state:ok yet"
        me = own_view.get(n.node_id)
        if me is not None and me.role == "replica":
            master = self._by_id(me.master_id)
            if master is not None and master.is_alive() and not master._paused:
                rep = info_fields(self._call(n, "INFO", "replication"))
                if rep.get("master_link_status") != "up" or rep.get("master_sync_in_progress") != "0":
                    return f"{n.addr} is not in sync with its master yet"
        self._remember(own_view)
        return None
