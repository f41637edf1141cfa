"""PubSub on real clusters: classic and sharded round trips, unsubscribing, timeouts, failover, slot migration."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from rediscluster_lite import ClusterClient, PubSub, key_slot
from rediscluster_lite.errors import ClientClosedError, RedisClusterError
from rediscluster_lite.pubsub_core import CONFIRMATIONS


def unique(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex[:10]}"


def confirmations(p: PubSub, count: int, timeout: float = 5.0) -> list[dict]:
    """Read until ``count`` (un)subscribe confirmations arrived: then the subscriptions are live."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        assert time.monotonic() < deadline, f"only {seen} of {count} confirmations"
        message = p.get_message(timeout=0.2)
        if message is not None:
            assert message["type"] in CONFIRMATIONS, message
            seen.append(message)
    return seen


def messages(p: PubSub, count: int, timeout: float = 5.0) -> list[dict]:
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        message = p.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message is not None:
            out.append(message)
    return out


def channels_on_every_master(client: ClusterClient, prefix: str) -> dict[str, list[str]]:
    """Per master: two channels of different slots (so every node and the per-slot split are exercised)."""
    by_node: dict[str, list[str]] = {m.name: [] for m in client.slot_map.masters}
    slots: set[int] = set()
    i = 0
    while any(len(v) < 2 for v in by_node.values()):
        channel = f"{prefix}:{i}"
        i += 1
        node = client.node_for(channel).name
        if len(by_node[node]) < 2 and key_slot(channel) not in slots:
            slots.add(key_slot(channel))
            by_node[node].append(channel)
    return by_node


@pytest.fixture
def client(redis_cluster, make_client):
    """The blocking client, or the asyncio one behind a blocking face (both_clients.py): one body for both."""
    with make_client(redis_cluster.startup_nodes) as c:
        yield c


# --- classic --------------------------------------------------------------------------------------------


def test_classic_roundtrip_across_nodes(redis_cluster, client):
    masters = redis_cluster.masters()
    home, other = masters[0], masters[1]
    channel = unique("news")
    with client.pubsub(node=(home.host, home.port)) as p:
        p.subscribe(channel)
        (confirmed,) = confirmations(p, 1)
        assert confirmed == {"type": "subscribe", "pattern": None, "channel": channel.encode(), "data": 1}
        assert p.node is not None and p.node.port == home.port
        # published on another node: the cluster bus brings it here
        assert redis_cluster.command(other, "PUBLISH", channel, "via-bus") == 0
        # and through the client, whichever master it picks
        client.publish(channel, "via-client")
        got = messages(p, 2)
        # no order between publishes made on different nodes: the bus relays one, the other may be local
        assert sorted((m["type"], m["channel"], m["data"]) for m in got) == [
            ("message", channel.encode(), b"via-bus"),
            ("message", channel.encode(), b"via-client"),
        ]
        assert p.channels == {channel.encode(): None}


def test_default_node_is_a_master_and_client_pubsub_entry_point(client):
    with client.pubsub() as p:
        channel = unique("plain")
        p.subscribe(channel)
        confirmations(p, 1)
        assert p.node in client.slot_map.masters
        client.publish(channel, "x")
        assert [m["data"] for m in messages(p, 1)] == [b"x"]


def test_patterns(redis_cluster, client):
    base = unique("pat")
    with client.pubsub() as p:
        p.psubscribe(f"{base}.*")
        (confirmed,) = confirmations(p, 1)
        assert confirmed["type"] == "psubscribe" and confirmed["channel"] == f"{base}.*".encode()
        for i, master in enumerate(redis_cluster.masters()):
            redis_cluster.command(master, "PUBLISH", f"{base}.{i}", f"m{i}")
        redis_cluster.command(redis_cluster.masters()[0], "PUBLISH", f"{base}-nomatch", "no")
        got = messages(p, 3)
        assert sorted((m["type"], m["pattern"], m["channel"], m["data"]) for m in got) == [
            ("pmessage", f"{base}.*".encode(), f"{base}.{i}".encode(), f"m{i}".encode()) for i in range(3)
        ]
        assert p.get_message(timeout=0.1) is None


# --- sharded --------------------------------------------------------------------------------------------


def test_sharded_channels_on_several_slots_and_nodes(redis_cluster, client):
    by_node = channels_on_every_master(client, unique("shard"))
    channels = [c for group in by_node.values() for c in group]
    with client.pubsub() as p:
        p.ssubscribe(*channels)
        confirmed = confirmations(p, len(channels))
        assert sorted(m["channel"] for m in confirmed) == sorted(c.encode() for c in channels)
        assert all(m["type"] == "ssubscribe" for m in confirmed)
        # each channel on its slot's master, one dedicated connection per master
        assert p.shard_nodes == {c.encode(): client.node_for(c).name for c in channels}
        assert sorted(p.connections) == sorted(m.name for m in client.slot_map.masters)
        for master in redis_cluster.masters():
            on_server = redis_cluster.command(master, "PUBSUB", "SHARDCHANNELS", f"{channels[0].split(':')[0]}:*")
            assert sorted(on_server) == sorted(by_node[master.addr])
        for c in channels:
            assert client.spublish(c, f"to-{c}") == 1
        got = messages(p, len(channels))
        assert sorted((m["type"], m["channel"], m["data"]) for m in got) == sorted(
            ("smessage", c.encode(), f"to-{c}".encode()) for c in channels
        )


def test_sharded_channels_of_one_slot_share_a_command(client):
    tag = unique("{room}")
    channels = [f"{tag}:a", f"{tag}:b", f"{tag}:c"]
    with client.pubsub() as p:
        p.ssubscribe(*channels)
        counts = [m["data"] for m in confirmations(p, 3)]
        assert counts == [1, 2, 3]  # one connection, the server's running count
        client.spublish(channels[1], "hello")
        assert [m["channel"] for m in messages(p, 1)] == [channels[1].encode()]


# --- unsubscribing, listen, timeouts ----------------------------------------------------------------------


def test_unsubscribe_everything(redis_cluster, client):
    channel, pattern, shard = unique("u"), unique("up") + ".*", unique("us")
    with client.pubsub() as p:
        p.subscribe(channel)
        p.psubscribe(pattern)
        p.ssubscribe(shard)
        confirmations(p, 3)
        assert p.subscribed
        p.unsubscribe(channel)
        p.punsubscribe()
        p.sunsubscribe(shard)
        assert p.subscribed  # until the confirmations are read
        gone = confirmations(p, 3)
        assert sorted(m["type"] for m in gone) == ["punsubscribe", "sunsubscribe", "unsubscribe"]
        assert not p.subscribed
        # The sharded node's link closes at the first read after its confirmation was read: that may already
        # have happened inside confirmations() when the three arrived in separate reads.
        assert "classic" in p.connections and len(p.connections) <= 2
        p.get_message()
        assert list(p.connections) == ["classic"]  # nothing is subscribed on the sharded node any more
        assert list(p.listen()) == []  # nothing subscribed: listen() ends at once
        client.publish(channel, "late")
        client.spublish(shard, "late")
        redis_cluster.command(redis_cluster.masters()[0], "PUBLISH", pattern[:-2] + ".x", "late")
        assert p.get_message(timeout=0.3) is None
        assert p.channels == p.patterns == p.shard_channels == {}


def test_unsubscribe_some_keeps_the_others(client):
    a, b = unique("keep"), unique("drop")
    with client.pubsub(ignore_subscribe_messages=True) as p:
        p.ssubscribe(a, b)
        p.get_message(timeout=0.5)
        p.sunsubscribe(b)
        p.get_message(timeout=0.3)
        client.spublish(b, "no")
        client.spublish(a, "yes")
        assert [(m["channel"], m["data"]) for m in messages(p, 1)] == [(a.encode(), b"yes")]
        assert p.shard_channels == {a.encode(): None}


def test_listen_yields_until_unsubscribed(client):
    channel = unique("listen")
    with client.pubsub() as p:
        p.subscribe(channel)
        seen = []
        for message in p.listen():
            seen.append((message["type"], message["data"]))
            if message["type"] == "subscribe":
                client.publish(channel, "one")
            elif message["type"] == "message":
                p.unsubscribe()
        assert seen == [("subscribe", 1), ("message", b"one"), ("unsubscribe", 0)]


def test_get_message_timeouts(redis_cluster, client):
    channel = unique("t")
    with client.pubsub() as p:
        started = time.monotonic()
        assert p.get_message() is None  # nothing subscribed: returns at once
        assert p.get_message(timeout=0) is None
        assert time.monotonic() - started < 0.1
        p.subscribe(channel)
        confirmations(p, 1)
        started = time.monotonic()
        assert p.get_message(timeout=0.3) is None
        assert 0.29 <= time.monotonic() - started < 1.0
        # Published from another thread by the cluster's own node connections (thread-safe, whichever client).
        timer = threading.Timer(0.3, redis_cluster.command, (redis_cluster.masters()[0], "PUBLISH", channel, "later"))
        timer.start()
        try:
            started = time.monotonic()
            message = p.get_message(timeout=None)  # blocks until it comes
            assert message is not None and message["data"] == b"later"
            assert 0.25 <= time.monotonic() - started < 3.0
        finally:
            timer.cancel()


def test_decode_responses_handlers_and_ignored_confirmations(redis_cluster, make_client):
    channel, shard = unique("dec"), unique("decs")
    got: list[dict] = []
    with make_client(redis_cluster.startup_nodes, decode_responses=True) as client:
        with client.pubsub() as p:
            p.subscribe(channel)
            p.ssubscribe(**{shard: got.append})
            (first, second) = confirmations(p, 2)
            assert {first["channel"], second["channel"]} == {channel, shard}
            client.publish(channel, "héllo")
            client.spublish(shard, "to-handler")
            message = p.get_message(timeout=2)
            assert message == {"type": "message", "pattern": None, "channel": channel, "data": "héllo"}
            assert p.get_message(timeout=0.3) is None  # the sharded one went to its handler
            assert got == [{"type": "smessage", "pattern": None, "channel": shard, "data": "to-handler"}]
            p.subscribe(channel)  # again: confirmed again, and skipped when asked
            client.publish(channel, "after")
            assert p.get_message(ignore_subscribe_messages=True, timeout=2)["data"] == "after"


def test_closed_pubsub_refuses(client):
    p = client.pubsub()
    p.subscribe(unique("c"))
    p.close()
    with pytest.raises(ClientClosedError):
        p.get_message()
    with pytest.raises(ClientClosedError):
        p.subscribe("x")


# --- self-healing -----------------------------------------------------------------------------------------


def receive_after(p: PubSub, publish, channel: str, timeout: float = 20.0) -> list[dict]:
    """Publish numbered messages until one arrives; the caller touches the PubSub only via get_message."""
    deadline = time.monotonic() + timeout
    got: list[dict] = []
    i = 0
    while time.monotonic() < deadline:
        publish(channel, f"after-{i}")
        i += 1
        message = p.get_message(timeout=0.1)
        while message is not None:
            if message["type"] in ("message", "smessage") and message["channel"] == channel.encode():
                got.append(message)
            message = p.get_message(timeout=0.05)
        if got:
            return got
    raise AssertionError(f"nothing on {channel} within {timeout}s; {p!r}")


def tolerant(publish):
    """Publishing during a failover may fail (the router gives up on a dead master): that is not under test."""

    def call(channel: str, data: str) -> None:
        try:
            publish(channel, data)
        except RedisClusterError:
            pass

    return call


def test_failover_resubscribes_by_itself(redis_cluster_factory, make_client):
    cluster = redis_cluster_factory()
    with make_client(cluster.startup_nodes) as client:
        shard = "orders:{failover}"
        victim = cluster.master_of_slot(key_slot(shard))
        survivor_shard = next(
            f"other:{i}" for i in range(1000) if cluster.master_of_slot(key_slot(f"other:{i}")).port != victim.port
        )
        classic = "classic:failover"
        with client.pubsub(node=(victim.host, victim.port)) as p:
            p.subscribe(classic)
            p.ssubscribe(shard, survivor_shard)
            confirmations(p, 3)
            assert p.node.port == victim.port and p.shard_nodes[shard.encode()] == victim.addr

            cluster.kill(victim)
            # Keep reading from the moment the node dies: the subscriber finds the node gone, the map still
            # naming it, connections refused; it backs off and retries until the replica has taken over.
            got = receive_after(p, tolerant(client.spublish), shard, timeout=30)
            promoted = cluster.wait_for_failover(victim)
            assert got[0]["type"] == "smessage" and got[0]["data"].startswith(b"after-")
            assert p.shard_nodes[shard.encode()] == promoted.addr
            receive_after(p, client.publish, classic)
            assert p.node is not None and p.node.port != victim.port
            # the untouched node's subscription never moved
            client.spublish(survivor_shard, "still-here")
            assert any(m["data"] == b"still-here" for m in messages(p, 1))


def test_slot_migration_resubscribes_at_the_new_owner(redis_cluster_factory, make_client):
    cluster = redis_cluster_factory(replicas_per_master=0)
    with make_client(cluster.startup_nodes) as client:
        shard = "chat:{moving}"
        slot = key_slot(shard)
        source = cluster.master_of_slot(slot)
        target = next(m for m in cluster.masters() if m.port != source.port)
        neighbour = next(  # another slot on the same source node: must stay where it is
            f"n:{i}"
            for i in range(1000)
            if key_slot(f"n:{i}") != slot and cluster.master_of_slot(key_slot(f"n:{i}")).port == source.port
        )
        with client.pubsub(ignore_subscribe_messages=True) as p:
            p.ssubscribe(shard, neighbour)
            p.get_message(timeout=0.5)
            client.spublish(shard, "before")
            assert [m["data"] for m in messages(p, 1)] == [b"before"]

            cluster.command(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
            cluster.command(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
            client.spublish(shard, "migrating")  # the source still serves its subscribers meanwhile
            assert [m["data"] for m in messages(p, 1)] == [b"migrating"]
            # The source lets go first: it pushes `sunsubscribe`, and until the target hears of the move it
            # sends the subscriber back (MOVED ping-pong). Let the subscriber run through that.
            cluster.command(source, "CLUSTER", "SETSLOT", slot, "NODE", target.node_id)
            assert p.get_message(timeout=0.3) is None
            for node in cluster.masters():
                if node.port != source.port:
                    cluster.command(node, "CLUSTER", "SETSLOT", slot, "NODE", target.node_id)

            got = receive_after(p, client.spublish, shard)
            assert got[0]["data"].startswith(b"after-")
            assert p.shard_nodes[shard.encode()] == target.addr
            assert p.shard_nodes[neighbour.encode()] == source.addr
            assert sorted(p.connections) == sorted([source.addr, target.addr])
            assert cluster.command(target, "PUBSUB", "SHARDCHANNELS") == [shard]
            assert cluster.command(source, "PUBSUB", "SHARDCHANNELS") == [neighbour]
            client.spublish(neighbour, "neighbour")
            assert [m["data"] for m in messages(p, 1)] == [b"neighbour"]
            p.sunsubscribe(neighbour)
            p.get_message(timeout=0.3)
            p.get_message()
            assert list(p.connections) == [target.addr]  # nothing left on the source: closed


def test_health_check_notices_a_silent_node(redis_cluster_factory, make_client):
    """A paused (SIGSTOP) node keeps its sockets open: only an unanswered PING shows it is gone."""
    cluster = redis_cluster_factory()
    with make_client(cluster.startup_nodes, socket_timeout=1.0) as client:
        shard = "silent:{hc}"
        frozen = cluster.master_of_slot(key_slot(shard))
        elsewhere = next(m for m in cluster.masters() if m.port != frozen.port)
        with client.pubsub(node=(frozen.host, frozen.port), health_check_interval=0.3) as p:
            p.subscribe("classic:hc")
            p.ssubscribe(shard)
            confirmations(p, 2)
            cluster.pause(frozen, 15)
            started = time.monotonic()
            # classic: moves to another node as soon as the PING goes unanswered, no failover needed
            receive_after(p, lambda ch, data: cluster.command(elsewhere, "PUBLISH", ch, data), "classic:hc")
            assert p.node is not None and p.node.port != frozen.port
            assert time.monotonic() - started < 10
            # sharded: waits for the replica to take over, then follows it
            receive_after(p, tolerant(client.spublish), shard, timeout=30)
            promoted = cluster.wait_for_failover(frozen)
            assert p.shard_nodes[shard.encode()] == promoted.addr


def test_tls_and_password(redis_cluster_factory, make_client):
    """TLS sockets read whole records (and keep Python's timeout mode); AUTH runs on every new connection."""
    cluster = redis_cluster_factory(tls=True, password="pubsub-secret", replicas_per_master=0)
    with make_client(cluster.startup_nodes, ssl=cluster.client_ssl_context(), password="pubsub-secret") as client:
        by_node = channels_on_every_master(client, "tls")
        channels = [c for group in by_node.values() for c in group]
        with client.pubsub(health_check_interval=0.2) as p:
            p.subscribe("tls-classic")
            p.ssubscribe(*channels)
            confirmations(p, 1 + len(channels))
            time.sleep(0.5)
            assert p.get_message(timeout=0.3) is None  # health-check PINGs went and came back unseen
            big = "x" * 200_000  # larger than one TLS record and one read buffer
            client.publish("tls-classic", big)
            for c in channels:
                client.spublish(c, c)
            got = messages(p, 1 + len(channels))
            assert sorted(m["data"] for m in got) == sorted([big.encode(), *(c.encode() for c in channels)])
            assert len(p.connections) == 4


def test_client_pubsub_passes_its_options_to_the_subscriber(redis_cluster, client):
    home = redis_cluster.masters()[2]
    channel = unique("opts")
    with client.pubsub(node=f"{home.host}:{home.port}", ignore_subscribe_messages=True) as p:
        p.subscribe(channel)
        deadline = time.monotonic() + 5
        while p.node is None and time.monotonic() < deadline:
            assert p.get_message(timeout=0.1) is None  # the confirmation is swallowed
        assert p.node is not None and p.node.port == home.port
        client.publish(channel, "hi")
        message = None
        while message is None and time.monotonic() < deadline:
            message = p.get_message(timeout=0.2)
        assert message is not None and message["type"] == "message" and message["data"] == b"hi"


def test_the_subscribers_health_check_follows_the_clients_unless_given(redis_cluster, make_client):
    with make_client(redis_cluster.startup_nodes, health_check_interval=7) as client:
        assert client.pubsub().health_check_interval == 7
        assert client.pubsub(health_check_interval=None).health_check_interval is None
        assert client.pubsub(health_check_interval=2).health_check_interval == 2
    with make_client(redis_cluster.startup_nodes) as client:
        assert client.pubsub().health_check_interval == 30.0
