"""Record real Redis replies as raw RESP bytes, for the unit tests in this directory's parent.

Usage (needs ``redis-server`` on PATH; starts four cluster-enabled servers on free loopback ports in a
temporary directory, and stops them by pid when done)::

    python tests/data/record_replies.py

Files written next to this script (RESP2, byte for byte what the server sent):

* ``command_redis7.resp``           ``COMMAND`` (with Redis 7 key specs and subcommands)
* ``cluster_slots_empty.resp``      ``CLUSTER SLOTS`` of a fresh node with no slots
* ``cluster_slots_single.resp``     a lone node owning 0-16383 (it does not know its own IP: empty host)
* ``cluster_slots_replicas.resp``   masters A (0-5000, 10000-10100) and B (6000-9999, 10101-16383),
                                    each with one replica; 5001-5999 uncovered
* ``cluster_slots_unknown.resp``    the same, with ``cluster-preferred-endpoint-type unknown-endpoint`` ('?')
* ``cluster_slots_hostnames.resp``  the same, with ``cluster-preferred-endpoint-type hostname``; only the
                                    masters announce a hostname, so the replicas show as '?', and the
                                    metadata map carries the masters' ``ip``
* ``cluster_slots_ip_meta.resp``    preferred type ``ip`` with hostnames set: metadata ``hostname``
* ``clusterdown.resp``              a real ``-CLUSTERDOWN`` reply (slots 5001-5999 uncovered)
* ``moved.resp``                    a real ``-MOVED`` reply
* ``meta.txt``                      the ports and node ids used, and the server version
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hiredis

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55000:  # the cluster bus listens on port + 10000
            return port


class Conn:
    def __init__(self, port: int) -> None:
        self.port = port
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def raw(self, *args: str | int) -> bytes:
        """Send one command; return the reply's exact bytes."""
        self.sock.sendall(hiredis.pack_command(tuple(args)))
        reader = hiredis.Reader()
        data = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("server closed the connection")
            data += chunk
            reader.feed(chunk)
            if reader.gets() is not False:
                return data

    def call(self, *args: str | int):
        reader = hiredis.Reader()
        reader.feed(self.raw(*args))
        return reader.gets()


def wait_for(what: str, check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="rcl-record-"))
    procs: list[subprocess.Popen] = []
    ports: list[int] = []
    try:
        for _ in range(4):
            port = free_port()
            while port in ports:
                port = free_port()
            ports.append(port)
            procs.append(
                subprocess.Popen(
                    [
                        "redis-server",
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        str(workdir / f"nodes-{port}.conf"),
                        "--dir",
                        str(workdir),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--cluster-node-timeout",
                        "2000",
                        "--logfile",
                        str(workdir / f"{port}.log"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        a, b, c, d = (Conn(p) for p in ports)
        ids = [x.call("CLUSTER", "MYID").decode() for x in (a, b, c, d)]
        version = a.call("INFO", "server").decode().split("redis_version:")[1].split()[0]

        write = lambda name, data: (HERE / name).write_bytes(data)  # noqa: E731
        write("cluster_slots_empty.resp", a.raw("CLUSTER", "SLOTS"))
        assert a.call("CLUSTER", "ADDSLOTSRANGE", 0, 16383) == b"OK"
        write("cluster_slots_single.resp", a.raw("CLUSTER", "SLOTS"))
        write("command_redis7.resp", a.raw("COMMAND"))

        # Four nodes: A and B masters with a gap between them, C replicates A, D replicates B.
        assert a.call("CLUSTER", "DELSLOTSRANGE", 5001, 9999, 10101, 16383) == b"OK"
        assert b.call("CLUSTER", "ADDSLOTSRANGE", 6000, 9999, 10101, 16383) == b"OK"
        for port in ports[1:]:
            assert a.call("CLUSTER", "MEET", "127.0.0.1", port) == b"OK"
        wait_for(
            "all nodes to know each other",
            lambda: all(len(x.call("CLUSTER", "NODES").decode().strip().splitlines()) == 4 for x in (a, b, c, d)),
        )
        assert c.call("CLUSTER", "REPLICATE", ids[0]) == b"OK"
        assert d.call("CLUSTER", "REPLICATE", ids[1]) == b"OK"

        def replicas_listed() -> bool:
            reply = a.call("CLUSTER", "SLOTS")
            return len(reply) == 4 and all(len(entry) == 4 for entry in reply)

        wait_for("replicas in CLUSTER SLOTS", replicas_listed)
        write("cluster_slots_replicas.resp", a.raw("CLUSTER", "SLOTS"))

        a.call("CONFIG", "SET", "cluster-preferred-endpoint-type", "unknown-endpoint")
        write("cluster_slots_unknown.resp", a.raw("CLUSTER", "SLOTS"))

        a.call("CONFIG", "SET", "cluster-announce-hostname", "node-a.example")
        b.call("CONFIG", "SET", "cluster-announce-hostname", "node-b.example")

        def hostnames_known() -> bool:
            text = a.call("CLUSTER", "NODES").decode()
            return "node-a.example" in text and "node-b.example" in text

        wait_for("hostnames to spread", hostnames_known)
        a.call("CONFIG", "SET", "cluster-preferred-endpoint-type", "hostname")
        write("cluster_slots_hostnames.resp", a.raw("CLUSTER", "SLOTS"))
        a.call("CONFIG", "SET", "cluster-preferred-endpoint-type", "ip")
        write("cluster_slots_ip_meta.resp", a.raw("CLUSTER", "SLOTS"))

        # With slots 5001-5999 uncovered (and full coverage required) the cluster is down...
        wait_for("CLUSTERDOWN", lambda: a.raw("GET", "key:0").startswith(b"-CLUSTERDOWN"))
        write("clusterdown.resp", a.raw("GET", "key:0"))
        # ...until coverage is not required: then a key of B's asked of A gets a MOVED.
        a.call("CONFIG", "SET", "cluster-require-full-coverage", "no")
        wait_for("cluster_state:ok", lambda: b"cluster_state:ok" in a.call("CLUSTER", "INFO"))
        moved = next(r for r in (a.raw("GET", f"key:{i}") for i in range(1000)) if r.startswith(b"-MOVED"))
        write("moved.resp", moved)

        lines = [f"redis_version {version}"]
        lines += [f"node {name} 127.0.0.1:{port} {nid}" for name, port, nid in zip("ABCD", ports, ids)]
        (HERE / "meta.txt").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    sys.exit(main())
