"""A server that redirects to a host outside the cluster: the client refreshes its map once, follows only
what the refreshed map names, and never opens a connection (so never sends credentials) anywhere else.
``allowed_hosts`` and ``address_remap`` apply to the slot map and to redirects alike.

Scripted fake nodes on loopback; every other address is refused by a guard on ``socket.create_connection``,
so no test here can reach the network."""

from __future__ import annotations

import random
import socket

import pytest
from fakenode import OK, FakeNode, ask, bulk, moved, slots_reply

from rediscluster_lite import ClusterClient, key_slot
from rediscluster_lite.errors import NodeNotAllowedError, ResponseError, SlotNotCoveredError
from rediscluster_lite.readfrom import ReadFrom
from rediscluster_lite.router import REFRESH, SEND, SLEEP, RetryPolicy, route
from rediscluster_lite.slotmap import Node, Shard, SlotMap
from rediscluster_lite.state import ClusterState

KEY = "user:{42}"
SLOT = key_slot(KEY)
STRANGER = "10.9.9.9:7000"
TIMEOUT = 0.3


@pytest.fixture
def dialed(monkeypatch):
    """Every address the client tried to connect to; anything but loopback is refused, never dialled."""
    attempts: list[tuple[str, int]] = []
    real = socket.create_connection

    def guard(address, *args, **kwargs):
        attempts.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"test guard: {address} is not loopback")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guard)
    return attempts


@pytest.fixture
def nodes():
    made: list[FakeNode] = []

    def make(count: int = 1) -> list[FakeNode]:
        new = [FakeNode(name=chr(ord("A") + len(made) + i)) for i in range(count)]
        made.extend(new)
        return new

    yield make
    for node in made:
        node.close()


@pytest.fixture
def clients():
    made: list[ClusterClient] = []

    def make(*startup, **kwargs) -> ClusterClient:
        options = dict(socket_timeout=TIMEOUT, connect_timeout=TIMEOUT, refresh_interval=None)
        options.update(kwargs)
        client = ClusterClient([s.address if isinstance(s, FakeNode) else s for s in startup], **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def stranger_was_never_dialled(dialed: list) -> bool:
    return all(address[0] == "127.0.0.1" for address in dialed)


# --- the rule: refresh once, follow only what the new map names ---------------------------------------------


def test_moved_to_an_unknown_host_refreshes_once_then_raises_naming_the_host(nodes, clients, dialed):
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    a.on("GET", moved(SLOT, STRANGER))
    a.on("AUTH", OK)
    client = clients(a, password="s3cret")
    asked_before = len(a.commands("CLUSTER"))

    with pytest.raises(NodeNotAllowedError) as caught:
        client.get(KEY)

    assert caught.value.node == STRANGER and STRANGER in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert len(a.commands("CLUSTER")) == asked_before + 1  # one refresh, from the known node
    assert stranger_was_never_dialled(dialed)
    assert STRANGER not in {pool.node.name for pool in client._topology.pools()}
    assert client.node_for(KEY) == Node(a.host, a.port)  # the map was not patched with the stranger


def test_ask_to_an_unknown_host_is_refused_the_same_way(nodes, clients, dialed):
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    a.on("GET", ask(SLOT, STRANGER))
    client = clients(a)
    with pytest.raises(NodeNotAllowedError, match="ASK"):
        client.get(KEY)
    assert stranger_was_never_dialled(dialed)


def test_moved_to_a_host_the_refreshed_map_names_is_followed(nodes, clients, dialed):
    # b is announced as 10.0.0.2:7000 and reached through address_remap; the first map does not name it.
    a, b = nodes(2)
    announced_b = ("10.0.0.2", 7000)
    truth = {"slots": [(0, 16383, a)]}
    a.on("CLUSTER SLOTS", lambda argv, node: slots_reply(truth["slots"]))
    remap = {announced_b: (b.host, b.port)}
    client = clients(a, address_remap=lambda host, port: remap.get((host, port), (host, port)))

    truth["slots"] = [(0, 16383, announced_b)]
    a.on("GET", moved(SLOT, "10.0.0.2:7000"))
    b.on("GET", bulk("from-b"))
    assert client.get(KEY) == b"from-b"
    assert client.node_for(KEY) == Node(b.host, b.port)
    assert stranger_was_never_dialled(dialed)


def test_a_pipeline_command_redirected_to_an_unknown_host_fails_alone(nodes, clients, dialed):
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    other = "other:{7}"
    a.on("GET", lambda argv, node: moved(SLOT, STRANGER) if argv[1] == KEY.encode() else bulk("fine"))
    client = clients(a)
    pipe = client.pipeline()
    pipe.get(KEY)
    pipe.get(other)
    first, second = pipe.execute(raise_on_error=False)
    assert isinstance(first, NodeNotAllowedError) and second == b"fine"
    assert stranger_was_never_dialled(dialed)


def test_every_caller_of_apply_moved_gets_the_check(nodes, clients, dialed):
    # pub/sub and transactions patch the map through topology.apply_moved: the rule lives there too.
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    client = clients(a)
    before = client.slot_map
    with pytest.raises(NodeNotAllowedError):
        client._topology.apply_moved(SLOT, Node("10.9.9.9", 7000))
    assert client.slot_map.slots[SLOT] == before.slots[SLOT]
    assert stranger_was_never_dialled(dialed)


# --- allowed_hosts -----------------------------------------------------------------------------------------


def test_a_startup_node_outside_allowed_hosts_is_refused_before_any_io(clients, dialed):
    with pytest.raises(ValueError, match="allowed_hosts"):
        clients("127.0.0.1:1", allowed_hosts=["10.0.0.0/8"])
    assert dialed == []


def test_a_redirect_outside_allowed_hosts_fails_without_a_refresh(nodes, clients, dialed):
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    a.on("GET", moved(SLOT, "127.0.0.2:7000"))
    client = clients(a, allowed_hosts=["127.0.0.1"])
    asked_before = len(a.commands("CLUSTER"))
    with pytest.raises(NodeNotAllowedError, match="allowed_hosts"):
        client.get(KEY)
    assert len(a.commands("CLUSTER")) == asked_before
    assert ("127.0.0.2", 7000) not in dialed


def test_map_nodes_outside_allowed_hosts_are_left_out_and_never_dialled(nodes, clients, dialed):
    (a,) = nodes(1)
    a.serve_slots([(0, SLOT - 1, a), (SLOT, 16383, ("10.1.1.1", 7000))])
    client = clients(a, allowed_hosts=["127.0.0.0/8"])
    assert client.slot_map.uncovered() == [(SLOT, 16383)]
    with pytest.raises(SlotNotCoveredError):
        client.get(KEY)
    assert stranger_was_never_dialled(dialed)


def test_the_pool_refuses_a_host_outside_allowed_hosts(nodes, clients, dialed):
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    client = clients(a, allowed_hosts=["127.0.0.1"])
    with pytest.raises(NodeNotAllowedError):
        client._topology.pool(Node("10.2.2.2", 7000))
    assert stranger_was_never_dialled(dialed)


def test_the_pool_refuses_a_host_no_slot_map_ever_named(nodes, clients, dialed):
    # The last line of defence for paths that name a node themselves (an explicit target, a transaction's ASK).
    (a,) = nodes(1)
    a.serve_slots([(0, 16383, a)])
    client = clients(a)
    with pytest.raises(NodeNotAllowedError, match="10.3.3.3:7000"):
        client.ping(target_nodes="10.3.3.3:7000")
    assert stranger_was_never_dialled(dialed)


# --- address_remap -----------------------------------------------------------------------------------------


def test_address_remap_turns_announced_addresses_into_reachable_ones(nodes, clients, dialed):
    # A cluster behind NAT: the nodes announce 172.16.0.x, the client reaches them on loopback ports.
    a, b = nodes(2)
    inside = {("172.16.0.1", 6379): a, ("172.16.0.2", 6379): b}
    layout = slots_reply([(0, SLOT - 1, ("172.16.0.1", 6379)), (SLOT, 16383, ("172.16.0.2", 6379))])
    a.on("CLUSTER SLOTS", layout)
    a.on("GET", bulk("from-a"))
    b.on("GET", bulk("from-b"))

    def remap(host: str, port: int) -> tuple[str, int]:
        fake = inside.get((host, port))
        return (fake.host, fake.port) if fake else (host, port)

    client = clients(a, address_remap=remap, allowed_hosts=["127.0.0.1"])
    low = next(k for k in (f"k{i}" for i in range(1000)) if key_slot(k) < SLOT)
    assert client.get(KEY) == b"from-b"
    assert client.get(low) == b"from-a"
    assert {(n.host, n.port) for n in client.slot_map.masters} == {(a.host, a.port), (b.host, b.port)}
    assert stranger_was_never_dialled(dialed)


def test_address_remap_applies_to_an_ask_redirect(nodes, clients, dialed):
    a, b = nodes(2)
    a.serve_slots([(0, 16383, a)])
    a.on("GET", ask(SLOT, "172.16.0.2:6379"))
    b.on("ASKING", OK)
    b.on("GET", bulk("from-b"))
    announced = {("172.16.0.2", 6379): (b.host, b.port)}
    client = clients(a, address_remap=lambda h, p: announced.get((h, p), (h, p)))
    assert client.get(KEY) == b"from-b"
    assert b.commands("ASKING")


# --- read_from: one source of truth ------------------------------------------------------------------------


def test_setting_read_from_takes_effect_on_the_next_command(nodes, clients, dialed):
    master, replica = nodes(2)
    for fake in (master, replica):
        fake.serve_slots([(0, 16383, master, [replica])])
    master.on("GET", bulk("from-master"))
    replica.on("READONLY", OK)
    replica.on("GET", bulk("from-replica"))
    client = clients(master)
    assert client.get(KEY) == b"from-master"
    client.read_from = "replica"
    assert client.read_from is ReadFrom.REPLICA and "read_from=replica" in repr(client)
    assert client.get(KEY) == b"from-replica"
    client.read_from = ReadFrom.PRIMARY
    assert client.get(KEY) == b"from-master"
    with pytest.raises(ValueError):
        client.read_from = "nearest-ish"
    assert client.read_from is ReadFrom.PRIMARY


def test_a_redirect_to_another_port_of_a_known_host_is_followed_without_a_refresh(nodes, clients, dialed):
    # b has no slots yet (a node being filled by a resharding) but lives on a host the map names.
    a, b = nodes(2)
    a.serve_slots([(0, 16383, a)])
    a.on("GET", ask(SLOT, b))
    b.on("ASKING", OK)
    b.on("GET", bulk("from-b"))
    client = clients(a)
    asked_before = len(a.commands("CLUSTER"))
    assert client.get(KEY) == b"from-b"
    assert len(a.commands("CLUSTER")) == asked_before


# --- the router's side, effect by effect ------------------------------------------------------------------


class ClockedState(ClusterState):
    """A RoutingState on the pure state, its clock stopped at 0 (as the sync topology, minus the pools)."""

    def is_down(self, node: Node) -> bool:
        return self.is_down_at(node, 0.0)

    def mark_down(self, node: Node) -> None:
        self.mark_down_at(node, 0.0)

    def move_slot(self, slot: int, node: Node) -> bool:
        assert super().move_slot(slot, node)
        return True


OWNER = Node("10.0.0.1", 7000)
FAR = Node("10.9.9.9", 7000)


def routed_to_stranger() -> tuple[ClockedState, object]:
    state = ClockedState([OWNER], rng=random.Random(0))
    state.install(SlotMap.from_ranges([(0, 16383, Shard(OWNER))]), now=0.0)
    steps = route(state, RetryPolicy(), SLOT, False, False)
    assert next(steps) == (SEND, OWNER, False, False)
    assert steps.send(ResponseError(f"MOVED {SLOT} {FAR.name}")) == (SLEEP, 0.0)
    assert steps.send(None)[0] == REFRESH
    return state, steps


def test_router_refreshes_before_following_a_redirect_to_an_unknown_host_then_follows_the_new_map():
    state, steps = routed_to_stranger()
    state.install(SlotMap.from_ranges([(0, 16383, Shard(FAR))]), now=1.0)  # the refresh the shell ran
    assert steps.send(None) == (SEND, FAR, False, False)


def test_router_refuses_a_redirect_the_refreshed_map_still_does_not_name():
    state, steps = routed_to_stranger()
    assert steps.send(None) == (SEND, OWNER, False, False)  # the refresh changed nothing
    with pytest.raises(NodeNotAllowedError, match="10.9.9.9:7000"):
        steps.send(ResponseError(f"MOVED {SLOT} {FAR.name}"))
    assert state.slot_map.slots[SLOT].master == OWNER
