"""``rediscluster-lite demo`` (the README's ``./scripts/demo``) end to end, on real redis-server processes.

One full run takes 10-15 s: a cluster start (~2 s), a failover (~2-3 s), the cluster going down (~2 s) and
two restarts (~2 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_helpers import busy_port

from rediscluster_lite.cli import pid_running
from rediscluster_lite.demo import STEPS, run_demo

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.live  # every test here runs redis-server


def processes_under(directory: str) -> list[int]:
    """Pids whose working directory is inside ``directory`` (the nodes run in their node dirs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(directory) and pid_running(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_demo_end_to_end():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run(
        [sys.executable, "-m", "rediscluster_lite", "demo"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        env=env,
    )
    out = r.stdout
    assert r.returncode == 0, f"stdout:\n{out}\nstderr:\n{r.stderr}"
    assert r.stderr == ""
    assert "\x1b[" not in out  # piped: plain text, no colour codes

    # Every step is narrated, in order.
    positions = [out.index(f"[{i}/{len(STEPS)}] {title}") for i, title in enumerate(STEPS, 1)]
    assert positions == sorted(positions)

    # Step 2: three keys on three masters. Step 3: each read measured on a replica.
    assert "3 keys on 3 different masters" in out
    assert "3 of 3 reads were served by a replica" in out
    # Step 4: a timed failover to the killed master's replica.
    assert re.search(r"was promoted to master: failover took \d+(\.\d+)? (ms|s)", out)
    # Step 5: the same client reads key_01 again and writes to the promoted master.
    assert "client.get('key_01') -> b'value-01' in" in out
    assert "now sends key_01 to" in out
    # Step 6: the error comes, and the cluster-down error for a live shard.
    assert re.search(r"client.get\('key_01'\) raised \w+ after \d", out)
    assert "cluster_state:fail" in out
    assert re.search(r"raised ClusterDownError after \d+(\.\d+)? (ms|s): CLUSTERDOWN", out)
    # Step 7: roles stayed. Step 8: the value written after the failover survived; the old master serves reads.
    assert "the new roles stayed" in out
    assert "b'value-01 (written after the failover)'" in out
    assert re.search(r"is served by \S+, now a replica of \S+ \(measured\)", out)
    # Step 9 and the summary.
    assert "nothing left running" in out
    assert "Timings" in out and "failover (SIGKILL -> replica promoted" in out
    assert out.rstrip().splitlines()[-1].startswith("Done: the whole walk-through took")

    # The data dir is gone and no node runs from it.
    data_dir = re.search(r"data in (\S+)", out)[1]
    assert not Path(data_dir).exists()
    assert processes_under(data_dir) == []


def test_demo_failure_is_one_line_and_exit_1(capsys):
    with busy_port() as port:
        assert run_demo(base_port=port) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(
        f"rediscluster-lite: error: demo failed at step 1 ({STEPS[0]}): port 127.0.0.1:{port}"
    )
    assert "[1/9] Start a cluster" in captured.out
