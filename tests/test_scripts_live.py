"""Lua scripts and functions on a real cluster: routing by keys, Script and NOSCRIPT, load/exists/flush, fcall.

The module has its own cluster (script caches are flushed and function libraries loaded here); the
failover test starts a fresh one.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest
from cluster_helpers import commandstat, stats

from rediscluster_lite import CrossSlotError, ResponseError, key_slot
from rediscluster_lite.local import LocalCluster

SET_AND_ECHO = "redis.call('SET', KEYS[1], ARGV[1]); return ARGV[1]"
INCR_BOTH = "return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[2])}"

LIBRARY = """#!lua name=mylib
redis.register_function('myset', function(keys, args) return redis.call('SET', keys[1], args[1]) end)
redis.register_function{
  function_name='myget',
  callback=function(keys, args) return redis.call('GET', keys[1]) end,
  flags={'no-writes'}
}
"""


def unique(prefix: str = "s") -> str:
    return f"{prefix}:{uuid.uuid4().hex}"


def keys_on_each_master(cluster: LocalCluster, prefix: str) -> list[str]:
    """One key per master (so routing to each is exercised)."""
    found: dict[int, str] = {}
    i = 0
    while len(found) < len(cluster.masters()):
        key = f"{prefix}:{i}"
        found.setdefault(cluster.master_of_slot(key_slot(key)).port, key)
        i += 1
    return list(found.values())


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(masters=3, replicas_per_master=1, node_timeout_ms=5000) as c:
        yield c


@pytest.fixture
def client(cluster, make_client):
    with make_client(cluster.startup_nodes) as c:
        yield c


# --- eval / evalsha routing ---------------------------------------------------------------------------


def test_eval_runs_on_the_master_of_its_keys_slot(client, cluster):
    for key in keys_on_each_master(cluster, unique("ev")):
        assert client.eval(SET_AND_ECHO, 1, key, "v1") == b"v1"
        owner = cluster.master_of_slot(key_slot(key))
        assert cluster.command(owner, "GET", key) == "v1"


def test_evalsha_runs_on_the_master_of_its_keys_slot(client, cluster):
    sha = client.script_load(SET_AND_ECHO)
    for key in keys_on_each_master(cluster, unique("es")):
        assert client.evalsha(sha, 1, key, "v2") == b"v2"
        assert cluster.command(cluster.master_of_slot(key_slot(key)), "GET", key) == "v2"


def test_eval_ro_and_evalsha_ro_read_the_key(client):
    key = unique("ro")
    client.set(key, "x")
    assert client.eval_ro("return redis.call('GET', KEYS[1])", 1, key) == b"x"
    sha = client.script_load("return redis.call('GET', KEYS[1])")
    assert client.evalsha_ro(sha, 1, key) == b"x"


def test_eval_ro_refuses_a_write(client):
    with pytest.raises(ResponseError):
        client.eval_ro(SET_AND_ECHO, 1, unique("ro"), "v")


def test_eval_with_same_slot_keys_runs_atomically_on_their_master(client, cluster):
    tag = "{" + uuid.uuid4().hex + "}"
    assert client.eval(INCR_BOTH, 2, f"{tag}:a", f"{tag}:b") == [1, 1]
    owner = cluster.master_of_slot(key_slot(tag))
    assert cluster.command(owner, "MGET", f"{tag}:a", f"{tag}:b") == ["1", "1"]


def test_eval_with_cross_slot_keys_raises_before_io(client, cluster):
    a, b = keys_on_each_master(cluster, unique("xs"))[:2]
    before = stats(cluster, "eval")
    with pytest.raises(CrossSlotError):
        client.eval(INCR_BOTH, 2, a, b)
    with pytest.raises(CrossSlotError):
        client.evalsha(hashlib.sha1(INCR_BOTH.encode()).hexdigest(), 2, a, b)
    with pytest.raises(CrossSlotError):
        client.register_script(INCR_BOTH)(keys=[a, b])
    assert stats(cluster, "eval") == before
    assert client.exists(a, b) == 0


def test_eval_arguments_after_numkeys_are_not_routed(client, cluster):
    # ARGV may name anything; only KEYS decide the slot (no CrossSlotError here).
    key = unique("argv")
    other = keys_on_each_master(cluster, unique("o"))
    assert client.eval(SET_AND_ECHO, 1, key, *other[:1]) == other[0].encode()


def test_eval_without_keys_runs_on_some_master(client, cluster):
    before = stats(cluster, "eval")
    assert client.eval("return redis.call('PING')", 0) == b"PONG"
    after = stats(cluster, "eval")
    ran = [port for port in after if after[port] > before[port]]
    assert len(ran) == 1
    assert ran[0] in {m.port for m in cluster.masters()}


@pytest.mark.parametrize("numkeys", [-1, 3, True, "1"])
def test_numkeys_out_of_range_raises_value_error(client, numkeys):
    with pytest.raises(ValueError, match="numkeys"):
        client.eval("return 1", numkeys, "a", "b")


def test_evalsha_of_an_unknown_script_raises_noscript(client):
    with pytest.raises(ResponseError) as info:
        client.evalsha("0" * 40, 1, unique())
    assert info.value.code == "NOSCRIPT"


# --- script_load / script_exists / script_flush -------------------------------------------------------


def test_script_load_returns_the_sha_and_exists_everywhere(client, cluster):
    body = f"return '{uuid.uuid4().hex}'"
    sha = client.script_load(body)
    assert sha == hashlib.sha1(body.encode()).hexdigest()
    assert client.script_exists(sha) == [True]
    assert client.script_exists(sha, target_nodes="all") == [True]
    for node in cluster.nodes:
        assert cluster.command(node, "SCRIPT", "EXISTS", sha) == [1]


def test_script_exists_is_false_unless_every_node_has_it(client, cluster):
    body = f"return '{uuid.uuid4().hex}'"
    sha = hashlib.sha1(body.encode()).hexdigest()
    one = cluster.masters()[0]
    cluster.command(one, "SCRIPT", "LOAD", body)
    assert client.script_exists(sha, "f" * 40) == [False, False]
    assert client.script_exists(sha, target_nodes=(one.host, one.port)) == [True]


def test_script_flush_empties_every_nodes_cache(client, cluster):
    sha = client.script_load("return 'flushed'")
    assert client.script_flush() is True
    assert client.script_exists(sha, target_nodes="all") == [False]
    for node in cluster.nodes:
        assert cluster.command(node, "SCRIPT", "EXISTS", sha) == [0]


# --- register_script ----------------------------------------------------------------------------------


def test_script_runs_on_a_node_with_an_empty_cache(client, cluster):
    client.script_flush()
    script = client.register_script(SET_AND_ECHO)
    assert script.sha == hashlib.sha1(SET_AND_ECHO.encode()).hexdigest()
    for key in keys_on_each_master(cluster, unique("rs")):
        owner = cluster.master_of_slot(key_slot(key))
        evalsha_before = commandstat(cluster, owner, "evalsha")
        assert script(keys=[key], args=["v"]) == b"v"
        assert cluster.command(owner, "GET", key) == "v"
        assert commandstat(cluster, owner, "evalsha") == evalsha_before + 1  # tried first, got NOSCRIPT
        assert cluster.command(owner, "SCRIPT", "EXISTS", script.sha) == [1]  # EVAL cached it there


def test_script_uses_evalsha_once_cached(client, cluster):
    script = client.register_script(SET_AND_ECHO)
    key = unique("cached")
    script(keys=[key], args=["1"])
    owner = cluster.master_of_slot(key_slot(key))
    eval_before = commandstat(cluster, owner, "eval")
    assert script(keys=[key], args=["2"]) == b"2"
    assert commandstat(cluster, owner, "eval") == eval_before  # no body resent


def test_script_still_works_after_script_flush(client, cluster):
    script = client.register_script(SET_AND_ECHO)
    key = unique("fl")
    assert script(keys=[key], args=["before"]) == b"before"
    client.script_flush()
    assert cluster.command(cluster.master_of_slot(key_slot(key)), "SCRIPT", "EXISTS", script.sha) == [0]
    assert script(keys=[key], args=["after"]) == b"after"
    assert client.get(key) == b"after"


def test_script_error_is_raised_not_retried_as_eval(client, cluster):
    script = client.register_script("return redis.error_reply('BOOM nope')")
    key = unique("boom")
    client.script_load(script.source)
    owner = cluster.master_of_slot(key_slot(key))
    eval_before = commandstat(cluster, owner, "eval")
    with pytest.raises(ResponseError) as info:
        script(keys=[key])
    assert info.value.code == "BOOM"
    assert commandstat(cluster, owner, "eval") == eval_before


def test_script_runs_with_a_different_client(client, cluster, make_client):
    script = client.register_script(SET_AND_ECHO)
    key = unique("other")
    with make_client(cluster.startup_nodes) as other:
        assert script(keys=[key], args=["o"], client=other) == b"o"
    assert client.get(key) == b"o"


def test_script_queued_in_a_pipeline_runs_even_with_an_empty_cache(client, cluster):
    client.script_flush()
    script = client.register_script(SET_AND_ECHO)
    keys = keys_on_each_master(cluster, unique("pipe"))
    with client.pipeline() as pipe:
        for i, key in enumerate(keys):
            script(keys=[key], args=[str(i)], client=pipe)
        pipe.get(keys[0])
        results = pipe.execute()
    assert results == [b"0", b"1", b"2", b"0"]
    for i, key in enumerate(keys):
        assert cluster.command(cluster.master_of_slot(key_slot(key)), "GET", key) == str(i)


def test_script_queued_in_a_transaction_runs(client, cluster):
    client.script_flush()
    script = client.register_script(SET_AND_ECHO)
    tag = "{" + uuid.uuid4().hex + "}"
    with client.pipeline(transaction=True) as tx:
        script(keys=[f"{tag}:a"], args=["A"], client=tx)
        tx.get(f"{tag}:a")
        assert tx.execute() == [b"A", b"A"]


# --- functions ----------------------------------------------------------------------------------------


@pytest.fixture
def mylib(client):
    assert set(client.function_load(LIBRARY, replace=True).values()) == {b"mylib"}  # one entry a master
    yield
    client.function_flush()


def test_function_load_reaches_every_master_and_its_replicas(client, cluster, mylib):
    for master in cluster.masters():
        cluster.command(master, "WAIT", 1, 5000)
    for node in cluster.nodes:
        listed = cluster.command(node, "FUNCTION", "LIST", "LIBRARYNAME", "mylib")
        assert len(listed) == 1, node


def test_function_load_without_replace_refuses_an_existing_library(client, mylib):
    with pytest.raises(ResponseError, match="already exists"):
        client.function_load(LIBRARY)


def test_fcall_runs_on_the_master_of_its_keys_slot(client, cluster, mylib):
    for key in keys_on_each_master(cluster, unique("fc")):
        assert client.fcall("myset", 1, key, "fv") == b"OK"
        assert cluster.command(cluster.master_of_slot(key_slot(key)), "GET", key) == "fv"
        assert client.fcall_ro("myget", 1, key) == b"fv"


def test_fcall_ro_refuses_a_function_without_no_writes(client, mylib):
    with pytest.raises(ResponseError):
        client.fcall_ro("myset", 1, unique("fro"), "v")


def test_fcall_with_cross_slot_keys_raises_before_io(client, cluster, mylib):
    a, b = keys_on_each_master(cluster, unique("fx"))[:2]
    before = stats(cluster, "fcall")
    with pytest.raises(CrossSlotError):
        client.fcall("myset", 2, a, b, "v")
    assert stats(cluster, "fcall") == before


def test_function_flush_removes_the_library(client, cluster):
    client.function_load(LIBRARY, replace=True)
    assert set(client.function_flush().values()) == {True}
    with pytest.raises(ResponseError):
        client.fcall("myset", 1, unique("gone"), "v")


# --- failover ---------------------------------------------------------------------------------------


def test_script_runs_on_a_promoted_replica_that_never_saw_it(redis_cluster_factory, make_client):
    cluster = redis_cluster_factory(node_timeout_ms=1000)
    key = unique("fo")
    slot = key_slot(key)
    with make_client(cluster.startup_nodes) as client:
        script = client.register_script(SET_AND_ECHO)
        assert script(keys=[key], args=["one"]) == b"one"
        old = cluster.master_of_slot(slot)
        (replica,) = cluster.replicas_of(old)
        cluster.command(old, "WAIT", 1, 5000)
        cluster.command(replica, "SCRIPT", "FLUSH")  # whatever replication did, its cache is empty now
        assert cluster.command(replica, "SCRIPT", "EXISTS", script.sha) == [0]
        cluster.kill(old)
        promoted = cluster.wait_for_failover(old)
        assert promoted.port == replica.port
        assert script(keys=[key], args=["two"]) == b"two"
        assert cluster.command(promoted, "GET", key) == "two"
        assert cluster.command(promoted, "SCRIPT", "EXISTS", script.sha) == [1]
