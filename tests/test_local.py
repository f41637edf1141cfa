"""The launcher, against real redis-server processes (no mocks).

Each fresh cluster takes about 2 s to start: Redis keeps a master's cluster_state at fail for its first
2 s (CLUSTER_WRITABLE_DELAY), and forming, syncing and gossip fit inside that window.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import hiredis
import pytest

from rediscluster_lite import local, local_form, local_nodes, local_procs, local_tls, probe
from rediscluster_lite.local import (
    ENV_REDIS_SERVER,
    CommandError,
    LauncherError,
    LocalCluster,
    NodeTimeout,
    NodeUnreachable,
    RedisServerNotFound,
)

REPO = Path(__file__).resolve().parent.parent
CONFTEST = (Path(__file__).parent / "conftest.py").read_text()


def running(pid: int | None) -> bool:
    """Is ``pid`` a live process? A zombie (killed, not yet reaped by a non-reaping init) counts as gone."""
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if running(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def raw(host: str, port: int, *args: str, ctx: ssl.SSLContext | None = None) -> object:
    """One command over a fresh socket, without the launcher: what any client would see."""
    with socket.create_connection((host, port), timeout=5) as sock:
        s = ctx.wrap_socket(sock, server_hostname=host) if ctx else sock
        s.sendall(probe.pack(args))
        reader = hiredis.Reader()
        while (reply := reader.gets()) is False:
            data = s.recv(65536)
            if not data:
                raise ConnectionError("closed")
            reader.feed(data)
        return reply


# ------------------------------------------------------------------ pure helpers


def test_slots_are_split_like_redis_cli():
    assert local_form.split_slots(3) == [(0, 5460), (5461, 10922), (10923, 16383)]
    for m in (1, 2, 5, 7, 16):
        ranges = local_form.split_slots(m)
        assert ranges[0][0] == 0 and ranges[-1][1] == 16383
        assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:], strict=False))


def test_cluster_nodes_parsing():
    text = (
        "07c3 127.0.0.1:30004@40004,host.example slave e7d1 0 1426238317239 4 connected\n"
        "e7d1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 7000 [93->-292f]\n"
        "292f 127.0.0.1:30002@40002 master,fail - 1426238316232 1426238315000 2 disconnected\n"
    )
    view = local_nodes.node_view(text)
    assert view["07c3"].role == "replica" and view["07c3"].master_id == "e7d1" and view["07c3"].port == 30004
    assert view["e7d1"].role == "master" and view["e7d1"].slots == ((0, 5460), (7000, 7000))
    assert view["292f"].failed and not view["e7d1"].failed


def test_missing_redis_server_names_the_install_commands(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_REDIS_SERVER, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RedisServerNotFound) as ei:
        LocalCluster().start()
    msg = str(ei.value)
    assert "sudo apt-get install redis-server" in msg and "brew install redis" in msg
    assert isinstance(ei.value, LauncherError)

    monkeypatch.setenv(ENV_REDIS_SERVER, str(tmp_path / "no-such-redis-server"))
    with pytest.raises(RedisServerNotFound, match=ENV_REDIS_SERVER):
        local.find_redis_server()


@pytest.mark.live
def test_env_var_selects_the_binary(monkeypatch):
    real = local.find_redis_server()
    monkeypatch.setenv(ENV_REDIS_SERVER, real)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert local.find_redis_server() == real


def test_tls_files_from_either_backend_verify(tmp_path):
    backends = [True]  # openssl CLI
    try:
        import cryptography  # noqa: F401

        backends.append(False)
    except ImportError:
        pass
    for use_openssl in backends:
        d = tmp_path / ("openssl" if use_openssl else "cryptography")
        ca, cert, key = local_tls.make_tls_files(d, "127.0.0.1", use_openssl=use_openssl)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        client_ctx = ssl.create_default_context(cafile=str(ca))
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]

            def serve(listener=listener, server_ctx=server_ctx):
                conn, _ = listener.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(tls.recv(10))

            t = threading.Thread(target=serve)
            t.start()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                with client_ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
                    tls.sendall(b"ping")
                    assert tls.recv(10) == b"ping"
            t.join(5)


@pytest.mark.live
def test_a_node_that_fails_to_boot_reports_its_log_without_the_password():
    secret = "hunter2-not-in-errors"
    # A bad directive makes redis log the offending line, password included; the launcher must redact it.
    cluster = LocalCluster(masters=1, replicas_per_master=0, password=secret, extra_config={"no-such-option": secret})
    with pytest.raises(LauncherError) as ei:
        cluster.start()
    assert "no-such-option" in str(ei.value)
    assert secret not in str(ei.value) and secret not in repr(cluster)
    assert all(not running(n.pid) for n in cluster.nodes)
    assert cluster.data_dir is not None and not cluster.data_dir.exists()


# ------------------------------------------------------------------ the shared session cluster


def test_fresh_cluster_roles_slots_and_sync(redis_cluster):
    c = redis_cluster
    assert len(c.nodes) == 6
    masters, replicas = c.masters(), c.replicas()
    assert [n.role for n in masters] == ["master"] * 3 and [n.shard for n in masters] == [0, 1, 2]
    assert [n.shard for n in replicas] == [0, 1, 2] and {n.role for n in replicas} == {"replica"}
    for m in masters:
        assert c.replicas_of(m) == [n for n in replicas if n.shard == m.shard]
    assert c.startup_nodes == [(n.host, n.port) for n in c.nodes]

    # Every node: a live process with its own dir, config, log and nodes.conf, and agreeing on the slots.
    slots = [c.command(n, "CLUSTER", "SLOTS") for n in c.nodes]
    for n in c.nodes:
        assert n.is_alive() and running(n.pid) and n.addr == f"{n.host}:{n.port}"
        assert (n.dir / "nodes.conf").exists() and n.log_file.exists() and n.config_file.exists()
        assert c.command(n, "CLUSTER", "MYID") == n.node_id
        assert c.cluster_info(n)["cluster_state"] == "ok"
        assert c.node(n.port) is n and c.node(n.addr) is n and c.node((n.host, n.port)) is n
        assert c.node(n.node_id) is n
    assert all(s == slots[0] for s in slots)
    owners = sorted((row[0], row[1], row[2][1], row[3][1]) for row in slots[0])
    assert owners == [
        (0, 5460, masters[0].port, replicas[0].port),
        (5461, 10922, masters[1].port, replicas[1].port),
        (10923, 16383, masters[2].port, replicas[2].port),
    ]
    assert c.master_of_slot(0) is masters[0] and c.master_of_slot(16383) is masters[2]

    # Replicas are linked and in sync: a write acknowledged by WAIT is readable on the replica.
    for r in replicas:
        info = c.info(r, "replication")
        assert info["master_link_status"] == "up" and info["master_sync_in_progress"] == "0"
    key = "launcher:{sync}"
    m = c.master_of_slot(c.keyslot(key))
    c.command(m, "SET", key, "v1")
    assert c.command(m, "WAIT", 1, 5000) == 1
    (r,) = c.replicas_of(m)
    c.command(r, "READONLY")
    assert c.command(r, "GET", key) == "v1"
    assert c.command(m, "GET", key, decode=False) == b"v1"
    c.command(m, "DEL", key)  # the cluster is shared: leave no keys behind


def test_command_errors_and_lookups(redis_cluster):
    c = redis_cluster
    with pytest.raises(CommandError) as ei:
        c.command(c.nodes[0], "NOSUCHCOMMAND")
    assert ei.value.code == "ERR" and ei.value.node == c.nodes[0].addr
    with pytest.raises(LauncherError):
        c.node(1)
    assert c.keyslot("foo") == 12182 and c.keyslot("{user1000}.following") == c.keyslot("{user1000}.x")


def test_shared_cluster_refuses_chaos(redis_cluster):
    node = redis_cluster.nodes[0]
    for action in (redis_cluster.kill, redis_cluster.stop, redis_cluster.restart):
        with pytest.raises(LauncherError, match="redis_cluster_factory"):
            action(node)
    with pytest.raises(LauncherError, match="redis_cluster_factory"):
        redis_cluster.pause(node, 1)
    assert node.is_alive()


# ------------------------------------------------------------------ chaos on fresh clusters


def test_kill_master_failover_then_restarts_keep_roles(redis_cluster_factory):
    c = redis_cluster_factory()
    key = "launcher:{failover}"
    old = c.master_of_slot(c.keyslot(key))
    (replica,) = c.replicas_of(old)
    old_id = old.node_id
    c.command(old, "SET", key, "before")
    assert c.command(old, "WAIT", 1, 5000) == 1

    t0 = time.monotonic()
    c.kill(old)
    assert not old.is_alive() and not running(old.pid)
    promoted = c.wait_for_failover(old)
    failover_s = time.monotonic() - t0
    print(f"failover took {failover_s:.2f}s (node_timeout_ms={c.node_timeout_ms})")
    assert promoted is replica
    assert c.role_of(promoted) == "master" and promoted in c.masters() and old not in c.masters()
    assert c.master_of_slot(c.keyslot(key)) is promoted
    assert c.command(promoted, "GET", key) == "before"

    # The old master comes back from its own nodes.conf: same id, now a replica of the promoted node.
    t0 = time.monotonic()
    c.restart(old)
    print(f"restart of the old master took {time.monotonic() - t0:.2f}s")
    assert old.is_alive() and c.command(old, "CLUSTER", "MYID") == old_id
    assert c.role_of(old) == "replica" and c.replicas_of(promoted) == [old]
    assert c.info(old, "replication")["master_link_status"] == "up"

    # Both nodes of that shard down: the cluster fails. Restart both: the new roles stay.
    c.kill(old)
    c.kill(promoted)
    c.wait_for_state("fail", timeout=30)
    c.restart(promoted)
    c.restart(old)
    c.wait_for_state("ok", timeout=30)
    c.wait_for_stable(timeout=30)
    assert c.role_of(promoted) == "master" and c.role_of(old) == "replica"
    assert c.replicas_of(promoted) == [old]
    assert c.master_of_slot(c.keyslot(key)) is promoted


def test_pause_stop_and_a_paused_master_fails_over(redis_cluster_factory):
    c = redis_cluster_factory()
    replica = c.replicas()[0]

    c.pause(replica, None)
    assert replica.paused and replica.is_alive()
    with pytest.raises(NodeTimeout) as ei:
        c.command(replica, "PING", timeout=0.3)
    assert isinstance(ei.value, TimeoutError) and isinstance(ei.value, NodeUnreachable)
    c.resume(replica)
    assert not replica.paused and c.command(replica, "PING") == "PONG"

    # A timed pause: unresponsive now, answering again after about the given time.
    t0 = time.monotonic()
    c.pause(replica, 0.5)
    with pytest.raises(NodeTimeout):
        c.command(replica, "PING", timeout=0.2)
    while True:
        try:
            assert c.command(replica, "PING", timeout=0.2) == "PONG"
            break
        except NodeTimeout:
            assert time.monotonic() - t0 < 5
    assert 0.45 <= time.monotonic() - t0 < 5

    # stop() is a clean shutdown (exit status 0); restart() brings the replica back in sync.
    c.stop(replica)
    assert not replica.is_alive() and replica._proc is not None and replica._proc.returncode == 0
    with pytest.raises(NodeUnreachable):
        c.command(replica, "PING", timeout=0.5)
    c.restart(replica)
    assert c.role_of(replica) == "replica" and c.info(replica, "replication")["master_link_status"] == "up"

    # A master paused longer than the node timeout is failed over; resumed, it rejoins as a replica.
    master = c.masters()[1]
    (standby,) = c.replicas_of(master)
    c.pause(master, None)
    assert c.wait_for_failover(master) is standby
    c.resume(master)
    c.wait_for_stable(timeout=30)
    assert c.role_of(master) == "replica" and c.replicas_of(standby) == [master]


# ------------------------------------------------------------------ cleanup


def free_base_port() -> int:
    for _ in range(200):
        base = random.randint(11000, 21000)
        ports = [base, base + 1, base + 2, base + 100, base + 101, base + 102]
        if all(local_procs.port_free("127.0.0.1", p) and local_procs.port_free("127.0.0.1", p + 10000) for p in ports):
            return base
    pytest.skip("no free base port block")


@pytest.mark.live
def test_base_port_layout_and_close_leaves_no_processes(tmp_path):
    base = free_base_port()
    data_dir = tmp_path / "cluster"
    c = LocalCluster(base_port=base, data_dir=data_dir)
    with c:
        assert [n.port for n in c.nodes] == [base, base + 1, base + 2, base + 100, base + 101, base + 102]
        assert [n.shard for n in c.replicas()] == [0, 1, 2]
        state = json.loads((data_dir / "cluster.json").read_text())
        assert [n["port"] for n in state["nodes"]] == c.ports
        pids = [n.pid for n in c.nodes]
        assert all(running(p) for p in pids)
        c.kill(c.nodes[5])  # already dead at close
        c.pause(c.nodes[4], None)  # stopped at close
        c.pause(c.nodes[3], 30)  # a pending resume timer at close
    assert all(not running(p) for p in pids)
    assert all(not n.is_alive() for n in c.nodes)
    c.close()  # idempotent
    # data_dir was given: logs and node files stay for inspection.
    assert (data_dir / f"node-{base}" / "redis.log").exists()
    assert (data_dir / f"node-{base}" / "nodes.conf").exists()
    with pytest.raises(LauncherError, match="already holds a cluster"):
        LocalCluster(base_port=base, data_dir=data_dir).start()


@pytest.mark.live
def test_a_test_that_raises_still_cleans_up():
    with pytest.raises(RuntimeError, match="boom"):
        with LocalCluster(masters=1, replicas_per_master=1) as c:
            pids = [n.pid for n in c.nodes]
            data_dir = c.data_dir
            assert all(running(p) for p in pids)
            raise RuntimeError("boom")
    assert all(not running(p) for p in pids)
    assert data_dir is not None and not data_dir.exists()
    assert not local_procs.is_registered(c)


class _StuckProc:
    """A Popen stand-in for a node that SIGKILL does not end in time (e.g. in uninterruptible sleep)."""

    returncode = None

    def __init__(self, name: str, events: list) -> None:
        self.name, self.events = name, events

    def kill(self) -> None:
        self.events.append(("kill", self.name))

    def wait(self, timeout: float) -> None:
        self.events.append(("wait", self.name, timeout))
        time.sleep(timeout)
        raise subprocess.TimeoutExpired("redis-server", timeout)


def test_kill_now_kills_every_node_first_and_waits_for_stuck_ones_once_in_all(tmp_path):
    # The exit after SIGINT/SIGTERM waits for kill_now: a per-node wait would add up over the nodes.
    events: list = []
    nodes = [local_procs.Node("127.0.0.1", 1 + i, tmp_path, i, "master", i) for i in range(3)]
    for i, n in enumerate(nodes):
        n._proc = _StuckProc(f"n{i}", events)  # type: ignore[assignment]
    local_procs.kill_now(nodes, timeout=0.2)
    assert [e[:2] for e in events] == [("kill", "n0"), ("kill", "n1"), ("kill", "n2")] + [
        ("wait", "n0"),
        ("wait", "n1"),
        ("wait", "n2"),
    ]
    first, *rest = (e[2] for e in events[3:])
    assert 0 < first <= 0.2 and rest == [0.0, 0.0]  # the deadline had passed: no second wait


# The child undoes what it may have inherited: a job started with `&` by a non-interactive shell ignores
# SIGINT (as does anything run under `nohup` or some CI runners for other signals), an ignored signal stays
# ignored across exec, and Python then installs no KeyboardInterrupt handler nor the launcher its SIGTERM
# one. Such a child would sleep through the signal; the test is about a run started from a terminal.
CHILD = """
import json, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
from rediscluster_lite.local import LocalCluster
c = LocalCluster(masters=1, replicas_per_master=1)
c.start()
print(json.dumps({"pids": [n.pid for n in c.nodes], "dir": str(c.data_dir)}), flush=True)
time.sleep(120)
"""


@pytest.mark.live
def test_an_interrupted_or_killed_test_run_leaves_no_servers():
    """SIGINT (atexit), SIGTERM (our handler) and even SIGKILL (PR_SET_PDEATHSIG) of the Python process."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    sigs = [signal.SIGINT, signal.SIGTERM]
    if sys.platform.startswith("linux"):
        sigs.append(signal.SIGKILL)
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for _ in sigs
    ]
    infos: list[dict] = []
    try:
        infos += [json.loads(p.stdout.readline()) for p in children]  # type: ignore[union-attr]
        for p, sig, info in zip(children, sigs, infos, strict=True):
            assert all(running(pid) for pid in info["pids"])
            p.send_signal(sig)
        for p, sig in zip(children, sigs, strict=True):
            p.wait(timeout=20)
            assert p.returncode == -sig, f"after {sig.name} the child exited with {p.returncode}"
        for sig, info in zip(sigs, infos, strict=True):
            assert wait_gone(info["pids"]) == [], f"redis-server left running after {sig.name}"
            if sig != signal.SIGKILL:
                assert not Path(info["dir"]).exists(), f"temp dir left after {sig.name}"
    finally:
        for p in children:
            p.kill()
            p.wait()
        for info in infos:
            shutil.rmtree(info["dir"], ignore_errors=True)  # SIGKILL leaves no chance to remove it


# ------------------------------------------------------------------ password and TLS


def test_password_cluster_requires_auth(redis_cluster_factory):
    secret = "s3cret-Pa55"
    c = redis_cluster_factory(password=secret)
    n = c.masters()[0]
    reply = raw(n.host, n.port, "PING")
    assert isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOAUTH")
    assert isinstance(raw(n.host, n.port, "AUTH", "wrong"), hiredis.ReplyError)
    assert c.command(n, "PING") == "PONG"  # the launcher authenticates itself
    for r in c.replicas():  # replication authenticated with masterauth
        assert c.info(r, "replication")["master_link_status"] == "up"
    # Never in a repr, on a command line, or in an error message.
    assert secret not in repr(c) and all(secret not in repr(x) for x in c.nodes)
    for x in c.nodes:
        assert secret.encode() not in Path(f"/proc/{x.pid}/cmdline").read_bytes()
        assert x.config_file.stat().st_mode & 0o077 == 0
    c.pause(n, None)
    with pytest.raises(NodeTimeout) as ei:
        c.command(n, "AUTH", secret, timeout=0.3)
    assert secret not in str(ei.value)
    c.resume(n)


def test_tls_cluster_answers_over_tls_with_its_ca(redis_cluster_factory):
    c = redis_cluster_factory(tls=True)
    assert c.ca_file is not None and c.ca_file.exists()
    ctx = c.client_ssl_context()
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_REQUIRED
    for n in c.nodes:
        assert raw(n.host, n.port, "PING", ctx=ctx) == b"PONG"
    n = c.nodes[0]
    # CLUSTER SLOTS advertises the TLS ports, and the replicas synced over TLS.
    ports = {row[2][1] for row in c.command(n, "CLUSTER", "SLOTS")}
    assert ports == {m.port for m in c.masters()}
    for r in c.replicas():
        assert c.info(r, "replication")["master_link_status"] == "up"
    # Without TLS, or without the CA, there is no conversation.
    with pytest.raises((ConnectionError, OSError)):
        raw(n.host, n.port, "PING")
    with pytest.raises(ssl.SSLCertVerificationError):
        raw(n.host, n.port, "PING", ctx=ssl.create_default_context())


# ------------------------------------------------------------------ the pytest plugin itself

INNER_TESTS = """
import json, pytest
from rediscluster_lite.local import LauncherError

def test_factory_cleans_up_after_a_failing_test(redis_cluster_factory, tmp_path_factory):
    c = redis_cluster_factory(masters=1, replicas_per_master=0)
    with open({pids_file!r}, "w") as f:
        json.dump([n.pid for n in c.nodes], f)
    assert False, "this test fails on purpose"

def test_session_cluster_is_shared(redis_cluster):
    assert redis_cluster.command(redis_cluster.nodes[0], "PING") == "PONG"
    with pytest.raises(LauncherError):
        redis_cluster.kill(redis_cluster.nodes[0])
"""


def run_inner_pytest(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    env = {**env, "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.live
def test_plugin_fixtures_in_a_user_project(tmp_path):
    pids_file = tmp_path / "pids.json"
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS.format(pids_file=str(pids_file))))
    r = run_inner_pytest(tmp_path, dict(os.environ))
    assert "1 failed, 1 passed" in r.stdout, r.stdout + r.stderr
    assert "this test fails on purpose" in r.stdout
    pids = json.loads(pids_file.read_text())
    assert pids and wait_gone(pids) == []


def test_plugin_fails_with_the_install_hint_when_redis_server_is_missing(tmp_path):
    (tmp_path / "test_inner.py").write_text("def test_x(redis_cluster):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != ENV_REDIS_SERVER}
    env["PATH"] = str(tmp_path)
    r = run_inner_pytest(tmp_path, env)
    assert r.returncode != 0 and "skipped" not in r.stdout
    assert "sudo apt-get install redis-server" in r.stdout and "brew install redis" in r.stdout
