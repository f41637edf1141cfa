"""Pipelines against scripted fake nodes: redirects and broken connections inside a batch."""

from __future__ import annotations

import pytest
from fakenode import OK, Cut, FakeNode, ask, bulk, moved, slots_reply

from rediscluster_lite import ClusterClient, MaybeAppliedError, key_slot

TIMEOUT = 0.5


@pytest.fixture
def two_nodes():
    a, b = FakeNode(name="A"), FakeNode(name="B")
    truth = {"slots": [(0, 8191, a), (8192, 16383, b)]}
    for fake in (a, b):
        fake.on("CLUSTER SLOTS", lambda argv, node: slots_reply(truth["slots"]))
    yield a, b, truth
    a.close()
    b.close()


def client_for(*fakes: FakeNode, **kwargs) -> ClusterClient:
    options = dict(socket_timeout=TIMEOUT, connect_timeout=TIMEOUT, refresh_interval=None)
    options.update(kwargs)
    return ClusterClient([f.address for f in fakes], **options)


def key_in(low: int, high: int, prefix: str = "k") -> str:
    for i in range(100000):
        key = f"{prefix}{i}"
        if low <= key_slot(key) <= high:
            return key
    raise AssertionError("no key found")


def test_moved_inside_a_batch_resends_only_that_command(two_nodes):
    a, b, truth = two_nodes
    k_a, k_b = key_in(0, 8191), key_in(8192, 16383)
    a.on("GET", lambda argv, node: moved(key_slot(argv[1]), b) if argv[1] == k_a.encode() else bulk("from-a"))
    b.on("GET", lambda argv, node: bulk(b"b:" + argv[1]))
    with client_for(a) as client:
        a.clear()
        b.clear()
        other_a = key_in(0, 8191, "other")
        assert client.pipeline().get(k_a).get(k_b).get(other_a).execute() == [
            b"b:" + k_a.encode(),
            b"b:" + k_b.encode(),
            b"from-a",
        ]
        # a saw each of its two GETs once; only the redirected one was sent again, to b
        assert sorted(argv[1] for argv in a.commands("GET")) == sorted([k_a.encode(), other_a.encode()])
        assert sorted(argv[1] for argv in b.commands("GET")) == sorted([k_a.encode(), k_b.encode()])


def test_ask_inside_a_batch_sends_asking_before_that_command_only(two_nodes):
    a, b, _ = two_nodes
    k_a = key_in(0, 8191)
    a.on("GET", lambda argv, node: ask(key_slot(argv[1]), b) if argv[1] == k_a.encode() else bulk("a"))
    b.on("ASKING", OK)
    b.on("GET", bulk("imported"))
    with client_for(a) as client:
        a.clear()
        b.clear()
        assert client.pipeline().get(k_a).get(key_in(0, 8191, "x")).execute() == [b"imported", b"a"]
        assert b.names() == ["ASKING", "GET"]
        # ASK leaves the map alone: the slot is still a's
        assert client.node_for(k_a).port == a.port


def test_connection_lost_mid_batch_reports_which_writes_may_have_applied(two_nodes):
    a, b, _ = two_nodes
    a.on("SET", [OK, Cut(b"+O")])  # first SET answered, second cut mid-reply (after it was received)
    b.on("SET", OK)
    b.on("GET", bulk("v"))
    k1, k2 = key_in(0, 8191, "one"), key_in(0, 8191, "two")
    k3 = key_in(8192, 16383)
    with client_for(a) as client:
        results = client.pipeline().set(k1, 1).set(k2, 2).set(k3, 3).get(k3).execute(raise_on_error=False)
        assert results[0] is True
        assert isinstance(results[1], MaybeAppliedError)
        assert results[2] is True and results[3] == b"v"
        a.on("SET", [OK, Cut(b"+O")])  # the script starts over
        with pytest.raises(MaybeAppliedError) as info:
            client.pipeline().set(k1, 1).set(k2, 2).execute()
        assert info.value.maybe_applied == [1]
        assert "#1" in str(info.value)


def test_reads_cut_mid_batch_are_resent(two_nodes):
    a, b, _ = two_nodes
    a.on("GET", [bulk("x"), Cut(b"$1\r\n"), bulk("y")])
    k1, k2 = key_in(0, 8191, "one"), key_in(0, 8191, "two")
    with client_for(a) as client:
        a.clear()
        assert client.pipeline().get(k1).get(k2).execute() == [b"x", b"y"]
        assert len(a.commands("GET")) == 3  # the cut read went out once more, on a new connection
