"""The slot map, built from CLUSTER SLOTS replies recorded from a real Redis 7 server (tests/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rediscluster_lite.errors import ProtocolError, ResponseError
from rediscluster_lite.resp import INCOMPLETE, new_reader
from rediscluster_lite.slotmap import SLOTS, Node, Shard, SlotMap, parse_address

DATA = Path(__file__).resolve().parent / "data"


def recorded(name: str, encoding: str | None = None):
    reader = new_reader(encoding)
    reader.feed((DATA / name).read_bytes())
    reply = reader.gets()
    assert reply is not False
    return reply


def _meta() -> dict[str, tuple[int, str]]:
    nodes = {}
    for line in (DATA / "meta.txt").read_text().splitlines():
        parts = line.split()
        if parts[0] == "node":
            nodes[parts[1]] = (int(parts[2].rsplit(":", 1)[1]), parts[3])
    return nodes


META = _meta()  # name -> (port, node id) of the recording cluster's A, B (masters), C (A's replica), D (B's)


def port(name: str) -> int:
    return META[name][0]


def node_id(name: str) -> str:
    return META[name][1]


def node(name: str, host: str = "127.0.0.1") -> Node:
    return Node(host, port(name))


ASKED = "10.20.30.40"  # the host the reply was (supposedly) asked of


# --- recorded shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", [None, "utf-8"], ids=["bytes", "decoded"])
def test_single_node_reply_empty_host_means_the_asked_host(encoding):
    reply = recorded("cluster_slots_single.resp", encoding)
    assert reply[0][2][0] in (b"", "")  # the recording really has an empty host
    slot_map = SlotMap.from_cluster_slots(reply, ASKED)
    master = Node(ASKED, port("A"))
    assert slot_map.masters == (master,)
    assert slot_map.slots[0].master == master and slot_map.slots[16383].master == master
    assert slot_map.slots[0].master.node_id == node_id("A")
    assert slot_map.uncovered() == []
    assert slot_map.slots[0].replicas == ()


def test_fresh_node_without_slots_gives_an_empty_map_with_everything_uncovered():
    slot_map = SlotMap.from_cluster_slots(recorded("cluster_slots_empty.resp"), ASKED)
    assert slot_map.shards == ()
    assert slot_map.uncovered() == [(0, SLOTS - 1)]
    assert all(s is None for s in slot_map.slots)


@pytest.mark.parametrize("encoding", [None, "utf-8"], ids=["bytes", "decoded"])
def test_redis7_reply_with_node_ids_metadata_and_replicas_per_range(encoding):
    slot_map = SlotMap.from_cluster_slots(recorded("cluster_slots_replicas.resp", encoding), ASKED)
    a, b, c, d = (node(n) for n in "ABCD")
    assert len(slot_map.slots) == SLOTS
    assert slot_map.slots[0] == Shard(a, (c,))
    assert slot_map.slots[5000] == Shard(a, (c,))
    assert slot_map.slots[6000] == Shard(b, (d,))
    assert slot_map.slots[9999].master == b
    assert slot_map.slots[10000].master == a and slot_map.slots[10100].master == a
    assert slot_map.slots[10101].master == b and slot_map.slots[16383].master == b
    # one Shard object per master, however many ranges it serves
    assert slot_map.slots[0] is slot_map.slots[10050]
    assert len(slot_map.shards) == 2
    assert set(slot_map.masters) == {a, b}
    assert set(slot_map.nodes) == {a, b, c, d}
    # node ids are kept (and do not take part in equality)
    assert slot_map.slots[0].master.node_id == node_id("A")
    assert slot_map.slots[0].replicas[0].node_id == node_id("C")
    assert slot_map.slots[6000].replicas[0].node_id == node_id("D")
    assert slot_map.shard_of_node(d) is slot_map.slots[6000]
    assert slot_map.shard_of_node(Node("127.0.0.1", 1)) is None


def test_uncovered_slots_are_reported_as_ranges():
    slot_map = SlotMap.from_cluster_slots(recorded("cluster_slots_replicas.resp"), ASKED)
    assert slot_map.uncovered() == [(5001, 5999)]
    assert slot_map.slots[5001] is None and slot_map.slots[5999] is None
    assert slot_map.slots[5000] is not None and slot_map.slots[6000] is not None


def test_null_host_unknown_endpoint_means_the_asked_host():
    reply = recorded("cluster_slots_unknown.resp")
    assert reply[0][2][0] is None  # recorded with cluster-preferred-endpoint-type unknown-endpoint
    slot_map = SlotMap.from_cluster_slots(reply, ASKED)
    assert {n.host for n in slot_map.nodes} == {ASKED}
    assert {n.port for n in slot_map.nodes} == {port(n) for n in "ABCD"}
    assert slot_map.uncovered() == [(5001, 5999)]


def test_hostnames_are_used_and_question_mark_means_the_asked_host():
    reply = recorded("cluster_slots_hostnames.resp")
    assert reply[0][3][0] == b"?"  # the replica has no hostname
    slot_map = SlotMap.from_cluster_slots(reply, ASKED)
    assert slot_map.slots[0] == Shard(Node("node-a.example", port("A")), (Node(ASKED, port("C")),))
    assert slot_map.slots[6000] == Shard(Node("node-b.example", port("B")), (Node(ASKED, port("D")),))
    assert slot_map.slots[0].master.name == f"node-a.example:{port('A')}"


def test_metadata_map_does_not_change_the_address():
    with_meta = SlotMap.from_cluster_slots(recorded("cluster_slots_ip_meta.resp"), ASKED)
    plain = SlotMap.from_cluster_slots(recorded("cluster_slots_replicas.resp"), ASKED)
    assert with_meta.slots == plain.slots
    assert with_meta.slots[0].master.host == "127.0.0.1"


def test_redis3_shape_without_ids_is_accepted():
    reply = [[0, 8191, [b"10.0.0.1", 7000], [b"10.0.0.2", 7001]], [8192, 16383, [b"10.0.0.3", 7002]]]
    slot_map = SlotMap.from_cluster_slots(reply, ASKED)
    assert slot_map.slots[0] == Shard(Node("10.0.0.1", 7000), (Node("10.0.0.2", 7001),))
    assert slot_map.slots[0].master.node_id is None
    assert slot_map.uncovered() == []


def test_ipv6_hosts_are_named_with_brackets():
    slot_map = SlotMap.from_cluster_slots([[0, 16383, [b"::1", 7000, b"id1"]]], ASKED)
    master = slot_map.slots[0].master
    assert master.host == "::1" and master.name == "[::1]:7000"


# --- MOVED patches ----------------------------------------------------------------------------------------


def test_with_moved_patches_only_that_slot_and_returns_a_new_map():
    old = SlotMap.from_cluster_slots(recorded("cluster_slots_replicas.resp"), ASKED)
    a, b, d = node("A"), node("B"), node("D")
    old_slots = list(old.slots)
    new = old.with_moved(100, b)
    assert new is not old
    assert new.slots[100] == Shard(b, (d,))  # the known master's shard, replicas included
    assert new.slots[100] is new.slots[6000]
    assert [i for i in range(SLOTS) if new.slots[i] is not old.slots[i]] == [100]
    # the old map is unchanged
    assert old.slots == old_slots
    assert old.slots[100].master == a
    assert new.slots[99].master == a and new.slots[101].master == a


def test_with_moved_to_an_unknown_node_adds_a_shard_without_replicas():
    old = SlotMap.from_cluster_slots(recorded("cluster_slots_replicas.resp"), ASKED)
    stranger = Node("127.0.0.1", 1)
    new = old.with_moved(5500, stranger)  # an uncovered slot, now served
    assert new.slots[5500] == Shard(stranger, ())
    assert stranger in new.masters
    assert new.uncovered() == [(5001, 5499), (5501, 5999)]
    assert stranger not in old.masters and old.uncovered() == [(5001, 5999)]


def test_with_moved_to_a_promoted_replica():
    old = SlotMap.from_cluster_slots(recorded("cluster_slots_replicas.resp"), ASKED)
    c = node("C")  # A's replica
    new = old.with_moved(0, c)
    assert new.slots[0].master == c
    assert new.slots[1].master == node("A")


def test_with_moved_drops_a_shard_that_no_longer_serves_any_slot():
    a, b = Node("10.0.0.1", 7000), Node("10.0.0.2", 7000)
    old = SlotMap.from_ranges([(0, 0, Shard(a)), (1, 16383, Shard(b))])
    new = old.with_moved(0, b)
    assert new.masters == (b,)
    assert new.uncovered() == []
    assert old.masters == (a, b)


def test_slot_map_is_frozen():
    slot_map = SlotMap.from_cluster_slots(recorded("cluster_slots_single.resp"), ASKED)
    with pytest.raises(AttributeError):
        slot_map.shards = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        slot_map.slots[0].master = Node("x", 1)  # type: ignore[misc]


# --- malformed replies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        b"OK",
        None,
        42,
        ResponseError("ERR This instance has cluster support disabled"),
        [[b"zero", 100, [b"h", 1]]],
        [[0, 100]],
        [[0, 100, None]],
        [[0, 100, 7]],
        [[0, 100, [b"h"]]],
        [[0, 100, [b"h", b"port"]]],
        [[0, 100, [b"\xff\xfe", 1]]],
        [[0, 100, [b"h", 1], [b"r"]]],
        [[0, 16384, [b"h", 1]]],
        [[-1, 5, [b"h", 1]]],
        [[10, 5, [b"h", 1]]],
        [None],
        [7],
    ],
    ids=repr,
)
def test_malformed_reply_raises_protocol_error(reply):
    with pytest.raises(ProtocolError):
        SlotMap.from_cluster_slots(reply, ASKED)


def test_truncated_recorded_reply_is_not_a_reply():
    data = (DATA / "cluster_slots_replicas.resp").read_bytes()
    reader = new_reader()
    reader.feed(data[: len(data) // 2])
    assert reader.gets() is INCOMPLETE


# --- addresses ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (("127.0.0.1", 7000), ("127.0.0.1", 7000)),
        ("127.0.0.1:7000", ("127.0.0.1", 7000)),
        ("[::1]:7000", ("::1", 7000)),
        ("redis.example:6379", ("redis.example", 6379)),
        (Node("h", 1), ("h", 1)),
    ],
)
def test_parse_address_accepts_tuples_strings_and_nodes(value, expected):
    assert parse_address(value) == expected


@pytest.mark.parametrize("value", ["localhost", ":7000", "h:port", "h:"])
def test_parse_address_rejects_bad_strings_with_value_error(value):
    with pytest.raises(ValueError):
        parse_address(value)


@pytest.mark.parametrize("value", [7000, ("h", "7000"), ("h", True), ("h", 1, 2), None])
def test_parse_address_rejects_other_types_with_type_error(value):
    with pytest.raises(TypeError):
        parse_address(value)


def test_node_equality_ignores_the_id_and_name_is_host_port():
    assert Node("h", 1, "abc") == Node("h", 1, "def") == Node("h", 1)
    assert hash(Node("h", 1, "abc")) == hash(Node("h", 1))
    assert Node("h", 1).name == "h:1" == str(Node("h", 1))


def test_with_nodes_replaces_every_node_and_drops_the_refused():
    m1, r1, m2, r2 = Node("a", 1), Node("b", 1), Node("c", 1), Node("d", 1)
    slot_map = SlotMap.from_ranges([(0, 99, Shard(m1, (r1,))), (100, 16383, Shard(m2, (r2,)))])
    renamed = {"a": "A", "b": "B", "d": "D"}  # "c" is refused

    def admit(node: Node) -> Node | None:
        host = renamed.get(node.host)
        return None if host is None else Node(host, node.port + 1000, node.node_id)

    patched = slot_map.with_nodes(admit)
    assert patched.slots[0] == Shard(Node("A", 1001), (Node("B", 1001),))
    assert patched.slots[0] is patched.slots[99]  # a shard stays one object for all its slots
    assert patched.uncovered() == [(100, 16383)]  # its master was refused
    assert patched.shards == (patched.slots[0],)
    assert patched.shard_index[0] == 0 and patched.shard_index[100] == 1
    assert slot_map.slots[0].master == m1  # the original is untouched
