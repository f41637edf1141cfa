"""Geo, server, cluster-admin, client, ACL, script-cache and function commands give what redis-py's
``RedisCluster`` gives on the same cluster: the same value, or where a value depends on the node or the moment
(INFO counters, CLIENT LIST, ids), the same shape and types. Where we deliberately differ (redis-py refuses or
cannot route the command), our behaviour is pinned on its own."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from compat import Both

from rediscluster_lite import ClusterClient, key_slot
from rediscluster_lite.asyncio import ClusterClient as AsyncClient
from rediscluster_lite.errors import CrossSlotError, DataError, ResponseError

PLACES = [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"]


@pytest.fixture(scope="module")
def both(redis_cluster):
    pair = Both(redis_cluster.startup_nodes)
    yield pair
    pair.close()


def shape(value: Any) -> Any:
    """The structure and types of a value, without the values themselves (for node- or time-dependent replies)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, tuple):
        return tuple(shape(v) for v in value)
    return type(value).__name__


def a_master(client: Any) -> Any:
    """The first master, named the way each client takes it (ours: "host:port"; redis-py: a ClusterNode)."""
    if isinstance(client, ClusterClient):
        return min(f"{n.host}:{n.port}" for n in client._topology.slot_map.masters)
    return min(client.get_primaries(), key=lambda n: n.name)


def geo(c: Any, t: str) -> None:
    c.geoadd(f"{t}g", PLACES)


# --- geo -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.geoadd(f"{t}g", PLACES),
        lambda c, t: (c.geoadd(f"{t}g", [13.0, 38.0, "Palermo"], nx=True), c.geopos(f"{t}g", "Palermo")),
        lambda c, t: c.geoadd(f"{t}g", [13.0, 38.0, "Palermo", 1.0, 2.0, "New"], xx=True, ch=True),
        lambda c, t: c.geoadd(f"{t}g", [1.0, 2.0, "x"], nx=True, xx=True),
        lambda c, t: c.geoadd(f"{t}g", [1.0, 2.0]),
        lambda c, t: c.geodist(f"{t}g", "Palermo", "Catania"),
        lambda c, t: c.geodist(f"{t}g", "Palermo", "Catania", unit="km"),
        lambda c, t: c.geodist(f"{t}g", "Palermo", "Nowhere"),
        lambda c, t: c.geodist(f"{t}g", "Palermo", "Catania", unit="parsec"),
        lambda c, t: c.geohash(f"{t}g", "Palermo", "Catania", "Nowhere"),
        lambda c, t: c.geopos(f"{t}g", "Palermo", "Nowhere", "Catania"),
        lambda c, t: c.geopos(f"{t}missing", "Palermo"),
    ],
)
def test_geoadd_geodist_geohash_geopos_are_redis_pys(both, call):
    both.same(call, setup=geo)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"unit": "km"},
        {"withdist": True},
        {"withcoord": True},
        {"withhash": True},
        {"withdist": True, "withcoord": True, "withhash": True, "unit": "km"},
        {"count": 1, "sort": "ASC"},
        {"count": 1, "sort": "DESC", "withdist": True},
        {"count": 2, "any": True},
        {"any": True},
        {"sort": "SIDEWAYS"},
        {"unit": "furlong"},
        {"store": "{T}dest"},
        {"store_dist": "{T}dest"},
        {"store": "{T}a", "store_dist": "{T}b"},
    ],
)
def test_georadius_and_georadiusbymember_are_redis_pys(both, options):
    def call(c: Any, t: str) -> Any:
        kw = {k: (v.replace("{T}", t) if isinstance(v, str) and "{T}" in v else v) for k, v in options.items()}
        stored = f"{t}dest" if "store" in kw or "store_dist" in kw else None
        around = c.georadius(f"{t}g", 15, 37, 200 if kw.get("unit") == "km" else 200_000, **kw)
        by_member = c.georadiusbymember(f"{t}g", "Palermo", 100 if kw.get("unit") == "km" else 300_000, **kw)
        return around, by_member, c.zrange(stored, 0, -1, withscores=True) if stored else None

    both.same(call, setup=geo)


def test_georadius_storing_in_another_slot_is_refused_before_io(both):
    both.same(lambda c, t: c.georadius(f"{t}g", 15, 37, 200, unit="km", store="elsewhere"), setup=geo)
    with pytest.raises(CrossSlotError):
        both.ours.georadius("{a}g", 15, 37, 200, store="{b}dest")


@pytest.mark.parametrize(
    "options",
    [
        {"member": "Palermo", "radius": 200, "unit": "km"},
        {"longitude": 15, "latitude": 37, "radius": 200, "unit": "km", "withdist": True},
        {"longitude": 15, "latitude": 37, "width": 400, "height": 400, "unit": "km", "withcoord": True},
        {"member": "Catania", "radius": 300_000, "withhash": True, "withdist": True, "withcoord": True},
        {"member": "Catania", "radius": 300, "unit": "km", "sort": "desc", "count": 1},
        {"member": "Catania", "radius": 300, "unit": "km", "count": 1, "any": True},
        {"member": "Catania", "radius": 300, "unit": "km", "any": True},
        {"radius": 10},
        {"member": "Catania", "longitude": 1, "latitude": 2, "radius": 10},
        {"member": "Catania"},
        {"member": "Catania", "radius": 10, "width": 1, "height": 1},
        {"member": "Catania", "radius": 10, "unit": "yard"},
        {"member": "Catania", "radius": 10, "sort": "up"},
    ],
)
def test_geosearch_and_geosearchstore_are_redis_pys(both, options):
    def call(c: Any, t: str) -> Any:
        found = c.geosearch(f"{t}g", **options)
        plain = {k: v for k, v in options.items() if not k.startswith("with")}
        stored = c.geosearchstore(f"{t}d", f"{t}g", **plain)
        stored_dist = c.geosearchstore(f"{t}e", f"{t}g", storedist=True, **plain)
        return found, stored, stored_dist, c.zrange(f"{t}d", 0, -1), c.zrange(f"{t}e", 0, -1, withscores=True)

    both.same(call, setup=geo)


def test_geosearchstore_into_another_slot_is_refused_before_io(both):
    both.same(lambda c, t: c.geosearchstore("elsewhere", f"{t}g", member="Palermo", radius=10), setup=geo)


# --- server ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.ping(),
        lambda c, t: c.ping(target_nodes="all"),
        lambda c, t: c.config_get("maxmemory-policy"),
        lambda c, t: c.config_get("maxmemory*"),
        lambda c, t: c.config_get("maxmemory-policy", "slowlog-max-len"),
        lambda c, t: c.config_get("maxmemory-policy", target_nodes="all"),
        lambda c, t: c.config_get("maxmemory-policy", target_nodes=a_master(c)),
        lambda c, t: c.config_set("slowlog-max-len", 128),
        lambda c, t: c.config_set("slowlog-max-len", 128, target_nodes="primaries"),
        lambda c, t: c.config_set("no-such-setting", 1),
        lambda c, t: c.config_resetstat(),
        lambda c, t: c.config_rewrite(),
        lambda c, t: c.dbsize(target_nodes="primaries"),
        lambda c, t: (c.set(f"{t}k1", 1), c.set(f"{t}k2", 2), sorted(c.keys(f"{t}*", target_nodes="primaries"))),
        lambda c, t: c.wait(0, 10),
        lambda c, t: c.wait(0, 10, target_nodes="primaries"),
        lambda c, t: c.waitaof(0, 0, 10),
        lambda c, t: c.slowlog_reset(),
        lambda c, t: c.command_count(),
        lambda c, t: sorted(c.command_list()),
        lambda c, t: sorted(c.command_list(pattern="geo*")),
        lambda c, t: sorted(c.command_list(category="hyperloglog")),
        lambda c, t: c.command_getkeys("MSET", "a", "1", "b", "2"),
        lambda c, t: (c.set(f"{t}k", "v" * 100), c.memory_usage(f"{t}k"), c.memory_usage(f"{t}k", samples=5)),
        lambda c, t: c.memory_usage(f"{t}missing"),
    ],
)
def test_server_commands_are_redis_pys(both, call):
    both.same(call)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.time(),
        lambda c, t: c.time(target_nodes="primaries"),
        lambda c, t: c.lastsave(),
        lambda c, t: c.info("server", target_nodes=a_master(c)),
        lambda c, t: c.info("server", "clients", target_nodes=a_master(c)),
        lambda c, t: c.info("replication", target_nodes="primaries"),
        lambda c, t: set(c.info()) >= {"redis_version", "used_memory", "cluster_enabled"},
        lambda c, t: c.slowlog_len(target_nodes=a_master(c)),
        lambda c, t: c.memory_stats(target_nodes=a_master(c)),
    ],
)
def test_node_dependent_server_replies_have_redis_pys_shape(both, call):
    both.same(lambda c, t: shape(call(c, t)))


def test_slowlog_get_entries_have_redis_pys_shape(both):
    def call(c: Any, t: str) -> Any:
        node = a_master(c)
        c.config_set("slowlog-log-slower-than", 0, target_nodes=node)
        try:
            c.slowlog_reset(target_nodes=node)
            c.ping(target_nodes=node)
            return shape(c.slowlog_get(1, target_nodes=node)), shape(c.slowlog_get(target_nodes=node)[-1])
        finally:
            c.config_set("slowlog-log-slower-than", 10000, target_nodes=node)

    both.same(call)


def test_what_redis_py_cannot_route_works_here(both):
    c = both.ours
    assert c.echo(b"hello") == b"hello"  # redis-py: RedisClusterException (no key)
    c.set("{dbg}k", 12345)
    obj = c.debug_object("{dbg}k")  # redis-py sends it to its default node, not the key's
    assert obj["type"] == "Value" and obj["encoding"] == "int" and isinstance(obj["refcount"], int)
    assert c.command_getkeysandflags("MSET", "a", "1") == [[b"a", [b"OW", b"update"]]]
    info = c.command_info("get", "set", "nosuchcommand")  # redis-py: NotImplementedError
    assert set(info) == {"get", "set"} and info["get"]["arity"] == 2 and "readonly" in info["get"]["flags"]
    assert c.command()["get"] == info["get"]
    docs = c.command_docs("get")  # redis-py: NotImplementedError
    assert set(docs) == {"get"} and docs["get"]["group"] == b"string"


def test_dbsize_defaults_to_the_whole_cluster(both):
    # redis-py's dbsize() counts one node's keys; ours sums the masters, as dbsize(target_nodes="primaries").
    assert both.ours.dbsize() == both.theirs.dbsize(target_nodes="primaries")


def test_readonly_and_readwrite_are_refused_with_a_pointer_to_read_from(both):
    for method in (both.ours.readonly, both.ours.readwrite):
        with pytest.raises(ValueError, match="read_from"):
            method()
        with pytest.raises(ValueError, match="read_from"):
            method(target_nodes="replicas")


def test_info_on_many_nodes_is_one_parsed_dict_per_node(both):
    got = both.ours.info("keyspace", target_nodes="all")
    assert set(got) == {n.name for n in both.theirs.get_nodes()}
    assert all(isinstance(v, dict) for v in got.values())


# --- cluster ---------------------------------------------------------------------------------------


def keys_in_tag(c: Any, t: str) -> None:
    c.set(f"{t}a", 1)
    c.set(f"{t}b", 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.cluster_keyslot(f"{t}a"),
        lambda c, t: c.cluster_countkeysinslot(key_slot(t)),
        lambda c, t: sorted(c.cluster_get_keys_in_slot(key_slot(t), 10)),
        lambda c, t: c.cluster_slots(),
        lambda c, t: c.cluster_myid(a_master(c)),
        lambda c, t: c.cluster_count_failure_report(c.cluster_myid(a_master(c))),
        lambda c, t: c.cluster_myshardid(),
        lambda c, t: (c.cluster_info()["cluster_state"], c.cluster_info(target_nodes="all")["cluster_size"]),
        lambda c, t: sorted(c.cluster_nodes()),
        lambda c, t: {n: (d["node_id"], d["master_id"], d["slots"]) for n, d in c.cluster_nodes().items()},
        lambda c, t: sorted(c.cluster_replicas(c.cluster_myid(a_master(c)))),
    ],
)
def test_cluster_commands_are_redis_pys(both, call):
    both.same(call, setup=keys_in_tag)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.cluster_info(target_nodes=a_master(c)),
        lambda c, t: c.cluster_nodes(),
        lambda c, t: c.cluster_shards(),
        lambda c, t: c.cluster_links(a_master(c)),
        lambda c, t: c.cluster_replicas(c.cluster_myid(a_master(c))),
    ],
)
def test_node_dependent_cluster_replies_have_redis_pys_shape(both, call):
    both.same(lambda c, t: shape(call(c, t)))


def test_cluster_shards_name_every_slot_range_as_the_slot_map_does(both):
    shards = both.ours.cluster_shards()
    ranges = sorted((s["slots"][0], s["slots"][1]) for s in shards)
    assert ranges == sorted(both.ours.cluster_slots())


# --- client ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: type(c.client_id()),
        lambda c, t: c.client_setname("compat-name"),
        lambda c, t: c.client_kill("1.2.3.4:5"),
        lambda c, t: c.client_kill_filter(_id=987654321),
        lambda c, t: c.client_kill_filter(_type="normal", skipme=True, maxage=10**9),
        lambda c, t: c.client_kill_filter(),
        lambda c, t: c.client_kill_filter(skipme="yes"),
        lambda c, t: c.client_kill_filter(_type="nobody"),
        lambda c, t: c.client_list(_type="nobody"),
        lambda c, t: c.client_list(client_id="1"),
        lambda c, t: shape(c.client_info()),
        lambda c, t: shape(c.client_list()[0]),
        lambda c, t: shape(c.client_list(_type="normal")[0]),
        lambda c, t: c.client_list(client_id=[987654321]),
    ],
)
def test_client_commands_are_redis_pys(both, call):
    both.same(call)


def test_client_getname_reads_one_pooled_connections_name(both, redis_cluster):
    # redis-py reuses its default node's one connection, so a name it set is read back; ours are pooled on every
    # master, so a name set with client_setname() may not be the next command's: name them with client_name=.
    assert both.ours.client_getname(target_nodes=a_master(both.ours)) in (None, "compat-name")
    host, port = redis_cluster.startup_nodes[0]
    theirs = type(both.theirs)(host=host, port=port, client_name="named")
    with ClusterClient(redis_cluster.startup_nodes, client_name="named") as named:
        assert named.client_getname() == theirs.client_getname() == "named"
        assert named.client_getname(target_nodes="all") == dict.fromkeys(named.info(target_nodes="all"), "named")
    theirs.close()


# --- ACL -------------------------------------------------------------------------------------------


def new_user(c: Any, t: str) -> None:
    c.acl_setuser(f"u{t[1:-1]}", enabled=True, passwords=["+secret"], categories=["+@read", "-@dangerous"])


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.acl_whoami(),
        lambda c, t: c.acl_list(),
        lambda c, t: c.acl_users(),
        lambda c, t: c.acl_cat(),
        lambda c, t: sorted(c.acl_cat("geo")),
        lambda c, t: c.acl_help(),
        lambda c, t: shape(c.acl_genpass()),
        lambda c, t: len(c.acl_genpass(32)),
        lambda c, t: c.acl_genpass(5000),
        lambda c, t: c.acl_getuser("nobody-here"),
        lambda c, t: c.acl_dryrun("default", "get", "x"),
        lambda c, t: type(c.acl_log()),
        lambda c, t: c.acl_log(count="1"),
        lambda c, t: c.acl_log_reset(),
        lambda c, t: c.acl_setuser("nobody-here", nopass=True, passwords="+x"),
        lambda c, t: c.acl_setuser("nobody-here", passwords="x"),
        lambda c, t: c.acl_setuser("nobody-here", categories=["read"]),
        lambda c, t: c.acl_setuser("nobody-here", commands=["get"]),
    ],
)
def test_acl_commands_are_redis_pys(both, call):
    both.same(call)


def test_acl_setuser_getuser_deluser_are_redis_pys(both):
    def call(c: Any, t: str) -> Any:
        name = f"u{t[1:-1]}"
        made = c.acl_setuser(
            name,
            enabled=True,
            passwords=["+secret", "+other"],
            hashed_passwords=["+" + "a" * 64],
            categories=["+@read", "-dangerous"],
            commands=["+get", "-set"],
            keys=["cache:*", "%R~ro:*"],
            channels=["news"],
            selectors=[("+hget", "h:*")],
        )
        user = c.acl_getuser(name)
        changed = c.acl_setuser(name, reset_keys=True, reset_channels=True, reset_passwords=True, nopass=True)
        again = c.acl_getuser(name)
        for rules in (user, again):  # the order of the expanded rules differs between nodes
            rules["commands"].sort()
            rules["categories"].sort()
        return made, user, changed, again, c.acl_deluser(name), c.acl_deluser(name)

    both.same(call)


def test_acl_setuser_reaches_every_node(both):
    name = f"every-{uuid.uuid4().hex[:8]}"
    try:
        assert both.ours.acl_setuser(name, enabled=True, nopass=True) is True
        users = both.ours.acl_users(target_nodes="all")
        assert len(users) == 6 and all(name in names for names in users.values())
    finally:
        assert both.ours.acl_deluser(name) == 1
    assert all(name not in names for names in both.ours.acl_users(target_nodes="all").values())


# --- scripts and functions -------------------------------------------------------------------------


def test_script_cache_commands_are_redis_pys(both):
    body = f"return '{uuid.uuid4().hex}'"

    def call(c: Any, t: str) -> Any:
        sha = c.script_load(body)
        return sha, c.script_exists(sha, "f" * 40), c.script_flush(), c.script_exists(sha), c.script_flush("ASYNC")

    both.same(call)
    both.same(lambda c, t: c.script_flush("LATER"))


def test_script_kill_function_kill_and_stats_need_a_node(both):
    c = both.ours
    for method in (c.script_kill, c.function_kill, c.function_stats):
        with pytest.raises(DataError, match="target_nodes"):
            method()
    with pytest.raises(ResponseError, match="NOTBUSY"):
        c.script_kill(target_nodes=a_master(c))
    with pytest.raises(ResponseError, match="NOTBUSY"):
        c.function_kill(target_nodes=a_master(c))
    stats = c.function_stats(target_nodes=a_master(c))
    assert stats[0] == b"running_script" and stats[1] is None


def library(name: str) -> str:
    return f"#!lua name={name}\nredis.register_function('{name}_f', function(keys, args) return args[1] end)"


def test_function_commands_are_redis_pys(both):
    name = f"lib{uuid.uuid4().hex[:8]}"

    def call(c: Any, t: str) -> Any:
        loaded = c.function_load(library(name))
        try:
            c.function_load(library(name))
        except Exception as e:  # the same error class on both, compared below
            again: Any = type(e).__name__
        replaced = c.function_load(library(name), replace=True)
        listed = c.function_list(library=name), c.function_list(library=name, withcode=True)
        dump = c.function_dump()
        deleted = c.function_delete(name)
        restored = c.function_restore(dump), c.function_restore(dump, "REPLACE")
        return loaded, again, replaced, listed, deleted, restored, c.function_delete(name), c.fcall(f"{name}_f", 0, "x")

    both.same(call)
    both.same(lambda c, t: c.function_delete("no-such-library"))


def test_function_flush_is_redis_pys(both):
    # Flushes every library of the cluster: only a library of this test is there to lose.
    both.same(lambda c, t: c.function_flush())
    both.same(lambda c, t: c.function_flush("ASYNC"))


# --- the asyncio client and pipelines --------------------------------------------------------------


async def test_the_asyncio_client_gives_the_same_replies(redis_cluster):
    calls = [
        ("geoadd", ("K:g", PLACES), {}),
        ("geodist", ("K:g", "Palermo", "Catania"), {"unit": "km"}),
        ("geohash", ("K:g", "Palermo", "nowhere"), {}),
        ("geopos", ("K:g", "Palermo", "nowhere"), {}),
        ("georadius", ("K:g", 15, 37, 200), {"unit": "km", "withdist": True, "withcoord": True, "withhash": True}),
        ("georadiusbymember", ("K:g", "Palermo", 300), {"unit": "km", "count": 1}),
        ("geosearch", ("K:g",), {"member": "Palermo", "radius": 300, "unit": "km", "withdist": True}),
        ("geosearchstore", ("K:d", "K:g"), {"longitude": 15, "latitude": 37, "width": 400, "height": 400}),
        ("cluster_keyslot", ("the same key",), {}),
        ("config_get", ("maxmemory-policy",), {}),
        ("config_get", ("maxmemory-policy",), {"target_nodes": "all"}),
        ("cluster_slots", (), {}),
        ("command_getkeys", ("SET", "the same key", "1"), {}),
        ("script_exists", ("f" * 40,), {}),
        ("ping", (), {"target_nodes": "primaries"}),
        ("acl_whoami", (), {}),
    ]

    def keyed(args: tuple, prefix: str) -> tuple:
        return tuple(a.replace("K:", prefix) if isinstance(a, str) else a for a in args)

    tag = uuid.uuid4().hex[:8]
    sync = ClusterClient(redis_cluster.startup_nodes)
    async with AsyncClient(redis_cluster.startup_nodes) as c:
        for name, args, kwargs in calls:
            expected = getattr(sync, name)(*keyed(args, "{aio:sync:" + tag + "}"), **kwargs)
            got = await getattr(c, name)(*keyed(args, "{aio:async:" + tag + "}"), **kwargs)
            assert got == expected and type(got) is type(expected), name
        assert set(await c.info(target_nodes="all")) == set(sync.info(target_nodes="all"))
        assert type(await c.time()) is tuple
    sync.close()


def test_a_pipeline_converts_geo_and_slot_replies_at_execute(both):
    c = both.ours
    t = "{" + uuid.uuid4().hex[:8] + "}"
    pipe = c.pipeline()
    pipe.geoadd(f"{t}g", PLACES).geopos(f"{t}g", "Palermo").geodist(f"{t}g", "Palermo", "Catania", unit="km")
    pipe.geosearch(f"{t}g", member="Palermo", radius=300, unit="km", withdist=True).geohash(f"{t}g", "Catania")
    pipe.cluster_countkeysinslot(key_slot(t)).cluster_get_keys_in_slot(key_slot(t), 5).time()
    added, pos, dist, found, hashes, count, names, now = pipe.execute()
    assert added == 2 and pos == [(13.361389338970184, 38.1155563954963)]
    assert type(dist) is float and round(dist) == 166
    assert found == [[b"Palermo", 0.0], [b"Catania", 166.2742]] and hashes == ["sqdtr74hyu0"]
    assert count == 1 and names == [f"{t}g"] and type(now) is tuple and type(now[0]) is int
    c.delete(f"{t}g")
