"""``client.read_from`` is the one read mode routing uses: setting it moves the next reads, on real nodes."""

from __future__ import annotations

from test_read_modes_live import commandstats

from rediscluster_lite import ClusterClient, ReadFrom


def gets_by_role(cluster) -> tuple[int, int]:
    masters = sum(commandstats(cluster, n).get("get", 0) for n in cluster.masters())
    replicas = sum(commandstats(cluster, n).get("get", 0) for n in cluster.replicas())
    return masters, replicas


def reset_stats(cluster) -> None:
    for node in cluster.masters() + cluster.replicas():
        cluster.command(node, "CONFIG", "RESETSTAT")


def test_setting_read_from_moves_the_next_reads_between_masters_and_replicas(redis_cluster):
    keys = [f"setter:{i}" for i in range(30)]
    with ClusterClient(redis_cluster.startup_nodes) as c:
        reset_stats(redis_cluster)
        for key in keys:
            c.get(key)
        assert gets_by_role(redis_cluster) == (len(keys), 0)

        c.read_from = "replica"
        assert c.read_from is ReadFrom.REPLICA
        reset_stats(redis_cluster)
        for key in keys:
            c.get(key)
        c.mget(keys)
        on_masters, on_replicas = gets_by_role(redis_cluster)
        assert on_masters == 0 and on_replicas >= 2 * len(keys)  # the GETs and the mget's, all on replicas

        c.read_from = ReadFrom.PRIMARY
        reset_stats(redis_cluster)
        for key in keys:
            c.get(key)
        assert gets_by_role(redis_cluster) == (len(keys), 0)
