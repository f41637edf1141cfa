"""A live slot migration (MIGRATING/IMPORTING + MIGRATE) while the client reads and writes."""

from __future__ import annotations

import threading
import time

from cluster_helpers import finish_migration, start_migration

from rediscluster_lite import ClusterClient, key_slot

TAG = "{migrating}"


def migrate_slot(cluster, slot: int, source, target, batch: int = 10, pause: float = 0.01) -> None:
    """What `redis-cli --cluster reshard` does for one slot, slowed down to widen the ASK window."""
    start_migration(cluster, slot, target, keys_per_migrate=batch, pause=pause)
    finish_migration(cluster, slot, source, target)


def test_live_migration_is_invisible_to_the_caller(redis_cluster_factory):
    cluster = redis_cluster_factory()
    slot = key_slot(TAG)
    source = cluster.master_of_slot(slot)
    target = next(m for m in cluster.masters() if m.port != source.port)
    keys = [f"{TAG}:{i}" for i in range(300)]

    errors: list[BaseException] = []
    stop = threading.Event()
    rounds = [0]

    with ClusterClient(cluster.startup_nodes) as client:
        for key in keys:
            client.set(key, "0")

        def traffic() -> None:
            expected = dict.fromkeys(keys, b"0")
            try:
                while not stop.is_set():
                    rounds[0] += 1
                    for i, key in enumerate(keys):
                        if i % 3 == 0:
                            value = str(rounds[0]).encode()
                            client.set(key, value)
                            expected[key] = value
                        got = client.get(key)
                        assert got == expected[key], (key, got, expected[key])
                    # keys created mid-migration: only the target may hold them (ASK path)
                    fresh = f"{TAG}:fresh:{rounds[0]}"
                    client.set(fresh, "new")
                    assert client.get(fresh) == b"new"
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        worker = threading.Thread(target=traffic)
        worker.start()
        try:
            time.sleep(0.2)
            migrate_slot(cluster, slot, source, target)
            time.sleep(0.3)
        finally:
            stop.set()
            worker.join(30)
        assert not errors, errors
        assert rounds[0] >= 2
        # The slot now lives on the target, and the client learnt it from MOVED/refresh.
        assert cluster.master_of_slot(slot).port == target.port
        for key in keys:
            client.get(key)
        assert client.node_for(keys[0]).port == target.port
        assert cluster.command(target, "DBSIZE") >= len(keys)
