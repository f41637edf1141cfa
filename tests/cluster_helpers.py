"""Helpers shared by the integration tests: command counters read from the nodes, keys of chosen slots, a
port held busy."""

from __future__ import annotations

import contextlib
import random
import socket
import uuid
from collections.abc import Iterator

from rediscluster_lite import key_slot
from rediscluster_lite.local import LocalCluster


def tag() -> str:
    """A fresh hash tag: keys built on it share one slot no other test uses."""
    return "{" + uuid.uuid4().hex[:12] + "}"


def other_slot_key(key: str) -> str:
    """A key whose slot differs from ``key``'s."""
    i = 0
    while key_slot(f"other:{i}") == key_slot(key):
        i += 1
    return f"other:{i}"


def commandstat(cluster: LocalCluster, node, command: str) -> int:
    """How many times ``node`` has run ``command`` (``INFO commandstats``' calls=)."""
    info = cluster.command(node, "INFO", "commandstats")
    for line in info.splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            return int(line.split("calls=", 1)[1].split(",", 1)[0])
    return 0


def stats(cluster: LocalCluster, command: str) -> dict[int, int]:
    """``commandstat`` of every node, by port."""
    return {n.port: commandstat(cluster, n, command) for n in cluster.nodes}


@contextlib.contextmanager
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that a listening socket holds until the block ends."""
    with socket.socket() as busy:
        for port in random.sample(range(20000, 30000), 200):  # base_port + 10000 (bus ports) must fit
            try:
                busy.bind(("127.0.0.1", port))
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free port in 20000-30000 after 200 tries")
        busy.listen()
        yield port
