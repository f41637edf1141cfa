"""Fan-out against a real cluster: keys, scan_iter, dbsize, flushall, info, config, ping, and target_nodes.

One cluster of this module's own (a known key set, and FLUSHALL allowed) serves most tests; the failover
scans each start a fresh one.
"""

from __future__ import annotations

import time

import pytest
from cluster_helpers import commandstat

from rediscluster_lite import ClusterClient, ConnectionError, key_slot
from rediscluster_lite.local import LocalCluster

PREFIX = "fan"
N_KEYS = 300


def known_keys() -> set[bytes]:
    return {f"{PREFIX}:{i}".encode() for i in range(N_KEYS)}


def seed(client: ClusterClient, cluster: LocalCluster) -> None:
    client.mset({key: b"v" for key in known_keys()})
    for master in cluster.masters():
        cluster.command(master, "WAIT", 1, 5000)  # the replicas hold the keys too


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(masters=3, replicas_per_master=1, node_timeout_ms=5000) as c:
        with ClusterClient(c.startup_nodes) as client:
            seed(client, c)
        yield c


@pytest.fixture
def client(cluster, make_client):
    with make_client(cluster.startup_nodes) as c:
        yield c


def node_names(nodes) -> set[str]:
    return {f"{n.host}:{n.port}" for n in nodes}


def test_the_known_keys_live_on_all_three_masters(cluster):
    assert all(cluster.command(m, "DBSIZE") > 0 for m in cluster.masters())


# --- dbsize / keys ------------------------------------------------------------------------------------


def test_dbsize_is_the_sum_of_the_masters_dbsize(client, cluster):
    per_master = [cluster.command(m, "DBSIZE") for m in cluster.masters()]
    assert client.dbsize() == sum(per_master) == N_KEYS


def test_dbsize_of_replicas_counts_the_replicated_keys(client):
    assert client.dbsize(target_nodes="replicas") == N_KEYS


def test_keys_returns_the_keys_of_all_three_masters(client, cluster):
    got = client.keys(f"{PREFIX}:*")
    assert sorted(got) == sorted(known_keys())
    for master in cluster.masters():
        on_master = set(cluster.command(master, "KEYS", f"{PREFIX}:*", decode=False))
        assert on_master and on_master <= set(got)


def test_keys_pattern_is_applied_on_each_node(client):
    assert sorted(client.keys(f"{PREFIX}:1?")) == sorted(f"{PREFIX}:1{d}".encode() for d in range(10))


# --- scan_iter ----------------------------------------------------------------------------------------


def test_scan_iter_yields_every_key_exactly_once(client):
    got = list(client.scan_iter())
    assert len(got) == len(set(got)) == N_KEYS
    assert set(got) == known_keys()


def test_scan_iter_is_lazy(client, cluster):
    before = sum(commandstat(cluster, m, "scan") for m in cluster.masters())
    it = client.scan_iter(count=10)
    first = next(it)
    assert first in known_keys()
    after = sum(commandstat(cluster, m, "scan") for m in cluster.masters())
    assert after - before == 1  # one SCAN on one master, not the whole keyspace up front
    it.close()


def test_scan_iter_match_filters_keys(client):
    got = list(client.scan_iter(match=f"{PREFIX}:2??"))
    assert sorted(got) == sorted(f"{PREFIX}:{i}".encode() for i in range(200, 300))


def test_scan_iter_count_is_passed_to_scan(client, cluster):
    masters = cluster.masters()
    before = sum(commandstat(cluster, m, "scan") for m in masters)
    assert set(client.scan_iter(count=1000)) == known_keys()
    big = sum(commandstat(cluster, m, "scan") for m in masters) - before
    assert set(client.scan_iter(count=5)) == known_keys()
    small = sum(commandstat(cluster, m, "scan") for m in masters) - before - big
    assert big == 3  # one full pass per master
    assert small > 3 * 10  # ~100 keys per master, 5 at a time


def test_scan_iter_type_filters_by_type(client):
    hashes = {f"typed:{{h{i}}}".encode() for i in range(12)}
    lists = {f"typed:{{l{i}}}".encode() for i in range(12)}
    try:
        for key in hashes:
            client.hset(key, "f", "v")
        for key in lists:
            client.rpush(key, "x")
        assert set(client.scan_iter(match="typed:*", _type="hash")) == hashes
        assert set(client.scan_iter(match="typed:*", _type="list")) == lists
        assert set(client.scan_iter(match="typed:*", _type="string")) == set()
        assert set(client.scan_iter(_type="string")) == known_keys()
    finally:
        client.delete(*hashes, *lists)


def test_scan_iter_on_replicas_sees_the_same_keys(client):
    got = list(client.scan_iter(target_nodes="replicas"))
    assert len(got) == N_KEYS and set(got) == known_keys()


# --- info / config ------------------------------------------------------------------------------------


def test_info_has_an_entry_per_node_with_parsed_ints(client, cluster):
    info = client.info(target_nodes="all")
    assert set(info) == node_names(cluster.nodes)
    assert len(info) == 6
    for name, fields in info.items():
        assert fields["tcp_port"] == int(name.rsplit(":", 1)[1])
        assert isinstance(fields["connected_clients"], int)
        assert isinstance(fields["redis_version"], str)
    roles = sorted(fields["role"] for fields in info.values())
    assert roles == ["master"] * 3 + ["slave"] * 3


def test_info_section_on_primaries(client, cluster):
    info = client.info("replication", target_nodes="primaries")
    assert set(info) == node_names(cluster.masters())
    assert all(fields["role"] == "master" and fields["connected_slaves"] == 1 for fields in info.values())
    assert "redis_version" not in next(iter(info.values()))


def test_config_get_returns_each_masters_settings(client, cluster):
    got = client.config_get("maxmemory-policy", target_nodes="primaries")
    assert set(got) == node_names(cluster.masters())
    assert all(params == {"maxmemory-policy": "noeviction"} for params in got.values())
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}  # one master
    assert set(client.config_get("maxmemory-policy", target_nodes="all")) == node_names(cluster.nodes)


def test_config_set_reaches_every_node_and_reads_back(client, cluster):
    try:
        assert client.config_set("slowlog-max-len", 77) is True
        for node in cluster.nodes:
            assert cluster.command(node, "CONFIG", "GET", "slowlog-max-len") == ["slowlog-max-len", "77"]
        got = client.config_get("slowlog-max-len", target_nodes="all")
        assert len(got) == 6
        assert all(params == {"slowlog-max-len": "77"} for params in got.values())
    finally:
        client.config_set("slowlog-max-len", 128)


def test_config_set_on_one_node_leaves_the_others(client, cluster):
    one = cluster.masters()[1]
    try:
        assert client.config_set("slowlog-max-len", 55, target_nodes=f"{one.host}:{one.port}") is True
        values = {n.port: cluster.command(n, "CONFIG", "GET", "slowlog-max-len")[1] for n in cluster.nodes}
        assert values.pop(one.port) == "55"
        assert set(values.values()) == {"128"}
    finally:
        client.config_set("slowlog-max-len", 128)


# --- ping and target_nodes ----------------------------------------------------------------------------


def ping_counts(cluster) -> dict[int, int]:
    return {n.port: commandstat(cluster, n, "ping") for n in cluster.nodes}


def pinged(cluster, before: dict[int, int]) -> set[int]:
    after = ping_counts(cluster)
    return {port for port, calls in after.items() if calls > before[port]}


def test_ping_all_reaches_every_node(client, cluster):
    before = ping_counts(cluster)
    assert client.ping(target_nodes="all") is True
    assert pinged(cluster, before) == {n.port for n in cluster.nodes}


def test_ping_replicas_reaches_only_replicas(client, cluster):
    before = ping_counts(cluster)
    assert client.ping(target_nodes="replicas") is True
    assert pinged(cluster, before) == {n.port for n in cluster.replicas()}


def test_ping_primaries_reaches_only_masters(client, cluster):
    before = ping_counts(cluster)
    assert client.ping(target_nodes="primaries") is True
    assert pinged(cluster, before) == {n.port for n in cluster.masters()}


def test_target_a_single_host_port_string(client, cluster):
    node = cluster.replicas()[0]
    before = ping_counts(cluster)
    assert client.ping(target_nodes=f"{node.host}:{node.port}") is True
    assert pinged(cluster, before) == {node.port}
    assert client.dbsize(target_nodes=f"{node.host}:{node.port}") == cluster.command(node, "DBSIZE")


def test_target_a_host_port_tuple(client, cluster):
    node = cluster.masters()[2]
    before = ping_counts(cluster)
    assert client.ping(target_nodes=(node.host, node.port)) is True
    assert pinged(cluster, before) == {node.port}
    assert client.dbsize(target_nodes=(node.host, node.port)) == cluster.command(node, "DBSIZE")


def test_target_a_node_from_the_slot_map(client, cluster):
    node = client.node_for(f"{PREFIX}:1")
    assert client.dbsize(target_nodes=node) == cluster.command((node.host, node.port), "DBSIZE")


def test_target_a_list_of_nodes(client, cluster):
    m, r = cluster.masters()[0], cluster.replicas()[2]
    before = ping_counts(cluster)
    assert client.ping(target_nodes=[f"{m.host}:{m.port}", (r.host, r.port), (m.host, m.port)]) is True
    assert pinged(cluster, before) == {m.port, r.port}
    info = client.info("server", target_nodes=[(m.host, m.port), f"{r.host}:{r.port}"])
    assert [fields["tcp_port"] for fields in info.values()] == [m.port, r.port]


def test_keys_by_target_list_concatenates_those_nodes(client, cluster):
    a, b = cluster.masters()[:2]
    got = client.keys(f"{PREFIX}:*", target_nodes=[(a.host, a.port), (b.host, b.port)])
    expected = cluster.command(a, "KEYS", f"{PREFIX}:*", decode=False) + cluster.command(
        b, "KEYS", f"{PREFIX}:*", decode=False
    )
    assert sorted(got) == sorted(expected)
    assert len(got) < N_KEYS


def test_unknown_target_raises_value_error_before_io(client, cluster):
    before = {n.port: commandstat(cluster, n, "dbsize") for n in cluster.nodes}
    with pytest.raises(ValueError, match="bogus"):
        client.dbsize(target_nodes="bogus")
    with pytest.raises(ValueError):
        client.ping(target_nodes="nobody")
    assert {n.port: commandstat(cluster, n, "dbsize") for n in cluster.nodes} == before


def test_a_target_that_does_not_answer_raises_connection_error(client):
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        client.ping(target_nodes="127.0.0.1:1")
    assert time.monotonic() - started < 5


def test_fanout_commands_refuse_to_join_a_pipeline(client):
    with client.pipeline() as pipe, pytest.raises(TypeError, match="many nodes"):
        pipe.dbsize()


# --- flush --------------------------------------------------------------------------------------------


def test_flushall_empties_every_master(client, cluster):
    try:
        assert client.flushall() is True
        assert [cluster.command(m, "DBSIZE") for m in cluster.masters()] == [0, 0, 0]
        assert client.dbsize() == 0
        assert list(client.scan_iter()) == []
    finally:
        seed(client, cluster)
    assert client.dbsize() == N_KEYS


def test_flushdb_async_on_one_master_empties_only_that_master(client, cluster):
    victim = cluster.masters()[0]
    try:
        assert client.flushdb(asynchronous=True, target_nodes=(victim.host, victim.port)) is True
        deadline = time.monotonic() + 5
        while cluster.command(victim, "DBSIZE") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cluster.command(victim, "DBSIZE") == 0
        assert client.dbsize() == sum(cluster.command(m, "DBSIZE") for m in cluster.masters()) > 0
    finally:
        seed(client, cluster)


# --- scan across a failover ---------------------------------------------------------------------------


def seeded_factory_cluster(redis_cluster_factory, make_client):
    cluster = redis_cluster_factory(node_timeout_ms=1000)
    keys = {f"sf:{i}".encode() for i in range(240)}
    with make_client(cluster.startup_nodes) as c:
        c.mset(dict.fromkeys(keys, b"v"))
    for master in cluster.masters():
        cluster.command(master, "WAIT", 1, 5000)
    return cluster, keys


def test_scan_iter_continues_on_the_promoted_replica_of_the_master_being_scanned(redis_cluster_factory, make_client):
    cluster, keys = seeded_factory_cluster(redis_cluster_factory, make_client)
    with make_client(cluster.startup_nodes) as client:
        it = client.scan_iter(count=10)
        got = [next(it)]
        victim = client.node_for(got[0])  # the master being scanned right now
        promoted_before = {n.port for n in cluster.replicas_of((victim.host, victim.port))}
        cluster.kill((victim.host, victim.port))
        promoted = cluster.wait_for_failover((victim.host, victim.port))
        assert promoted.port in promoted_before
        got.extend(it)
    assert set(got) == keys  # every key of every shard, the failed one's from its promoted replica


def test_scan_iter_reaches_a_master_that_failed_over_before_its_turn(redis_cluster_factory, make_client):
    cluster, keys = seeded_factory_cluster(redis_cluster_factory, make_client)
    with make_client(cluster.startup_nodes) as client:
        it = client.scan_iter(count=10)
        got = [next(it)]
        first = client.node_for(got[0])
        victim = next(m for m in client.slot_map.masters if m != first)  # not scanned yet
        cluster.kill((victim.host, victim.port))
        cluster.wait_for_failover((victim.host, victim.port))
        got.extend(it)
    assert set(got) == keys


def test_scan_iter_reaches_a_failed_over_master_after_the_map_was_refreshed(redis_cluster_factory, make_client):
    # A shared client: another thread's traffic refreshes the slot map while this scan is paused.
    cluster, keys = seeded_factory_cluster(redis_cluster_factory, make_client)
    with make_client(cluster.startup_nodes) as client:
        it = client.scan_iter(count=10)
        got = [next(it)]
        first = client.node_for(got[0])
        victim = next(m for m in client.slot_map.masters if m != first)
        cluster.kill((victim.host, victim.port))
        cluster.wait_for_failover((victim.host, victim.port))
        client.refresh_slots()
        assert victim not in client.slot_map.nodes
        got.extend(it)
    assert set(got) == keys


def test_dbsize_right_after_a_failover_reaches_the_promoted_master(redis_cluster_factory, make_client):
    # The map still names the dead master. Connecting to it fails, so nothing was sent: like any command
    # whose connect failed (router rule 5), the fan-out refreshes and asks the promoted node instead.
    cluster, keys = seeded_factory_cluster(redis_cluster_factory, make_client)
    with make_client(cluster.startup_nodes, refresh_interval=None) as client:
        assert client.dbsize() == len(keys)
        victim = cluster.masters()[1]
        cluster.kill(victim)
        cluster.wait_for_failover(victim)
        assert client.dbsize() == len(keys)
        assert client.ping(target_nodes="primaries") is True


def test_key_slot_spread_of_the_known_keys():
    # Guards the premise of the tests above: the known keys cover all three default shards.
    slots = {key_slot(k) for k in known_keys()}
    assert min(slots) < 5461 and any(5461 <= s < 10923 for s in slots) and max(slots) >= 10923
