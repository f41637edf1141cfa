"""The client's AUTH and TLS paths against real password-protected and TLS clusters."""

from __future__ import annotations

import logging
import uuid

import pytest
from cluster_helpers import commandstat

from rediscluster_lite import ClusterClient, ResponseError

SECRET = "pw-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def password_cluster():
    from rediscluster_lite.local import LocalCluster

    with LocalCluster(password=SECRET) as cluster:
        for node in cluster.nodes:
            cluster.command(node, "ACL", "SETUSER", "app", "on", ">app-" + SECRET, "~*", "+@all")
            cluster.command(node, "ACL", "SETUSER", "guest", "on", "nopass", "~*", "+@all")
        yield cluster


def test_password_applies_to_every_node_including_after_redirects(password_cluster, caplog):
    caplog.set_level(logging.DEBUG)
    with ClusterClient(password_cluster.startup_nodes[:1], password=SECRET) as client:
        # Keys on all three masters: each needs its own authenticated connection.
        for i in range(30):
            client.set(f"auth:{i}", i)
            assert client.get(f"auth:{i}") == str(i).encode()
        assert len(client._topology.pools()) >= 3
        assert SECRET not in repr(client)
        assert all(SECRET not in repr(pool) for pool in client._topology.pools())
    assert SECRET not in caplog.text


def test_acl_username_and_password(password_cluster, make_client):
    with make_client(password_cluster.startup_nodes, username="app", password="app-" + SECRET) as client:
        client.set("acl:key", "v")
        assert client.get("acl:key") == b"v"


def test_username_without_password_logs_in_as_that_user(password_cluster, make_client):
    # An ACL user with ``nopass`` takes any password: the client must still say who it is.
    with make_client(password_cluster.startup_nodes, username="guest") as client:
        assert client.execute_command("ACL", "WHOAMI") == b"guest"
        client.set("guest:key", "v")
        assert client.get("guest:key") == b"v"


def test_from_url_carries_credentials(password_cluster):
    host, port = password_cluster.startup_nodes[0]
    with ClusterClient.from_url(f"redis://app:app-{SECRET}@{host}:{port}") as client:
        assert client.ping() is True
        assert SECRET not in repr(client)


def test_wrong_password_fails_clearly_without_echoing_it(password_cluster, make_client):
    wrong = "wrong-" + uuid.uuid4().hex
    with pytest.raises(ResponseError) as info:
        make_client(password_cluster.startup_nodes, password=wrong)
    assert info.value.code in ("WRONGPASS", "ERR")
    assert wrong not in str(info.value) and SECRET not in str(info.value)


def test_missing_password_is_refused(password_cluster, make_client):
    with pytest.raises(ResponseError) as info:
        make_client(password_cluster.startup_nodes)
    assert info.value.code == "NOAUTH"


@pytest.fixture(scope="module")
def tls_cluster():
    from rediscluster_lite.local import LocalCluster

    with LocalCluster(tls=True) as cluster:
        yield cluster


def test_tls_with_the_cluster_ca(tls_cluster):
    with ClusterClient(tls_cluster.startup_nodes, ssl=tls_cluster.client_ssl_context()) as client:
        for i in range(20):
            client.set(f"tls:{i}", i)
            assert client.get(f"tls:{i}") == str(i).encode()
        conn = client._topology.pools()[0]._idle[0]
        assert conn.stream.sock.version() is not None  # an SSLSocket with a negotiated protocol


def test_tls_verification_is_on_by_default(tls_cluster):
    # ssl=True verifies against the system CAs, which do not know the throwaway CA: refused.
    from rediscluster_lite import ConnectionError as ClusterConnectionError

    with pytest.raises(ClusterConnectionError):
        ClusterClient(tls_cluster.startup_nodes, ssl=True, connect_timeout=2)


def test_tls_replica_reads(tls_cluster):
    with ClusterClient(tls_cluster.startup_nodes, ssl=tls_cluster.client_ssl_context(), read_from="replica") as client:
        for i in range(10):
            client.set(f"tls:replica:{i}", i)
        replicas = [n for n in tls_cluster.nodes if n.role == "replica"]
        before = sum(commandstat(tls_cluster, n, "get") for n in replicas)
        for i in range(10):
            assert client.get(f"tls:replica:{i}") in (str(i).encode(), None)  # a replica may lag by a moment
        after = sum(commandstat(tls_cluster, n, "get") for n in replicas)
        assert after - before == 10  # every read went over TLS to a replica
        ports = {n.port for n in replicas}
        assert all(c.readonly for p in client._topology.pools() for c in p._idle if c.node.port in ports)


def test_big_values_over_tls_arrive_whole(tls_cluster, make_client):
    # Larger than one TLS record (16 KiB) and than one read buffer: asyncio's TLS transport fills a protocol's
    # buffer piece by piece, and once lost every piece after the first (a bytearray slice is a copy).
    with make_client(tls_cluster.startup_nodes, ssl=tls_cluster.client_ssl_context()) as client:
        values = {f"tls:big:{i}": bytes([65 + i]) * (100_000 + i) for i in range(12)}
        big = b"".join(values.values())
        client.set("tls:big", big)
        assert client.get("tls:big") == big
        with client.pipeline() as pipe:
            for key, value in values.items():
                pipe.set(key, value)
            for key in values:
                pipe.get(key)
            assert pipe.execute()[len(values) :] == list(values.values())
        assert client.mget(list(values)) == list(values.values())
