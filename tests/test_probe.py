"""The tooling's RESP probe and its one ``CLUSTER NODES`` parser (``rediscluster_lite.probe``).

The parser is pinned on literal ``CLUSTER NODES`` text, in the forms redis prints (5.x without a bus port,
6.x ``ip:port@cport``, 7.x ``ip:port@cport,hostname`` and aux fields, IPv6, ``:0@0`` for no address); the
probe on a scripted fake node; the monitor's wrapper on the failures it must turn into one-line errors.
"""

from __future__ import annotations

import time

import hiredis
import pytest
from fakenode import Close, Cut, FakeNode, Silent, Trickle, bulk, error

from rediscluster_lite.monitor import InspectError, NodeConn
from rediscluster_lite.probe import NodeEntry, RespProbe, pack, parse_cluster_nodes, parse_node_line

A = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"
B = "292fc4ecb3d7a6f7e7b24c2e1b6b2ef0a4f4a3b1"
C = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"
R = "07c37dfeb235213a872192d90877d0cd55635b91"
H = "5c2a3fe4d5b9d6d0b1f1e8e0a6e3b4c2d1a0f9e8"

# Six nodes as a master sees them mid-migration: a replica with a hostname, a failed master, a node in
# handshake, one without an address, one slot leaving A for B and one arriving from C.
SIX_NODES = f"""\
{R} 127.0.0.1:30004@40004,replica-1.example slave {A} 0 1426238317239 4 connected
{A} 127.0.0.1:30001@40001,,tls-port=0,shard-id=9f1 myself,master - 0 0 1 connected 0-5460 7000 [93->-{B}] [94-<-{C}]
{B} 127.0.0.1:30002@40002 master,fail - 1426238316232 1426238315000 2 disconnected 5461-6999 7001-10922
{C} 127.0.0.1:30003@40003 master - 0 1426238318243 3 connected 10923-16383
{H} 127.0.0.1:30005@40005 handshake - 1426238319000 0 0 connected
0000000000000000000000000000000000000000 :0@0 master,noaddr - 1426238320000 1426238320000 5 disconnected
"""


def by_id(text: str, default_host: str = "127.0.0.1") -> dict[str, NodeEntry]:
    return {e.node_id: e for e in parse_cluster_nodes(text, default_host)}


# ------------------------------------------------------------------ CLUSTER NODES


def test_roles_masters_and_replicas():
    view = by_id(SIX_NODES)
    assert len(view) == 6
    assert view[R].role == "replica" and view[R].master_id == A and view[R].slots == ()
    assert view[A].role == "master" and view[A].master_id is None
    assert view[H].role == "unknown"  # a node in handshake has no role yet
    assert "myself" in view[A].flags and view[A].config_epoch == 1 and view[A].link == "connected"
    assert view[B].link == "disconnected" and view[R].config_epoch == 4


def test_failure_flags_give_health_and_failed():
    view = by_id(SIX_NODES)
    assert (view[A].health, view[A].failed) == ("ok", False)
    assert (view[B].health, view[B].failed) == ("fail", True)
    assert (view[H].health, view[H].failed) == ("handshake", True)
    assert view["0" * 40].health == "noaddr" and view["0" * 40].failed
    suspect = parse_node_line(f"{B} 127.0.0.1:30002@40002 master,fail? - 1 1 2 connected 5461-10922")
    assert suspect is not None and suspect.health == "fail?" and suspect.failed
    both = parse_node_line(f"{B} 127.0.0.1:30002@40002 master,fail?,fail - 1 1 2 connected")
    assert both is not None and both.health == "fail"  # the worst flag wins


def test_owned_ranges_single_slots_and_migrations():
    view = by_id(SIX_NODES)
    # Ranges sorted, a single slot as (n, n); the bracketed migrations are not ownership.
    assert view[A].slots == ((0, 5460), (7000, 7000))
    assert view[A].migrating == ((93, B),)
    assert view[A].importing == ((94, C),)
    assert view[B].slots == ((5461, 6999), (7001, 10922)) and view[B].migrating == () == view[B].importing
    assert view[A].as_dict()["slots"] == 5462


def test_address_forms_port_cport_hostname_and_aux_fields():
    view = by_id(SIX_NODES)
    r, a = view[R], view[A]
    assert (r.host, r.port, r.cport, r.hostname) == ("127.0.0.1", 30004, 40004, "replica-1.example")
    assert r.addr == "127.0.0.1:30004"
    # Redis 7.2: an empty hostname, then aux fields; the aux fields are not a hostname.
    assert (a.host, a.port, a.cport, a.hostname) == ("127.0.0.1", 30001, 40001, "")
    old = parse_node_line(f"{C} 10.0.0.3:7000 master - 0 0 3 connected 0-16383")  # redis < 4: no bus port
    assert old is not None and (old.host, old.port, old.cport) == ("10.0.0.3", 7000, 0)
    named = parse_node_line(f"{C} 10.0.0.3:7000@17000,node-3.internal,shard-id=ab master - 0 0 3 connected")
    assert named is not None and named.hostname == "node-3.internal" and named.cport == 17000


def test_ipv6_addresses():
    plain = parse_node_line(f"{A} ::1:30001@40001 myself,master - 0 0 1 connected 0-16383")
    assert plain is not None and (plain.host, plain.port, plain.cport) == ("::1", 30001, 40001)
    assert plain.addr == "[::1]:30001"
    full = parse_node_line(f"{B} 2001:db8::7:6379@16379,cache-b slave {A} 0 0 1 connected")
    assert full is not None and (full.host, full.port, full.hostname) == ("2001:db8::7", 6379, "cache-b")
    bracketed = parse_node_line(f"{C} [fe80::1]:7000@17000 master - 0 0 1 connected")
    assert bracketed is not None and (bracketed.host, bracketed.port) == ("fe80::1", 7000)


def test_no_address_and_a_node_that_met_no_one():
    noaddr = by_id(SIX_NODES, default_host="10.1.1.1")["0" * 40]
    assert (noaddr.host, noaddr.port, noaddr.cport) == ("10.1.1.1", 0, 0)
    # A fresh node prints ":port@cport" for itself: it means the address it was reached on.
    fresh = by_id(f"{A} :30001@40001 myself,master - 0 0 0 connected\n", default_host="192.168.0.9")[A]
    assert (fresh.host, fresh.port, fresh.addr) == ("192.168.0.9", 30001, "192.168.0.9:30001")


def test_short_and_blank_lines_are_skipped():
    text = "\n" + SIX_NODES.splitlines()[0] + "\n   \ngarbage line\n"
    assert [e.node_id for e in parse_cluster_nodes(text)] == [R]
    assert parse_node_line("") is None and parse_node_line("a b c d e f g") is None


# ------------------------------------------------------------------ pack


def test_pack_frames_bulk_strings_and_refuses_other_types():
    assert pack(["SET", b"k\r\n", 7, 1.5]) == b"*4\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$1\r\n7\r\n$3\r\n1.5\r\n"
    assert pack(["é"]) == b"*1\r\n$2\r\n\xc3\xa9\r\n"
    for bad in (True, None, ["x"]):
        with pytest.raises(TypeError):
            pack(["SET", bad])


# ------------------------------------------------------------------ the probe, on a scripted node


def test_probe_returns_replies_and_error_values():
    with FakeNode({"GET": bulk(b"caf\xe9"), "SET": error("MOVED 1 127.0.0.1:1")}) as node:
        probe = RespProbe(node.host, node.port, timeout=2.0)
        try:
            assert probe.call(["GET", "k"], 2.0) == "caf\udce9"  # surrogateescape keeps the raw byte
            assert probe.call(["GET", "k"], 2.0, errors="replace") == "caf\ufffd"
            assert probe.call(["GET", "k"], 2.0, decode=False) == b"caf\xe9"
            reply = probe.call(["SET", "k", "v"], 2.0)
            assert isinstance(reply, hiredis.ReplyError) and str(reply) == "MOVED 1 127.0.0.1:1"
        finally:
            probe.close()
        assert node.commands() == [[b"GET", b"k"]] * 3 + [[b"SET", b"k", b"v"]]


def test_probe_reassembles_a_trickled_reply():
    with FakeNode({"PING": Trickle(b"+PONG\r\n", interval=0.01)}) as node:
        probe = RespProbe(node.host, node.port, timeout=2.0)
        try:
            assert probe.call(["PING"], 2.0) == "PONG"
        finally:
            probe.close()


def test_probe_timeout_bounds_the_whole_call_not_each_read():
    # Each byte arrives well within the timeout, but the reply as a whole takes far longer.
    with FakeNode({"PING": Trickle(b"+" + b"P" * 200 + b"\r\n", interval=0.02)}, name="slow") as node:
        probe = RespProbe(node.host, node.port, timeout=2.0)
        try:
            t0 = time.monotonic()
            with pytest.raises(TimeoutError):
                probe.call(["PING"], 0.3)
            assert time.monotonic() - t0 < 1.5
        finally:
            probe.close()


def test_probe_on_a_silent_or_closing_node():
    with FakeNode({"PING": Silent(), "INFO": Close(), "ECHO": Cut(b"$5\r\nhel")}) as node:
        for command, raised in (("PING", TimeoutError), ("INFO", OSError), ("ECHO", OSError)):
            probe = RespProbe(node.host, node.port, timeout=2.0)
            try:
                with pytest.raises(raised):
                    probe.call([command], 0.3)
            finally:
                probe.close()


# ------------------------------------------------------------------ the monitor's wrapper


def test_node_conn_turns_every_failure_into_one_inspect_error():
    with FakeNode({"PING": b"%not resp\r\n", "INFO": Silent(), "DBSIZE": error("ERR cluster support disabled")}) as n:
        conn = NodeConn(n.host, n.port, timeout=0.3)
        try:
            with pytest.raises(InspectError, match="not a RESP reply"):
                conn.call("PING")
            with pytest.raises(InspectError, match=r"did not answer INFO within 0\.3 s"):
                conn.call("INFO")
            with pytest.raises(InspectError, match="is not a cluster node"):
                conn.call("DBSIZE")
            assert conn.sent == 3
        finally:
            conn.close()


# ------------------------------------------------------------------ on a real cluster


def test_parser_reads_a_real_cluster(redis_cluster):
    node = redis_cluster.nodes[0]
    text = redis_cluster.command(node, "CLUSTER", "NODES")
    entries = parse_cluster_nodes(text)
    assert sorted(e.port for e in entries) == sorted(redis_cluster.ports)
    masters = [e for e in entries if e.role == "master"]
    assert sum(e.as_dict()["slots"] for e in masters) == 16384
    assert all(e.health == "ok" and e.cport == e.port + 10000 for e in entries)
    assert {e.master_id for e in entries if e.role == "replica"} == {m.node_id for m in masters}
    assert [e.port for e in entries if "myself" in e.flags] == [node.port]
