"""Pipelines and cross-slot multi-key commands on real clusters, through migration and failover."""

from __future__ import annotations

import uuid

import pytest
from test_migration_live import migrate_slot

from rediscluster_lite import CrossSlotError, ResponseError, key_slot


def commandstats(cluster, node, field: str = "calls") -> dict[str, int]:
    """``{command: count}`` from INFO commandstats; ``field="rejected_calls"`` counts MOVED/ASK refusals."""
    stats = {}
    for line in cluster.command(node, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_") :].split(":", 1)
            values = dict(item.split("=", 1) for item in rest.split(","))
            stats[name] = int(values[field])
    return stats


@pytest.fixture
def client(redis_cluster, make_client):
    with make_client(redis_cluster.startup_nodes) as c:
        yield c


def prefix() -> str:
    return uuid.uuid4().hex[:8]


def test_pipeline_results_come_back_in_call_order_across_all_masters(client, redis_cluster):
    p = prefix()
    keys = [f"{p}:{i}" for i in range(300)]
    assert len({redis_cluster.master_of_slot(key_slot(k)).port for k in keys}) == 3
    pipe = client.pipeline()
    for i, key in enumerate(keys):
        pipe.set(key, i).get(key)
    results = pipe.execute()
    assert results == [x for i in range(300) for x in (True, str(i).encode())]
    assert len(pipe) == 0  # execute() empties it


def test_pipeline_server_errors_in_place_or_raised_with_the_index(client):
    p = prefix()
    client.rpush(f"{p}:list", "x")
    pipe = client.pipeline().set(f"{p}:a", 1).get(f"{p}:list").get(f"{p}:a")
    results = pipe.execute(raise_on_error=False)
    assert results[0] is True and results[2] == b"1"
    assert isinstance(results[1], ResponseError) and results[1].code == "WRONGTYPE"
    with pytest.raises(ResponseError) as info:
        client.pipeline().set(f"{p}:a", 1).get(f"{p}:list").execute()
    assert info.value.index == 1
    assert "#1" in str(info.value)


def test_pipeline_reads_follow_the_read_mode(redis_cluster, make_client):
    nodes = redis_cluster.masters() + redis_cluster.replicas()
    for node in nodes:
        redis_cluster.command(node, "CONFIG", "RESETSTAT")
    p = prefix()
    with make_client(redis_cluster.startup_nodes, read_from="replica_preferred") as c:
        pipe = c.pipeline()
        for i in range(60):
            pipe.set(f"{p}:{i}", i)
        pipe.execute()
        pipe = c.pipeline()
        for i in range(60):
            pipe.get(f"{p}:{i}")
        pipe.execute()
    masters = {n.port for n in redis_cluster.masters()}
    stats = {n.port: commandstats(redis_cluster, n) for n in nodes}
    assert sum(stats[port].get("get", 0) for port in masters) == 0
    assert sum(stats[port].get("get", 0) for port in stats if port not in masters) == 60
    assert sum(stats[port].get("set", 0) for port in masters) == 60


def test_mget_mset_delete_exists_across_slots(client):
    p = prefix()
    mapping = {f"{p}:{i}": f"v{i}" for i in range(100)}
    assert client.mset(mapping) is True
    keys = list(mapping) + [f"{p}:missing"]
    assert client.mget(keys) == [v.encode() for v in mapping.values()] + [None]
    assert client.mget(*keys[:3]) == [b"v0", b"v1", b"v2"]
    assert client.exists(*keys) == 100
    assert client.touch(*keys) == 100
    assert client.delete(*keys[:50]) == 50
    assert client.unlink(*keys) == 50
    assert client.mget(keys[:5]) == [None] * 5


def test_same_slot_keys_travel_in_one_command(client, redis_cluster):
    tag = prefix()
    keys = [f"{{{tag}}}:{i}" for i in range(20)]
    owner = redis_cluster.master_of_slot(key_slot(keys[0]))
    before = commandstats(redis_cluster, owner).get("mget", 0)
    client.mget(keys)
    assert commandstats(redis_cluster, owner).get("mget", 0) == before + 1


def test_mget_sends_one_get_per_key_alone_in_its_slot(client, redis_cluster):
    p = prefix()
    keys = [f"{p}:{i}" for i in range(30)]
    assert len({key_slot(k) for k in keys}) == len(keys)
    client.mset({k: k for k in keys})
    masters = redis_cluster.masters()
    before = [commandstats(redis_cluster, m) for m in masters]
    assert client.mget(keys) == [k.encode() for k in keys]
    after = [commandstats(redis_cluster, m) for m in masters]
    assert sum(a.get("get", 0) - b.get("get", 0) for a, b in zip(after, before)) == len(keys)
    assert sum(a.get("mget", 0) - b.get("mget", 0) for a, b in zip(after, before)) == 0


def test_mget_reads_a_key_of_another_type_as_none_like_mget_does(client):
    p = prefix()
    client.execute_command("RPUSH", f"{p}:list", "x")
    client.execute_command("HSET", f"{p}:hash", "f", "v")
    client.set(f"{p}:string", "v")
    # Each alone in its slot (sent as GETs, which answer WRONGTYPE) ...
    keys = [f"{p}:list", f"{p}:hash", f"{p}:string", f"{p}:missing"]
    assert len({key_slot(k) for k in keys}) == len(keys)
    assert client.mget(keys) == [None, None, b"v", None]
    # ... and sharing a slot (one MGET, which answers nil).
    tag = f"{{{p}}}"
    client.execute_command("RPUSH", f"{tag}list", "x")
    client.set(f"{tag}string", "v")
    assert client.mget(f"{tag}list", f"{tag}string", "elsewhere:" + p) == [None, b"v", None]


def test_mget_with_keys_sharing_a_slot_and_keys_alone_keeps_call_order(client):
    p = prefix()
    tag = f"{{{p}}}"
    mapping = {f"{tag}a": "1", f"solo:{p}": "2", f"{tag}b": "3", f"other:{p}": "4"}
    client.mset(mapping)
    assert client.mget(list(mapping) + [f"{tag}a"]) == [b"1", b"2", b"3", b"4", b"1"]


def test_mget_key_of_a_wrong_type_is_a_type_error_before_io(client):
    with pytest.raises(TypeError):
        client.mget(["a", None])


def test_all_or_nothing_msetnx_across_slots_raises_before_io(client):
    with pytest.raises(CrossSlotError) as info:
        client.msetnx({"a": 1, "b": 2})
    assert set(info.value.slots) == {key_slot("a"), key_slot("b")}
    tag = prefix()
    assert client.msetnx({f"{{{tag}}}a": 1, f"{{{tag}}}b": 2}) is True


@pytest.fixture
def fresh(redis_cluster_factory):
    return redis_cluster_factory()


def test_pipeline_and_mget_across_a_slot_migration(fresh, make_client):
    cluster = fresh
    tag = "{moving}"
    slot = key_slot(tag)
    source = cluster.master_of_slot(slot)
    target = next(m for m in cluster.masters() if m.port != source.port)
    moving = [f"{tag}:{i}" for i in range(40)]
    others = [f"other:{i}" for i in range(40)]
    # No periodic refresh: the client must learn the move from MOVED replies alone.
    with make_client(cluster.startup_nodes, refresh_interval=None) as client:
        client.mset({k: k for k in moving + others})
        # Half-way: half the slot's keys are on the target (reads of those get ASK).
        cluster.command(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
        cluster.command(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
        cluster.command(source, "MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *moving[:20])
        pipe = client.pipeline()
        for key in moving + others:
            pipe.get(key)
        assert pipe.execute() == [k.encode() for k in moving + others]
        assert client.mget(moving + others) == [k.encode() for k in moving + others]
        # Finish the move; the client's map is now stale for that slot (MOVED).
        migrate_slot(cluster, slot, source, target)
        ran_before = sum(commandstats(cluster, n).get("get", 0) for n in cluster.masters())
        refused_before = commandstats(cluster, source, "rejected_calls").get("get", 0)
        pipe = client.pipeline()
        for key in moving + others:
            pipe.get(key)
        assert pipe.execute() == [k.encode() for k in moving + others]
        # Every GET ran once; the moved slot's were first refused by the old owner (MOVED) and resent.
        assert sum(commandstats(cluster, n).get("get", 0) for n in cluster.masters()) - ran_before == 80
        assert commandstats(cluster, source, "rejected_calls").get("get", 0) - refused_before == len(moving)
        assert client.node_for(moving[0]).port == target.port
        assert client.mget(moving) == [k.encode() for k in moving]


def test_pipeline_and_mget_across_a_failover(fresh, make_client):
    cluster = fresh
    keys = [f"fo:{i}" for i in range(60)]
    with make_client(cluster.startup_nodes) as client:
        client.mset({k: k for k in keys})
        for node in cluster.masters():
            cluster.command(node, "WAIT", 1, 2000)
        victim = cluster.master_of_slot(key_slot(keys[0]))
        cluster.kill(victim)
        cluster.wait_for_failover(victim)
        pipe = client.pipeline()
        for key in keys:
            pipe.get(key).set(key, key + "!")
        results = pipe.execute()
        assert results[0::2] == [k.encode() for k in keys]
        assert all(r is True for r in results[1::2])
        assert client.mget(keys) == [(k + "!").encode() for k in keys]
