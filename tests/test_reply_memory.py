"""A big reply costs about its own size in memory; a reply memory cannot hold is a library error.

Each case runs in a child process (its peak memory is its own), against a fake node that streams the value
in chunks (the server side holds 64 KiB at a time, not the value).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent

CHILD = r"""
import json, resource, sys
from fakenode import FakeNode, Reply
from rediscluster_lite import ClusterClient

SIZE = int(sys.argv[1])

class StreamedBulk(Reply):
    def __init__(self):
        super().__init__(b"")
    def run(self, conn):
        chunk = b"v" * 65536
        conn.sock.settimeout(30)  # the fake node's 50 ms send timeout is for small replies
        if not conn.send(b"$%d\r\n" % SIZE):
            return False
        left = SIZE
        while left:
            n = min(left, len(chunk))
            if not conn.send(chunk[:n]):
                return False
            left -= n
        return conn.send(b"\r\n")

def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

with FakeNode() as a:
    a.serve_slots([(0, 16383, a)])
    a.on("GET", StreamedBulk())
    client = ClusterClient(startup_nodes=[(a.host, a.port)], socket_timeout=30)
    before = peak_kib()
    value = client.get("k")
    after = peak_kib()
    ok = len(value) == SIZE and value[:1] == b"v" and value[-1:] == b"v"
    client.close()
print(json.dumps({"growth_kib": after - before, "ok": ok}))
"""


def run_child(code: str, *args: str, env_extra: dict | None = None) -> dict:
    path = os.pathsep.join([str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    env.update(env_extra or {})
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_128_mib_value_costs_about_its_own_size_not_twice():
    size = 128 << 20
    result = run_child(CHILD, str(size))
    assert result["ok"]
    growth = result["growth_kib"] * 1024
    # hiredis alone would hold its buffer and the value: 2x. Read in place, it is the value plus change.
    assert growth < size * 1.25, f"peak grew by {growth / size:.2f}x the value's size"


CHILD_NO_MEMORY = r"""
import json, resource
from fakenode import PONG, FakeNode
from rediscluster_lite import ClusterClient
from rediscluster_lite.errors import ProtocolError

with FakeNode() as a:
    a.serve_slots([(0, 16383, a)])
    # 100 million elements: hiredis asks for an 800 MB list at once. Allowed by max_reply_bytes here,
    # but not by the address-space limit below.
    a.on("PING", PONG)
    a.on("LRANGE", b"*100000000\r\n")
    client = ClusterClient(startup_nodes=[(a.host, a.port)], max_reply_bytes=1 << 40, socket_timeout=5)
    client.ping()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (used + (300 << 20), hard))
    try:
        client.lrange("k", 0, -1)
        outcome = "no error"
    except ProtocolError as exc:
        outcome = "ProtocolError: " + str(exc)
    except MemoryError:
        outcome = "raw MemoryError"
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    client.close()
print(json.dumps({"outcome": outcome}))
"""


def test_a_reply_memory_cannot_hold_is_a_protocol_error_not_a_raw_memory_error():
    outcome = run_child(CHILD_NO_MEMORY)["outcome"]
    assert outcome.startswith("ProtocolError") and "memory" in outcome, outcome
