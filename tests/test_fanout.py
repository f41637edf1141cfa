"""fanout.py without a server: which nodes ``target_nodes`` names, and how per-node replies are merged."""

from __future__ import annotations

import pytest

from rediscluster_lite import fanout
from rediscluster_lite.fanout import resolve_targets
from rediscluster_lite.slotmap import Node, Shard, SlotMap

M1, M2, M3 = Node("10.0.0.1", 7000, "m1"), Node("10.0.0.2", 7001, "m2"), Node("10.0.0.3", 7002, "m3")
R1, R2, R3 = Node("10.0.0.1", 7100, "r1"), Node("10.0.0.2", 7101, "r2"), Node("10.0.0.3", 7102, "r3")
R1B = Node("10.0.0.4", 7200, "r1b")


@pytest.fixture
def slot_map() -> SlotMap:
    return SlotMap.from_ranges(
        [
            (10923, 16383, Shard(M3, (R3,))),
            (0, 5460, Shard(M1, (R1, R1B))),
            (5461, 10922, Shard(M2, (R2,))),
        ]
    )


@pytest.fixture
def masters_only() -> SlotMap:
    return SlotMap.from_ranges([(0, 8191, Shard(M1)), (8192, 16383, Shard(M2))])


# --- modes -------------------------------------------------------------------------------------------


def test_primaries_are_every_master(slot_map):
    assert set(resolve_targets(slot_map, "primaries")) == {M1, M2, M3}
    assert len(resolve_targets(slot_map, "primaries")) == 3


def test_replicas_are_every_replica_of_every_shard(slot_map):
    assert set(resolve_targets(slot_map, "replicas")) == {R1, R1B, R2, R3}


def test_all_is_every_master_and_replica_once(slot_map):
    nodes = resolve_targets(slot_map, "all")
    assert set(nodes) == {M1, M2, M3, R1, R1B, R2, R3}
    assert len(nodes) == 7


def test_random_is_one_master(slot_map):
    seen = set()
    for _ in range(60):
        nodes = resolve_targets(slot_map, "random")
        assert len(nodes) == 1
        assert nodes[0] in (M1, M2, M3)
        seen.add(nodes[0])
    assert len(seen) > 1  # not always the same one


@pytest.mark.parametrize(
    "alias, mode",
    [
        ("masters", "primaries"),
        ("primary", "primaries"),
        ("slaves", "replicas"),
        ("replica", "replicas"),
        ("nodes", "all"),
        ("PRIMARIES", "primaries"),
        ("All", "all"),
        ("Replicas", "replicas"),
    ],
)
def test_aliases_and_any_case_name_the_same_nodes(slot_map, alias, mode):
    assert resolve_targets(slot_map, alias) == resolve_targets(slot_map, mode)


def test_module_constants_are_the_mode_names(slot_map):
    assert (fanout.PRIMARIES, fanout.REPLICAS, fanout.ALL, fanout.RANDOM) == ("primaries", "replicas", "all", "random")


def test_unknown_mode_raises_value_error_naming_it(slot_map):
    with pytest.raises(ValueError, match="bogus"):
        resolve_targets(slot_map, "bogus")


def test_replicas_of_a_cluster_without_replicas_raise_value_error(masters_only):
    with pytest.raises(ValueError, match="names no node"):
        resolve_targets(masters_only, "replicas")


def test_a_mode_on_an_empty_map_raises_value_error():
    empty = SlotMap.from_ranges([])
    for mode in ("primaries", "all", "random"):
        with pytest.raises(ValueError):
            resolve_targets(empty, mode)


# --- single nodes ------------------------------------------------------------------------------------


def test_a_host_port_string_names_that_node_with_its_id(slot_map):
    (node,) = resolve_targets(slot_map, "10.0.0.2:7101")
    assert node == R2
    assert node.node_id == "r2"  # the map's own Node, not a bare copy


def test_a_host_port_tuple_names_that_node(slot_map):
    assert resolve_targets(slot_map, ("10.0.0.3", 7002)) == [M3]


def test_a_node_object_names_itself(slot_map):
    assert resolve_targets(slot_map, Node("10.0.0.1", 7000)) == [M1]


def test_an_ipv6_address_string_is_parsed(slot_map):
    (node,) = resolve_targets(slot_map, "[::1]:7000")
    assert (node.host, node.port) == ("::1", 7000)


def test_an_address_outside_the_map_is_still_a_target(slot_map):
    # Not in the slot map (a node being added, say): sent to as named.
    assert resolve_targets(slot_map, "10.9.9.9:6379") == [Node("10.9.9.9", 6379)]


def test_a_malformed_address_raises_value_error(slot_map):
    with pytest.raises(ValueError):
        resolve_targets(slot_map, "10.0.0.1:notaport")


def test_a_non_target_type_raises_type_error(slot_map):
    with pytest.raises(TypeError, match="target_nodes"):
        resolve_targets(slot_map, 7000)


# --- lists -------------------------------------------------------------------------------------------


def test_a_list_mixes_forms_and_keeps_its_order(slot_map):
    nodes = resolve_targets(slot_map, ["10.0.0.3:7002", ("10.0.0.1", 7100), M2])
    assert nodes == [M3, R1, M2]


def test_a_list_drops_duplicates_keeping_the_first(slot_map):
    nodes = resolve_targets(slot_map, [M1, "10.0.0.1:7000", ("10.0.0.1", 7000), R1, M1])
    assert nodes == [M1, R1]


def test_a_list_of_modes_is_their_union(slot_map):
    nodes = resolve_targets(slot_map, ["primaries", "replicas", "all"])
    assert set(nodes) == {M1, M2, M3, R1, R1B, R2, R3}
    assert len(nodes) == 7


def test_a_tuple_of_addresses_is_a_list_not_one_node(slot_map):
    # (host, port) has an int second item; a tuple of two strings is a list of two addresses.
    assert resolve_targets(slot_map, ("10.0.0.1:7000", "10.0.0.2:7001")) == [M1, M2]


def test_a_list_with_an_unknown_mode_raises_value_error(slot_map):
    with pytest.raises(ValueError, match="bogus"):
        resolve_targets(slot_map, [M1, "bogus"])


def test_an_empty_list_names_no_node_and_raises_value_error(slot_map):
    # The docstring's rule ("ValueError if it names none"): otherwise dbsize() would sum nothing to 0 and
    # ping() would report True without asking anyone.
    with pytest.raises(ValueError):
        resolve_targets(slot_map, [])


# --- merging per-node replies -----------------------------------------------------------------------


def test_total_sums_the_replies():
    assert fanout.total({"a:1": 3, "b:2": 0, "c:3": 7}) == 10
    assert fanout.total({}) == 0


def test_concatenated_keeps_node_order_then_reply_order():
    assert fanout.concatenated({"a:1": [b"x", b"y"], "b:2": [], "c:3": [b"z"]}) == [b"x", b"y", b"z"]


def test_per_node_is_the_replies_as_given():
    replies = {"a:1": 1, "b:2": 2}
    assert fanout.per_node(replies) == replies


def test_all_ok_needs_every_node_to_say_ok():
    assert fanout.all_ok({"a:1": b"OK", "b:2": "OK", "c:3": True}) is True
    assert fanout.all_ok({"a:1": b"OK", "b:2": b"QUEUED"}) is False


def test_all_pong_needs_every_node_to_say_pong():
    assert fanout.all_pong({"a:1": b"PONG", "b:2": "PONG"}) is True
    assert fanout.all_pong({"a:1": b"PONG", "b:2": b"OK"}) is False


def test_parse_info_converts_numbers_and_skips_sections():
    text = (
        b"# Server\r\nredis_version:7.0.15\r\ntcp_port:7000\r\nuptime_in_days:0\r\n\r\n"
        b"# Memory\r\nmem_fragmentation_ratio:1.25\r\nmaxmemory_policy:noeviction\r\n"
        b"# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n"
    )
    info = fanout.parse_info(text)
    assert info == {
        "redis_version": "7.0.15",
        "tcp_port": 7000,
        "uptime_in_days": 0,
        "mem_fragmentation_ratio": 1.25,
        "maxmemory_policy": "noeviction",
        "db0": "keys=3,expires=0,avg_ttl=0",
    }
    assert fanout.parse_info(text.decode()) == info


def test_parse_info_keeps_colons_in_values():
    assert fanout.parse_info("executable:/usr/bin/redis-server\nlisten:127.0.0.1:7000\n") == {
        "executable": "/usr/bin/redis-server",
        "listen": "127.0.0.1:7000",
    }


def test_infos_parses_each_node():
    out = fanout.infos({"a:1": b"connected_clients:3\r\n", "b:2": "connected_clients:5\r\n"})
    assert out == {"a:1": {"connected_clients": 3}, "b:2": {"connected_clients": 5}}


def test_config_maps_from_resp2_pairs_and_resp3_maps():
    out = fanout.config_maps({"a:1": [b"maxmemory", b"0", b"timeout", b"30"], "b:2": {b"maxmemory": b"5"}})
    assert out == {"a:1": {b"maxmemory": b"0", b"timeout": b"30"}, "b:2": {b"maxmemory": b"5"}}


def test_all_have_is_true_only_where_every_node_has_the_script():
    assert fanout.all_have({"a:1": [1, 1, 0], "b:2": [1, 0, 0]}) == [True, False, False]
    assert fanout.all_have({}) == []


def test_the_same_returns_the_agreed_value_or_raises():
    assert fanout.the_same({"a:1": b"abc", "b:2": b"abc"}) == b"abc"
    assert fanout.the_same({}) is None
    with pytest.raises(ValueError, match="disagree"):
        fanout.the_same({"a:1": b"abc", "b:2": b"def"})
