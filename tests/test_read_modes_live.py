"""Read modes against real nodes: where reads and writes land, and what happens when nodes die."""

from __future__ import annotations

import time
import uuid

import pytest

from rediscluster_lite import ReadFrom, key_slot


def commandstats(cluster, node) -> dict[str, int]:
    stats = {}
    for line in cluster.command(node, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_") :].split(":", 1)
            stats[name] = int(rest.split("calls=", 1)[1].split(",", 1)[0])
    return stats


def eventually(fn, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_replica_preferred_reads_land_on_replicas_and_writes_on_masters(redis_cluster, make_client):
    nodes = redis_cluster.masters() + redis_cluster.replicas()
    for node in nodes:
        redis_cluster.command(node, "CONFIG", "RESETSTAT")
    keys = [f"rp:{i}:{uuid.uuid4().hex}" for i in range(60)]
    with make_client(redis_cluster.startup_nodes, read_from=ReadFrom.REPLICA_PREFERRED) as c:
        for key in keys:
            c.set(key, key)
        for key in keys:
            # replication is asynchronous: a read right after the write may not see it yet
            assert eventually(lambda k=key: c.get(k) == k.encode())
    masters = {n.port for n in redis_cluster.masters()}
    stats = {n.port: commandstats(redis_cluster, n) for n in nodes}
    assert sum(stats[p].get("get", 0) for p in masters) == 0
    assert all(stats[p].get("set", 0) > 0 for p in masters)
    replicas = [p for p in stats if p not in masters]
    assert all(stats[p].get("get", 0) > 0 for p in replicas), stats
    # Every write went to a master (replicas count the SETs they replay from the replication stream too,
    # so the masters' total is what shows where the client sent them).
    assert sum(stats[p].get("set", 0) for p in masters) == len(keys)
    assert sum(stats[p].get("readonly", 0) for p in replicas) >= 1


def test_read_mode_accepts_strings(redis_cluster, make_client):
    with make_client(redis_cluster.startup_nodes, read_from="replica_preferred") as c:
        assert c.read_from is ReadFrom.REPLICA_PREFERRED
    with pytest.raises(ValueError):
        make_client(redis_cluster.startup_nodes, read_from="sideways")


def test_replica_mode_reads_only_from_replicas(redis_cluster, make_client):
    masters = redis_cluster.masters()
    for node in masters + redis_cluster.replicas():
        redis_cluster.command(node, "CONFIG", "RESETSTAT")
    with make_client(redis_cluster.startup_nodes, read_from="replica") as c:
        for i in range(30):
            c.get(f"replica-only:{i}")
    assert sum(commandstats(redis_cluster, n).get("get", 0) for n in masters) == 0


@pytest.fixture
def slow_failover_cluster(redis_cluster_factory):
    # A long node timeout leaves a window in which the master is dead and not yet replaced.
    return redis_cluster_factory(node_timeout_ms=8000)


def test_lost_replica_sends_reads_to_master_and_dead_master_reads_go_to_replica(slow_failover_cluster, make_client):
    cluster = slow_failover_cluster
    key = "key_01"
    with (
        make_client(cluster.startup_nodes, read_from="replica_preferred") as rp,
        make_client(cluster.startup_nodes, read_from="primary_preferred") as pp,
    ):
        rp.set(key, "v")
        master = cluster.master_of_slot(key_slot(key))
        (replica,) = cluster.replicas_of(master)
        assert eventually(lambda: rp.get(key) == b"v")
        assert pp.get(key) == b"v"

        # replica_preferred: losing the replica moves its reads to the master, no error for the caller.
        cluster.kill(replica)
        for _ in range(20):
            assert rp.get(key) == b"v"

        cluster.restart(replica)
        cluster.wait_for_stable()

        # primary_preferred: the master dies; until failover (8 s away) reads come from the replica.
        cluster.kill(master)
        started = time.monotonic()
        for _ in range(20):
            assert pp.get(key) == b"v"
        assert time.monotonic() - started < 5.0
        assert cluster.role_of(replica) == "replica", "the failover must not have happened yet"


@pytest.mark.parametrize("mode", ["replica_preferred", "replica"])
def test_pipeline_and_mget_reads_under_a_replica_mode_land_on_replicas(redis_cluster, mode, make_client):
    keys = [f"rp-batch:{i}:{uuid.uuid4().hex}" for i in range(60)]
    with make_client(redis_cluster.startup_nodes) as writer:
        writer.mset({k: k for k in keys})
        for master in redis_cluster.masters():  # replicas have every write before the reads start
            redis_cluster.command(master, "WAIT", 1, 2000)
    nodes = redis_cluster.masters() + redis_cluster.replicas()
    for node in nodes:
        redis_cluster.command(node, "CONFIG", "RESETSTAT")
    with make_client(redis_cluster.startup_nodes, read_from=mode) as c:
        with c.pipeline() as pipe:
            for key in keys:
                pipe.get(key)
            assert pipe.execute() == [k.encode() for k in keys]
        assert c.mget(keys) == [k.encode() for k in keys]
    masters = {n.port for n in redis_cluster.masters()}
    stats = {n.port: commandstats(redis_cluster, n) for n in nodes}
    assert sum(stats[p].get("get", 0) + stats[p].get("mget", 0) for p in masters) == 0, stats
    on_replicas = sum(s.get("get", 0) + s.get("mget", 0) for p, s in stats.items() if p not in masters)
    # the pipeline's GETs, then mget's: a GET per key alone in its slot, one MGET per slot shared by keys
    assert on_replicas == len(keys) + len({key_slot(k) for k in keys}), stats
