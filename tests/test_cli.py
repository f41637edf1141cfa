"""The ``rediscluster-lite`` CLI against real redis-server processes (no mocks).

Commands run either in a separate process (``python -m rediscluster_lite``, as a user runs them: exit code,
stdout, stderr) or in-process through ``cli.main([...])`` (faster, output captured by pytest). Output is
not a terminal in either case, so it is the plain-text form, and ``--json`` output is parsed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cluster_helpers import busy_port

from rediscluster_lite import ClusterClient, cli, key_slot
from rediscluster_lite.cli import ENV_DATA_DIR, pid_running
from rediscluster_lite.local import ENV_REDIS_SERVER
from rediscluster_lite.monitor import Monitor, NodeConn

REPO = Path(__file__).resolve().parent.parent
ERROR_PREFIX = "rediscluster-lite: error: "


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    """``python -m rediscluster_lite ARGS`` in a fresh process, from the repo root (uninstalled)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e.pop(ENV_DATA_DIR, None)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rediscluster_lite", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=e,
    )


def assert_one_line_error(r: subprocess.CompletedProcess | tuple[int, str], code: int | None = None) -> str:
    """Non-zero exit, nothing on stdout, exactly one line on stderr saying why. Returns that line."""
    rc, stdout, stderr = (r.returncode, r.stdout, r.stderr) if not isinstance(r, tuple) else (r[0], "", r[1])
    assert rc != 0
    if code is not None:
        assert rc == code, stderr
    assert stdout == ""
    assert stderr.endswith("\n") and stderr.count("\n") == 1, repr(stderr)
    assert stderr.startswith(ERROR_PREFIX), stderr
    return stderr[len(ERROR_PREFIX) :].strip()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if pid_running(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def no_recorded_cluster(tmp_path, monkeypatch):
    """In-process commands must never find a cluster recorded in the repo's ./.local-cluster."""
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "no-cluster-here"))


@pytest.fixture
def addr(redis_cluster) -> str:
    return redis_cluster.nodes[0].addr


def main_json(capsys, *args: str) -> dict:
    assert cli.main(list(args)) == 0
    out = capsys.readouterr().out
    return json.loads(out)


# --------------------------------------------------------------------------------------------- basics


def test_help_lists_every_command():
    r = run("--help")
    assert r.returncode == 0
    for command in ("cluster", "info", "nodes", "slot", "demo", "monitor"):
        assert command in r.stdout
    r = run("cluster", "--help")
    assert r.returncode == 0 and "up" in r.stdout and "down" in r.stdout and "status" in r.stdout
    v = run("--version")
    assert v.returncode == 0 and v.stdout.startswith("rediscluster-lite ")


def test_usage_errors_are_one_line_and_exit_2(capsys):
    assert_one_line_error(run("bogus"), code=2)
    assert_one_line_error(run("monitor", "127.0.0.1:1", "--count", "0"), code=2)
    assert cli.main([]) == 2  # no command: the help, on stderr
    assert "usage" in capsys.readouterr().err


def test_console_script_entry_point_is_main():
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["rediscluster-lite"] == "rediscluster_lite.cli:main"


# --------------------------------------------------------------------------------------------- info


def test_info_json_counts_keys_slots_and_replicas(redis_cluster, addr, capsys):
    keys = [f"cli-info-{i}" for i in range(30)]
    with ClusterClient(redis_cluster.startup_nodes) as client:
        for k in keys:
            client.set(k, "x")
        try:
            info = main_json(capsys, "info", addr, "--json")
        finally:
            client.delete(*keys)
    assert info["cluster_state"] == "ok"
    assert info["slots_covered"] == 16384
    masters = {m.addr: m for m in redis_cluster.masters()}
    assert {m["address"] for m in info["masters"]} == set(masters)
    assert sum(m["slots"] for m in info["masters"]) == 16384
    for m in info["masters"]:
        node = masters[m["address"]]
        assert m["id"] == node.node_id
        assert m["replicas"] == [r.addr for r in redis_cluster.replicas_of(node)]
        assert m["keys"] >= sum(1 for k in keys if redis_cluster.master_of_slot(key_slot(k)) is node)
    assert info["keys"] >= len(keys)


def test_info_text_looks_like_redis_cli(redis_cluster, addr):
    r = run("info", addr)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["MASTER", "ID", "KEYS", "SLOTS", "RANGES", "REPLICAS"]
    for m in redis_cluster.masters():
        (row,) = [line for line in lines if line.startswith(m.addr)]
        assert m.node_id[:8] in row and redis_cluster.replicas_of(m)[0].addr in row
    assert any(line.startswith("[OK]") and "16384/16384 slots covered" in line for line in lines)
    assert "keys per slot on average" in r.stdout


# --------------------------------------------------------------------------------------------- nodes


def test_nodes_json_roles_ranges_and_links(redis_cluster, addr, capsys):
    out = main_json(capsys, "nodes", addr, "--json")
    assert out["source"] == addr and out["cluster_state"] == "ok"
    nodes = {n["address"]: n for n in out["nodes"]}
    assert set(nodes) == {n.addr for n in redis_cluster.nodes}
    masters = redis_cluster.masters()
    assert [n["address"] for n in out["nodes"] if n["role"] == "master"] == [m.addr for m in masters]
    expected_ranges = [[[0, 5460]], [[5461, 10922]], [[10923, 16383]]]  # as redis-cli --cluster create splits
    assert [nodes[m.addr]["slot_ranges"] for m in masters] == expected_ranges
    for m in masters:
        for r in redis_cluster.replicas_of(m):
            assert nodes[r.addr]["role"] == "replica"
            assert nodes[r.addr]["master"] == m.addr
            assert nodes[r.addr]["slots"] == 0
    for n in out["nodes"]:
        assert n["link"] == "connected" and n["health"] == "ok"


def test_nodes_text(redis_cluster, addr):
    r = run("nodes", addr)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NODE", "ID", "ROLE", "SLOTS", "/", "MASTER", "LINK", "HEALTH", "EPOCH"]
    assert f"{addr} (asked)" in r.stdout
    rows = [line for line in lines[1:] if line.startswith("127.0.0.1:")]
    assert len(rows) == 6
    assert sum(" master " in row for row in rows) == 3 and sum(" replica " in row for row in rows) == 3
    assert lines[-1].startswith("cluster_state:ok  6 nodes  16384/16384 slots covered")


# --------------------------------------------------------------------------------------------- slot


@pytest.mark.parametrize("key, tag", [("key_01", None), ("user:{42}:name", "42")])
def test_slot_json_names_owner_and_replicas(redis_cluster, addr, capsys, key, tag):
    out = main_json(capsys, "slot", key, "--startup", addr, "--json")
    slot = key_slot(key)
    owner = redis_cluster.master_of_slot(slot)
    assert out["slot"] == slot == redis_cluster.keyslot(key)  # the server agrees
    assert out["hash_tag"] == tag
    assert out["master"] == owner.addr and out["master_id"] == owner.node_id
    assert out["replicas"] == [r.addr for r in redis_cluster.replicas_of(owner)]


def test_slot_text(redis_cluster, addr):
    r = run("slot", "key_01", "--startup", addr)
    assert r.returncode == 0, r.stderr
    owner = redis_cluster.master_of_slot(key_slot("key_01"))
    assert f"slot     {key_slot('key_01')}" in r.stdout
    assert f"master   {owner.addr}" in r.stdout
    assert f"replicas {redis_cluster.replicas_of(owner)[0].addr}" in r.stdout


def test_slot_without_a_cluster_still_computes_the_slot(capsys):
    out = main_json(capsys, "slot", "key_01", "--json")
    assert out == {"key": "key_01", "slot": key_slot("key_01"), "hash_tag": None, "master": None, "replicas": []}
    assert cli.main(["slot", "key_01"]) == 0
    assert "owner    unknown" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    "args",
    [
        ["info", "{addr}"],
        ["info", "{addr}", "--json"],
        ["nodes", "{addr}"],
        ["nodes", "{addr}", "--json"],
        ["monitor", "{addr}", "--count", "1"],
        ["slot", "key_01", "--startup", "{addr}"],
    ],
)
def test_unreachable_node_is_one_line_and_exit_1(args):
    bad = f"127.0.0.1:{closed_port()}"
    line = assert_one_line_error(run(*[a.format(addr=bad) for a in args]), code=1)
    assert bad in line and "refused" in line.lower()


@pytest.mark.parametrize("command", [["info"], ["nodes"], ["monitor"], ["slot", "k", "--startup"]])
def test_malformed_address_is_a_usage_error(command):
    line = assert_one_line_error(run(*command, "not-an-address"), code=2)
    assert "bad address 'not-an-address'" in line


@pytest.mark.parametrize("command", ["info", "nodes", "monitor"])
def test_no_address_and_no_recorded_cluster(tmp_path, command):
    line = assert_one_line_error(run(command, "--data-dir", str(tmp_path)), code=2)
    assert "no HOST:PORT given and no cluster recorded" in line


def test_not_a_cluster_node(redis_cluster, tmp_path):
    # A plain redis-server (cluster-enabled no), started and stopped here.
    port = closed_port()
    proc = subprocess.Popen(
        [redis_cluster.redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn = NodeConn("127.0.0.1", port)
        deadline = time.monotonic() + 10
        while True:
            try:
                conn.call("PING")
                break
            except Exception:
                assert time.monotonic() < deadline, "plain redis-server did not start"
                time.sleep(0.05)
        conn.close()
        line = assert_one_line_error(run("nodes", f"127.0.0.1:{port}"), code=1)
        assert "is not a cluster node" in line
    finally:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------------------------- monitor


def test_monitor_prints_count_snapshots(redis_cluster, addr):
    r = run("monitor", addr, "--count", "2", "--interval", "0.2")
    assert r.returncode == 0, r.stderr
    headers = [line for line in r.stdout.splitlines() if "cluster_state:ok" in line]
    assert len(headers) == 2
    assert r.stdout.count("NODE  ") == 2
    for n in redis_cluster.nodes:
        assert sum(line.startswith(n.addr + " ") for line in r.stdout.splitlines()) == 2  # a row per snapshot
    assert "\x1b[" not in r.stdout  # not a terminal: plain text


def test_monitor_ops_per_second_counts_other_clients_only(redis_cluster, addr):
    master = redis_cluster.masters()[0]
    other = redis_cluster.masters()[1]
    mon = Monitor([addr])
    traffic = NodeConn(master.host, master.port)
    try:
        t0 = time.monotonic()
        mon.poll()
        for _ in range(300):
            traffic.call("PING")
        snap = mon.poll()
        elapsed = time.monotonic() - t0
    finally:
        traffic.close()
        mon.close()
    rows = {r.entry.addr: r for r in snap.rows}
    assert rows[master.addr].ops >= 300 / elapsed  # 300 commands within at most `elapsed` seconds
    # The other master saw only the background (replication acks) and our own polls, which do not count.
    assert rows[other.addr].ops < 300 / elapsed / 3
    for r in snap.rows:
        assert r.reachable and r.keys is not None and r.memory and r.clients is not None


# --------------------------------------------------------------------------------------------- cluster up/down


def _cleanup(data_dir: Path) -> None:
    if (data_dir / "cluster.json").exists():
        cli.main(["cluster", "down", "--data-dir", str(data_dir)])


@pytest.mark.live
def test_cluster_up_status_down_from_separate_processes(tmp_path):
    data_dir = tmp_path / "lc"
    d = ["--data-dir", str(data_dir)]
    try:
        up = run("cluster", "up", "--free-ports", *d)
        assert up.returncode == 0, up.stderr
        assert up.stdout.startswith("Started 6 redis-server nodes (3 masters, 1 replica each)")
        assert "cluster down" in up.stdout
        record = json.loads((data_dir / "cluster.json").read_text())
        pids = [n["pid"] for n in record["nodes"]]
        assert all(pid_running(p) for p in pids)  # still running after `cluster up` exited

        status = run("cluster", "status", "--json", *d)
        assert status.returncode == 0, status.stderr
        st = json.loads(status.stdout)
        assert st["healthy"] is True and st["cluster_state"] == "ok" and st["running"] == 6
        assert sorted(n["role"] for n in st["nodes"]) == ["master"] * 3 + ["replica"] * 3
        assert {n["pid"] for n in st["nodes"]} == set(pids)

        seeds = [n["address"] for n in st["nodes"]]
        with ClusterClient(seeds) as client:
            client.set("cli-up", "works")
            assert client.get("cli-up") == b"works"

        text = run("cluster", "status", *d)
        assert text.returncode == 0 and text.stdout.startswith("cluster_state:ok  6/6 nodes running")
        assert text.stdout.count("  running  ") == 6  # the PROCESS column of each row

        # Commands without HOST:PORT use the recorded cluster.
        info = run("info", "--json", *d)
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["keys"] == 1
        slot = run("slot", "cli-up", "--json", *d)
        assert json.loads(slot.stdout)["master"] in seeds

        again = run("cluster", "up", "--free-ports", *d)
        assert "is already running" in assert_one_line_error(again, code=1)

        down = run("cluster", "down", *d)
        assert down.returncode == 0, down.stderr
        assert down.stdout.startswith("Stopped 6 redis-server nodes")
        assert wait_gone(pids) == []
        assert not data_dir.exists()

        assert "no cluster recorded" in assert_one_line_error(run("cluster", "status", *d), code=1)
        assert "no cluster recorded" in assert_one_line_error(run("cluster", "down", *d), code=1)
    finally:
        _cleanup(data_dir)


@pytest.mark.live
def test_cluster_status_reports_a_dead_node(tmp_path):
    data_dir = tmp_path / "lc"
    d = ["--data-dir", str(data_dir)]
    try:
        up = run("cluster", "up", "--free-ports", "--masters", "2", "--replicas", "0", *d)
        assert up.returncode == 0, up.stderr
        record = json.loads((data_dir / "cluster.json").read_text())
        victim = record["nodes"][1]
        os.kill(victim["pid"], signal.SIGKILL)  # a node this test started (through `cluster up`)
        assert wait_gone([victim["pid"]]) == []

        status = run("cluster", "status", *d)
        assert status.returncode == 1
        assert f"127.0.0.1:{victim['port']}" in status.stdout and "stopped" in status.stdout
        assert status.stderr == f"{ERROR_PREFIX}1 of 2 recorded nodes are not running\n"
        st = json.loads(run("cluster", "status", "--json", *d).stdout)
        assert st["healthy"] is False and st["running"] == 1

        down = run("cluster", "down", *d)
        assert down.returncode == 0, down.stderr
        assert "Stopped 1 redis-server nodes (1 already stopped)" in down.stdout
        assert wait_gone([n["pid"] for n in record["nodes"]]) == []
        assert not data_dir.exists()
    finally:
        _cleanup(data_dir)


def test_cluster_up_without_redis_server(tmp_path):
    data_dir = tmp_path / "lc"
    r = run("cluster", "up", "--data-dir", str(data_dir), env={ENV_REDIS_SERVER: "/nonexistent/redis-server"})
    line = assert_one_line_error(r, code=1)
    assert "redis-server" in line and "apt-get install redis-server" in line
    assert not data_dir.exists()  # nothing half-made left behind


@pytest.mark.live
def test_cluster_up_on_a_busy_port(tmp_path):
    data_dir = tmp_path / "lc"
    with busy_port() as port:
        r = run("cluster", "up", "--base-port", str(port), "--data-dir", str(data_dir))
    line = assert_one_line_error(r, code=1)
    assert f"port 127.0.0.1:{port} is in use" in line
    assert not data_dir.exists()


def test_cluster_up_bad_base_port_is_a_usage_error(tmp_path):
    data_dir = tmp_path / "lc"
    line = assert_one_line_error(run("cluster", "up", "--base-port", "60000", "--data-dir", str(data_dir)), code=2)
    assert "base_port 60000" in line
    assert not data_dir.exists()
