"""The cluster as the client knows it, and every decision about keeping that knowledge fresh.

:class:`ClusterState` holds the slot map, the down-marks, the refresh schedule and the host policy. It is
pure: it never reads a clock (methods that need the time take ``now``, a monotonic reading from the
shell), never touches a socket or a lock, and draws randomness only from the ``random.Random`` it is
given. The blocking topology (``_sync/topology.py``) subclasses it and adds only pools, locks and a clock;
an asyncio topology can do the same.

Rules it keeps:

1. The slot map is immutable and replaced whole (a refresh) or by a patched copy (a ``MOVED``).
2. A node that failed is marked down for ``down_for`` seconds: asked last, never skipped.
3. A periodic refresh is due ``refresh_interval`` after the last good one; a ``MOVED`` makes one due at
   once; a failed refresh is retried after at most a second; refreshes are at least
   ``min_refresh_interval`` apart unless forced or owed to a redirect check (rule 5).
4. ``CLUSTER SLOTS`` is asked of the known nodes in random order, then the startup nodes, nodes marked
   down last. A refusal of the credentials is fatal when the caller asks for failures to be raised (every
   node would say the same); any other failure moves on to the next node.
5. Every address a server announces (in the slot map or in a redirect) goes through ``address_remap``
   (announced -> reachable) and must pass ``allowed_hosts``; a node that fails is left out of the map and
   no connection is ever opened to it. A redirect to a host on which the map (or the startup list) names
   no node is followed only if a refreshed map names one (see :meth:`ClusterState.check_redirect`).
"""

from __future__ import annotations

import ipaddress
import itertools
import random
from collections.abc import Callable, Generator, Iterable
from typing import Any

from .commands import CommandTable
from .errors import ConnectError, NodeNotAllowedError, ProtocolError, RedisClusterError, ResponseError
from .readfrom import ReadFrom
from .slotmap import SLOTS, Node, Shard, SlotMap

__all__ = ["ClusterState", "HostPolicy", "AddressRemap", "AllowedHost", "refresh_slots", "is_fatal_refresh_error"]

AddressRemap = Callable[[str, int], tuple[str, int]]
AllowedHost = str | ipaddress.IPv4Network | ipaddress.IPv6Network | ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# What the shell sends back into refresh_slots: (monotonic now, the CLUSTER SLOTS reply or the exception).
RefreshSteps = Generator[Node, tuple[float, Any], SlotMap | None]


class HostPolicy:
    """``allowed_hosts`` and ``address_remap``: which announced addresses the client may connect to, and where.

    ``allowed_hosts`` holds host names (matched exactly, case-insensitively) and IP networks or addresses
    (``ipaddress`` objects, or strings such as ``"10.0.0.0/8"``); ``None`` allows every host.
    ``address_remap(host, port)`` returns the ``(host, port)`` to connect to for an announced address.
    """

    __slots__ = ("names", "networks", "remap", "restricts")

    def __init__(self, allowed_hosts: Iterable[AllowedHost] | None = None, address_remap: AddressRemap | None = None):
        if address_remap is not None and not callable(address_remap):
            raise TypeError(f"address_remap must be a callable (host, port) -> (host, port), got {address_remap!r}")
        self.remap = address_remap
        self.names: frozenset[str] = frozenset()
        self.networks: tuple[_Network, ...] = ()
        self.restricts = allowed_hosts is not None
        if allowed_hosts is None:
            return
        if isinstance(allowed_hosts, (str, bytes)):
            raise TypeError("allowed_hosts is a list of hosts or networks, not one string")
        names, networks = set(), []
        for item in allowed_hosts:
            network = _as_network(item)
            if network is not None:
                networks.append(network)
            else:
                names.add(item.lower().strip("[]"))
        self.names, self.networks = frozenset(names), tuple(networks)

    @property
    def active(self) -> bool:
        """Whether this policy changes anything (an inactive one costs nothing on a refresh)."""
        return self.restricts or self.remap is not None

    def allows(self, host: str) -> bool:
        if not self.restricts:
            return True
        if host.lower() in self.names:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a host name that is not listed
        return any(address in network for network in self.networks if network.version == address.version)

    def reachable(self, node: Node) -> Node | None:
        """The address to connect to for an announced ``node``, or ``None`` if it may not be connected to."""
        if self.remap is not None:
            node = self._remapped(node)
        return node if self.allows(node.host) else None

    def _remapped(self, node: Node) -> Node:
        result = self.remap(node.host, node.port)  # type: ignore[misc]
        if (
            not isinstance(result, tuple)
            or len(result) != 2
            or not isinstance(result[0], str)
            or not isinstance(result[1], int)
            or isinstance(result[1], bool)
        ):
            raise TypeError(f"address_remap({node.host!r}, {node.port}) must return (host, port), got {result!r}")
        if result == (node.host, node.port):
            return node
        return Node(result[0], result[1], node.node_id)


def _as_network(item: Any) -> _Network | None:
    if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return item
    if isinstance(item, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return ipaddress.ip_network(item)
    if not isinstance(item, str) or not item.strip("[]"):
        raise TypeError(f"allowed_hosts holds host names or ipaddress networks, got {item!r}")
    try:
        return ipaddress.ip_network(item.strip("[]"), strict=False)
    except ValueError:
        return None  # a host name


def is_fatal_refresh_error(exc: BaseException) -> bool:
    """Wrong credentials: every node would refuse them the same way, so asking the next one is pointless."""
    if not isinstance(exc, ResponseError):
        return False
    return exc.code in ("NOAUTH", "WRONGPASS", "NOPERM") or "auth" in str(exc).lower()


class ClusterState:
    """Slot map, down-marks and refresh schedule of one client. See the module docstring for the rules.

    Plain attributes, read on every command by the router and the shell: ``slot_map``, ``read_from``,
    ``refresh_due`` (monotonic time of the next periodic refresh; 0 means "at the next command") and
    ``down_until`` (node name -> monotonic time its down-mark ends; empty when no node is down).
    """

    def __init__(
        self,
        startup_nodes: Iterable[Node],
        *,
        read_from: ReadFrom = ReadFrom.PRIMARY,
        refresh_interval: float | None = 5.0,
        min_refresh_interval: float = 0.1,
        down_for: float = 1.0,
        hosts: HostPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.startup_nodes = tuple(startup_nodes)
        if not self.startup_nodes:
            raise ValueError("startup_nodes is empty: give at least one 'host:port' of the cluster")
        self.hosts = hosts if hosts is not None else HostPolicy()
        refused = [n.name for n in self.startup_nodes if not self.hosts.allows(n.host)]
        if refused:
            raise ValueError(f"startup node(s) {', '.join(refused)} are not in allowed_hosts")
        self.read_from = read_from
        self.refresh_interval = refresh_interval
        self.min_refresh_interval = min_refresh_interval
        self.down_for = down_for
        self.rng = rng if rng is not None else random.Random()
        self.slot_map: SlotMap = SlotMap([None] * SLOTS, ())
        self.refresh_due = 0.0
        self.refreshes = 0
        self.last_refresh = -1e9
        self.refresh_owed = False
        self.down_until: dict[str, float] = {}
        self.known_hosts = frozenset(n.host.lower() for n in self.startup_nodes)
        self.seen_hosts = set(self.known_hosts)  # every host any map named: the last word on connecting
        self._turns = itertools.count()

    # --- what the router reads ---------------------------------------------------------------------

    def next_turn(self) -> int:
        """A counter that spreads reads over a shard's nodes (``ReadFrom`` round robin)."""
        return next(self._turns)

    def is_down_at(self, node: Node, now: float) -> bool:
        until = self.down_until.get(node.name)
        if until is None:
            return False
        if now < until:
            return True
        self.down_until.pop(node.name, None)  # expired; a racing thread may have popped it first
        return False

    def mark_down_at(self, node: Node, now: float) -> None:
        self.down_until[node.name] = now + self.down_for

    def keyless_shard(self) -> Shard:
        """The shard for a command with no key: any, at random. ``LookupError`` if the map has none."""
        shards = self.slot_map.shards
        if not shards:
            raise LookupError
        return self.rng.choice(shards)

    # --- redirects ---------------------------------------------------------------------------------

    def check_redirect(
        self, code: str, source: Node | None, announced: Node, refreshed: bool
    ) -> Node | NodeNotAllowedError | None:
        """Whether to follow ``code`` (``MOVED``/``ASK``) from ``source`` (if known) to ``announced``.

        The reachable node to follow (its host is one the map or the startup list names: another port of
        a known host may be a new node that has no slots yet); ``None``: refresh, then ask again with
        ``refreshed=True``; or the error to raise (outside ``allowed_hosts``, or unknown after a refresh).
        """
        node = self.hosts.reachable(announced)
        redirect = f"{code} to {announced.name}" if source is None else f"{code} from {source.name} to {announced.name}"
        if node is None:
            return NodeNotAllowedError(f"{redirect}: that host is not in allowed_hosts; not followed", announced.name)
        if node.host.lower() in self.known_hosts:
            return node
        if not refreshed:
            self.refresh_owed = True  # the refresh that settles this one skips the rate limit
            return None
        return NodeNotAllowedError(
            f"{redirect}: the cluster's slot map names no node on that host, even after a refresh; not followed",
            announced.name,
        )

    def connect_refusal(self, node: Node) -> NodeNotAllowedError | None:
        """Why no connection may be opened to ``node``, or ``None``. The shell asks before opening a pool:
        a host outside ``allowed_hosts``, or one that no slot map and no startup node ever named, never
        gets a connection (nor the credentials), whichever path led there."""
        if not self.hosts.allows(node.host):
            return NodeNotAllowedError(f"{node.name} is not in allowed_hosts; no connection opened", node.name)
        if node.host.lower() not in self.seen_hosts:
            return NodeNotAllowedError(
                f"{node.name}: no slot map of this cluster ever named that host; no connection opened", node.name
            )
        return None

    def move_slot(self, slot: int, announced: Node) -> bool:
        """Apply a ``MOVED``: patch the map and make a full refresh due. ``False`` (map untouched) when
        the node is not one :meth:`check_redirect` would follow without a refresh."""
        node = self.hosts.reachable(announced)
        if node is None or node.host.lower() not in self.known_hosts:
            return False
        # A lost race between two patches is harmless: the full refresh made due here fixes both.
        self.slot_map = self.slot_map.with_moved(slot, node)
        self.refresh_due = 0.0
        return True

    def follow_moved(self, slot: int, announced: Node) -> Generator[str, None, None]:
        """Apply a ``MOVED`` met outside the router (pub/sub): yields a refresh reason when the map must be
        reloaded first (the shell refreshes, then resumes); raises NodeNotAllowedError when the redirect
        may not be followed."""
        if self.move_slot(slot, announced):
            return
        verdict = self.check_redirect("MOVED", None, announced, refreshed=False)
        if verdict is None:
            yield f"MOVED to unknown node {announced.name}"
            verdict = self.check_redirect("MOVED", None, announced, refreshed=True)
        if isinstance(verdict, NodeNotAllowedError):
            raise verdict
        self.move_slot(slot, announced)

    # --- the refresh schedule ----------------------------------------------------------------------

    def refresh_wanted(self, now: float, force: bool = False) -> bool:
        """Rule 3's rate limit: may a refresh start now?"""
        return force or self.refresh_owed or now - self.last_refresh >= self.min_refresh_interval

    def refresh_candidates(self, now: float) -> list[Node]:
        """Rule 4's order: known nodes shuffled, then startup nodes, the nodes marked down last."""
        known = list(self.slot_map.nodes)
        self.rng.shuffle(known)
        seen = {n.name for n in known}
        ordered = known + [n for n in self.startup_nodes if n.name not in seen]
        # Nodes that just failed are asked last, not skipped: they may be all we have.
        down = {n.name for n in ordered if self.is_down_at(n, now)}
        return [n for n in ordered if n.name not in down] + [n for n in ordered if n.name in down]

    def admitted(self, slot_map: SlotMap) -> SlotMap:
        """``slot_map`` with every node remapped and the nodes outside ``allowed_hosts`` left out."""
        if not self.hosts.active:
            return slot_map
        return slot_map.with_nodes(self.hosts.reachable)

    def install(self, slot_map: SlotMap, now: float) -> None:
        """A refresh succeeded: use ``slot_map`` and schedule the next periodic refresh."""
        self.slot_map = slot_map
        self.known_hosts = frozenset(n.host.lower() for n in (*slot_map.nodes, *self.startup_nodes))
        self.seen_hosts |= self.known_hosts
        self.refreshes += 1
        self.last_refresh = now
        self.refresh_owed = False
        self.refresh_due = now + self.refresh_interval if self.refresh_interval else float("inf")

    def refresh_failed(self, now: float) -> None:
        """No node answered: keep the old map, and do not make every command pay a round of failing
        connects; try again in a second (or sooner, with a shorter interval)."""
        self.last_refresh = now
        self.refresh_owed = False
        self.refresh_due = now + min(self.refresh_interval or 1.0, 1.0)

    # --- the command table -------------------------------------------------------------------------

    def command_table_nodes(self) -> list[Node]:
        """Where to ask ``COMMAND``: the masters, or the startup nodes before the first map."""
        return list(self.slot_map.masters) or list(self.startup_nodes)


def refresh_slots(state: ClusterState, now: float, raise_on_failure: bool = False) -> RefreshSteps:
    """One refresh as a generator: yields each node to ask ``CLUSTER SLOTS``, in rule 4's order.

    The shell sends back ``(now, outcome)``: the reply (error replies as ``ResponseError`` values) or the
    exception the request raised. Returns the new map, already installed in ``state``; or ``None`` when
    no node gave one (after :meth:`ClusterState.refresh_failed`). With ``raise_on_failure`` it raises
    instead: the credentials error at once, or a ``ConnectError`` listing what each node said.
    """
    errors: list[str] = []
    for node in state.refresh_candidates(now):
        now, outcome = yield node
        try:
            if isinstance(outcome, BaseException):
                raise outcome
            new_map = state.admitted(SlotMap.from_cluster_slots(outcome, node.host))
        except (RedisClusterError, OSError) as exc:
            if raise_on_failure and is_fatal_refresh_error(exc):
                raise  # wrong credentials: every node will say the same; say it now
            errors.append(f"{node.name}: {exc}")
            if isinstance(exc, ConnectError):
                state.mark_down_at(node, now)
            continue
        if not new_map.shards:
            errors.append(f"{node.name}: no slots assigned")
            continue
        state.install(new_map, now)
        return new_map
    state.refresh_failed(now)
    if raise_on_failure:
        raise ConnectError("could not load the cluster's slot map from any node: " + "; ".join(errors))
    return None


def load_command_table(state: ClusterState) -> Generator[Node, Any, CommandTable]:
    """The command table as a generator: yields each node to ask ``COMMAND``; the shell sends back the
    reply or the exception the request raised. A node that fails is skipped; an error reply (``COMMAND``
    denied by ACL) or an unreadable reply ends the search: the built-in table has to do."""
    for node in state.command_table_nodes():
        outcome = yield node
        if isinstance(outcome, BaseException):
            if isinstance(outcome, (RedisClusterError, OSError)):
                continue
            raise outcome
        if isinstance(outcome, list) and outcome:
            try:
                return CommandTable.from_command_reply(outcome)
            except ProtocolError:
                break
        break
    return CommandTable()
