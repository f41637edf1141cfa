"""MULTI/EXEC on a real cluster: one slot, results and converters, WATCH, client.transaction, errors, redirects.

Most tests use the shared session cluster with unique hash tags. The redirect tests move slots, so they
share a cluster of this module's own.
"""

from __future__ import annotations

import threading

import pytest
from cluster_helpers import commandstat, finish_migration, other_slot_key, start_migration, stats, tag

from rediscluster_lite import ClusterClient, CrossSlotError, ResponseError, key_slot
from rediscluster_lite.errors import WatchError
from rediscluster_lite.local import LocalCluster


@pytest.fixture
def sync_client(redis_cluster):
    with ClusterClient(redis_cluster.startup_nodes) as c:
        yield c


@pytest.fixture
def client(redis_cluster, make_client):
    with make_client(redis_cluster.startup_nodes) as c:
        yield c


# --- results ------------------------------------------------------------------------------------------


def test_results_come_in_order_with_converters_applied(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        tx.set(f"{t}:s", "a")
        tx.get(f"{t}:s")
        tx.incr(f"{t}:n", 5)
        tx.hset(f"{t}:h", "f", "v")
        tx.hgetall(f"{t}:h")
        tx.expire(f"{t}:s", 100)
        tx.sadd(f"{t}:set", "m")
        tx.smembers(f"{t}:set")
        tx.zadd(f"{t}:z", {"m": 1.5})
        tx.zscore(f"{t}:z", "m")
        tx.setnx(f"{t}:s", "b")
        assert len(tx) == 11
        results = tx.execute()
    assert results == [True, b"a", 5, 1, {b"f": b"v"}, True, 1, {b"m"}, 1, 1.5, False]
    assert client.get(f"{t}:s") == b"a"


def test_queueing_returns_the_transaction_so_calls_chain(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        assert tx.set(f"{t}:a", 1).incr(f"{t}:a").get(f"{t}:a") is tx
        assert tx.execute() == [True, 2, b"2"]


def test_multi_key_commands_of_one_slot_run_as_one_command(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        tx.mset({f"{t}:a": "1", f"{t}:b": "2"})
        tx.exists(f"{t}:a", f"{t}:b", f"{t}:c")
        tx.touch(f"{t}:a")
        tx.delete(f"{t}:a", f"{t}:b")
        assert tx.execute() == [True, 2, 1, 2]


def test_mget_in_a_transaction_returns_the_values_in_key_order(client):
    t = tag()
    client.mset({f"{t}:a": "1", f"{t}:b": "2"})
    with client.pipeline(transaction=True) as tx:
        tx.mget(f"{t}:b", f"{t}:missing", f"{t}:a")
        assert tx.execute() == [[b"2", None, b"1"]]


def test_one_multi_and_one_exec_on_the_slots_master(client, redis_cluster):
    t = tag()
    owner = redis_cluster.master_of_slot(key_slot(t))
    masters = redis_cluster.masters()  # (replicas count the MULTI/EXEC replicated to them)

    def counts(command: str) -> dict[int, int]:
        return {m.port: commandstat(redis_cluster, m, command) for m in masters}

    multi, exec_ = counts("multi"), counts("exec")
    with client.pipeline(transaction=True) as tx:
        for i in range(5):
            tx.set(f"{t}:{i}", i)
        tx.execute()
    multi_after, exec_after = counts("multi"), counts("exec")
    assert {p: multi_after[p] - multi[p] for p in multi} == {p: int(p == owner.port) for p in multi}
    assert {p: exec_after[p] - exec_[p] for p in exec_} == {p: int(p == owner.port) for p in exec_}


def test_an_empty_transaction_sends_nothing(client, redis_cluster):
    before = stats(redis_cluster, "multi")
    with client.pipeline(transaction=True) as tx:
        assert tx.execute() == []
    assert stats(redis_cluster, "multi") == before


def test_a_transaction_of_keyless_commands_fails_clearly(client):
    # No key, so no slot: either run it on some master, or refuse with a ValueError that says a key is
    # needed (as watch() and immediate commands do), not an internal TypeError from slots[None].
    with client.pipeline(transaction=True) as tx:
        tx.echo("hello")
        try:
            assert tx.execute() == [b"hello"]
        except ValueError as exc:
            assert "key" in str(exc)


# --- one slot -----------------------------------------------------------------------------------------


def test_cross_slot_key_raises_at_queue_time_with_nothing_sent(client, redis_cluster):
    t = tag()
    stranger = other_slot_key(t)
    multi_before = stats(redis_cluster, "multi")
    with client.pipeline(transaction=True) as tx:
        tx.set(f"{t}:a", "1")
        with pytest.raises(CrossSlotError) as info:
            tx.set(stranger, "2")
        assert set(info.value.slots) == {key_slot(t), key_slot(stranger)}
        with pytest.raises(CrossSlotError):
            tx.mget(f"{t}:a", stranger)
        with pytest.raises(CrossSlotError):
            tx.mset({f"{t}:b": "1", stranger: "2"})
    assert stats(redis_cluster, "multi") == multi_before
    assert client.exists(f"{t}:a", f"{t}:b", stranger) == 0


def test_cross_slot_watch_raises_before_io(client, redis_cluster):
    t = tag()
    before = stats(redis_cluster, "watch")
    with client.pipeline(transaction=True) as tx, pytest.raises(CrossSlotError):
        tx.watch(f"{t}:a", other_slot_key(t))
    assert stats(redis_cluster, "watch") == before


def test_fanout_commands_cannot_join_a_transaction(client):
    with client.pipeline(transaction=True) as tx, pytest.raises(TypeError, match="transaction"):
        tx.keys("*")


# --- WATCH --------------------------------------------------------------------------------------------


def test_watch_then_unchanged_key_applies(client):
    t = tag()
    client.set(f"{t}:bal", 100)
    with client.pipeline(transaction=True) as tx:
        tx.watch(f"{t}:bal")
        balance = int(tx.get(f"{t}:bal"))  # runs at once while watching
        tx.multi()
        tx.set(f"{t}:bal", balance - 10)
        assert tx.execute() == [True]
    assert client.get(f"{t}:bal") == b"90"


def test_watched_key_changed_concurrently_raises_watch_error_and_applies_nothing(client, redis_cluster, make_client):
    t = tag()
    client.set(f"{t}:bal", 100)
    with client.pipeline(transaction=True) as tx, make_client(redis_cluster.startup_nodes) as other:
        tx.watch(f"{t}:bal")
        balance = int(tx.get(f"{t}:bal"))
        other.set(f"{t}:bal", 500)  # another client changes it between WATCH and EXEC
        tx.multi()
        tx.set(f"{t}:bal", balance - 10)
        tx.set(f"{t}:log", "withdrew")
        with pytest.raises(WatchError):
            tx.execute()
    assert client.get(f"{t}:bal") == b"500"
    assert client.exists(f"{t}:log") == 0


def test_unwatch_lets_the_transaction_apply_despite_a_change(client, redis_cluster, make_client):
    t = tag()
    client.set(f"{t}:k", "a")
    with client.pipeline(transaction=True) as tx, make_client(redis_cluster.startup_nodes) as other:
        tx.watch(f"{t}:k")
        other.set(f"{t}:k", "b")
        tx.unwatch()
        tx.multi()
        tx.set(f"{t}:k", "c")
        assert tx.execute() == [True]
    assert client.get(f"{t}:k") == b"c"


def test_multi_after_queued_commands_raises(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        tx.set(f"{t}:a", 1)
        with pytest.raises(ValueError, match="multi"):
            tx.multi()


def test_client_transaction_retries_until_it_succeeds(sync_client, redis_cluster, make_client):
    # A blocking callback: the asyncio client's transaction() takes a coroutine function (test_async_live.py).
    t = tag()
    key = f"{t}:counter"
    sync_client.set(key, 0)
    changes = 3
    calls = []
    go, done = threading.Event(), threading.Event()

    def writer() -> None:
        # Changes the key whenever asked: after the transaction read it, before its EXEC.
        with make_client(redis_cluster.startup_nodes) as other:
            for _ in range(changes):
                go.wait(10)
                go.clear()
                other.incr(key, 100)
                done.set()

    thread = threading.Thread(target=writer)
    thread.start()

    def add_one(tx) -> None:
        calls.append(1)
        value = int(tx.get(key))
        if len(calls) <= changes:
            go.set()
            assert done.wait(10)
            done.clear()
        tx.multi()
        tx.set(key, value + 1)

    try:
        assert sync_client.transaction(add_one, key) == [True]
    finally:
        thread.join(10)
    assert len(calls) == changes + 1
    assert sync_client.get(key) == str(100 * changes + 1).encode()


def test_client_transaction_stops_after_max_attempts(sync_client, redis_cluster, make_client):
    # A blocking callback: the asyncio client's transaction() takes a coroutine function (test_async_live.py).
    t = tag()
    key = f"{t}:hot"
    sync_client.set(key, 0)
    calls = []
    with make_client(redis_cluster.startup_nodes) as other:

        def always_raced(tx) -> None:
            calls.append(1)
            tx.get(key)
            other.incr(key)
            tx.multi()
            tx.set(key, "mine")

        with pytest.raises(WatchError):
            sync_client.transaction(always_raced, key, max_attempts=2)
    assert len(calls) == 2
    assert sync_client.get(key) == b"2"


def test_client_transaction_without_watches_runs_once(sync_client):
    # A blocking callback: the asyncio client's transaction() takes a coroutine function (test_async_live.py).
    t = tag()

    def queue(tx) -> None:
        tx.set(f"{t}:a", "1")
        tx.incr(f"{t}:b")

    assert sync_client.transaction(queue) == [True, 1]
    assert sync_client.mget(f"{t}:a", f"{t}:b") == [b"1", b"1"]


# --- errors -------------------------------------------------------------------------------------------


def test_runtime_error_is_returned_in_place_and_the_rest_applied(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        tx.set(f"{t}:s", "text")
        tx.lpush(f"{t}:s", "x")  # WRONGTYPE at EXEC time
        tx.set(f"{t}:after", "yes")
        results = tx.execute(raise_on_error=False)
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], ResponseError) and results[1].code == "WRONGTYPE"
    assert client.get(f"{t}:after") == b"yes"  # Redis does not roll back


def test_runtime_error_raises_naming_its_index_when_asked(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        tx.set(f"{t}:s", "text")
        tx.lpush(f"{t}:s", "x")
        tx.set(f"{t}:after", "yes")
        with pytest.raises(ResponseError) as info:
            tx.execute(raise_on_error=True)
    assert "WRONGTYPE" in str(info.value)
    assert "#1" in str(info.value) and "LPUSH" in str(info.value)
    assert info.value.index == 1
    assert client.get(f"{t}:after") == b"yes"


def test_converter_is_not_applied_to_an_error(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        tx.set(f"{t}:s", "text")
        tx.hgetall(f"{t}:s")  # _pairs_to_dict must not see the WRONGTYPE error
        results = tx.execute(raise_on_error=False)
    assert isinstance(results[1], ResponseError)


def test_a_command_refused_while_queueing_raises_and_applies_nothing(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        tx.set(f"{t}:a", "1")
        tx.execute_command("NOSUCHCOMMAND", f"{t}:a")
        tx.set(f"{t}:b", "2")
        with pytest.raises(ResponseError) as info:
            tx.execute()
    assert "unknown command" in str(info.value)
    assert client.exists(f"{t}:a", f"{t}:b") == 0


def test_a_wrong_arity_command_raises_and_applies_nothing(client):
    t = tag()
    with client.pipeline(transaction=True) as tx:
        tx.set(f"{t}:a", "1")
        tx.execute_command("GET", f"{t}:a", "extra")
        with pytest.raises(ResponseError, match="wrong number of arguments"):
            tx.execute()
    assert client.exists(f"{t}:a") == 0


def test_the_transaction_is_reusable_after_execute(client):
    t = tag()
    tx = client.pipeline(transaction=True)
    tx.set(f"{t}:a", "1")
    assert tx.execute() == [True]
    u = tag()  # another slot: the first execute released the slot
    tx.set(f"{u}:a", "2")
    assert tx.execute() == [True]
    assert client.mget(f"{t}:a", f"{u}:a") == [b"1", b"2"]


# --- redirects: the slot moved, or is moving ----------------------------------------------------------


@pytest.fixture(scope="module")
def moving():
    with LocalCluster(masters=3, replicas_per_master=0, node_timeout_ms=5000) as c:
        yield c


def stale_client(cluster: LocalCluster) -> ClusterClient:
    return ClusterClient(cluster.startup_nodes, refresh_interval=None)


def test_transaction_after_a_slot_moved_runs_once_at_the_new_owner(moving):
    t = tag()
    slot = key_slot(t)
    with stale_client(moving) as client:
        client.set(f"{t}:n", 10)
        source, target = start_migration(moving, slot)
        finish_migration(moving, slot, source, target)
        assert client.node_for(t).port == source.port  # the map is stale
        with client.pipeline(transaction=True) as tx:
            tx.incr(f"{t}:n")
            tx.set(f"{t}:new", "x")
            assert tx.execute() == [11, True]
        assert moving.command(target, "GET", f"{t}:n") == "11"  # applied once
        assert moving.command(target, "GET", f"{t}:new") == "x"
        assert client.node_for(t).port == target.port  # learnt from MOVED


def test_client_transaction_with_watch_after_a_slot_moved_runs_at_the_new_owner(moving):
    t = tag()
    slot = key_slot(t)
    with stale_client(moving) as client:
        client.set(f"{t}:n", 10)
        source, target = start_migration(moving, slot)
        finish_migration(moving, slot, source, target)
        assert client.node_for(t).port == source.port

        def bump(tx) -> None:
            value = int(tx.get(f"{t}:n"))
            tx.multi()
            tx.set(f"{t}:n", value + 1)

        # WATCH meets MOVED: nothing ran yet, so client.transaction starts again at the new owner.
        assert client.transaction(bump, f"{t}:n") == [True]
        assert moving.command(target, "GET", f"{t}:n") == "11"


def test_transaction_on_a_slot_mid_migration_runs_once_at_the_importing_node(moving):
    t = tag()
    slot = key_slot(t)
    with stale_client(moving) as client:
        client.set(f"{t}:n", 10)
        client.set(f"{t}:m", 20)
        source, target = start_migration(moving, slot)  # keys moved; the slot still belongs to source
        try:
            with client.pipeline(transaction=True) as tx:
                tx.incr(f"{t}:n")
                tx.incr(f"{t}:m")
                assert tx.execute() == [11, 21]  # source says ASK; ASKING + MULTI at the target
            assert client.node_for(t).port == source.port  # ASK leaves the map alone
        finally:
            finish_migration(moving, slot, source, target)
        # Read after the migration ends: until then the target answers MOVED to a plain MGET.
        assert moving.command(target, "MGET", f"{t}:n", f"{t}:m") == ["11", "21"]


def test_watch_on_a_slot_mid_migration_leaves_the_map_alone(moving):
    t = tag()
    slot = key_slot(t)
    with stale_client(moving) as client:
        client.set(f"{t}:n", 10)
        source, target = start_migration(moving, slot)
        try:

            def bump(tx) -> None:
                value = int(tx.get(f"{t}:n"))
                tx.multi()
                tx.set(f"{t}:n", value + 1)

            try:
                client.transaction(bump, f"{t}:n", max_attempts=3)
            except WatchError:
                pass  # giving up mid-migration is acceptable; corrupting the map is not
            # ASK is about one key, once: the slot still belongs to the source until SETSLOT NODE.
            assert client.node_for(t).port == source.port
        finally:
            finish_migration(moving, slot, source, target)


def test_watched_transaction_whose_slot_moved_before_exec_is_not_applied_elsewhere(moving):
    # WATCH ran at the old owner; the slot then moved. Resending MULTI/EXEC to the new owner would run
    # it with no WATCH at all, so execute() must give up with WatchError and apply nothing.
    t = tag()
    slot = key_slot(t)
    with stale_client(moving) as client:
        client.set(f"{t}:n", 10)
        with client.pipeline(transaction=True) as tx:
            tx.watch(f"{t}:n")
            value = int(tx.get(f"{t}:n"))
            source, target = start_migration(moving, slot)
            finish_migration(moving, slot, source, target)
            tx.multi()
            tx.set(f"{t}:n", value + 1)
            with pytest.raises(WatchError):
                tx.execute()
        assert moving.command(target, "GET", f"{t}:n") == "10"
        assert client.node_for(t).port == target.port  # the MOVED was still learnt
