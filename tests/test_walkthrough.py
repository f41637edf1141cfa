"""The classic six-node walk-through, against real redis-server processes.

Three keys land on three masters; SIGKILL the master of ``key_01``; its replica is promoted; the same
client object keeps reading ``key_01``; kill the promoted node too and the client fails promptly;
restart both and the client recovers with the new roles kept.
"""

from __future__ import annotations

import time

import pytest

from rediscluster_lite import ClusterClient, ClusterDownError, ConnectionError, ReadFrom, key_slot

KEYS = {"key_01": b"value-01", "key_02": b"value-02", "key_03": b"value-03"}


@pytest.fixture
def walkthrough_cluster(redis_cluster_factory):
    # appendonly: the restarted nodes must come back with their data, as in the tutorial.
    return redis_cluster_factory(appendonly=True)


def test_walkthrough_failover_cluster_down_and_recovery(walkthrough_cluster):
    cluster = walkthrough_cluster
    client = ClusterClient(cluster.startup_nodes, read_from=ReadFrom.REPLICA_PREFERRED)

    # Three keys, three masters: each is stored on the master that owns its slot.
    for key, value in KEYS.items():
        assert client.set(key, value) is True
    owners = {key: cluster.master_of_slot(key_slot(key)) for key in KEYS}
    assert len({o.port for o in owners.values()}) == 3, "key_01..key_03 hash to three different masters"
    for key, value in KEYS.items():
        assert cluster.command(owners[key], "GET", key, decode=False) == value
        assert client.node_for(key).port == owners[key].port

    old_master = owners["key_01"]
    (replica,) = cluster.replicas_of(old_master)

    # Kill the master of key_01 for real; its replica takes over.
    cluster.kill(old_master)
    promoted = cluster.wait_for_failover(old_master)
    assert promoted.port == replica.port
    # The same client object, no restart, reads key_01 again (from the promoted node).
    assert client.get("key_01") == KEYS["key_01"]
    # A write needs the master: the dead one refuses, the client refreshes and finds the promoted node.
    assert client.set("key_01", b"after-failover") is True
    assert client.node_for("key_01").port == promoted.port
    assert client.get("key_01") == b"after-failover"

    # Kill the promoted node too: that shard has no node left. The client must fail promptly.
    cluster.kill(promoted)
    started = time.monotonic()
    with pytest.raises((ClusterDownError, ConnectionError)):
        client.get("key_01")
    assert time.monotonic() - started < 5.0
    cluster.wait_for_state("fail", timeout=30)
    started = time.monotonic()
    with pytest.raises((ClusterDownError, ConnectionError)):
        client.set("key_02", b"x")
    assert time.monotonic() - started < 5.0

    # Restart both: the promoted node keeps the master role, the old master rejoins as its replica.
    cluster.restart(promoted)
    cluster.restart(old_master)
    cluster.wait_for_state("ok", timeout=30)
    deadline = time.monotonic() + 15
    while True:
        try:
            value = client.get("key_01")
            break
        except (ClusterDownError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert value == b"after-failover"
    assert cluster.role_of(promoted) == "master"
    assert cluster.role_of(old_master) == "replica"
    assert client.node_for("key_01").port == promoted.port
    assert client.get("key_02") == KEYS["key_02"]
    client.close()


def test_periodic_refresh_spreads_replica_reads_again_after_failover(redis_cluster_factory):
    cluster = redis_cluster_factory()
    with ClusterClient(cluster.startup_nodes, read_from="replica_preferred", refresh_interval=0.5) as client:
        client.set("key_01", "v")
        old_master = cluster.master_of_slot(key_slot("key_01"))
        cluster.kill(old_master)
        promoted = cluster.wait_for_failover(old_master)
        client.set("key_01", "w")  # finds the promoted master
        cluster.restart(old_master)  # comes back as the promoted node's replica
        cluster.wait_for_stable()
        assert cluster.role_of(old_master) == "replica"
        # No error tells the client about the new replica; only the periodic refresh can.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            shard = client.slot_map.slots[key_slot("key_01")]
            if any(r.port == old_master.port for r in shard.replicas):
                break
            client.get("key_02")
            time.sleep(0.1)
        else:
            raise AssertionError(f"the new replica never appeared in the client's map: {shard}")
        # The client marked the old master down when it refused a connection; that mark lasts a second.
        time.sleep(client._topology.down_for + 0.1)
        cluster.command(old_master, "CONFIG", "RESETSTAT")
        for _ in range(10):
            client.get("key_01")
        stats = cluster.command(old_master, "INFO", "commandstats")
        assert "cmdstat_get:calls=10" in stats
        assert promoted.port == client.node_for("key_01").port
