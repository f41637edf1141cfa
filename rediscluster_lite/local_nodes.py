"""Talking to the nodes of a local cluster, and what they say about it (the launcher's live view).

:class:`NodeLink` is the base of :class:`~rediscluster_lite.local.LocalCluster`: the waits, the formation and
the chaos layers all ask the nodes through it.

Rules this module keeps:

* It talks to nodes with the tooling's own :class:`~rediscluster_lite.probe.RespProbe`, never with the
  client under test.
* A failure is a launcher error naming the node and the command: an error reply is :class:`CommandError`, a
  silent node :class:`NodeTimeout`, a broken or refused connection :class:`NodeUnreachable`. The password
  goes only into the AUTH frame and is redacted from every message.
* Connections are pooled per port and reused; ``close()`` (and dropping a node) closes them.
* The live view (``masters()``, ``replicas()``...) is asked of a running node each time, never cached; what
  it saw is remembered only for ``wait_for_failover``.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from typing import Any

import hiredis

from .fanout import info_fields
from .local_errors import CommandError, LauncherError, NodeTimeout, NodeUnreachable
from .local_procs import Node
from .probe import Arg, NodeEntry, RespProbe, parse_cluster_nodes
from .slotmap import SLOTS

__all__ = ["NodeLink", "NodeRef", "node_view"]

NodeRef = Node | int | str | tuple


def node_view(text: str) -> dict[str, NodeEntry]:
    """``CLUSTER NODES`` text -> entries by node id."""
    return {e.node_id: e for e in parse_cluster_nodes(text)}


class NodeLink:
    """Raw access to the nodes (``command``, ``info``...) and the live view of the cluster."""

    nodes: list[Node]
    _password: str | None
    _state: str  # new -> started -> closed
    _ssl_context: ssl.SSLContext | None

    def _init_link(self) -> None:
        self._lock = threading.RLock()
        self._conns: dict[int, list[RespProbe]] = {}
        # Last seen slots of each master and master of each replica (by node id), so that
        # wait_for_failover() knows what the dead master owned.
        self._known_slots: dict[str, tuple[tuple[int, int], ...]] = {}
        self._known_master: dict[str, str | None] = {}

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def node(self, ref: NodeRef) -> Node:
        """Look a node up by port, ``"host:port"``, ``(host, port)``, node id or the Node itself."""
        if isinstance(ref, Node):
            if ref not in self.nodes:
                raise LauncherError(f"{ref!r} is not a node of this cluster")
            return ref
        port: int | None = None
        if isinstance(ref, tuple):
            port = int(ref[1])
        elif isinstance(ref, int):
            port = ref
        elif isinstance(ref, str):
            if ref.isdigit():
                port = int(ref)
            elif ":" in ref:
                port = int(ref.rsplit(":", 1)[1])
            else:
                for n in self.nodes:
                    if n.node_id and n.node_id == ref:
                        return n
        for n in self.nodes:
            if n.port == port:
                return n
        raise LauncherError(f"no node {ref!r} in this cluster (ports {self.ports})")

    # ------------------------------------------------------------------ raw access

    def command(self, node: NodeRef, *args: Arg, timeout: float = 5.0, decode: bool = True) -> Any:
        """Send one command to one node and return the hiredis reply (``str`` when ``decode``, else bytes).

        An error reply raises :class:`CommandError`; an unreachable or silent node raises
        :class:`NodeUnreachable` / :class:`NodeTimeout`.
        """
        if not args:
            raise ValueError("no command given")
        return self._call(self.node(node), *args, timeout=timeout, decode=decode)

    def _call(self, n: Node, *args: Arg, timeout: float = 5.0, decode: bool = True) -> Any:
        name = str(args[0]).upper() if not isinstance(args[0], bytes) else args[0].decode(errors="replace")
        with self._lock:
            pool = self._conns.get(n.port)
            conn = pool.pop() if pool else None
        try:
            if conn is None:
                conn = self._connect(n, timeout)
            reply = conn.call(args, timeout, decode)
        except CommandError:
            raise
        except TimeoutError as e:
            if conn is not None:
                conn.close()
            raise NodeTimeout(f"{n.addr}: {name}: no reply within {timeout}s", n.addr) from e
        except (OSError, ssl.SSLError, hiredis.ProtocolError) as e:
            if conn is not None:
                conn.close()
            raise NodeUnreachable(f"{n.addr}: {name}: {type(e).__name__}: {self._redact(str(e))}", n.addr) from e
        with self._lock:
            if self._state == "closed":
                conn.close()
            else:
                self._conns.setdefault(n.port, []).append(conn)
        if isinstance(reply, hiredis.ReplyError):
            raise CommandError(str(reply), n.addr, name)
        return reply

    def _connect(self, n: Node, timeout: float) -> RespProbe:
        conn = RespProbe(n.host, n.port, timeout, self._ssl_context)
        if self._password is not None:
            reply = conn.call(("AUTH", self._password), timeout, decode=True)
            if isinstance(reply, hiredis.ReplyError):
                conn.close()
                # The server's text ("WRONGPASS ...") never contains the password; the command does.
                raise CommandError(str(reply), n.addr, "AUTH")
        return conn

    def _drop_conns(self, n: Node) -> None:
        with self._lock:
            for c in self._conns.pop(n.port, []):
                c.close()

    def _close_conns(self) -> None:
        with self._lock:
            for conns in self._conns.values():
                for c in conns:
                    c.close()
            self._conns.clear()

    def _redact(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def info(self, node: NodeRef, section: str | None = None) -> dict[str, str]:
        """``INFO [section]`` of one node, as a dict of strings."""
        args = ("INFO", section) if section else ("INFO",)
        return info_fields(self.command(node, *args))

    def cluster_info(self, node: NodeRef) -> dict[str, str]:
        return info_fields(self.command(node, "CLUSTER", "INFO"))

    def keyslot(self, key: str | bytes) -> int:
        """The key's slot, as the server computes it (``CLUSTER KEYSLOT``)."""
        return int(self._ask_any("CLUSTER", "KEYSLOT", key))

    # ------------------------------------------------------------------ live view

    def _reachable(self) -> list[Node]:
        """Nodes whose process runs and is not paused: the ones worth asking."""
        return [n for n in self.nodes if n.is_alive() and not n._paused]

    def _ask_any(self, *args: Arg, timeout: float = 2.0) -> Any:
        errors = []
        for n in self._reachable():
            try:
                return self._call(n, *args, timeout=timeout)
            except NodeUnreachable as e:
                errors.append(str(e))
        raise LauncherError("no node answered: " + ("; ".join(errors) or "all nodes are down or paused"))

    def _nodes_of(self, n: Node) -> dict[str, NodeEntry]:
        """``CLUSTER NODES`` as ``n`` sees it, by node id."""
        return node_view(self._call(n, "CLUSTER", "NODES", timeout=2.0))

    def _view(self, node: Node | None = None) -> dict[str, NodeEntry]:
        text = self._call(node, "CLUSTER", "NODES", timeout=2.0) if node else self._ask_any("CLUSTER", "NODES")
        view = node_view(text)
        self._remember(view)
        return view

    def _remember(self, view: dict[str, NodeEntry]) -> None:
        for e in view.values():
            if e.failed:
                continue
            if e.role == "master" and e.slots:
                self._known_slots[e.node_id] = e.slots
            elif e.role == "replica":
                self._known_slots.pop(e.node_id, None)
            self._known_master[e.node_id] = e.master_id if e.role == "replica" else None

    def _snapshot(self) -> None:
        """Record who owns what right before a node goes down (for wait_for_failover)."""
        with contextlib.suppress(LauncherError):
            self._view()

    def _by_id(self, node_id: str | None) -> Node | None:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        return None

    def _live_entries(self) -> list[tuple[Node, NodeEntry]]:
        out = []
        for e in self._view().values():
            n = self._by_id(e.node_id)
            if n is not None and n.is_alive() and "fail" not in e.flags:
                out.append((n, e))
        return out

    def masters(self) -> list[Node]:
        """The nodes serving as masters now (asked of a live node), ordered by their first slot.

        Failed masters (killed, or flagged ``fail``) are left out.
        """
        entries = [(n, e) for n, e in self._live_entries() if e.role == "master"]
        entries.sort(key=lambda ne: (ne[1].slots[0][0] if ne[1].slots else SLOTS, ne[0].port))
        return [n for n, _ in entries]

    def replicas(self) -> list[Node]:
        """The nodes serving as replicas now, ordered by their master's first slot."""
        order = {n.node_id: i for i, n in enumerate(self.masters())}
        entries = [(n, e) for n, e in self._live_entries() if e.role == "replica"]
        entries.sort(key=lambda ne: (order.get(ne[1].master_id or "", len(order)), ne[0].port))
        return [n for n, _ in entries]

    def replicas_of(self, master: NodeRef) -> list[Node]:
        """The live replicas of ``master`` now."""
        m = self.node(master)
        return sorted(
            (n for n, e in self._live_entries() if e.role == "replica" and e.master_id == m.node_id),
            key=lambda n: n.port,
        )

    def role_of(self, node: NodeRef) -> str:
        """``"master"`` or ``"replica"``, as a live node sees ``node`` now."""
        n = self.node(node)
        e = self._view().get(n.node_id)
        if e is None:
            raise LauncherError(f"{n.addr} is not known to the cluster")
        return e.role

    def master_of_slot(self, slot: int) -> Node:
        """The node that owns ``slot`` now, as a live node sees it."""
        if not 0 <= slot < SLOTS:
            raise ValueError(f"slot {slot} is out of range 0..{SLOTS - 1}")
        for e in self._view().values():
            if "master" in e.flags and any(lo <= slot <= hi for lo, hi in e.slots):
                n = self._by_id(e.node_id)
                if n is not None:
                    return n
        raise LauncherError(f"no node owns slot {slot}")
