"""Helpers shared by the integration tests: command counters read from the nodes, keys of chosen slots, a
port held busy."""

from __future__ import annotations

import contextlib
import random
import socket
import time
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


def start_migration(cluster: LocalCluster, slot: int, target=None, keys_per_migrate: int = 100, pause: float = 0.0):
    """Mark ``slot`` MIGRATING at its owner and IMPORTING at ``target`` (another master by default), then MIGRATE
    every key of the slot; the slot still belongs to the source afterwards. Returns ``(source, target)``."""
    source = cluster.master_of_slot(slot)
    if target is None:
        target = next(m for m in cluster.masters() if m.port != source.port)
    cluster.command(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
    cluster.command(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
    while keys := cluster.command(source, "CLUSTER", "GETKEYSINSLOT", slot, keys_per_migrate):
        cluster.command(source, "MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *keys)
        time.sleep(pause)
    return source, target


def finish_migration(cluster: LocalCluster, slot: int, source, target, timeout: float = 10.0) -> None:
    """Give ``slot`` to ``target`` in the order the SETSLOT documentation asks for (the importing node first, so it
    bumps its config epoch before anyone gossips the old owner back; then the source; then the rest), and wait
    until every master names the target as the owner (a test reading a node straight after must not race gossip)."""
    others = [m for m in cluster.masters() if m.port not in (source.port, target.port)]
    for node in [target, source, *others]:
        cluster.command(node, "CLUSTER", "SETSLOT", slot, "NODE", target.node_id)
    deadline = time.monotonic() + timeout
    while (owners := _owners_of(cluster, slot)) != {target.port}:
        if time.monotonic() > deadline:
            raise AssertionError(f"slot {slot}: masters still disagree on its owner after {timeout}s: {owners}")
        time.sleep(0.02)


def _owners_of(cluster: LocalCluster, slot: int) -> set[int]:
    """The owner of ``slot`` (a port) as each master's CLUSTER SLOTS tells it."""
    owners = set()
    for node in cluster.masters():
        for first, last, owner, *_ in cluster.command(node, "CLUSTER", "SLOTS"):
            if int(first) <= slot <= int(last):
                owners.add(int(owner[1]))
    return owners
